// A fake ensemble for the executor's unit tests, in the spirit of Strimzi's ZooKeeperRollerTest:
// hosts that record every command and react to stop/start (zkServer.sh or systemctl) like a
// server would, and probes (srvr, monitor, JVM list, data check) that read the fake's state.
// When the leader stops, the lowest running myid is elected after `electionMs`.
import type { NodeRef } from '../../src/compile/types.js';
import type { Probes, RemoteHost, RunEnv } from '../../src/exec/env.js';
import type { Srvr } from '../../src/zk/fourlw.js';
import type { DataReport } from '../../src/check/datadir.js';
import type { RunSettings } from '../../src/compile/types.js';

export interface FakeServer {
  myid: number;
  host: string;
  running: boolean;
  mode: 'leader' | 'follower' | 'observer' | 'looking';
  observer: boolean;
  zxid: bigint;
  /** The config (last argument) and home of its JVM while it runs. */
  config: string;
  home: string;
  version: string;
}

export interface FakeCluster {
  servers: Map<string, FakeServer>;
  /** Every command run, in order: [host, argv]. */
  commands: [string, string[]][];
  /** What the data check says of a host (default: ok). */
  badData: Set<string>;
  /** Hosts whose JVM keeps running after a stop command (a hung shutdown). */
  hungStop: Set<string>;
  electionMs: number;
  /** The config and home a start brings up (the target install), by host. */
  startsWith: Map<string, { config: string; home: string; version: string }>;
  env(settings: RunSettings, overrides?: Partial<RunEnv>): RunEnv;
  leader(): number | null;
}

export function fakeCluster(nodes: NodeRef[], leader: number, targets: NodeRef[] = nodes): FakeCluster {
  const servers = new Map<string, FakeServer>(
    nodes.map((n) => [
      n.host,
      {
        myid: n.myid,
        host: n.host,
        running: true,
        observer: n.observer === true,
        mode: n.observer ? 'observer' : n.myid === leader ? 'leader' : 'follower',
        zxid: 0x100000005n,
        config: n.config,
        home: n.home,
        version: '3.4.6-1569965',
      },
    ]),
  );
  const c: FakeCluster = {
    servers,
    commands: [],
    badData: new Set(),
    hungStop: new Set(),
    electionMs: 30,
    startsWith: new Map(targets.map((t) => [t.host, { config: t.config, home: t.home, version: '3.4.13-2d71af4' }])),
    leader: () => [...servers.values()].find((s) => s.running && s.mode === 'leader')?.myid ?? null,
    env: (settings, overrides = {}) => ({
      settings,
      planFile: 'plans/test.yaml',
      runId: '20261130T000000Z',
      hosts: async (h) => fakeHost(c, h),
      probes: fakeProbes(c),
      stopRequested: () => false,
      progress: () => undefined,
      ...overrides,
    }),
  };
  return c;
}

function elect(c: FakeCluster): void {
  setTimeout(() => {
    if (c.leader() !== null) return;
    const next = [...c.servers.values()].filter((s) => s.running && !s.observer).sort((a, b) => a.myid - b.myid)[0];
    if (next) next.mode = 'leader';
    for (const s of c.servers.values()) if (s.running && s !== next) s.mode = s.observer ? 'observer' : 'follower';
  }, c.electionMs);
}

function fakeHost(c: FakeCluster, host: string): RemoteHost {
  const s = c.servers.get(host);
  const exec = async (cmd: string[] | { script: string }) => {
    const argv = Array.isArray(cmd) ? cmd : ['sh', '-c', cmd.script];
    c.commands.push([host, argv]);
    const verb = argv[0] === 'systemctl' || /zkServer\.sh$/.test(argv[0] ?? '') ? argv[1] : null;
    if (s && verb === 'stop' && !c.hungStop.has(host)) {
      const wasLeader = s.mode === 'leader';
      s.running = false;
      s.mode = 'looking';
      if (wasLeader) {
        for (const o of c.servers.values()) if (o.running) o.mode = 'looking';
        elect(c);
      }
    }
    if (s && verb === 'start' && !s.running) {
      const to = c.startsWith.get(host)!;
      Object.assign(s, {
        running: true,
        mode: c.leader() === null ? 'looking' : s.observer ? 'observer' : 'follower',
        config: to.config,
        home: to.home,
        version: to.version,
      });
      if (c.leader() === null) elect(c);
    }
    return { code: 0, stdout: '', stderr: '', durationMs: 1, command: argv.join(' ') };
  };
  return {
    exec,
    stream: () => Promise.reject(new Error('no streams in the fake')),
    readIfExists: async () => null,
    stat: async () => null,
    writeFileAtomic: async (path: string) => void c.commands.push([host, ['write', path]]),
  } as unknown as RemoteHost;
}

function srvrOf(s: FakeServer | undefined): Srvr | null {
  if (!s || !s.running || s.mode === 'looking') return null;
  return { version: `${s.version}, built on 01/01/2020`, mode: s.mode, zxid: s.zxid, nodeCount: 10, connections: 1, outstanding: 0 };
}

function fakeProbes(c: FakeCluster): Probes {
  return {
    srvr: async (host) => srvrOf(c.servers.get(host)),
    monitor: async (host) => {
      // as 3.4 reports it: synced followers only, observers not counted
      const followers = [...c.servers.values()].filter((s) => s.running && s.mode === 'follower').length;
      return c.servers.get(host)?.mode === 'leader'
        ? { via: 'mntr', values: new Map([['zk_synced_followers', String(followers)]]) }
        : { via: null, why: 'not the leader' };
    },
    jvms: async (host) => {
      const s = c.servers.get(host);
      return s?.running ? [{ pid: '42', args: ['java', '-cp', `${s.home}/lib/x.jar`, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', s.config] }] : [];
    },
    hasSnapshot: async () => true,
    dataCheck: async (node): Promise<DataReport> => {
      const bad = c.badData.has(node.host);
      return {
        ok: !bad,
        detail: bad ? 'log.100000003 begins after a gap: 0x100000002 is missing' : 'snapshot 0x100000000 valid, logs continue to 0x100000005',
        snapshotZxid: 0x100000000n,
        lastZxid: 0x100000005n,
        freeKb: [],
        lowSpace: [],
      };
    },
    connect: () => Promise.reject(new Error('no ZooKeeper client in the fake')),
    session: () => Promise.reject(new Error('no ZooKeeper session in the fake')),
  };
}
