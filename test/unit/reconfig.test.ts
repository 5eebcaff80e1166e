// membership: reconfig — the plan rules, the compiled steps and their quorum proofs, and the
// executor's reconfig and access-check steps against a fake leader session (no JVM): a
// compare-and-set on /zookeeper/config, retries on NEWCONFIGNOQUORUM, BADVERSION re-read, a
// resumed step that sends nothing, refusals that name the fix, and the password never shown.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compile, type Compiled, type DynamicMember, type Step } from '../../src/compile/index.js';
import { dynamicLine } from '../../src/compile/membership.js';
import { resolveFile } from '../../src/compile/files.js';
import { QuorumModel } from '../../src/compile/quorum.js';
import { Refusal } from '../../src/compile/types.js';
import { executeStep, type StepMemo } from '../../src/exec/run-step.js';
import { StepError } from '../../src/exec/env.js';
import { ZkError } from '../../src/zk/client.js';
import { membersDiffer, parseDynamicConfig } from '../../src/zk/dynconfig.js';
import type { WireSession } from '../../src/zk/wire.js';
import { renderPlan } from '../../src/ui/plan-render.js';
import { fakeCluster } from './exec-fakes.js';
import { loadErrors, loadOk, REBUILD, withLine } from './plan-fixtures.js';

const RECONFIG = withLine(
  withLine(REBUILD, 15, '  version: "3.9.3"'),
  23,
  '  preserveEphemerals: [/jodis]\n  membership: reconfig\n  reconfig: { passwordFile: zk-super }',
);
const memo = (): StepMemo => ({ slotOrders: {}, canarySeq: 0 });

function compiled(pollMs = 1, deadlineMs = 200): Compiled {
  const plan = loadOk(RECONFIG);
  plan.health.pollInterval = pollMs;
  plan.health.gateDeadline = deadlineMs;
  return compile(plan);
}

describe('membership: reconfig — plan rules', () => {
  it('needs a password file for access: super, and 3.7+', () => {
    const noFile = withLine(REBUILD, 23, '  preserveEphemerals: [/jodis]\n  membership: reconfig\n  reconfig: { access: super }');
    assert.match(
      loadErrors(withLine(noFile, 15, '  version: "3.9.3"')).join('\n'),
      /plans\/test\.yaml:25:13: strategy\.reconfig: access: super needs passwordFile/,
    );
    const old = loadErrors(withLine(RECONFIG, 15, '  version: "3.6.3"')).join('\n');
    assert.match(old, /reconfig-needs-3\.7: 3\.6\.3: membership: reconfig needs 3\.7\.0 or later/);
  });
  it('a reconfig block without membership: reconfig is an error, not ignored', () => {
    const t = withLine(REBUILD, 23, '  preserveEphemerals: [/jodis]\n  reconfig: { access: skipACL }');
    assert.match(loadErrors(t).join('\n'), /strategy\.reconfig is only read with membership: reconfig/);
  });
  it('on 3.9.3 ZOOKEEPER-4925 is a warning for reconfig, a refusal for restart', () => {
    assert.ok(loadOk(RECONFIG));
    assert.match(loadErrors(withLine(REBUILD, 15, '  version: "3.9.3"')).join('\n'), /ZOOKEEPER-4925-rebuild/);
  });
});

