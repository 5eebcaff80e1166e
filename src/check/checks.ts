// The checks the incident write-ups ask for, as one report: per server the client port, the
// election port (a TCP connect is not enough: the accept queue of its LISTEN socket and the
// election listener thread in a thread dump, over SSH), the quorum port on the leader, zxid
// headroom from two reads of the leader, and whether the install's logs are rotated daily.
// Invariants: read-only; every finding says what it means in a DBA's words; a check that
// could not run is reported as such ("unknown"), never as passing.
import { hexZxid } from '../zk/zxid.js';
import type { Plan } from '../plan/schema.js';
import { allHosts } from '../plan/helpers.js';
import { readSrvr, tcpOpen, type Srvr, type SrvrRead } from '../zk/fourlw.js';
import net from 'node:net';
import { findZkJvm, LIST_ZK_JVMS, parseZkJvms, RESOLVE_PATH, type ZkJvm } from '../zk/process.js';
import { readMonitor } from '../zk/monitor.js';
import { headroom, humanDuration } from './zxid.js';
import { sameVersion } from '../plan/versions.js';

export type Status = 'ok' | 'warn' | 'fail' | 'unknown';

export interface Finding {
  check: string;
  server: string;
  status: Status;
  detail: string;
}

/** Remote access the checks need (SSH on real hosts); null = the host could not be reached. */
export interface CheckHost {
  run(script: string, args: string[]): Promise<{ code: number | null; stdout: string } | null>;
  read(path: string): Promise<string | null>;
  /** The server's data directories (snapshot and log continuity, free space). */
  data?: (dataDir: string, dataLogDir: string, runningZxid?: bigint | null) => Promise<{ ok: boolean; detail: string; lowSpace: string[] }>;
}

export const HEADROOM_WARN = 0.9;

/**
 * Parse `ss -ltn` output: Recv-Q (connections completed by the kernel, not yet accepted) and
 * Send-Q (backlog) of the LISTEN socket on `port`, preferring the one bound to `host`.
 */
export function acceptQueue(ssOutput: string, port: number, host?: string): { pending: number; backlog: number } | null {
  const rows: { addr: string; pending: number; backlog: number }[] = [];
  for (const line of ssOutput.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'LISTEN' || f.length < 5 || !f[3]?.endsWith(`:${port}`)) continue;
    rows.push({ addr: f[3].slice(0, -`:${port}`.length).replace(/^\[(::ffff:)?|\]$/g, ''), pending: Number(f[1]), backlog: Number(f[2]) });
  }
  const pick = rows.find((r) => r.addr === host) ?? rows.find((r) => ['*', '0.0.0.0', '::', ''].includes(r.addr)) ?? (host === undefined ? rows[0] : undefined);
  return pick ? { pending: pick.pending, backlog: pick.backlog } : null;
}

/**
 * Election listener threads in a `jcmd <pid> Thread.print` dump: by name (3.6+: ListenerHandler-<addr>;
 * QuorumPeerListener) or by what they run (3.4: a thread named after its address, e.g.
 * "/127.0.10.8:3888", running QuorumCnxManager$Listener.run).
 */
export function listenerThreads(dump: string): string[] {
  const names: string[] = [];
  const blocks = dump.split(/\n(?=")/);
  for (const b of blocks) {
    const n = /^"([^"]+)"/.exec(b.trimStart())?.[1];
    if (n === undefined) continue;
    if (
      /ListenerHandler|QuorumCnxManager\$Listener|^ListenerThread|QuorumPeerListener/.test(n) ||
      /QuorumCnxManager\$Listener(?:\$ListenerHandler)?\.run\(/.test(b)
    )
      names.push(n);
  }
  return names;
}

/** Does a log4j.properties / logback.xml roll daily? */
export function rollsDaily(text: string): boolean {
  return /DailyRollingFileAppender/.test(text) || /TimeBasedRollingPolicy[\s\S]*%d\{yyyy-MM-dd/.test(text) || /rolling\.TimeBasedRollingPolicy/.test(text);
}

function holdConnection(host: string, port: number): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => (s.destroy(), resolve(null)), 1000);
    s.on('connect', () => (clearTimeout(t), resolve(s)));
    s.on('error', () => (clearTimeout(t), resolve(null)));
  });
}

