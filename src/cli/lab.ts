// `zkroll lab up|status|down <plan>`: the CLI face of src/lab. Loads the plan (plan errors
// exit 2 like `validate`), turns it into a lab spec and prints what happened.
// Invariants: prints results, never exits the process (main.ts owns process.exit).
import { hexZxid } from '../zk/zxid.js';
import { labDown, labKillListener, labStatus, labUp, labDir } from '../lab/lab.js';
import { labSpecFromPlan, type LabOverrides } from '../lab/fromplan.js';
import { table } from '../ui/table.js';
import { loadOrFail } from './common.js';

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