describe('membership: reconfig — compiled steps', () => {
  const c = compiled();
  it('the seed procedure: 36 steps, 0 restarts, 4 reconfigs, one election, one maybe hand-off', () => {
    assert.deepEqual(
      { steps: c.totals.steps, restarts: c.totals.restarts, reconfigs: c.totals.reconfigs, elections: c.totals.elections, maybe: c.totals.maybeElections },
      { steps: 36, restarts: 0, reconfigs: 4, elections: 1, maybe: 1 },
    );
    const restart = compile(loadOk(REBUILD)).totals;
    assert.ok(restart.restarts > 10, `membership: restart restarts ${restart.restarts} times`);
  });
  it('access is proven before the old ensemble ends, every reconfig changes one voter and carries both quorums', () => {
    const access = c.steps.findIndex((s) => s.action === 'check-reconfig-access');
    const ender = c.steps.findIndex((s) => s.confirm !== undefined);
    assert.ok(access >= 0 && access < ender, `access check (${access}) before the old ensemble ends (${ender})`);
    const adds = c.steps.filter((s) => s.action === 'reconfig');
    assert.deepEqual(
      adds.map((s) => [s.reconfig!.from.map((m) => m.myid).join(','), s.reconfig!.to.map((m) => m.myid).join(','), s.membership.new!.config.join(',')]),
      [
        ['1,2,3', '1,2,3,4', '1,2,3,4'],
        ['1,2,3,4', '1,2,3,4,5', '1,2,3,4,5'],
        ['1,2,3,4,5', '1,2,3,4,5,6', '1,2,3,4,5,6'],
        ['1,2,3,4,5,6', '2,3,4,5,6', '2,3,4,5,6'],
      ],
    );
    assert.equal(adds[0]!.reconfig!.joining[0], 'server.4=127.0.10.7:2888:3888:participant;127.0.10.7:2181');
    // each joiner is started (non-voting) before its reconfig
    for (const s of adds.slice(0, 3)) assert.equal(c.steps[s.n - 2]!.action, 'start', s.id);
  });
  it("the joiner's first config is the committed members plus itself, in a dynamic file; zoo.cfg has no server lines", () => {
    const w = c.steps.find((s) => s.id === 'grow-4/start')!;
    const cfg = w.files.find((f) => f.kind === 'zoo.cfg');
    assert.ok(cfg && cfg.kind === 'zoo.cfg' && cfg.dynamic);
    assert.deepEqual(
      cfg.dynamic.content
        .trim()
        .split('\n')
        .map((l) => l.slice(0, l.indexOf('='))),
      ['server.1', 'server.2', 'server.3', 'server.4'],
    );
    assert.deepEqual(
      cfg.set?.map((s) => s.key),
      ['reconfigEnabled', 'dynamicConfigFile'],
    );
    assert.deepEqual(cfg.unset, ['clientPort', 'clientPortAddress']);
  });
  it('the dynamic line binds what the base binds today: a base listening everywhere is refused for clientAddress: host, and the other way round', () => {
    const w = c.steps.find((s) => s.id === 'grow-4/start')!;
    const cfg = w.files.find((f) => f.kind === 'zoo.cfg')!;
    const base = (extra: string) => (_h: string, p: string) =>
      p === '/opt/zookeeper-3.4.6/conf/zoo.cfg' ? `tickTime=2000\nclientPort=2181\n${extra}` : undefined;
    const out = resolveFile(cfg, '127.0.10.7', base('clientPortAddress=127.0.10.7\n'));
    assert.doesNotMatch(out[0]!.content, /clientPort/);
    assert.match(out[1]!.content, /^server\.4=127\.0\.10\.7:2888:3888:participant;127\.0\.10\.7:2181$/m);
    assert.throws(
      () => resolveFile(cfg, '127.0.10.7', base('')),
      /listens on every interface \(no clientPortAddress\), but strategy\.reconfig\.clientAddress: host would bind/,
    );
    assert.throws(() => resolveFile(cfg, '127.0.10.7', base('clientPortAddress=10.9.9.9\n')), /neither its host nor 127\.0\.10\.7/);
    // the dry-run's stand-in knows no binding: not judged there
    assert.equal(resolveFile(cfg, '127.0.10.7', base(''), false).length, 2);
    const any = compile(loadOk(RECONFIG.replace('reconfig: { passwordFile: zk-super }', 'reconfig: { passwordFile: zk-super, clientAddress: any }')));
    const anyCfg = any.steps.find((s) => s.id === 'grow-4/start')!.files.find((f) => f.kind === 'zoo.cfg')!;
    assert.match(resolveFile(anyCfg, '127.0.10.7', base(''))[1]!.content, /^server\.4=127\.0\.10\.7:2888:3888:participant;2181$/m);
    assert.throws(() => resolveFile(anyCfg, '127.0.10.7', base('clientPortAddress=127.0.10.7\n')), /clientAddress: any would listen on every interface/);
  });
  it('from 3.4 (ZOOKEEPER-3056): snapshot.trust.empty is removed from the zoo.cfg ZooKeeper rewrote, the key alone', () => {
    const from34 = compile(loadOk(withLine(RECONFIG, 4, '  ports: { client: 2181, quorum: 2888, election: 3888 }\n  version: "3.4.6"')));
    const drops = from34.steps.filter((s) => s.id.startsWith('trust-empty/'));
    assert.deepEqual(
      drops.map((s) => s.target.kind === 'node' && s.target.node.myid),
      [2, 3, 4, 5, 6],
    );
    const fw = drops[0]!.files[0]!;
    assert.ok(fw.kind === 'zoo.cfg' && fw.keysOnly === true);
    const zkWritten = 'dataDir=/d\nsnapshot.trust.empty=true\nreconfigEnabled=true\ndynamicConfigFile=/opt/zookeeper-3.9.3/conf/zoo.cfg.dynamic.200000104\n';
    assert.deepEqual(
      resolveFile(fw, '127.0.10.6', () => zkWritten),
      [{ host: '127.0.10.6', path: fw.path, content: zkWritten.replace('snapshot.trust.empty=true\n', ''), mode: 0o644 }],
    );
  });
  it('the rendered plan masks the password and shows the reconfig', () => {
    const text = renderPlan(c, new Map(), 'text');
    assert.match(text, /addauth digest super:\*\*\*\*/);
    assert.match(text, /reconfig -add server\.4=127\.0\.10\.7:2888:3888:participant;127\.0\.10\.7:2181 -v <the version just read>/);
    assert.match(text, /36 steps: 6 starts, 6 stops, 0 restarts in 0 rolling rounds, 4 reconfigs/);
  });
});