/** The election listener of the server on `hostName`: bound, accepting, its thread alive. */
export async function electionListener(
  hostName: string,
  label: string,
  h: CheckHost,
  port: number,
  serving: boolean,
  sleep: (ms: number) => Promise<void>,
  jvm: ZkJvm | undefined,
): Promise<Finding> {
  const check = 'election listener';
  // hold a connection to the election port while reading the accept queue: a live listener
  // takes it at once; a dead one (the 3.4.6 bug) leaves it queued in the kernel
  const probe = await holdConnection(hostName, port);
  let q: { pending: number; backlog: number } | null = null;
  for (let i = 0; i < 5; i++) {
    const ss = await h.run('ss -ltn', []);
    q = ss ? acceptQueue(ss.stdout, port, hostName) : null;
    if (!q || q.pending === 0) break;
    await sleep(100);
  }
  probe?.destroy();
  const pid = jvm?.pid;
  const dump = pid ? await h.run('jcmd "$1" Thread.print 2>/dev/null || jstack "$1"', [pid]) : null;
  const threads = dump && dump.code === 0 ? listenerThreads(dump.stdout) : null;
  if (!pid) return { check, server: label, status: serving ? 'unknown' : 'fail', detail: 'no ZooKeeper JVM runs on this host' };
  if (q === null)
    return { check, server: label, status: 'fail', detail: `nothing listens on election port ${port}: this server cannot take part in an election` };
  if (q.pending > 0) {
    return {
      check,
      server: label,
      status: 'fail',
      detail: `DEAD election listener: connections to port ${port} are queued by the kernel (${q.pending} waiting) but never accepted (the 3.4.6 listener bug). It still serves clients but cannot take part in an election: a server restarted next to it cannot rejoin`,
    };
  }
  if (threads !== null && threads.length === 0)
    return {
      check,
      server: label,
      status: 'fail',
      detail: `port ${port} is bound but no election listener thread runs: this server cannot take part in an election`,
    };
  return {
    check,
    server: label,
    status: threads === null ? 'warn' : 'ok',
    detail:
      threads === null
        ? `port ${port} listening, accept queue empty; thread dump unavailable (no jcmd/jstack)`
        : `port ${port} listening and accepting, thread ${threads[0]}`,
  };
}

/** The ZooKeeper JVMs running on a host (none when it cannot be asked). */
export async function zkJvmsOn(h: CheckHost): Promise<ZkJvm[]> {
  return parseZkJvms((await h.run(LIST_ZK_JVMS, []))?.stdout ?? '');
}

/** A path's spellings on a host: as written and as the host resolves it (`readlink -f`), when it can. */
export async function pathSpellings(h: CheckHost, path: string): Promise<string[]> {
  const real = (await h.run(RESOLVE_PATH, [path]))?.stdout.replace(/\n$/, '') ?? '';
  return real === '' || real === path ? [path] : [path, real];
}

/** The install a server runs from: the target's once upgraded (a JVM has the target config, as the host resolves it), else its own. */
async function runningHome(h: CheckHost, jvms: ZkJvm[], node: { home: string; config: string }, target: { home: string; config: string }): Promise<string> {
  if (target.home === node.home) return node.home;
  // one config path shared by both installs: only the classpath tells them apart
  const home = target.config === node.config ? await pathSpellings(h, target.home) : undefined;
  return findZkJvm(jvms, await pathSpellings(h, target.config), home) ? target.home : node.home;
}

/** The -Dzookeeper.root.logger a JVM runs with (log4j picks its appenders from it; the last one counts); '' when none. */
function rootLogger(jvm: ZkJvm | undefined): string {
  const flag = '-Dzookeeper.root.logger=';
  return (
    jvm?.args
      .filter((a) => a.startsWith(flag))
      .at(-1)
      ?.slice(flag.length)
      .trim() ?? ''
  );
}

