// The health table shown after a run and on failures: every host of the plan, the mode its
// ZooKeeper answers with, its zxid and znode count. Read-only (srvr over TCP).
import { allHosts } from '../plan/helpers.js';
import type { Plan } from '../plan/schema.js';
import { table } from '../ui/table.js';
import { probeSrvr } from '../zk/fourlw.js';

export async function healthTable(plan: Plan): Promise<string> {
  const hosts = allHosts(plan);
  const rows = await Promise.all(
    hosts.map(async (h) => {
      const s = await probeSrvr(h.host, plan.cluster.ports.client, 1500);
      return [h.host, h.role === 'temporary' ? `temporary ${h.myid}` : `old ${h.myid}`, s?.mode ?? 'not serving', s?.zxid != null ? `0x${s.zxid.toString(16)}` : '-', s?.nodeCount != null ? String(s.nodeCount) : '-'];
    }),
  );
  return table(['host', 'plan role', 'mode', 'zxid', 'znodes'], rows);
}
