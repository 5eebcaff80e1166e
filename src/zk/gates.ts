// Health gates: each compiled Gate becomes a probe that says "holds" or why not, polled every
// health.pollInterval until it holds or its deadline passes. The ensemble view (who leads,
// who follows, synced followers, zxids) is read with four-letter words over TCP; process
// checks go through an injected `hasProcess` (SSH on real hosts).
// Invariants: no fixed sleeps — every wait is a poll against a deadline; a gate that times out
// reports the last reason it did not hold; zxids compare as BigInt.
import { formatHostPort } from '../plan/host.js';
import { hexZxid } from './zxid.js';
import type { DynamicMember, Gate, NodeRef } from '../compile/types.js';
import { membersDiffer, parseDynamicConfig, type DynamicConfig } from './dynconfig.js';
import { WireSession } from './wire.js';
import { hostsConnectString, ZkClient } from './client.js';
import { metricNumber, probeSrvr, srvrProbe, type Srvr } from './fourlw.js';
import { readMonitor, type MonitorRead } from './monitor.js';
import { outliers, verifyConsistency } from './verify.js';
import { sameVersion } from '../plan/versions.js';

export interface GateEnv {
  clientPort: number;
  /** AdminServer port: where `mntr` is read when the four-letter word is not whitelisted (3.5+). */
  adminPort: number;
  pollIntervalMs: number;
  /** Is a ZooKeeper process running with this node's config (from `home`, when given) on its host? */
  hasProcess: (node: NodeRef, home?: string) => Promise<boolean>;
  /** Does the node's dataDir hold a snapshot file? (SSH on real hosts.) */
  hasSnapshot: (node: NodeRef) => Promise<boolean>;
  /** Value written by canary gates (the run id and a counter). */
  canaryValue: () => string;
  /** Set to stop waiting early (Ctrl-C); the gate then fails with `interrupted`. */
  stopped?: () => boolean;
  /** `srvr` of one server (default: the four-letter word over TCP, fourlw.ts probeSrvr). */
  srvr?: SrvrProbe;
  /** Its monitor values (default: monitor.ts readMonitor, mntr or the AdminServer). */
  monitor?: (host: string, clientPort: number, adminPort: number, timeoutMs: number) => Promise<MonitorRead>;
}

/** Asks one server `srvr`: its answer, or null when it does not serve (ms). */
export type SrvrProbe = (host: string, port: number, timeoutMs: number) => Promise<Srvr | null>;

export class GateFailed extends Error {
  constructor(
    readonly gate: Gate,
    readonly reason: string,
    readonly waitedMs: number,
  ) {
    super(`gate did not hold within ${Math.round(waitedMs / 1000)}s: ${reason}`);
  }
}

type Verdict = { ok: true } | { ok: false; why: string };
const ok: Verdict = { ok: true };
const no = (why: string): Verdict => ({ ok: false, why });

export interface EnsembleView {
  leader: number | null;
  modes: Map<number, Srvr | null>;
}

/** Every member's `srvr` at once; the leader when exactly one member says it leads. */
export async function ensembleView(members: NodeRef[], clientPort: number, srvr: SrvrProbe = probeSrvr): Promise<EnsembleView> {
  const modes = new Map<number, Srvr | null>();
  await Promise.all(members.map(async (m) => modes.set(m.myid, await srvr(m.host, clientPort, 1500))));
  const leaders = members.filter((m) => modes.get(m.myid)?.mode === 'leader');
  return { leader: leaders.length === 1 ? leaders[0]!.myid : null, modes };
}

