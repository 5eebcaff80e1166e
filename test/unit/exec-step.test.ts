// The executor (src/exec/run-step.ts) against a fake ensemble (test/unit/exec-fakes.ts): no
// root, no sshd, no JVM. What makes a run safe is checked here on the compiled steps of real
// plans: the leader restarts last whichever server leads, a resumed round keeps its order, a
// stop of a stopped server runs nothing, a start on bad data runs nothing, the election a
// leader's stop causes is measured, and only compiled commands change anything.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compile, type Compiled, type Gate, type Step } from '../../src/compile/index.js';
import { executeStep, type StepMemo } from '../../src/exec/run-step.js';
import { Interrupted, StepError } from '../../src/exec/env.js';
import { checkGate, GateFailed, type GateEnv } from '../../src/zk/gates.js';
import { fakeCluster, type FakeCluster } from './exec-fakes.js';
import { loadOk, REBUILD, ROLLING } from './plan-fixtures.js';

function rolling(pollMs = 2): Compiled {
  const plan = loadOk(ROLLING);
  plan.health.pollInterval = pollMs;
  return compile(plan);
}

const restarts = (c: Compiled) => c.steps.filter((s) => s.action === 'restart');
const memo = (): StepMemo => ({ slotOrders: {}, canarySeq: 0 });
/** The myid of the host each stop/start command ran on, in order. */
const verbs = (f: FakeCluster, verb: 'stop' | 'start') => f.commands.filter(([, a]) => a[1] === verb).map(([h]) => f.servers.get(h)!.myid);

function cluster(c: Compiled, leader: number): FakeCluster {
  const round = restarts(c)[0]!;
  if (round.target.kind !== 'slot') throw new Error('expected a slot');
  const members = round.target.members;
  // the old install runs now; each start brings up the target's config
  const old = members.map((m) => ({ ...m, home: '/opt/zookeeper-3.4.6', config: round.byMember!.find((b) => b.myid === m.myid)!.commands[0]!.argv.at(-1)! }));
  return fakeCluster(old, leader, members);
}

async function runRound(c: Compiled, f: FakeCluster, m: StepMemo = memo()): Promise<{ resolved: number[]; elections: unknown[] }> {
  const env = f.env(c.settings);
  const resolved: number[] = [];
  const elections: unknown[] = [];
  for (const s of restarts(c)) {
    const out = await executeStep(s, env, m);
    resolved.push(out.resolved!);
    if (out.election) elections.push(out.election);
    if (out.slotOrder) m.slotOrders['upgrade'] = out.slotOrder;
  }
  return { resolved, elections };
}

