// The health table shown after a run and on failures: every host of the plan, the mode its
// ZooKeeper answers with, its zxid and znode count. Read-only (srvr over TCP).
// Invariants: never throws for a server that does not answer (its row says `not serving`).
import { hexZxid } from '../zk/zxid.js';
import { allHosts } from '../plan/helpers.js';
import type { Plan } from '../plan/schema.js';
import { table } from '../ui/table.js';
import { readSrvr } from '../zk/fourlw.js';

export async function healthTable(plan: Plan): Promise<string> {
  const hosts = allHosts(plan);
  const rows = await Promise.all(
    hosts.map(async (h) => {
      const r = await readSrvr(h.host, plan.cluster.ports.client, 1500, { adminPort: plan.cluster.adminPort });
      const s = r.state === 'serving' ? r.srvr : null;
      const to = plan.strategy.kind === 'rebuild' ? plan.strategy.renumber.find((r) => r.from === h.myid)?.to : undefined;
      const role = h.role === 'temporary' ? `temporary ${h.myid}` : to !== undefined && to !== h.myid ? `${h.myid} → ${to}` : `${h.myid}`;
      return [
        h.host,
        role,
        s?.mode ?? (r.state === 'refused' ? 'refused (srvr, stat, AdminServer)' : 'not serving'),
        hexZxid(s?.zxid),
        s?.nodeCount != null ? String(s.nodeCount) : '-',
      ];
    }),
  );
  return table(['host', 'myid (plan)', 'mode', 'zxid', 'znodes'], rows);
}
