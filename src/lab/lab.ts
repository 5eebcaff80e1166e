// The lab: `up` builds a local replica of a plan's hosts (sshd per loopback address in its own
// mount namespace, ZooKeeper installs, the current ensemble started, data and proxies loaded
// (with the proxies, clients that log their outcomes: the writer, src/lab/writer.ts, and Java
// clients of two releases, src/lab/javaclients.ts), the plan's down servers stopped); `status`
// reads it; `down` ends it. `lab clone` (src/lab/clone.ts) builds its lab through `up` with hooks:
// its own config files and data per server, and a quorum started first.
// Invariants: nothing is started before every check passed (ports, packages, paths); the state
// file is written as soon as a process exists, so `down` can always find what `up` started;
// `down` kills by recorded pid / recorded namespace only, and is safe to run twice.
import { bulkCount, loadBulk } from './bulk.js';
import { quorumOf } from '../compile/nodes.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeSrvr, type Srvr } from '../zk/fourlw.js';
import { ZkClient } from '../zk/client.js';
import { HOST_STATE_DIR } from '../run/hostlock.js';
import { checkPrerequisites, ensureSuperPassword, renderLabZooCfg, writeInstall } from './install.js';
import { killListener } from './faults.js';
import { JAVA_CLIENT_FILE_PREFIX, startJavaClients, waitAnswered, type JavaClientProc } from './javaclients.js';
import { findTarball, unpackedRelease } from './releases.js';
import { isAlive, killAll, pidsInNamespace, pidsWithCmdline, pollUntil, portFree, spawnDetached } from './procs.js';
import { backingPath, connectString, encodeRoot, hasListenerBug, isLoopbackV4, LabError, mountRoots, type LabServer, type LabSpec } from './spec.js';
export { hasListenerBug } from './spec.js';
import { ensureIdentity, hostDirs, loginProfile, prepareSshd, startSshd } from './sshd.js';

export interface LabState {
  version: 1;
  cluster: string;
  planFile: string;
  createdDirs: string[];
  roots: string[];
  hosts: { ip: string; sshPort: number; sshPid: number; ns: string }[];
  proxiesPid: number | null;
  /** The writer client (src/lab/writer.ts), started with the proxies; absent in older state files. */
  writerPid?: number | null;
  /** The Java clients (src/lab/javaclients.ts), started with the proxies; absent in older state files. */
  javaClients?: JavaClientProc[];
}

export function labRoot(): string {
  return process.env['ZKROLL_LAB_ROOT'] ?? '/tmp/zkroll-lab';
}

/** Where unpacked releases are cached, beside the labs (a cluster name cannot start with a dot). */
export function releaseCache(): string {
  return path.join(labRoot(), '.releases');
}

export function labDir(cluster: string): string {
  return path.join(labRoot(), cluster);
}

const stateFile = (dir: string) => path.join(dir, 'state.json');

export function readState(dir: string): LabState | null {
  try {
    return JSON.parse(fs.readFileSync(stateFile(dir), 'utf8')) as LabState;
  } catch {
    return null;
  }
}

function writeState(dir: string, st: LabState): void {
  const tmp = stateFile(dir) + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify(st, null, 2));
  fs.renameSync(tmp, stateFile(dir));
}

export type Log = (line: string) => void;

function validate(spec: LabSpec, dir: string): void {
  for (const h of spec.hosts) {
    if (!isLoopbackV4(h.ip)) {
      throw new LabError(`lab: host ${h.ip} is not a loopback address: the lab only runs hosts on 127.0.0.0/8 (write hosts like 127.0.10.6 in a lab plan)`);
    }
  }
  if (!spec.knownHostsFile.startsWith(dir + path.sep)) {
    throw new LabError(
      `lab: ssh.knownHosts is ${spec.knownHostsFile}; the lab writes its host keys only inside its own directory: set ssh.knownHosts to ${path.join(dir, 'known_hosts')}`,
    );
  }
  const user = process.env['USER'] ?? 'root';
  if (spec.sshUser !== 'root' && spec.sshUser !== user) {
    throw new LabError(`lab: ssh.user is ${spec.sshUser}, but lab hosts accept only the user running the lab (root): set ssh.user: root`);
  }
}