describe('QuorumModel.reconfigure: both quorums, one voter', () => {
  const model = (running: number[]) => {
    const m = new QuorumModel();
    m.formNew([1, 2, 3]);
    for (const id of running) m.startNew(id);
    return m;
  };
  it('adds a started joiner', () => {
    const m = model([1, 2, 3, 4]);
    m.reconfigure([1, 2, 3, 4]);
    assert.deepEqual(m.membership().new?.config, [1, 2, 3, 4]);
  });
  it('refuses a change whose new configuration lacks a live quorum (the joiner not started, a member down)', () => {
    assert.throws(
      () => model([1, 2]).reconfigure([1, 2, 3, 4]),
      (e: unknown) => e instanceof Refusal && /2 of the new configuration's 4/.test(e.message),
    );
  });
  it('refuses two voters at once', () => {
    assert.throws(() => model([1, 2, 3, 4, 5]).reconfigure([1, 2, 3, 4, 5]), /changes 2 voters at once/);
  });
});

/** A leader's session on a fake committed configuration; `replies` scripts the reconfig answers. */
function fakeZk(members: DynamicMember[], replies: (number | 'ok')[] = ['ok'], superuser = true) {
  const st = {
    members: [...members],
    version: 0x100000000n,
    sent: [] as { joining: string | null; leaving: string | null; from: bigint }[],
    auth: [] as string[],
  };
  const text = () => `${st.members.map(dynamicLine).join('\n')}\nversion=${st.version.toString(16)}`;
  const session = {
    addAuth: async (_s: string, b: Buffer) => void st.auth.push(b.toString()),
    whoAmI: async () => [{ authScheme: 'ip', user: '127.0.0.1' }, ...(superuser ? [{ authScheme: 'super', user: '' }] : [])],
    sync: async () => undefined,
    getData: async () => ({ data: Buffer.from(text()), stat: {} }),
    reconfig: async (r: { joining?: string | null; leaving?: string | null; fromConfig: bigint }) => {
      st.sent.push({ joining: r.joining ?? null, leaving: r.leaving ?? null, from: r.fromConfig });
      const rc = replies.shift() ?? 'ok';
      // the server's order: disabled first, then the version, then the rest (PrepRequestProcessor)
      if (rc === -123) throw new ZkError('reconfig disabled', rc);
      if (r.fromConfig !== st.version) throw new ZkError('bad version', -103);
      if (rc !== 'ok') throw new ZkError(`rc ${rc}`, rc);
      const joining = (r.joining ?? '')
        .split(',')
        .filter(Boolean)
        .map((j) => [...parseDynamicConfig(j).servers.values()][0]!);
      const leaving = new Set((r.leaving ?? '').split(',').filter(Boolean).map(Number));
      st.members = [
        ...st.members.filter((m) => !leaving.has(m.myid)),
        ...joining.map((j) => ({
          myid: j.id,
          host: j.host,
          quorumPort: j.quorumPort,
          electionPort: j.electionPort,
          clientPort: j.clientPort!,
          clientHost: j.clientHost ?? null,
        })),
      ];
      st.version += 0x10n;
      return { config: text(), version: st.version, stat: {} };
    },
    close: async () => undefined,
  };
  return { st, session: session as unknown as WireSession };
}

