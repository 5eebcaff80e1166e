// Plan → LabSpec: which hosts the lab must build for a plan, what each must see, and the
// scenario (down servers, data, proxies) with command-line overrides. Pure.
// Invariants: every host of the plan (servers and the rebuild's temporary server) becomes a
// lab host; a host gets every install it will ever use (current and target).
import type { Plan } from '../plan/schema.js';
import { effectiveSsh, resolveLocalPath } from '../plan/load.js';
import { LabError, type LabHost, type LabSpec } from './spec.js';

export interface LabOverrides {
  down?: number[];
  znodes?: number;
  proxies?: number;
  initialZxid?: bigint;
  whitelist?: string;
  loginDelayMs?: number;
}

export function labSpecFromPlan(plan: Plan, planFile: string, o: LabOverrides = {}): LabSpec {
  const hosts = new Map<string, LabHost>();
  const nodes = [...plan.servers.map((s) => ({ node: s, current: true })), ...(plan.strategy.kind === 'rebuild' ? [{ node: plan.strategy.temporary, current: false }] : [])];
  let ssh0: ReturnType<typeof effectiveSsh> | undefined;
  for (const { node, current } of nodes) {
    const ssh = effectiveSsh(plan, node);
    ssh0 ??= ssh;
    if (ssh.jumpHost !== undefined) throw new LabError(`lab: host ${node.host} uses ssh.jumpHost; the lab does not emulate bastions: remove jumpHost from the lab plan`);
    if (ssh.user !== ssh0.user || ssh.identityFile !== ssh0.identityFile || ssh.knownHosts !== ssh0.knownHosts) {
      throw new LabError(`lab: host ${node.host} overrides ssh user/identityFile/knownHosts; the lab uses one operator key and one known_hosts for all hosts`);
    }
    const h = hosts.get(node.host) ?? { ip: node.host, sshPort: ssh.port, paths: [], installs: [] };
    const installs = current ? [{ home: node.home, version: 'current' }, { home: plan.target.home, version: plan.target.version }] : [{ home: node.home, version: plan.target.version }];
    for (const inst of installs) if (!h.installs.some((i) => i.home === inst.home)) h.installs.push(inst);
    h.paths.push(node.home, node.config, node.dataDir, node.dataLogDir, plan.target.home, plan.target.config);
    hosts.set(node.host, h);
  }
  if (!ssh0) throw new LabError('lab: the plan has no servers');
  if (ssh0.identityFile === undefined) throw new LabError('lab: the plan has no ssh.identityFile; the lab needs one (it generates the key when the path is inside the lab directory)');
  const servers = plan.servers.map((s) => ({ myid: s.myid, ip: s.host, home: s.home, config: s.config, dataDir: s.dataDir, dataLogDir: s.dataLogDir }));
  const down = o.down ?? plan.lab.down;
  for (const id of down) if (!servers.some((s) => s.myid === id)) throw new LabError(`lab: --down ${id}: no server has myid ${id} in the plan`);
  const proxies = plan.lab.proxies ? { product: plan.lab.proxies.product, count: o.proxies ?? plan.lab.proxies.count } : o.proxies ? { product: 'codis-demo', count: o.proxies } : null;
  return {
    cluster: plan.cluster.name,
    planFile,
    ports: { ...plan.cluster.ports, admin: plan.cluster.adminPort },
    sshUser: ssh0.user,
    identityFile: resolveLocalPath(planFile, ssh0.identityFile),
    knownHostsFile: resolveLocalPath(planFile, ssh0.knownHosts),
    hosts: [...hosts.values()],
    servers,
    down,
    znodes: o.znodes ?? plan.lab.znodes,
    proxies: proxies && proxies.count > 0 ? proxies : null,
    initialZxid: o.initialZxid ?? null,
    whitelist: o.whitelist ?? '*',
    loginDelayMs: o.loginDelayMs ?? plan.lab.loginDelay ?? 0,
  };
}