async function checkPorts(spec: LabSpec): Promise<void> {
  const clashes: string[] = [];
  for (const h of spec.hosts) {
    const ports = [h.sshPort, spec.ports.client, spec.ports.quorum, spec.ports.election, spec.ports.admin];
    for (const p of ports) if (!(await portFree(h.ip, p))) clashes.push(`${h.ip}:${p}`);
  }
  if (clashes.length > 0) {
    const others = fs.existsSync(labRoot()) ? fs.readdirSync(labRoot()).filter((c) => c !== spec.cluster && readState(labDir(c)) !== null) : [];
    const hint =
      others.length > 0
        ? ` Another lab is up (${others.join(', ')}): run \`zkroll lab down\` on its plan.`
        : ' Stop whatever listens there, or change the ports in the plan.';
    throw new LabError(`lab: already in use: ${clashes.join(', ')}.${hint}`);
  }
}

/** Run a command inside a lab host's mount namespace (detached: daemons outlive us). */
export function inHost(st: LabState, ip: string, argv: string[], timeoutMs = 30000): Promise<{ code: number | null; out: string }> {
  const h = st.hosts.find((x) => x.ip === ip);
  if (!h) throw new LabError(`lab: no host ${ip}`);
  const nsPid = isAlive(h.sshPid) ? h.sshPid : pidsInNamespace(h.ns)[0];
  if (nsPid === undefined) throw new LabError(`lab: host ${ip} is gone (its sshd is not running)`);
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/nsenter', [`--mount=/proc/${nsPid}/ns/mnt`, '--', ...argv], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new LabError(`lab: ${argv.join(' ')} on ${ip} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

// run from the install home: a 3.4 zkServer.sh writes zookeeper.out to its working directory
async function zkServer(st: LabState, s: LabServer, action: 'start' | 'stop'): Promise<void> {
  // (a cd inside the namespace: nsenter --wd would resolve the directory in ours)
  const r = await inHost(st, s.ip, ['/bin/sh', '-c', 'cd "$1" && exec /bin/bash "$1/bin/zkServer.sh" "$2" "$3"', 'sh', s.home, action, s.config]);
  if (r.code !== 0 && !(action === 'start' && /already running/.test(r.out))) {
    throw new LabError(`lab: zkServer.sh ${action} of server ${s.myid} on ${s.ip} failed (exit ${r.code}): ${r.out.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** Poll srvr until `myids` serve with exactly one leader. */
export async function waitQuorum(spec: LabSpec, myids: number[], deadlineMs: number): Promise<Map<number, Srvr>> {
  return pollUntil(`servers ${myids.join(', ')} to serve with one leader`, deadlineMs, 100, async () => {
    const res = new Map<number, Srvr>();
    for (const s of spec.servers.filter((x) => myids.includes(x.myid))) {
      const r = await probeSrvr(s.ip, spec.ports.client, 1000);
      if (r === null) return null;
      res.set(s.myid, r);
    }
    const leaders = [...res.values()].filter((r) => r.mode === 'leader' || r.mode === 'standalone');
    return leaders.length === 1 ? res : null;
  });
}

async function loadData(spec: LabSpec, myids: number[], count: number): Promise<void> {
  if (count === 0) return;
  const zk = await ZkClient.connect(connectString(spec, myids), 15000);
  try {
    await zk.mkdirp('/lab/data');
    for (let i = 0; i < count; i += 100) {
      const batch: Promise<string>[] = [];
      for (let j = i; j < Math.min(count, i + 100); j++) {
        const p = `/lab/data/n-${String(j).padStart(6, '0')}`;
        batch.push(zk.create(p, JSON.stringify({ i: j, cluster: spec.cluster })).catch((e: unknown) => (String(e).includes('-110') ? p : Promise.reject(e))));
      }
      await Promise.all(batch);
    }
  } finally {
    zk.close();
  }
}

/** `--data-mb`: production-size data through the first server, timed. */
async function loadBulkData(spec: LabSpec, log: (l: string) => void): Promise<void> {
  const count = bulkCount(spec.dataMb);
  const first = spec.servers.find((s) => !spec.down.includes(s.myid)) ?? spec.servers[0]!;
  const t0 = Date.now();
  const bytes = await loadBulk(first.ip, spec.ports.client, count, (n) => log(`  ${n} of ${count} bulk znodes`));
  const s = (Date.now() - t0) / 1000;
  log(`loaded ${count} znodes (${(bytes / 1048576).toFixed(0)} MiB of payload) under /lab/bulk in ${s.toFixed(1)} s (${Math.round(count / s)} creates/s)`);
}

/** Start the Codis-like proxies; like real clients they are given every server of the config. */
function startProxies(spec: LabSpec, dir: string): number {
  if (!spec.proxies) throw new LabError('lab: no proxies configured');
  const args = ['--connect', connectString(spec), '--product', spec.proxies.product, '--count', String(spec.proxies.count)];
  return spawnDetached(fileURLToPath(new URL('./proxies.js', import.meta.url)), args, path.join(dir, 'proxies.log'), 'the proxies process');
}

// ---- the writer client (src/lab/writer.ts): started with the proxies, ended by labDown ----

/** The writer client's outcome log (JSON lines, see src/lab/writer.ts). */
export function writerLog(cluster: string): string {
  return path.join(labDir(cluster), 'writer.jsonl');
}

/** How the report names the writer's lane. */
export const WRITER_NAME = 'lab writer (node)';

/** How long `lab up` waits for the Java clients' first answer (ms; a JVM starts in 1-2 s). */
const JAVA_CLIENTS_WAIT_MS = 30_000;

/** Every client the lab started, with its outcome log, in the order the report draws them (none when the lab is not up). */
export function labClients(cluster: string): { name: string; file: string; pid: number }[] {
  const st = readState(labDir(cluster));
  if (!st) return [];
  const writer = st.writerPid != null ? [{ name: WRITER_NAME, file: writerLog(cluster), pid: st.writerPid }] : [];
  return [...writer, ...(st.javaClients ?? []).map((c) => ({ name: c.name, file: c.log, pid: c.pid }))];
}

/** Start the writer client against every server of the config; its pid. */
function startWriter(spec: LabSpec, dir: string): number {
  const args = ['--connect', connectString(spec), '--out', writerLog(spec.cluster)];
  return spawnDetached(fileURLToPath(new URL('./writer.js', import.meta.url)), args, path.join(dir, 'writer.log'), 'the writer client');
}

export async function proxyNodes(spec: LabSpec, myids: number[]): Promise<string[]> {
  if (!spec.proxies) return [];
  const zk = await ZkClient.connect(connectString(spec, myids), 5000);
  try {
    const p = `/jodis/${spec.proxies.product}`;
    return (await zk.exists(p)) ? await zk.getChildren(p) : [];
  } finally {
    zk.close();
  }
}

/** Stop one lab server and wait for its JVM to exit (3.4's zkServer.sh stop does not wait). */
async function stopServer(st: LabState, dir: string, roots: string[], s: LabServer): Promise<void> {
  const pidFile = backingPath(hostDirs(dir, s.ip).dir, roots, path.posix.join(s.dataDir, 'zookeeper_server.pid'));
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  await zkServer(st, s, 'stop');
  await pollUntil(`server ${s.myid} to stop`, 15000, 50, () => !isAlive(pid));
}

function nsOf(st: LabState, ip: string): string {
  const h = st.hosts.find((x) => x.ip === ip);
  if (!h) throw new LabError(`lab: no host ${ip}`);
  return h.ns;
}

/** Every version's unpacked release (cached under <lab root>/releases), checked before anything starts. */
function resolveReleases(spec: LabSpec): Map<string, string> {
  const versions = [...new Set(spec.hosts.flatMap((h) => h.installs.map((i) => i.version)))];
  const tarballs = new Map(versions.map((v) => [v, findTarball(v, spec.releases)]));
  return new Map([...tarballs].map(([v, t]) => [v, unpackedRelease(t, v, releaseCache())]));
}

export interface UpResult {
  dir: string;
  already: boolean;
  serving: number[];
  down: number[];
  leader: number | null;
  proxies: string[];
  seconds: number;
}

/** What `lab clone` changes in `labUp` (src/lab/clone.ts); absent: the lab's own configs, no data, all servers at once. */
export interface LabUpHooks {
  /** The config files of server `s` (host path → text) instead of the rendered zoo.cfg. */
  configFiles?: (s: LabServer) => Map<string, string>;
  /** Runs once per server after its directories and myid exist, before any server starts; `at`: host path → backing path here. */
  prepare?: (s: LabServer, at: (p: string) => string) => void;
  /** Servers started first and waited on until one of them leads; the others start after. Default: all at once. */
  startFirst?: number[];
}

export async function labUp(spec: LabSpec, log: Log, hooks: LabUpHooks = {}): Promise<UpResult> {
  const t0 = Date.now();
  const dir = labDir(spec.cluster);
  checkPrerequisites();
  validate(spec, dir);
  const releases = resolveReleases(spec);
  const serving = spec.servers.map((s) => s.myid).filter((id) => !spec.down.includes(id));
  const existing = readState(dir);
  if (existing) {
    const alive = existing.hosts.filter((h) => isAlive(h.sshPid));
    if (alive.length === existing.hosts.length && existing.hosts.length > 0) {
      log(`lab ${spec.cluster} is already up (${dir}); nothing changed`);
      const st = await labStatus(spec);
      return {
        dir,
        already: true,
        serving: st.servers.filter((s) => s.srvr).map((s) => s.myid),
        down: spec.down,
        leader: st.leader,
        proxies: st.proxies,
        seconds: (Date.now() - t0) / 1000,
      };
    }
    if (alive.length > 0) {
      throw new LabError(
        `lab ${spec.cluster} is partly up (${alive.length} of ${existing.hosts.length} hosts alive): run \`zkroll lab down ${spec.planFile}\`, then \`lab up\` again`,
      );
    }
    log('found a stale lab (no host running): cleaning it first');
    await labDown(spec.cluster, () => {});
  }
  const roots = mountRoots(spec.hosts.flatMap((h) => h.paths));
  await checkPorts(spec);
  for (const r of roots) {
    if (fs.existsSync(r) && (!fs.statSync(r).isDirectory() || fs.readdirSync(r).length > 0)) {
      throw new LabError(
        `lab: cannot mount a private ${r} per host: it exists on this machine and is not an empty directory. Use other paths in the plan (for example /opt/<name>, /data/<name>).`,
      );
    }
  }

  fs.mkdirSync(dir, { recursive: true });
  // the lab's key, password and (for a clone) production's data: this machine's root only
  fs.chmodSync(dir, 0o700);
  const authorized = ensureIdentity(spec.identityFile, dir);
  // membership: reconfig plans: every lab server knows the superuser's digest (zookeeperAdmin.md)
  const superFlag = spec.superUser ? `-Dzookeeper.DigestAuthenticationProvider.superDigest=${ensureSuperPassword(spec.superUser, dir)}` : '';
  const createdDirs: string[] = [];
  for (const r of roots) {
    const missing: string[] = [];
    for (let p = r; p !== '/' && !fs.existsSync(p); p = path.dirname(p)) missing.unshift(p);
    for (const p of missing) {
      fs.mkdirSync(p);
      createdDirs.push(p);
    }
  }
  const st: LabState = { version: 1, cluster: spec.cluster, planFile: spec.planFile, createdDirs, roots, hosts: [], proxiesPid: null };
  writeState(dir, st);

  const known: string[] = [];
  for (const h of spec.hosts) {
    const hd = hostDirs(dir, h.ip);
    for (const r of roots) fs.mkdirSync(path.join(hd.dir, 'fs', encodeRoot(r)), { recursive: true });
    const at = (p: string) => backingPath(hd.dir, roots, p);
    const current = new Set(spec.servers.map((s) => s.home));
    const zxidFlag = spec.initialZxid !== null ? `-Dzookeeper.testingonly.initialZxid=${spec.initialZxid}` : '';
    for (const inst of h.installs)
      writeInstall(at(inst.home), releases.get(inst.version)!, [current.has(inst.home) ? zxidFlag : '', superFlag].filter(Boolean).join(' '), spec.dataMb);
    for (const s of spec.servers.filter((x) => x.ip === h.ip)) {
      fs.mkdirSync(at(s.dataDir), { recursive: true });
      fs.mkdirSync(at(s.dataLogDir), { recursive: true });
      fs.writeFileSync(path.join(at(s.dataDir), 'myid'), `${s.myid}\n`);
      const files = hooks.configFiles?.(s) ?? new Map([[s.config, renderLabZooCfg(spec, s)]]);
      for (const [p, text] of files) {
        fs.mkdirSync(path.dirname(at(p)), { recursive: true });
        fs.writeFileSync(at(p), text);
      }
      hooks.prepare?.(s, at);
    }
    const { config, knownHostsLine } = prepareSshd(hd, h.ip, h.sshPort, authorized);
    known.push(knownHostsLine);
    const binds = roots.map((r): [string, string] => [path.join(hd.dir, 'fs', encodeRoot(r)), r]);
    const profile = loginProfile(hd, spec.loginDelayMs);
    if (profile !== null) binds.push([profile.file, profile.over]);
    const started = await startSshd(hd, h.ip, h.sshPort, config, binds);
    st.hosts.push({ ip: h.ip, sshPort: h.sshPort, sshPid: started.pid, ns: started.ns });
    writeState(dir, st);
  }
  fs.mkdirSync(path.dirname(spec.knownHostsFile), { recursive: true });
  fs.writeFileSync(spec.knownHostsFile, known.join('\n') + '\n');
  log(`${spec.hosts.length} hosts up: ${spec.hosts.map((h) => `${h.ip}:${h.sshPort}`).join(', ')}`);

  const all = spec.servers.map((s) => s.myid);
  const first = hooks.startFirst ?? all;
  const startAll = (ids: number[]) => Promise.all(spec.servers.filter((s) => ids.includes(s.myid)).map((s) => zkServer(st, s, 'start')));
  await startAll(first);
  await waitQuorum(spec, first, 90000);
  if (first.length < all.length) {
    log(`${first.join(', ')} formed first; starting ${all.filter((id) => !first.includes(id)).join(', ')}`);
    await startAll(all.filter((id) => !first.includes(id)));
    await waitQuorum(spec, all, 90000);
  }
  log(`ensemble of ${all.length} formed (${all.join(', ')})`);
  await loadData(spec, all, spec.znodes);
  if (spec.znodes > 0) log(`loaded ${spec.znodes} znodes under /lab/data`);
  if (spec.dataMb > 0) await loadBulkData(spec, log);

  if (spec.deadListeners !== null) {
    // the incident: every election listener dies (a port scanner), then the down servers are
    // restarted and cannot rejoin (they stay LOOKING)
    for (const s of spec.servers) log(await killListener(spec, dir, nsOf(st, s.ip), s, spec.deadListeners));
  }
  for (const s of spec.servers.filter((x) => spec.down.includes(x.myid))) await stopServer(st, dir, roots, s);
  if (spec.down.length > 0 && spec.deadListeners !== null) {
    await Promise.all(spec.servers.filter((x) => spec.down.includes(x.myid)).map((s) => zkServer(st, s, 'start')));
    log(`restarted ${spec.down.join(', ')}: with the election listeners of the others dead they cannot rejoin (LOOKING)`);
  } else if (spec.down.length > 0) log(`stopped ${spec.down.join(', ')} (down in this scenario)`);
  const quorum = quorumOf(all.length);
  let leader: number | null = null;
  let proxies: string[] = [];
  if (serving.length >= quorum) {
    const q = await waitQuorum(spec, serving, 60000);
    leader = [...q.entries()].find(([, r]) => r.mode === 'leader' || r.mode === 'standalone')?.[0] ?? null;
    if (spec.proxies) {
      st.proxiesPid = startProxies(spec, dir);
      st.writerPid = startWriter(spec, dir);
      writeState(dir, st);
      const java: JavaClientProc[] = (st.javaClients = []);
      startJavaClients(spec, dir, releaseCache(), log, (c) => {
        java.push(c);
        writeState(dir, st);
      });
      const want = spec.proxies.count;
      proxies = await pollUntil(`${want} proxies to register`, 30000, 100, async () => {
        const n = await proxyNodes(spec, serving);
        return n.length >= want ? n : null;
      });
      log(`${proxies.length} proxies registered under /jodis/${spec.proxies.product}; a writer client logs its outcomes to ${writerLog(spec.cluster)}`);
      const silent = await waitAnswered(java, JAVA_CLIENTS_WAIT_MS);
      if (java.length > 0)
        log(`${java.map((c) => c.name).join(' and ')} write and read, logging to ${java.map((c) => path.basename(c.log)).join(', ')} beside it`);
      if (silent.length > 0)
        log(`warning: ${silent.join(', ')} not answered within ${JAVA_CLIENTS_WAIT_MS / 1000} s (see ${path.join(dir, `${JAVA_CLIENT_FILE_PREFIX}*.log`)})`);
    }
  } else {
    log(`only ${serving.length} of ${all.length} servers serve: below quorum (${quorum}), the ensemble is down`);
  }
  return { dir, already: false, serving, down: spec.down, leader, proxies, seconds: (Date.now() - t0) / 1000 };
}