describe('executor: the rolling round (fake ensemble)', () => {
  for (const leader of [1, 2, 3]) {
    it(`restarts the leader last when server ${leader} leads`, async () => {
      const c = rolling();
      const f = cluster(c, leader);
      const { resolved } = await runRound(c, f);
      const followers = [1, 2, 3].filter((id) => id !== leader);
      assert.deepEqual(resolved, [...followers, leader]);
      assert.deepEqual(verbs(f, 'stop'), [...followers, leader]);
      assert.deepEqual(verbs(f, 'start'), [...followers, leader]);
      assert.ok(
        [...f.servers.values()].every((s) => s.running && s.version.startsWith('3.4.13')),
        'every server runs the target',
      );
    });
  }

  it('a resumed round keeps its remembered order, whoever leads now', async () => {
    const c = rolling();
    // the round was ordered [2, 1, 3] when 3 led; 3 stepped down since and 1 leads now
    const f = cluster(c, 1);
    const m = memo();
    m.slotOrders['upgrade'] = [2, 1, 3];
    const out = await executeStep(restarts(c)[0]!, f.env(c.settings), m);
    assert.equal(out.resolved, 2);
    assert.deepEqual(out.slotOrder, [2, 1, 3]);
    assert.deepEqual(verbs(f, 'stop'), [2]);
  });

  it("measures the election the leader's stop causes", async () => {
    const c = rolling();
    const f = cluster(c, 2);
    f.electionMs = 60;
    const { elections } = await runRound(c, f);
    assert.equal(elections.length, 1);
    const e = elections[0] as { from: number; to: number; ms: number };
    assert.equal(e.from, 2);
    assert.ok(e.to === 1 || e.to === 3, `to ${e.to}`);
    assert.ok(e.ms >= 25 && e.ms < 5000, `${e.ms} ms for an election of about 60 ms (polled every 20 ms)`);
  });

  it('starts a restarted server only once its JVM is gone (the compiled `then` gate)', async () => {
    const plan = loadOk(ROLLING);
    plan.health.pollInterval = 2;
    plan.health.gateDeadline = 150;
    const c = compile(plan);
    const f = cluster(c, 3);
    f.hungStop.add('zk1.example.com');
    const err = await executeStep(restarts(c)[0]!, f.env(c.settings), memo()).catch((e: unknown) => e);
    assert.ok(err instanceof GateFailed, String(err));
    assert.match(err.message, /server 1 still answers srvr/);
    assert.deepEqual(verbs(f, 'start'), [], 'no start while the old JVM holds the ports');
  });

  it('refuses to restart a server whose data is bad, and runs nothing on it', async () => {
    const c = rolling();
    const f = cluster(c, 3);
    f.badData.add('zk1.example.com');
    await assert.rejects(
      executeStep(restarts(c)[0]!, f.env(c.settings), memo()),
      (e: unknown) => e instanceof StepError && /refusing to start server 1 .*begins after a gap/.test(e.message),
    );
    assert.deepEqual(f.commands, []);
  });

  it('runs exactly the compiled commands of the member the slot resolved to', async () => {
    const c = rolling();
    const f = cluster(c, 3);
    const step = restarts(c)[0]!;
    await executeStep(step, f.env(c.settings), memo());
    const compiled = step.byMember!.find((m) => m.myid === 1)!.commands.map((x) => x.argv);
    assert.deepEqual(
      f.commands.map(([, a]) => a),
      compiled,
    );
  });
});

describe('executor: node steps (fake ensemble)', () => {
  function rebuild(): { c: Compiled; step: (id: string) => Step } {
    const plan = loadOk(REBUILD);
    plan.health.pollInterval = 2;
    const c = compile(plan);
    return { c, step: (id) => c.steps.find((s) => s.id === id)! };
  }

  it('a stop of a stopped server runs no command', async () => {
    const { c, step } = rebuild();
    const s = step('broken/stop-6');
    if (s.target.kind !== 'node') throw new Error('node step');
    const f = fakeCluster([s.target.node], 99);
    f.servers.get(s.target.node.host)!.running = false;
    await executeStep(s, f.env(c.settings), memo());
    assert.deepEqual(f.commands, []);
  });

  it('a stop of a running server runs its compiled stop and waits until it has stopped', async () => {
    const { c, step } = rebuild();
    const s = step('broken/stop-6');
    if (s.target.kind !== 'node') throw new Error('node step');
    const f = fakeCluster([s.target.node], 99);
    await executeStep(s, f.env(c.settings), memo());
    assert.deepEqual(
      f.commands.map(([, a]) => a),
      s.commands.map((x) => x.argv),
    );
    assert.equal(f.servers.get(s.target.node.host)!.running, false);
  });

  it('a start refused on bad data runs nothing', async () => {
    const { c, step } = rebuild();
    const s = step('mini/start-1');
    if (s.target.kind !== 'node') throw new Error('node step');
    const f = fakeCluster([s.target.node], 99);
    f.servers.get(s.target.node.host)!.running = false;
    f.badData.add(s.target.node.host);
    await assert.rejects(
      executeStep(s, f.env(c.settings), memo()),
      /refusing to start temporary server 1 \(127\.0\.10\.1\): log\.100000003 begins after a gap.*Nothing was done to it/,
    );
    assert.deepEqual(f.commands, []);
  });

  it('Ctrl-C before a command: nothing runs, the step ends as interrupted', async () => {
    const { c, step } = rebuild();
    const s = step('broken/backup-6');
    const f = fakeCluster([], 99);
    await assert.rejects(executeStep(s, f.env(c.settings, { stopRequested: () => true }), memo()), /stopped before the next command/);
    assert.deepEqual(f.commands, []);
  });

  it('runs with the compiled settings: an executor never reads the plan', () => {
    const { c } = rebuild();
    assert.deepEqual(Object.keys(c.settings).sort(), [
      'adminPort',
      'canaryPath',
      'clientPort',
      'gateDeadlineMs',
      'pollIntervalMs',
      'preserveEphemerals',
      'startDeadlineMs',
    ]);
    assert.deepEqual(c.settings.preserveEphemerals, ['/jodis']);
  });
});

