// `zkroll lab up|status|down|clone <plan>`: the CLI face of src/lab. Loads the plan (plan errors
// exit 2 like `validate`), turns it into a lab spec and prints what happened.
// Invariants: prints results, never exits the process (main.ts owns process.exit).
import { hexZxid } from '../zk/zxid.js';
import { labDown, labKillListener, labStatus, labUp, labDir } from '../lab/lab.js';
import { labSpecFromPlan, type LabOverrides } from '../lab/fromplan.js';
import { table } from '../ui/table.js';
import { CliError, EXIT, loadOrFail } from './common.js';
import { CloneRefused, labClone, type CloneOptions, type CloneReport } from '../lab/clone.js';

export async function cmdLabUp(file: string, o: LabOverrides, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  const spec = labSpecFromPlan(plan, file, o);
  const r = await labUp(spec, (l) => out(`lab: ${l}`));
  if (!r.already) {
    out(`lab ${spec.cluster} up in ${r.seconds.toFixed(1)} s (${r.dir})`);
    out(`  serving: ${r.serving.join(', ') || 'none'}${r.leader !== null ? ` (leader ${r.leader})` : ''}; down: ${r.down.join(', ') || 'none'}`);
    out(`  ssh: ${spec.sshUser}@<host> -p ${spec.hosts[0]?.sshPort} -i ${spec.identityFile} -o UserKnownHostsFile=${spec.knownHostsFile}`);
  }
  return 0;
}

export async function cmdLabStatus(file: string, json: boolean, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  const spec = labSpecFromPlan(plan, file);
  const st = await labStatus(spec);
  if (json) {
    out(JSON.stringify(st, (_k, v: unknown) => (typeof v === 'bigint' ? hexZxid(v) : v), 2));
    return st.up ? 0 : 1;
  }
  if (!st.up) {
    out(`lab ${spec.cluster} is not up (${labDir(spec.cluster)})`);
    return 1;
  }
  const rows = spec.hosts.map((h) => {
    const host = st.hosts.find((x) => x.ip === h.ip);
    const srv = st.servers.find((s) => s.ip === h.ip);
    return [
      h.ip,
      host?.sshd ? `up :${h.sshPort}` : 'DOWN',
      srv ? String(srv.myid) : '(spare)',
      srv ? (srv.srvr?.mode ?? 'not serving') : '-',
      srv?.srvr?.version || '-',
      hexZxid(srv?.srvr?.zxid),
      srv?.srvr?.nodeCount != null ? String(srv.srvr.nodeCount) : '-',
    ];
  });
  out(table(['host', 'sshd', 'myid', 'mode', 'version', 'zxid', 'znodes'], rows));
  if (spec.proxies)
    out(`proxies: ${st.proxies.length} registered under /jodis/${spec.proxies.product} (process ${st.proxiesProcess ? 'running' : 'not running'})`);
  if (st.clients.length > 0) out(`clients: ${st.clients.map((c) => `${c.name} ${c.running ? 'running' : 'NOT running'}`).join(', ')} (logs in ${st.dir})`);
  return 0;
}

export async function cmdLabDown(file: string, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  await labDown(plan.cluster.name, (l) => out(l));
  return 0;
}

export async function cmdLabKillListener(file: string, myid: number, how: 'port-scan' | 'agent' | undefined, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  await labKillListener(labSpecFromPlan(plan, file), myid, (l) => out(`lab: ${l}`), how);
  return 0;
}

const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;

/** The clone's report: what was copied (sizes, sha256, zxids, time), how the leader was placed, what ran on the source. */
export function renderCloneReport(r: CloneReport): string[] {
  const lines = [
    `lab ${r.cluster} cloned in ${r.seconds.toFixed(1)} s: ZooKeeper ${r.version}, leader ${r.leader}; plan ${r.planOut}`,
    `  hosts: ${r.hosts.map(([a, b]) => `${a} → ${b}`).join(', ')}`,
    `  copied from server ${r.leader}: ${mib(r.streamBytes)} through the stream in ${(r.copyMs / 1000).toFixed(1)} s (${mib((r.streamBytes * 1000) / Math.max(1, r.copyMs))}/s)`,
    table(
      ['file', 'bytes', 'sha256 (equal on the source)'],
      r.files.map((f) => [f.name, String(f.bytes), f.changed ? `${f.sha256} (source now ${f.changed.slice(0, 12)}…: still written to)` : f.sha256]),
    ),
    `  snapshot zxid ${hexZxid(r.snapshotZxid)}, last zxid in the copy ${hexZxid(r.lastZxid)}; the source leader was at ${hexZxid(r.sourceZxid.before)} before the copy, ${hexZxid(r.sourceZxid.after)} after`,
    ...r.skippedSnapshots.map((s) => `  passed over: ${s}`),
    `  placement: ${r.placement.kind === 'start' ? 'start order' : 'leader only has data'}: ${r.placement.why}`,
    `  servers: ${r.servers.map((s) => `${s.myid} ${s.cloneMode}${s.cloneMode === s.sourceMode ? '' : ` (source ${s.sourceMode})`}`).join(', ')} (each as on the source)`,
    r.digest === null
      ? '  tree digest: none in common (3.4/3.5, or no zxid multiple of 128 in both logs); compare with `zkroll verify`'
      : `  tree digest at zxid ${hexZxid(r.digest.zxid)}: ${r.digest.same ? 'equal on the source and the clone' : 'DIFFERENT on the source and the clone'}`,
    `  time: ${(['read', 'stream', 'checksums', 'scan', 'lab'] as const).map((k) => `${k} ${(r.phases[k] / 1000).toFixed(1)} s`).join(', ')} (read: the source's files and srvr; checksums: sha256 at both ends; scan: Adler32 and log continuity of the copy; lab: up to every server in its source mode)`,
    `  on the source: ${r.commands.length} read-only commands on exec channels (cat, ls, tar -cf -, sha256sum), nothing written; sshd logs the logins`,
  ];
  return lines;
}

export async function cmdLabClone(file: string, o: CloneOptions, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  let r: CloneReport;
  try {
    r = await labClone(plan, file, o, (l) => out(`lab: ${l}`));
  } catch (e) {
    if (e instanceof CloneRefused) throw new CliError(e.message, EXIT.badInput);
    throw e;
  }
  for (const l of renderCloneReport(r)) out(l);
  if (r.digest !== null && !r.digest.same) return EXIT.failed;
  return EXIT.ok;
}