async function checkEnsemble(members: NodeRef[], env: GateEnv): Promise<Verdict> {
  const v = await ensembleView(members, env.clientPort, env.srvr ?? srvrProbe(env.adminPort));
  const down = members.filter((m) => !v.modes.get(m.myid)).map((m) => m.myid);
  if (down.length > 0) return no(`not serving: ${down.join(', ')}`);
  const leaders = members.filter((m) => v.modes.get(m.myid)?.mode === 'leader');
  if (leaders.length !== 1) return no(`expected one leader among ${members.map((m) => m.myid).join(', ')}, found ${leaders.length}`);
  const leader = leaders[0]!;
  // a participant follows, an observer observes (QuorumPeer.ServerState); anything else is not synced
  const odd = members.filter((m) => m !== leader && v.modes.get(m.myid)?.mode !== (m.observer ? 'observer' : 'follower'));
  if (odd.length > 0)
    return no(`not following the leader: ${odd.map((m) => `${m.myid} (${v.modes.get(m.myid)?.mode}${m.observer ? ', an observer' : ''})`).join(', ')}`);
  // synced followers from mntr, or the AdminServer where mntr is not whitelisted; when neither
  // answers, the zxid comparison below is what remains (`zkroll check` warns about that beforehand).
  // Observers are counted apart (zk_synced_observers, 3.6+); 3.4 does not count them at all.
  const read = await (env.monitor ?? readMonitor)(leader.host, env.clientPort, env.adminPort, 1500);
  const mntr = read.via ? read.values : new Map<string, string>();
  const voters = members.filter((m) => !m.observer).length;
  const observers = members.length - voters;
  // zk_synced_followers counts every forwarding follower, non-voting ones included
  // (Leader.getForwardingFollowers). They are not subtracted: in a static round the leader still
  // runs the old configuration, so a member the round adds is non-voting to it until the leader
  // restarts last (3.5+), yet synced; each member's own mode is checked above.
  const followers = metricNumber(mntr, 'zk_synced_followers') ?? NaN;
  if (Number.isFinite(followers) && followers < voters - 1) return no(`leader ${leader.myid} has ${followers} synced followers, expected ${voters - 1}`);
  const syncedObservers = metricNumber(mntr, 'zk_synced_observers') ?? NaN;
  if (observers > 0 && Number.isFinite(syncedObservers) && syncedObservers < observers)
    return no(`leader ${leader.myid} has ${syncedObservers} synced observers, expected ${observers}`);
  // right after an election the leader reports <epoch>00000000, a marker no follower applies;
  // the followers are caught up once they are synced (checked above)
  const lz = v.modes.get(leader.myid)?.zxid;
  const fresh = lz != null && (lz & 0xffffffffn) === 0n;
  const behind = members.filter((m) => m !== leader && lz != null && !fresh && (v.modes.get(m.myid)?.zxid ?? -1n) < lz);
  if (behind.length > 0) return no(`zxid behind the leader's ${hexZxid(lz)}: ${behind.map((m) => m.myid).join(', ')}`);
  return ok;
}

async function checkCanary(members: NodeRef[], path: string, env: GateEnv): Promise<Verdict> {
  const value = env.canaryValue();
  const all = hostsConnectString(members, env.clientPort);
  const zk = await ZkClient.connect(all, 3000).catch(() => null);
  if (!zk) return no(`could not connect to ${all}`);
  try {
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    if (parent !== '/') await zk.mkdirp(parent);
    if (await zk.exists(path)) await zk.set(path, value);
    else await zk.create(path, value);
  } catch (e) {
    return no(`canary write failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    zk.close();
  }
  for (const m of members) {
    const one = await ZkClient.connect(formatHostPort(m.host, env.clientPort), 3000).catch(() => null);
    if (!one) return no(`could not connect to ${m.host} alone`);
    try {
      await one.sync(path);
      const got = (await one.get(path)).data.toString();
      if (got !== value) return no(`server ${m.myid} reads ${JSON.stringify(got)} at ${path}, not the canary just written`);
    } catch (e) {
      return no(`server ${m.myid}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      one.close();
    }
  }
  return ok;
}

async function checkZnodes(members: NodeRef[], znodes: { path: string; minChildren: number }[], env: GateEnv): Promise<Verdict> {
  const zk = await ZkClient.connect(hostsConnectString(members, env.clientPort), 3000).catch(() => null);
  if (!zk) return no('could not connect to the ensemble');
  try {
    for (const z of znodes) {
      const st = await zk.exists(z.path);
      if (!st) return no(`${z.path} does not exist`);
      if (z.minChildren > 0) {
        const n = (await zk.getChildren(z.path)).length;
        if (n < z.minChildren) return no(`${z.path} has ${n} children, expected at least ${z.minChildren}`);
      }
    }
    return ok;
  } finally {
    zk.close();
  }
}

/** The config path ZooKeeper keeps the committed dynamic configuration at (ZooDefs.CONFIG_NODE). */
export const CONFIG_NODE = '/zookeeper/config';