describe('gates: each failure names what did not hold (injected srvr, monitor and process list)', () => {
  const node = (myid: number) => ({ host: `zk${myid}`, myid, home: '/opt/zk', config: '/opt/zk/conf/zoo.cfg', dataDir: '/data', dataLogDir: '/data' });
  const answer = (mode: 'leader' | 'follower', zxid = 0x100000005n, version = '3.4.13-2d71af4, built on x') => ({
    version,
    mode,
    zxid,
    nodeCount: 1,
    connections: 0,
    outstanding: 0,
  });
  function env(o: { srvr?: Record<string, ReturnType<typeof answer> | null>; running?: boolean; snapshot?: boolean; synced?: number }) {
    return {
      clientPort: 2181,
      adminPort: 8080,
      pollIntervalMs: 1,
      hasProcess: async () => o.running ?? false,
      hasSnapshot: async () => o.snapshot ?? false,
      canaryValue: () => 'x',
      srvr: async (h: string) => o.srvr?.[h] ?? null,
      monitor: async () => (o.synced === undefined ? { via: null, why: 'no' } : { via: 'mntr', values: new Map([['zk_synced_followers', String(o.synced)]]) }),
    } as const;
  }
  const why = async (g: Gate, e: ReturnType<typeof env>) => {
    const v = await checkGate(g, e as unknown as GateEnv);
    return v.ok ? 'held' : v.why;
  };
  const three = [node(1), node(2), node(3)];

  it('stopped, running, serving, snapshot', async () => {
    assert.equal(
      await why({ kind: 'stopped', node: node(1), deadlineMs: 1 }, env({ srvr: { zk1: answer('follower') } })),
      'server 1 still answers srvr (follower)',
    );
    assert.equal(
      await why({ kind: 'stopped', node: node(1), deadlineMs: 1 }, env({ running: true })),
      'a ZooKeeper process with /opt/zk/conf/zoo.cfg still runs on zk1',
    );
    assert.equal(
      await why({ kind: 'running', node: node(1), deadlineMs: 1, home: '/opt/zk' }, env({})),
      'no ZooKeeper process with /opt/zk/conf/zoo.cfg from /opt/zk on zk1',
    );
    assert.equal(await why({ kind: 'serving', node: node(2), deadlineMs: 1 }, env({})), 'server 2 on zk2 does not serve');
    assert.equal(await why({ kind: 'snapshot', node: node(3), deadlineMs: 1 }, env({})), 'server 3 has not written a snapshot to /data/version-2 yet');
    assert.equal(await why({ kind: 'snapshot', node: node(3), deadlineMs: 1 }, env({ snapshot: true })), 'held');
  });

  it('ensemble: who is down, how many lead, who does not follow, synced count, zxids behind', async () => {
    const g: Gate = { kind: 'ensemble', members: three, deadlineMs: 1 };
    assert.equal(await why(g, env({ srvr: { zk1: answer('leader'), zk2: answer('follower') } })), 'not serving: 3');
    assert.equal(
      await why(g, env({ srvr: { zk1: answer('leader'), zk2: answer('leader'), zk3: answer('follower') } })),
      'expected one leader among 1, 2, 3, found 2',
    );
    assert.equal(
      await why(g, env({ srvr: { zk1: answer('leader'), zk2: answer('follower'), zk3: answer('follower') }, synced: 1 })),
      'leader 1 has 1 synced followers, expected 2',
    );
    assert.equal(
      await why(
        g,
        env({ srvr: { zk1: answer('leader', 0x100000009n), zk2: answer('follower', 0x100000009n), zk3: answer('follower', 0x100000004n) }, synced: 2 }),
      ),
      "zxid behind the leader's 0x100000009: 3",
    );
    assert.equal(await why(g, env({ srvr: { zk1: answer('leader'), zk2: answer('follower'), zk3: answer('follower') }, synced: 2 })), 'held');
  });

  it('version: who runs another release, or does not serve', async () => {
    const g: Gate = { kind: 'version', members: three, version: '3.4.13', deadlineMs: 1 };
    assert.equal(
      await why(g, env({ srvr: { zk1: answer('leader'), zk2: answer('follower', 1n, '3.4.6-1569965, built on 02/20/2014') } })),
      'not on 3.4.13: 2 (3.4.6-1569965, built on 02/20/2014), 3 (not serving)',
    );
  });
});

