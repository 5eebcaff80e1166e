// `zkroll lab clone <plan>`: a lab that copies a running ensemble (production, or another lab):
// the same myids, roles, version, configuration (hosts mapped to lab addresses, ports kept),
// data (the leader's newest valid snapshot and the logs after it) and leader; plus a plan file
// pointed at it, so `zkroll plan`/`apply` of that file rehearse the real thing.
// Invariants: nothing is written on a source host (clone-source.ts runs only cat, ls, tar -cf -
// and sha256sum there, on exec channels); a clone whose lab addresses overlap the source's is
// refused before anything is created; nothing is created here before the source has been read
// and every refusal checked; the clone is up only when every server's srvr mode equals the
// source's and the source's leader leads.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { allHosts } from '../plan/helpers.js';
import { loadPlanText, formatPlanError } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { SshPool } from '../remote/ssh.js';
import { continuity, type Continuity } from '../check/datafiles.js';
import { scanLocally } from '../check/datascan-local.js';
import { probeSrvr } from '../zk/fourlw.js';
import { commonDigest, digestLog } from '../zk/verify.js';
import { chooseFiles, configAddresses, labAddresses, mapConfig, overlapping, placement, type CopySet, type Placement } from './clone-map.js';
import { clonePlanText } from './clone-plan.js';
import { copyFromLeader, readSource, type CopiedFile, type SourceCommand, type SourceServer } from './clone-source.js';
import { labSpecFromPlan } from './fromplan.js';
import { labDir, labUp, readState, type Log } from './lab.js';
import { pollUntil } from './procs.js';
import { LabError, mountRoots, type LabServer, type LabSpec } from './spec.js';
import { findTarball } from './releases.js';

/** A clone refused before anything was created (bad input: exit 2). */
export class CloneRefused extends LabError {}

export interface CloneOptions {
  /** The lab network, e.g. 127.0.30.0/24. */
  net: string;
  /** The clone plan's path (default `<plan>.clone.yaml` beside the plan). */
  out?: string;
  /** How the source's leader is made the clone's leader (default: start order where FLE allows). */
  leaderBy?: 'start' | 'empty';
}

export interface CloneReport {
  cluster: string;
  planOut: string;
  /** Source host → lab address. */
  hosts: [string, string][];
  leader: number;
  version: string;
  files: CopiedFile[];
  /** Bytes through the tar stream, and how long the copy took (ms). */
  streamBytes: number;
  copyMs: number;
  snapshotZxid: bigint;
  lastZxid: bigint | null;
  /** The source leader's zxid (srvr) before and after the copy. */
  sourceZxid: { before: bigint | null; after: bigint | null };
  /** Older snapshots passed over because the newer one is not valid. */
  skippedSnapshots: string[];
  placement: Placement;
  servers: { myid: number; sourceMode: string; cloneMode: string; observer: boolean }[];
  /** The tree digests (3.6+ `hash`) of the source's and the clone's leaders at their newest common zxid. */
  digest: { zxid: bigint; same: boolean } | null;
  commands: SourceCommand[];
  /** Where the time went, ms: reading the source, the stream, the checksums, the data scan, the lab up to the same modes. */
  phases: { read: number; stream: number; checksums: number; scan: number; lab: number };
  seconds: number;
}

export function defaultCloneOut(planFile: string): string {
  return planFile.replace(/(\.ya?ml)?$/i, '.clone.yaml');
}

/** Source host → lab address, in the plan's host order; refused when they overlap the plan's hosts. */
function mapHosts(plan: Plan, net: string): Map<string, string> {
  const src = [...new Set(allHosts(plan).map((h) => h.host))];
  let lab: string[];
  try {
    lab = labAddresses(net, src.length);
  } catch (e) {
    throw e instanceof LabError ? new CloneRefused(e.message) : e;
  }
  const clash = overlapping(lab, src);
  if (clash.length > 0) throw new CloneRefused(overlapMessage(clash, net));
  return new Map(src.map((h, i) => [h, lab[i]!]));
}

function overlapMessage(clash: string[], net: string): string {
  return `lab clone: refused: the clone's addresses ${clash.join(', ')} (from --net ${net}) are also addresses of the source; a lab cannot replace what it copies. Choose another --net (for example 127.0.30.0/24). Nothing was created.`;
}