/** Does the install's logging roll the logs daily (logback.xml for 3.8+, else log4j and the JVM's root logger)? */
async function logRotation(h: CheckHost, label: string, home: string, jvm: ZkJvm | undefined): Promise<Finding> {
  const check = 'log rotation';
  const logback = await h.read(`${home}/conf/logback.xml`);
  const logConf = logback ?? (await h.read(`${home}/conf/log4j.properties`));
  if (logConf === null) return { check, server: label, status: 'unknown', detail: `no log configuration in ${home}/conf` };
  if (!rollsDaily(logConf))
    return { check, server: label, status: 'warn', detail: `logs of ${home} are not rolled daily: they grow until the disk fills (the incident's 20 GB log)` };
  if (logback === null) {
    // zkServer.sh passes ZOO_LOG4J_PROP as -Dzookeeper.root.logger, which wins over the file
    const logger = rootLogger(jvm);
    if (logger !== '' && !/ROLLINGFILE/.test(logger)) {
      return {
        check,
        server: label,
        status: 'warn',
        detail: `the server logs with zookeeper.root.logger=${logger}: everything goes to zookeeper.out, never rotated, although ${home}/conf/log4j.properties rolls daily. Set ZOO_LOG4J_PROP="INFO,ROLLINGFILE" in ${home}/conf/zookeeper-env.sh`,
      };
    }
  }
  return { check, server: label, status: 'ok', detail: `logs of ${home} roll daily` };
}

/** The version the server reports (srvr) against the plan's cluster.version and target. */
function versionFinding(plan: Plan, label: string, s: Srvr): Finding {
  const check = 'version';
  const stated = plan.cluster.version;
  if (sameVersion(plan.target.version, s.version)) return { check, server: label, status: 'ok', detail: `runs ${s.version}, the target version` };
  if (stated === undefined)
    return {
      check,
      server: label,
      status: 'warn',
      detail: `runs ${s.version || '(unknown)'}; the plan does not state cluster.version, so this cannot be checked before a run`,
    };
  if (sameVersion(stated, s.version)) return { check, server: label, status: 'ok', detail: `runs ${s.version}, as the plan says` };
  return {
    check,
    server: label,
    status: 'fail',
    detail: `runs ${s.version || '(unknown)'}, but the plan says cluster.version ${stated}: fix the plan before a run (zkroll apply refuses it)`,
  };
}

/** Can zkroll read this server's monitor values (synced followers, digest mismatches)? */
async function monitoring(host: string, label: string, clientPort: number, adminPort: number): Promise<Finding> {
  const check = 'monitoring';
  const r = await readMonitor(host, clientPort, adminPort);
  if (r.via === null) {
    return {
      check,
      server: label,
      status: 'warn',
      detail: `cannot read monitor values (${r.why}): gates cannot count synced followers and fall back to comparing zxids. Add mntr to 4lw.commands.whitelist or enable the AdminServer on port ${adminPort}`,
    };
  }
  if (r.via === 'mntr') return { check, server: label, status: 'ok', detail: `'mntr' answers on ${clientPort}` };
  return { check, server: label, status: 'ok', detail: `'mntr' is not whitelisted; the AdminServer on ${adminPort} answers instead (zkroll reads it)` };
}

/** The client-port finding: serving (and through which source), not serving, or refused by the whitelist with no other source. */
export function clientPort(r: SrvrRead | undefined, port: number, adminPort: number, label: string): Finding {
  const check = 'client port';
  if (r?.state === 'serving') {
    const via =
      r.srvr.via === 'stat'
        ? " ('srvr' is not in 4lw.commands.whitelist; read with 'stat')"
        : r.srvr.via === 'admin'
          ? ` ('srvr' and 'stat' are not in 4lw.commands.whitelist; read from the AdminServer on ${adminPort})`
          : '';
    return { check, server: label, status: 'ok', detail: `${port}: serving as ${r.srvr.mode}${via}` };
  }
  if (r?.state === 'refused')
    return {
      check,
      server: label,
      status: 'unknown',
      detail: `${port}: srvr refused by the whitelist and no other source answered (add srvr to 4lw.commands.whitelist or enable the AdminServer on ${adminPort}): ${r.why}. zkroll apply cannot tell whether this server serves`,
    };
  return { check, server: label, status: 'fail', detail: `${port}: not serving — clients cannot use this server` };
}