describe('observers (role: observer)', () => {
  const OBS = ROLLING.replace(
    '  - myid: 3\n    host: zk3.example.com\n    home: /opt/zookeeper-3.4.6\n    dataDir: /data/zk\n',
    '  - myid: 3\n    host: zk3.example.com\n    home: /opt/zookeeper-3.4.6\n    dataDir: /data/zk\n  - myid: 4\n    host: zk4.example.com\n    home: /opt/zookeeper-3.4.6\n    dataDir: /data/zk\n    role: observer\n',
  );
  const compiled = () => {
    const plan = loadOk(OBS);
    plan.health.pollInterval = 2;
    return compile(plan);
  };

  it('are not voters: the quorum is of the 3 participants, and 3 participants are still needed', () => {
    const c = compiled();
    const q = restarts(c)[0]!.membership.new!;
    assert.deepEqual(q.config, [1, 2, 3]);
    assert.equal(q.quorum, 2);
    const two = OBS.replace('  - myid: 3\n    host: zk3.example.com\n    home: /opt/zookeeper-3.4.6\n    dataDir: /data/zk\n', '');
    assert.throws(() => compile(loadOk(two)), /rolling restart of 2 voting servers \(and 1 observer, which do not vote\) cannot keep a quorum/);
  });

  it('restart first, then the followers, the leader last; the gates count synced followers without them (3.4)', async () => {
    for (const leader of [1, 3]) {
      const c = compiled();
      const f = cluster(c, leader);
      const { resolved } = await runRound(c, f);
      assert.deepEqual(resolved, [4, ...[1, 2, 3].filter((id) => id !== leader), leader]);
      assert.equal(f.servers.get('zk4.example.com')!.mode, 'observer', 'still an observer');
    }
  });

  it('the ensemble gate wants an observer to observe, not follow', async () => {
    const members = [1, 2, 3].map((id) => ({ host: `zk${id}`, myid: id, home: '/h', config: '/c', dataDir: '/d', dataLogDir: '/d' }));
    const obs = { host: 'zk4', myid: 4, home: '/h', config: '/c', dataDir: '/d', dataLogDir: '/d', observer: true };
    const answer = (mode: 'leader' | 'follower' | 'observer') => ({ version: '3.4.13', mode, zxid: 5n, nodeCount: 1, connections: 0, outstanding: 0 });
    const env = (mode4: 'follower' | 'observer') =>
      ({
        clientPort: 2181,
        adminPort: 8080,
        pollIntervalMs: 1,
        hasProcess: async () => true,
        hasSnapshot: async () => true,
        canaryValue: () => 'x',
        srvr: async (h: string) => answer(h === 'zk1' ? 'leader' : h === 'zk4' ? mode4 : 'follower'),
        monitor: async () => ({ via: 'mntr', values: new Map([['zk_synced_followers', '2']]) }),
      }) as unknown as GateEnv;
    const g: Gate = { kind: 'ensemble', members: [...members, obs], deadlineMs: 1 };
    assert.deepEqual(await checkGate(g, env('observer')), { ok: true });
    assert.deepEqual(await checkGate(g, env('follower')), { ok: false, why: 'not following the leader: 4 (follower, an observer)' });
  });
});