export interface LabStatus {
  up: boolean;
  dir: string;
  hosts: { ip: string; sshPort: number; sshd: boolean }[];
  servers: { myid: number; ip: string; srvr: Srvr | null }[];
  leader: number | null;
  proxies: string[];
  proxiesProcess: boolean;
  /** The lab's clients (writer, Java clients) and whether each still runs. */
  clients: { name: string; file: string; running: boolean }[];
}

export async function labStatus(spec: LabSpec): Promise<LabStatus> {
  const dir = labDir(spec.cluster);
  const st = readState(dir);
  const servers = await Promise.all(
    spec.servers.map(async (s) => ({ myid: s.myid, ip: s.ip, srvr: st ? await probeSrvr(s.ip, spec.ports.client, 1000) : null })),
  );
  const serving = servers.filter((s) => s.srvr).map((s) => s.myid);
  const leader = servers.find((s) => s.srvr?.mode === 'leader' || s.srvr?.mode === 'standalone')?.myid ?? null;
  let proxies: string[] = [];
  if (leader !== null) proxies = await proxyNodes(spec, serving).catch(() => []);
  return {
    up: st !== null && st.hosts.some((h) => isAlive(h.sshPid)),
    dir,
    hosts: (st?.hosts ?? []).map((h) => ({ ip: h.ip, sshPort: h.sshPort, sshd: isAlive(h.sshPid) })),
    servers,
    leader,
    proxies,
    proxiesProcess: st?.proxiesPid != null && isAlive(st.proxiesPid),
    clients: labClients(spec.cluster).map((c) => ({ name: c.name, file: c.file, running: isAlive(c.pid) })),
  };
}