async function runOne(
  step: Step,
  zk: ReturnType<typeof fakeZk>,
  c: Compiled,
  secret = 's3cret',
  files: Record<string, string> = {},
  sessions: string[] = [],
  audit: { command: string; code: number | null; purpose?: string }[] = [],
) {
  const f = fakeCluster(step.reconfig!.members, 1);
  const base = f.env(c.settings);
  const env = f.env(c.settings, {
    probes: { ...base.probes, session: async (host) => (sessions.push(host), zk.session) },
    readSecret: async () => secret,
    audit: (r) => void audit.push(r),
    // the old servers' zoo.cfg, as the access check reads them (host:path → text)
    hosts: async (h) => ({
      ...(await base.hosts(h)),
      readIfExists: async (p: string) => (files[`${h}:${p}`] === undefined ? null : Buffer.from(files[`${h}:${p}`]!)),
    }),
  });
  // the gates (config read-back, canary) need real servers: the lab test covers them
  return executeStep({ ...step, gates: [] }, env, memo());
}

describe('executor: a reconfig step is a compare-and-set (fake leader)', () => {
  const c = compiled();
  const add4 = c.steps.find((s) => s.id === 'grow-4/reconfig')!;
  it('sends the incremental change with the version it read, authenticated as super (password from the file)', async () => {
    const zk = fakeZk(add4.reconfig!.from);
    const audit: { command: string; code: number | null; purpose?: string }[] = [];
    await runOne(add4, zk, c, 's3cret', {}, [], audit);
    assert.deepEqual(zk.st.sent, [{ joining: 'server.4=127.0.10.7:2888:3888:participant;127.0.10.7:2181', leaving: null, from: 0x100000000n }]);
    // audit.jsonl: the addauth masked (a read), the reconfig as sent, with its rc
    assert.deepEqual(
      audit.map((a) => [a.command, a.code, a.purpose]),
      [
        ['zk addauth digest super:****', 0, 'read'],
        ['zk reconfig -add server.4=127.0.10.7:2888:3888:participant;127.0.10.7:2181 -v 0x100000000', 0, undefined],
      ],
    );
    assert.deepEqual(zk.st.auth, ['super:s3cret']);
    assert.equal(membersDiffer(parseDynamicConfig(`${zk.st.members.map(dynamicLine).join('\n')}\nversion=1`), add4.reconfig!.to), null);
  });
  it('a resumed step whose change already committed sends nothing', async () => {
    const zk = fakeZk(add4.reconfig!.to);
    const out = await runOne(add4, zk, c);
    assert.deepEqual(zk.st.sent, []);
    assert.match(out.notes.join('\n'), /already lists 1, 2, 3, 4: nothing sent/);
  });
  it('retries NEWCONFIGNOQUORUM (the joiner still syncing) until it commits', async () => {
    const zk = fakeZk(add4.reconfig!.from, [-13, -13, 'ok']);
    const out = await runOne(add4, zk, c);
    assert.equal(zk.st.sent.length, 3);
    assert.match(out.notes.join('\n'), /3 attempts/);
  });
  it('NOAUTH stops the run naming superDigest, without showing the password', async () => {
    const zk = fakeZk(add4.reconfig!.from, [-102]);
    await assert.rejects(runOne(add4, zk, c, 'hunter2'), (e: unknown) => e instanceof StepError && /superDigest/.test(e.message) && !/hunter2/.test(e.message));
  });
  it('RECONFIGDISABLED stops at once; a deadline ends endless NEWCONFIGNOQUORUM', async () => {
    await assert.rejects(runOne(add4, fakeZk(add4.reconfig!.from, [-123]), c), /reconfigEnabled=false/);
    await assert.rejects(runOne(add4, fakeZk(add4.reconfig!.from, Array(1000).fill(-13)), c), /did not commit within/);
  });
  it('a configuration that is neither the start nor the result stops the run with both named', async () => {
    const other = add4.reconfig!.from.slice(0, 2);
    const zk = fakeZk(other);
    await assert.rejects(runOne(add4, zk, c), /neither the one this step starts from nor its result: it lists servers 1, 2, expected 1, 2, 3/);
    assert.deepEqual(zk.st.sent, []);
  });
});