describe('observers in a rebuild', () => {
  // a sixth server, 11, is an observer (renumbered 7); 6 and 8 are broken (participants) and
  // form the mini-ensemble with the temporary server 1
  const OBS = REBUILD.replace(
    '  - { myid: 10, host: 127.0.10.10, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }',
    '  - { myid: 10, host: 127.0.10.10, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }\n  - { myid: 11, host: 127.0.10.11, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data, role: observer }',
  ).replace('  renumber: { 6: 2, 8: 3, 7: 4, 9: 5, 10: 6 }', '  renumber: { 6: 2, 8: 3, 7: 4, 9: 5, 10: 6, 11: 7 }');

  it('compiles: every quorum counts participants only, and the observer joins in a round of its own', () => {
    const c = compile(loadOk(OBS));
    const old = c.steps[0]!.membership.old!;
    assert.deepEqual(old.config, [6, 7, 8, 9, 10], 'the old ensemble: 5 voters, quorum 3');
    assert.equal(old.quorum, 3);
    const grow7 = c.steps.filter((s) => s.id.startsWith('grow-7/'));
    assert.ok(grow7.length > 0);
    for (const s of grow7) assert.ok(!s.membership.new!.config.includes(7), `observer 7 is not a voter: ${JSON.stringify(s.membership.new)}`);
    const final = c.steps.at(-1)!;
    if (final.target.kind !== 'ensemble') throw new Error('final');
    assert.deepEqual(
      final.target.members.filter((m) => m.observer).map((m) => m.myid),
      [7],
    );
    assert.deepEqual(final.membership.new!.config, [2, 3, 4, 5, 6]);
  });

  it('a broken observer is refused: the mini-ensemble needs voters', () => {
    const broken = REBUILD.replace(
      '  - { myid: 8, host: 127.0.10.8, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }',
      '  - { myid: 8, host: 127.0.10.8, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data, role: observer }',
    );
    assert.throws(() => compile(loadOk(broken)), /broken server 8 is an observer/);
  });
});

describe('executor: Ctrl-C and probes that fail', () => {
  it('Ctrl-C while a gate waits ends the step as an interruption (resumable), not a failure', async () => {
    const plan = loadOk(ROLLING);
    plan.health.pollInterval = 2;
    const c = compile(plan);
    const f = cluster(c, 3);
    f.hungStop.add('zk1.example.com');
    const err = await executeStep(restarts(c)[0]!, f.env(c.settings, { stopRequested: () => f.commands.length > 0 }), memo()).catch((e: unknown) => e);
    assert.ok(err instanceof Interrupted, String(err));
    assert.equal(err.name, 'Interrupted', 'the name the run machine routes to `interrupted`');
    assert.deepEqual(verbs(f, 'start'), []);
  });

  it("the election watch only measures: probes that throw while the leader stops do not fail the leader's restart", async () => {
    const c = rolling();
    const f = cluster(c, 2);
    const env = f.env(c.settings);
    // the old leader's sources fail a few times as it stops (an AdminServer going down with it)
    let failures = 0;
    const srvr = env.probes.srvr;
    env.probes.srvr = async (h, p, t) => {
      const s = f.servers.get(h);
      if (s?.myid === 2 && !s.running && failures < 3) {
        failures++;
        throw new Error('srvr refused and the AdminServer is gone');
      }
      return srvr(h, p, t);
    };
    const m = memo();
    for (const s of restarts(c)) await executeStep(s, env, m).then((o) => o.slotOrder && (m.slotOrders['upgrade'] = o.slotOrder));
    assert.deepEqual(verbs(f, 'start'), [1, 3, 2]);
    assert.equal(failures, 3, 'the probe did fail while the leader stopped');
  });

  it("a restart waits for its own JVM, not for another ensemble's ZooKeeper on the same host", () => {
    const step = restarts(rolling())[0]!;
    const then = step.byMember!.find((m) => m.myid === 2)!.commands[0]!.then!;
    assert.deepEqual(
      then.map((g) => (g.kind === 'stopped' ? g.node.config : g.kind)),
      ['/opt/zookeeper-3.4.6/conf/zoo.cfg', '/opt/zookeeper-3.4.13/conf/zoo.cfg'],
    );
  });
});