/** The checks on what was read: one leader, one version, no lab address used by the source's configs. */
function checkSource(source: SourceServer[], hosts: Map<string, string>, net: string): { leader: SourceServer; version: string } {
  const leaders = source.filter((s) => s.srvr?.mode === 'leader' || s.srvr?.mode === 'standalone');
  if (leaders.length !== 1)
    throw new CloneRefused(
      `lab clone: the source must have exactly one leader (srvr); found ${leaders.length === 0 ? 'none' : leaders.map((l) => l.myid).join(', ')}`,
    );
  for (const s of source)
    if (s.myidOnDisk !== s.myid) throw new CloneRefused(`lab clone: server ${s.myid} (${s.host}) has myid ${s.myidOnDisk ?? 'missing'} on disk`);
  const addrs = source.flatMap((s) => [...configAddresses(s.config.text), ...(s.dynamic ? configAddresses(s.dynamic.text) : [])]);
  const clash = overlapping([...hosts.values()], addrs);
  if (clash.length > 0) throw new CloneRefused(overlapMessage(clash, net));
  const versions = [...new Set(source.filter((s) => s.srvr).map((s) => s.srvr!.version))];
  if (versions.length !== 1)
    throw new CloneRefused(`lab clone: the source's servers run ${versions.join(' and ')}; a clone of a mixed-version ensemble is not supported yet`);
  return { leader: leaders[0]!, version: versions[0]! };
}

/** Copy, then judge the copy with the data scan (Adler32, seal, log continuity); an invalid newest snapshot → the next older one. */
async function copyData(
  leader: SourceServer,
  stage: string,
  commands: SourceCommand[],
  log: Log,
): Promise<{ set: CopySet; copied: Awaited<ReturnType<typeof copyFromLeader>>; verdict: Continuity; skipped: string[]; scanMs: number }> {
  const skipped: string[] = [];
  for (let skip = 0; skip < 3; skip++) {
    const set = chooseFiles(leader.snapDir, leader.logDir, skip);
    fs.rmSync(stage, { recursive: true, force: true });
    log(
      `copying ${set.snapshot}, ${set.logs.join(', ') || 'no logs'}${set.epochs.length ? `, ${set.epochs.join(', ')}` : ''} from server ${leader.myid} (${leader.host})`,
    );
    const copied = await copyFromLeader(leader, set, path.join(stage, 'version-2'), commands);
    const t0 = Date.now();
    const scan = await scanLocally(stage, stage);
    const scanMs = Date.now() - t0;
    const snap = scan.files.snapshots.find((x) => x.name === set.snapshot);
    if (snap && !snap.verdict.ok) {
      skipped.push(`${set.snapshot} (${snap.verdict.why})`);
      log(`${set.snapshot} is not valid (${snap.verdict.why}): taking the next older snapshot`);
      continue;
    }
    const verdict = continuity(scan.files);
    if (!verdict.ok) throw new LabError(`lab clone: the copied data is not usable: ${verdict.detail}`);
    return { set, copied, verdict, skipped, scanMs };
  }
  throw new LabError(`lab clone: no valid snapshot among the newest three on server ${leader.myid}: ${skipped.join('; ')}`);
}

/** The clone plan's text and what it loads to (not written yet). */
function clonePlan(planFile: string, out: string, cluster: string, version: string, hosts: Map<string, string>): { text: string; plan: Plan } {
  const dir = labDir(cluster);
  const text = clonePlanText(fs.readFileSync(planFile, 'utf8'), {
    name: cluster,
    version,
    hosts,
    identityFile: path.join(dir, 'id_ed25519'),
    knownHosts: path.join(dir, 'known_hosts'),
    planFile,
    header: `zkroll lab clone of ${path.resolve(planFile)} at ${new Date().toISOString()} (hosts mapped to the clone lab)`,
  });
  const r = loadPlanText(text, out);
  if (!r.ok) throw new LabError(`lab clone: the clone plan ${out} would not load:\n${r.errors.map(formatPlanError).join('\n')}`);
  return { text, plan: r.plan };
}