describe('executor: the access check changes nothing', () => {
  const c = compiled();
  const access = c.steps.find((s) => s.action === 'check-reconfig-access')!;
  it('a superuser and reconfigEnabled: one probe with an impossible version, answered BADVERSION', async () => {
    const zk = fakeZk(access.reconfig!.from);
    const before = zk.st.members.map(dynamicLine).join();
    await runOne(access, zk, c);
    assert.equal(zk.st.sent.length, 1);
    assert.equal(zk.st.sent[0]!.from, 0x100000001n);
    assert.equal(zk.st.members.map(dynamicLine).join(), before);
  });
  it('asks every member (superDigest is per JVM), then probes the leader', async () => {
    const zk = fakeZk(access.reconfig!.from);
    const sessions: string[] = [];
    await runOne(access, zk, c, 's3cret', {}, sessions);
    assert.deepEqual(sessions, ['127.0.10.1', '127.0.10.6', '127.0.10.8', '127.0.10.1']);
  });
  it('an old server whose zoo.cfg enables reconfig stops the run before the old ensemble ends (it would join the new one)', async () => {
    const zk = fakeZk(access.reconfig!.from);
    const files = { '127.0.10.9:/opt/zookeeper-3.4.6/conf/zoo.cfg': 'tickTime=2000\nreconfigEnabled=TRUE\n' };
    await assert.rejects(
      runOne(access, zk, c, 's3cret', files),
      /old server 9 \(127\.0\.10\.9:\/opt\/zookeeper-3\.4\.6\/conf\/zoo\.cfg\) has reconfigEnabled=true/,
    );
    assert.deepEqual(zk.st.sent, []);
    // reconfigEnabled=false (or absent) is fine
    await runOne(access, fakeZk(access.reconfig!.from), c, 's3cret', { '127.0.10.9:/opt/zookeeper-3.4.6/conf/zoo.cfg': 'reconfigEnabled=false\n' });
  });
  it('not a superuser: refused before any reconfig is sent', async () => {
    const zk = fakeZk(access.reconfig!.from, ['ok'], false);
    await assert.rejects(runOne(access, zk, c), /super is not a superuser on server 1: whoAmI lists ip:127\.0\.0\.1/);
    assert.deepEqual(zk.st.sent, []);
  });
  it('reconfig disabled: refused, naming reconfigEnabled', async () => {
    const zk = fakeZk(access.reconfig!.from, [-123]);
    await assert.rejects(runOne(access, zk, c), (e: unknown) => e instanceof StepError && /reconfigEnabled=false/.test(e.message));
  });
});