/** Every member, read alone after a sync, has /zookeeper/config listing exactly `expect`. */
async function checkConfig(members: NodeRef[], expect: DynamicMember[], env: GateEnv): Promise<Verdict> {
  for (const m of members) {
    const why = await readConfig(m.host, env.clientPort)
      .then((cfg) => membersDiffer(cfg, expect))
      .catch((e: unknown) => `could not read ${CONFIG_NODE}: ${e instanceof Error ? e.message : String(e)}`);
    if (why !== null) return no(`server ${m.myid}: ${why}`);
  }
  return ok;
}

/** The committed dynamic configuration a session's server serves, after a sync. */
export async function configOf(session: WireSession): Promise<DynamicConfig> {
  await session.sync(CONFIG_NODE);
  return parseDynamicConfig((await session.getData(CONFIG_NODE)).data.toString('utf8'));
}

/** The committed dynamic configuration as `host` serves it, after a sync (ms: 3 s to connect). */
export async function readConfig(host: string, clientPort: number): Promise<DynamicConfig> {
  const s = await WireSession.connect(host, clientPort, 3000);
  try {
    return await configOf(s);
  } finally {
    await s.close();
  }
}

export async function checkGate(g: Gate, env: GateEnv): Promise<Verdict> {
  switch (g.kind) {
    case 'stopped': {
      const srvr = await (env.srvr ?? srvrProbe(env.adminPort))(g.node.host, env.clientPort, 1000);
      if (srvr) return no(`server ${g.node.myid} still answers srvr (${srvr.mode})`);
      return (await env.hasProcess(g.node)) ? no(`a ZooKeeper process${g.node.config ? ` with ${g.node.config}` : ''} still runs on ${g.node.host}`) : ok;
    }
    case 'running':
      return (await env.hasProcess(g.node, g.home)) ? ok : no(`no ZooKeeper process with ${g.node.config}${g.home ? ` from ${g.home}` : ''} on ${g.node.host}`);
    case 'serving': {
      const srvr = await (env.srvr ?? srvrProbe(env.adminPort))(g.node.host, env.clientPort, 1000);
      return srvr ? ok : no(`server ${g.node.myid} on ${g.node.host} does not serve`);
    }
    case 'ensemble':
      return checkEnsemble(g.members, env);
    case 'canary':
      return checkCanary(g.members, g.path, env);
    case 'znodes':
      return checkZnodes(g.members, g.znodes, env);
    case 'consistent': {
      const r = await verifyConsistency(
        g.members.map((m) => ({ label: `server ${m.myid}`, host: m.host, port: env.clientPort })),
        { skip: g.skip, maxReported: 5, adminPort: env.adminPort },
      );
      if (r.unreachable.length > 0) return no(`could not read ${r.unreachable.join(', ')} alone`);
      if (r.differences.length === 0) return ok;
      return no(`data differs: ${r.differences.map((d) => `${d.path} (on ${outliers(d).join(', ')})`).join('; ')}`);
    }
    case 'snapshot':
      return (await env.hasSnapshot(g.node)) ? ok : no(`server ${g.node.myid} has not written a snapshot to ${g.node.dataDir}/version-2 yet`);
    case 'version': {
      const v = await ensembleView(g.members, env.clientPort, env.srvr ?? srvrProbe(env.adminPort));
      const other = g.members.filter((m) => !sameVersion(g.version, v.modes.get(m.myid)?.version ?? ''));
      return other.length === 0
        ? ok
        : no(`not on ${g.version}: ${other.map((m) => `${m.myid} (${v.modes.get(m.myid)?.version ?? 'not serving'})`).join(', ')}`);
    }
    case 'config':
      return checkConfig(g.members, g.expect, env);
  }
}

/** Poll a gate until it holds; throws GateFailed with the last reason at its deadline. */
export async function waitGate(g: Gate, env: GateEnv): Promise<number> {
  const t0 = Date.now();
  let last = 'not checked yet';
  for (;;) {
    const v = await checkGate(g, env).catch((e: unknown): Verdict => no(e instanceof Error ? e.message : String(e)));
    if (v.ok) return Date.now() - t0;
    last = v.why;
    if (env.stopped?.()) throw new GateFailed(g, `interrupted while waiting (${last})`, Date.now() - t0);
    if (Date.now() - t0 >= g.deadlineMs) throw new GateFailed(g, last, Date.now() - t0);
    await new Promise((r) => setTimeout(r, env.pollIntervalMs));
  }
}