/** The mount roots of the other labs whose hosts are still up. */
function rootsOfOtherLabs(cluster: string): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(labRoot()).filter((n) => n !== cluster && !n.startsWith('.'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const st = readState(labDir(n));
    return st && st.hosts.some((h) => isAlive(h.sshPid)) ? st.roots : [];
  });
}

/** End every process the lab started and remove what it made. Safe to run twice. */
export async function labDown(cluster: string, log: Log): Promise<{ killed: number; hard: number }> {
  const dir = labDir(cluster);
  const st = readState(dir);
  const pids = new Set<number>();
  if (st?.proxiesPid != null && isAlive(st.proxiesPid)) pids.add(st.proxiesPid);
  if (st?.writerPid != null && isAlive(st.writerPid)) pids.add(st.writerPid);
  for (const c of st?.javaClients ?? []) if (isAlive(c.pid)) pids.add(c.pid);
  // (a lost state file must not leave Java clients behind either: they name their log in the lab dir)
  for (const p of pidsWithCmdline(path.join(dir, JAVA_CLIENT_FILE_PREFIX))) pids.add(p);
  for (const h of st?.hosts ?? []) {
    for (const p of pidsInNamespace(h.ns)) pids.add(p);
    if (isAlive(h.sshPid)) pids.add(h.sshPid);
  }
  // A lost or partial state file must not leave sshds behind: they name their config in the lab dir.
  for (const p of pidsWithCmdline(path.join(dir, 'hosts') + '/')) pids.add(p);
  const hard = await killAll([...pids]);
  // a directory another live lab mounts over must stay: removing a mount point unmounts it in
  // every mount namespace (since Linux 3.18), and that lab's hosts would lose their installs
  const shared = rootsOfOtherLabs(cluster);
  for (const d of [...(st?.createdDirs ?? [])].reverse()) {
    if (shared.some((r) => r === d || r.startsWith(d + '/'))) {
      log(`left ${d} in place (another lab's hosts mount it)`);
      continue;
    }
    try {
      fs.rmdirSync(d);
    } catch {
      log(`left ${d} in place (not empty or already gone)`);
    }
  }
  if (fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true });
  // zkroll's copy of the run on the hosts (src/run/hostlock.ts): the lab's hosts log in as this
  // machine's users, so their ~/.zkroll is this machine's; a new lab starts without an old run
  fs.rmSync(path.join(os.userInfo().homedir, HOST_STATE_DIR, cluster), { recursive: true, force: true });
  if (pids.size > 0 || st) log(`lab ${cluster} down: ended ${pids.size} processes${hard.length ? ` (${hard.length} needed SIGKILL)` : ''}, removed ${dir}`);
  else log(`lab ${cluster}: nothing to do (not up)`);
  return { killed: pids.size, hard: hard.length };
}

/**
 * The incident's fault on one server: its election listener dies, it keeps serving. `how`
 * defaults to the port scan on releases before 3.4.7 (ZOOKEEPER-2186), else the agent.
 */
export async function labKillListener(spec: LabSpec, myid: number, log: Log, how?: 'port-scan' | 'agent'): Promise<void> {
  const dir = labDir(spec.cluster);
  const st = readState(dir);
  const s = spec.servers.find((x) => x.myid === myid);
  if (!st || !s) throw new LabError(!st ? `lab ${spec.cluster} is not up` : `no server ${myid} in the plan`);
  // the release that runs now (after an apply it is the target's), else the plan's
  const running = (await probeSrvr(s.ip, spec.ports.client, 1000))?.version || spec.currentVersion;
  log(await killListener(spec, dir, nsOf(st, s.ip), s, how ?? (hasListenerBug(running) ? 'port-scan' : 'agent')));
}