/** What labUp would refuse, checked before the copy: paths the lab cannot give each host, a release without a tarball. */
function checkBuildable(spec: LabSpec): void {
  try {
    mountRoots(spec.hosts.flatMap((h) => h.paths));
    for (const v of new Set(spec.hosts.flatMap((h) => h.installs.map((i) => i.version)))) findTarball(v, spec.releases);
  } catch (e) {
    throw e instanceof LabError ? new CloneRefused(e.message) : e;
  }
}

/** The lab spec of the clone: the clone plan's hosts and installs, the source's real data paths, roles and configs. */
function cloneSpec(plan: Plan, out: string, source: SourceServer[]): LabSpec {
  // servers down at the source are down in the clone too (labUp stops them once the others formed)
  const down = source.filter((s) => s.srvr === null).map((s) => s.myid);
  const spec = labSpecFromPlan(plan, out, { down, znodes: 0, proxies: 0, deadListeners: 'none' });
  spec.servers = spec.servers.map((s): LabServer => {
    const src = source.find((x) => x.myid === s.myid)!;
    const host = spec.hosts.find((h) => h.ip === s.ip)!;
    host.paths.push(src.dataDir, src.dataLogDir, ...(src.dynamic ? [src.dynamic.path] : []));
    return { ...s, dataDir: src.dataDir, dataLogDir: src.dataLogDir, ...(src.observer ? { observer: true } : {}) };
  });
  return spec;
}

/** Place the staged copy into a server's data directories (snapshot and epochs in dataDir, logs in dataLogDir). */
function placeData(stage: string, set: CopySet, s: LabServer, at: (p: string) => string): void {
  const v2 = path.join(stage, 'version-2');
  const snapTo = path.join(at(s.dataDir), 'version-2');
  const logTo = path.join(at(s.dataLogDir), 'version-2');
  fs.mkdirSync(snapTo, { recursive: true });
  fs.mkdirSync(logTo, { recursive: true });
  // (sparse: a transaction log is preallocated to 64 MiB, mostly holes)
  const cp = (n: string, to: string) => execFileSync('cp', ['--sparse=always', '--preserve=timestamps', path.join(v2, n), path.join(to, n)]);
  for (const n of [set.snapshot, ...set.epochs]) cp(n, snapTo);
  for (const n of set.logs) cp(n, logTo);
}

/** Wait until every clone server's mode equals the source's; the modes seen. Throws LabError naming the differences. */
async function sameModes(spec: LabSpec, source: SourceServer[], planOut: string): Promise<Map<number, string>> {
  const modes = new Map<number, string>();
  const same = () => source.every((x) => modes.get(x.myid) === (x.srvr?.mode ?? 'not serving'));
  try {
    return await pollUntil('every clone server to serve in its source mode', 60_000, 200, async () => {
      for (const s of spec.servers) modes.set(s.myid, (await probeSrvr(s.ip, spec.ports.client, 1000))?.mode ?? 'not serving');
      return same() ? modes : null;
    });
  } catch {
    const diff = source.filter((x) => modes.get(x.myid) !== (x.srvr?.mode ?? 'not serving'));
    throw new LabError(
      `lab clone: the clone did not come up as its source: ${diff.map((x) => `server ${x.myid} is ${modes.get(x.myid)} (source: ${x.srvr?.mode ?? 'not serving'})`).join(', ')}. The clone lab stays up for inspection: \`zkroll lab down ${planOut}\``,
    );
  }
}

async function compareDigests(leader: SourceServer, spec: LabSpec, cloneLeader: string): Promise<{ zxid: bigint; same: boolean } | null> {
  const a = await digestLog(leader.host, spec.ports.admin);
  const b = await digestLog(cloneLeader, spec.ports.admin);
  return a && b ? commonDigest([a, b]) : null;
}

/**
 * Bring up the clone lab: each server with its source's configs mapped, the data where the
 * placement puts it (only `leader` with an `empty` placement), the placement's first quorum
 * started first. A refusal before any
 * host exists (a missing release, a port in use) leaves nothing behind.
 */