export async function runChecks(plan: Plan, hostFor: (host: string) => Promise<CheckHost | null>, sleep: (ms: number) => Promise<void>): Promise<Finding[]> {
  const ports = plan.cluster.ports;
  const out: Finding[] = [];
  const nodes = allHosts(plan).filter((h) => h.role === 'server');
  const adminPort = plan.cluster.adminPort;
  const reads = new Map<number, SrvrRead>();
  await Promise.all(nodes.map(async (n) => reads.set(n.myid, await readSrvr(n.host, ports.client, 2000, { adminPort }))));
  const srvr = new Map<number, Srvr | null>([...reads].map(([id, r]) => [id, r.state === 'serving' ? r.srvr : null]));
  const leader = nodes.find((n) => srvr.get(n.myid)?.mode === 'leader');

  for (const n of nodes) {
    const label = `${n.myid} (${n.host})`;
    const s = srvr.get(n.myid);
    out.push(clientPort(reads.get(n.myid), ports.client, adminPort, label));
    if (s) out.push(versionFinding(plan, label, s));
    if (s) out.push(await monitoring(n.host, label, ports.client, plan.cluster.adminPort));
    const h = await hostFor(n.host);
    if (!h) {
      out.push({ check: 'election listener', server: label, status: 'unknown', detail: 'host not reachable over SSH' });
      continue;
    }
    // the host's ZooKeeper JVMs, listed once for the listener, install and logging checks
    const jvms = await zkJvmsOn(h);
    out.push(await electionListener(n.host, label, h, ports.election, s !== null && s !== undefined, sleep, findZkJvm(jvms, '')));
    if (h.data) {
      const d = await h
        .data(n.node.dataDir, n.node.dataLogDir, s?.zxid)
        .catch((e: unknown) => ({ ok: false, detail: `could not read: ${e instanceof Error ? e.message : String(e)}`, lowSpace: [] as string[] }));
      out.push({
        check: 'data files',
        server: label,
        status: d.ok ? 'ok' : 'fail',
        detail: [d.detail, ...d.lowSpace].join('; ') + (d.ok ? '' : ' — do not start or restart this server until fixed'),
      });
    }
    out.push(await logRotation(h, label, await runningHome(h, jvms, n.node, plan.target), findZkJvm(jvms, '')));
  }

  if (leader) {
    const label = `${leader.myid} (${leader.host})`;
    const q = await tcpOpen(leader.host, ports.quorum, 1000);
    out.push({
      check: 'quorum port',
      server: label,
      status: q ? 'ok' : 'fail',
      detail: q ? `leader accepts followers on ${ports.quorum}` : `leader does not accept on ${ports.quorum}: followers cannot sync`,
    });
    const a = srvr.get(leader.myid)!;
    const t0 = Date.now();
    await sleep(1000);
    const again = await readSrvr(leader.host, ports.client, 2000, { adminPort });
    const b = again.state === 'serving' ? again.srvr : a;
    const hr = headroom(b.zxid ?? 0n, a.zxid !== null ? { zxid: a.zxid, atMs: t0 } : undefined, Date.now());
    const when = hr.secondsLeft !== null ? `, about ${humanDuration(hr.secondsLeft)} at ${hr.ratePerSec?.toFixed(1)} writes/s` : ', no writes seen in 1 s';
    out.push({
      check: 'zxid headroom',
      server: label,
      status: hr.used >= HEADROOM_WARN ? 'warn' : 'ok',
      detail: `zxid ${hexZxid(b.zxid ?? 0n)}: ${hr.left} transactions before the counter rolls over and forces an election (${(Math.floor(hr.used * 10000) / 100).toFixed(2)}% used${when})`,
    });
  } else {
    out.push({ check: 'leader', server: '-', status: 'fail', detail: 'no server reports itself leader: the ensemble is not serving' });
  }
  return out;
}
