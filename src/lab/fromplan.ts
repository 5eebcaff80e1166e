// Plan → LabSpec: which hosts the lab must build for a plan, what each must see, and the
// scenario (down servers, data, proxies) with command-line overrides. Pure.
// Invariants: every host of the plan (servers and the rebuild's temporary server) becomes a
// lab host; a host gets every install it will ever use (current and target), each of the real
// release of its version; $ZKROLL_RELEASES (when set) is searched before the plan's lab.releases.
import path from 'node:path';
import type { Plan } from '../plan/schema.js';
import { compareVersions, parseVersion } from '../plan/versions.js';
import { effectiveSsh, resolveLocalPath } from '../plan/load.js';
import { hasListenerBug, LabError, type LabHost, type LabServer, type LabSpec } from './spec.js';

export interface LabOverrides {
  down?: number[];
  znodes?: number;
  dataMb?: number;
  proxies?: number;
  initialZxid?: bigint;
  whitelist?: string;
  loginDelayMs?: number;
  deadListeners?: 'port-scan' | 'agent' | 'none';
}

/** "3.4.6" → true for 3.5 and later (the whitelist default, the AdminServer). */
function atLeast35(version: string): boolean {
  const v = parseVersion(version);
  return v !== null && compareVersions(v, '3.5.0') >= 0;
}

export function labSpecFromPlan(plan: Plan, planFile: string, o: LabOverrides = {}, env: NodeJS.ProcessEnv = process.env): LabSpec {
  const current = plan.cluster.version;
  if (current === undefined)
    throw new LabError(
      'lab: the plan does not say which ZooKeeper version runs today: set cluster.version (for example "3.4.6"); the lab installs that release',
    );
  const hosts = new Map<string, LabHost>();
  const nodes = [
    ...plan.servers.map((s) => ({ node: s, isCurrent: true })),
    ...(plan.strategy.kind === 'rebuild' ? [{ node: plan.strategy.temporary, isCurrent: false }] : []),
  ];
  let ssh0: ReturnType<typeof effectiveSsh> | undefined;
  for (const { node, isCurrent } of nodes) {
    const ssh = effectiveSsh(plan, node);
    ssh0 ??= ssh;
    if (ssh.jumpHost !== undefined)
      throw new LabError(`lab: host ${node.host} uses ssh.jumpHost; the lab does not emulate bastions: remove jumpHost from the lab plan`);
    if (ssh.user !== ssh0.user || ssh.identityFile !== ssh0.identityFile || ssh.knownHosts !== ssh0.knownHosts) {
      throw new LabError(`lab: host ${node.host} overrides ssh user/identityFile/knownHosts; the lab uses one operator key and one known_hosts for all hosts`);
    }
    const h = hosts.get(node.host) ?? { ip: node.host, sshPort: ssh.port, paths: [], installs: [] };
    const installs = isCurrent
      ? [
          { home: node.home, version: current },
          { home: plan.target.home, version: plan.target.version },
        ]
      : [{ home: node.home, version: plan.target.version }];
    for (const inst of installs) {
      const had = h.installs.find((i) => i.home === inst.home);
      if (had === undefined) h.installs.push(inst);
      else if (had.version !== inst.version)
        throw new LabError(`lab: ${node.host} would need ${inst.home} to hold both ${had.version} and ${inst.version}: give the target its own home`);
    }
    h.paths.push(node.home, node.config, node.dataDir, node.dataLogDir, plan.target.home, plan.target.config);
    hosts.set(node.host, h);
  }
  if (!ssh0) throw new LabError('lab: the plan has no servers');
  if (ssh0.identityFile === undefined)
    throw new LabError('lab: the plan has no ssh.identityFile; the lab needs one (it generates the key when the path is inside the lab directory)');
  const servers = plan.servers.map((s): LabServer => ({
    myid: s.myid,
    ip: s.host,
    home: s.home,
    config: s.config,
    dataDir: s.dataDir,
    dataLogDir: s.dataLogDir,
    ...(s.role === 'observer' ? { observer: true } : {}),
  }));
  const down = o.down ?? plan.lab.down;
  for (const id of down) if (!servers.some((s) => s.myid === id)) throw new LabError(`lab: --down ${id}: no server has myid ${id} in the plan`);
  const proxies = plan.lab.proxies
    ? { product: plan.lab.proxies.product, count: o.proxies ?? plan.lab.proxies.count }
    : o.proxies
      ? { product: 'codis-demo', count: o.proxies }
      : null;
  const deadListeners = o.deadListeners === 'none' ? null : (o.deadListeners ?? plan.lab.deadListeners ?? null);
  if (deadListeners === 'port-scan' && !hasListenerBug(current)) {
    throw new LabError(
      `lab: deadListeners port-scan kills election listeners only on releases before 3.4.7 (ZOOKEEPER-2186); ${current} has the fix. Use deadListeners: agent`,
    );
  }
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
    dataMb: o.dataMb ?? 0,
    proxies: proxies && proxies.count > 0 ? proxies : null,
    initialZxid: o.initialZxid ?? null,
    currentVersion: current,
    releases: {
      dirs: [
        ...(env['ZKROLL_RELEASES'] ? [path.resolve(env['ZKROLL_RELEASES'])] : []),
        ...(plan.lab.releases !== undefined ? [resolveLocalPath(planFile, plan.lab.releases)] : []),
      ],
      installs: Object.fromEntries(Object.entries(plan.lab.installs ?? {}).map(([v, f]) => [v, resolveLocalPath(planFile, f)])),
    },
    deadListeners,
    // a 3.4 ensemble's config has no whitelist (3.4 answers every word); 3.5+ lab servers answer every word unless told
    whitelist: o.whitelist ?? (atLeast35(current) ? '*' : null),
    loginDelayMs: o.loginDelayMs ?? plan.lab.loginDelay ?? 0,
    configStyle: plan.lab.configStyle ?? 'zkroll',
    ...superUser(plan, planFile),
  };
}

/** The superuser a membership: reconfig plan logs in as (its password file resolved), if any. */
function superUser(plan: Plan, planFile: string): Pick<LabSpec, 'superUser'> {
  const s = plan.strategy;
  if (s.kind !== 'rebuild' || s.membership !== 'reconfig' || s.reconfig?.access !== 'super' || s.reconfig.passwordFile === undefined) return {};
  return { superUser: { user: s.reconfig.user, passwordFile: resolveLocalPath(planFile, s.reconfig.passwordFile) } };
}