async function startClone(
  spec: LabSpec,
  source: SourceServer[],
  o: { place: Placement; leader: number; data: (s: LabServer, at: (p: string) => string) => void },
  log: Log,
): Promise<void> {
  const labOf = (id: number) => spec.servers.find((s) => s.myid === id)?.ip;
  try {
    await labUp(spec, log, {
      configFiles: (s) => {
        const src = source.find((x) => x.myid === s.myid)!;
        const files = new Map([[s.config, mapConfig(src.config.text, s.ip, labOf, true)]]);
        if (src.dynamic) files.set(src.dynamic.path, mapConfig(src.dynamic.text, s.ip, labOf, false));
        return files;
      },
      prepare: (s, at) => {
        if (o.place.kind === 'start' || s.myid === o.leader) o.data(s, at);
      },
      startFirst: o.place.first,
    });
  } catch (e) {
    if (readState(labDir(spec.cluster)) === null) fs.rmSync(labDir(spec.cluster), { recursive: true, force: true });
    throw e;
  }
}

/**
 * Clone the ensemble of `planFile` into a lab on `o.net`. Throws CloneRefused (nothing created)
 * for overlapping addresses, an existing clone lab, no single leader, mixed versions, paths the
 * lab cannot give each host, a version without a release tarball; LabError
 * for a failed copy, an unusable copy or a clone that does not come up as its source.
 */
export async function labClone(plan: Plan, planFile: string, o: CloneOptions, log: Log): Promise<CloneReport> {
  const t0 = Date.now();
  const cluster = `${plan.cluster.name}-clone`;
  const out = o.out ?? defaultCloneOut(planFile);
  if (path.resolve(out) === path.resolve(planFile)) throw new CloneRefused(`lab clone: --out ${out} is the source plan itself: name another file`);
  const hosts = mapHosts(plan, o.net);
  if (readState(labDir(cluster)) !== null)
    throw new CloneRefused(`lab clone: a lab ${cluster} exists (${labDir(cluster)}): run \`zkroll lab down ${out}\` first`);
  const commands: SourceCommand[] = [];
  const pool = new SshPool({ remoteShell: false });
  try {
    const source = (await readSource(plan, planFile, pool, commands)).sort((a, b) => a.myid - b.myid);
    const t1 = Date.now();
    const { leader, version } = checkSource(source, hosts, o.net);
    const voters = source.filter((s) => !s.observer).map((s) => s.myid);
    const place = placement(
      voters,
      source.filter((s) => s.observer).map((s) => s.myid),
      leader.myid,
      o.leaderBy,
    );
    const planned = clonePlan(planFile, out, cluster, version, hosts);
    const spec = cloneSpec(planned.plan, out, source);
    checkBuildable(spec);
    const before = leader.srvr?.zxid ?? null;
    const stage = path.join(labDir(cluster), 'clone-data');
    // production data and configs land here: readable by this machine's root only
    fs.mkdirSync(labDir(cluster), { recursive: true, mode: 0o700 });
    fs.chmodSync(labDir(cluster), 0o700);
    const data = await copyData(leader, stage, commands, log).catch((e: unknown) => {
      // only the copy is removed: the lab directory may hold the operator's own files
      fs.rmSync(stage, { recursive: true, force: true });
      throw e;
    });
    const after = (await probeSrvr(leader.host, plan.cluster.ports.client, 2000, { adminPort: plan.cluster.adminPort }).catch(() => null))?.zxid ?? null;
    await pool.closeAll();
    fs.writeFileSync(out, planned.text);
    const t2 = Date.now();
    await startClone(spec, source, { place, leader: leader.myid, data: (s, at) => placeData(stage, data.set, s, at) }, log);
    fs.rmSync(stage, { recursive: true, force: true });
    const modes = await sameModes(spec, source, out);
    const labMs = Date.now() - t2;
    return {
      cluster,
      planOut: out,
      hosts: [...hosts],
      leader: leader.myid,
      version,
      files: data.copied.files,
      streamBytes: data.copied.bytes,
      copyMs: data.copied.ms,
      snapshotZxid: data.set.snapshotZxid,
      lastZxid: data.verdict.lastZxid,
      sourceZxid: { before, after },
      skippedSnapshots: data.skipped,
      placement: place,
      servers: source.map((s) => ({ myid: s.myid, sourceMode: s.srvr?.mode ?? 'not serving', cloneMode: modes.get(s.myid)!, observer: s.observer })),
      digest: await compareDigests(leader, spec, spec.servers.find((s) => s.myid === leader.myid)!.ip),
      commands,
      phases: { read: t1 - t0, stream: data.copied.ms, checksums: data.copied.sumMs, scan: data.scanMs, lab: labMs },
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await pool.closeAll();
  }
}
