// membership: reconfig on real servers: the incident's recovery from a 3.8.0 ensemble onto 3.9.3
// (plans/codis-incident-reconfig.yaml) with a client writing throughout, killed at a reconfig
// step and resumed; a wrong password, refused at the access check while the old ensemble
// still serves; and the same recovery with membership: restart onto 3.8.0 (a static rebuild on
// 3.5+, whose added members are non-voting to the leader until it restarts last).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { membershipVariants } from '../../bench/membership.js';
import {
  assertNoWriteLost,
  incidentRunState,
  killAtStep,
  labDown,
  labUp,
  onHost,
  run,
  runAsync,
  spawnApply,
  sshdPid,
  startWriter,
  stateEnv,
  tree,
  assertReconfigEndState,
  compiledPlan,
  modesOf,
  reconfigPlan,
  RECONFIG_CLUSTER,
  RECONFIG_CONNECT,
  RECONFIG_NEW,
  RECONFIG_OLD_CONNECT,
} from './helpers.js';

const plan = reconfigPlan;
const CLUSTER = RECONFIG_CLUSTER;
const OLD = ['127.0.40.7', '127.0.40.9', '127.0.40.10'];
const NEW = RECONFIG_NEW;
const OLD_CONNECT = RECONFIG_OLD_CONNECT;
const NEW_CONNECT = RECONFIG_CONNECT;
const compiled = (file = plan) => compiledPlan(file);
const modes = modesOf;

describe('apply: membership reconfig refuses before the point of no return', () => {
  after(() => labDown(plan));
  it('a missing password file and an old ensemble with reconfigEnabled are refused before the run; a wrong password stops it at the access check, the old ensemble still serving', async () => {
    labUp(plan, '--znodes', '50');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-reconfig-'));
    fs.writeFileSync(path.join(dir, 'wrong'), 'not-the-password\n', { mode: 0o600 });
    const copy = path.join(dir, 'plan.yaml');
    const withPassword = (f: string) => fs.writeFileSync(copy, fs.readFileSync(plan, 'utf8').replace(/passwordFile: \S+/, `passwordFile: ${f}`));
    // before the run: a password file that cannot be read (exit 2), and an old server whose
    // zoo.cfg enables reconfig (exit 1) are refused with nothing changed (no run state)
    withPassword(path.join(dir, 'missing'));
    const missing = run(stateEnv('reconfig-missing'), ['apply', copy, '--yes']);
    assert.equal(missing.code, 2, missing.out + missing.err);
    assert.match(missing.err, /passwordFile .*missing cannot be read \(ENOENT\).*Nothing was changed/);
    withPassword(path.join(dir, 'wrong'));
    const cfg = '/opt/zookeeper-3.8.0/conf/zoo.cfg';
    onHost(CLUSTER, '127.0.40.9', `cp ${cfg} ${cfg}.orig && echo reconfigEnabled=true >> ${cfg}`);
    const enabledEnv = stateEnv('reconfig-enabled');
    const enabled = run(enabledEnv, ['apply', copy, '--yes']);
    onHost(CLUSTER, '127.0.40.9', `mv ${cfg}.orig ${cfg}`);
    assert.equal(enabled.code, 1, enabled.out + enabled.err);
    assert.match(enabled.err, /old server 9 \(127\.0\.40\.9:\/opt\/zookeeper-3\.8\.0\/conf\/zoo\.cfg\) has reconfigEnabled=true/);
    assert.equal(incidentRunState(enabledEnv, CLUSTER), null, 'no run started');
    const env = stateEnv('reconfig-refused');
    const r = run(env, ['apply', copy, '--yes']);
    assert.notEqual(r.code, 0, r.out);
    const st = incidentRunState(env, CLUSTER);
    const access = compiled().steps.find((s) => s.action === 'check-reconfig-access')!;
    assert.equal(st?.index, access.n - 1, `stopped at step ${access.n}: ${JSON.stringify(st)}`);
    assert.match(st!.failure!.message, /super is not a superuser on server 1: whoAmI lists/);
    assert.doesNotMatch(r.out + r.err, /not-the-password/);
    const old = await modes(OLD);
    assert.deepEqual([...old.values()].sort(), ['follower', 'follower', 'leader'], `the old ensemble serves: ${JSON.stringify([...old])}`);
  });
});

describe('apply: the incident recovery with membership reconfig (3.8.0 → 3.9.3)', () => {
  after(() => labDown(plan));
  it('grows by reconfig with no restart, survives a kill at a reconfig, loses no acknowledged write', async () => {
    labUp(plan, '--znodes', '300');
    const before = await tree(OLD_CONNECT, '/lab');
    const c = compiled();
    assert.equal(c.totals.restarts, 0);
    const env = stateEnv('reconfig');
    const writer = startWriter(OLD_CONNECT);
    const t0 = Date.now();
    // killed while the second reconfig (server 5 joins) runs, then resumed: the step runs again
    const grow5 = c.steps.find((s) => s.id === 'grow-5/reconfig')!;
    let r: ReturnType<typeof run>;
    let killedInStep = false;
    let acked: string[] = [];
    let out = '';
    try {
      const a = spawnApply(env, ['apply', plan, '--yes']);
      a.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      // killed once the leader (temporary server 1) has committed the change (ZooKeeper wrote its
      // dynamic file with server.5), while the step still reads it back: resume must send nothing
      const committed5 = () =>
        spawnSync('nsenter', [
          `--mount=/proc/${sshdPid(CLUSTER, '127.0.40.1')}/ns/mnt`,
          '--',
          'sh',
          '-c',
          'grep -qs "^server.5=" /opt/zookeeper-3.9.3/conf/zoo.cfg.dynamic.*',
        ]).status === 0;
      await killAtStep(env, a, grow5.n - 1, 0, committed5, CLUSTER).catch((e: unknown) => assert.fail(`${String(e)}\n${out.slice(-3000)}`));
      killedInStep = incidentRunState(env, CLUSTER)?.index === grow5.n - 1;
      r = run(env, ['resume', plan, '--yes']);
    } finally {
      // the writer must stop whatever happened, or it retries for ever
      acked = await writer.stop();
    }
    const ms = Date.now() - t0;
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    process.stdout.write(
      `# apply codis-incident-reconfig (${c.steps.length} steps, killed at step ${grow5.n}, resumed): ${ms} ms, ${acked.length} writes acknowledged\n`,
    );
    // the end state, from the servers
    await assertReconfigEndState(before);
    await assertNoWriteLost(NEW_CONNECT, acked);
    // killed after the commit and before the step was recorded: the resumed step finds its change
    // committed and sends nothing (a kill that came late, after the step, is reported, not failed)
    process.stdout.write(`# killed ${killedInStep ? 'inside the committed reconfig step' : 'after the reconfig step'}\n`);
    if (killedInStep) {
      const resumed = r.out.slice(r.out.indexOf(`▶ ${grow5.n}/`), r.out.indexOf(`✔ ${grow5.n}/`));
      assert.match(resumed, /already lists 1, 2, 3, 4, 5: nothing sent/);
      assert.doesNotMatch(resumed, /reconfig on leader/);
    }
    // the password is nowhere in zkroll's state
    const password = fs.readFileSync('/tmp/zkroll-lab/codis-reconfig/zk-super', 'utf8').trim();
    const files = fs.readdirSync(env['ZKROLL_STATE_DIR']!, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    assert.ok(files.length > 0);
    for (const f of files) assert.ok(!fs.readFileSync(path.join(f.parentPath, f.name), 'utf8').includes(password), `${f.name} holds the password`);
  });
});

describe('apply: the same recovery with membership restart on 3.5+ (3.8.0 → 3.8.0)', () => {
  const v = membershipVariants(plan).find((x) => x.name.startsWith('restart'))!;
  after(() => labDown(v.file));
  it('grows by rolling restarts; the ensemble gate counts the added member while the leader still runs the old configuration', async () => {
    labUp(v.file, '--znodes', '100');
    const before = await tree(OLD_CONNECT, '/lab');
    const env = stateEnv('static35');
    const writer = startWriter(OLD_CONNECT);
    let acked: string[] = [];
    let r: Awaited<ReturnType<typeof runAsync>>;
    try {
      r = await runAsync(env, ['apply', v.file, '--yes']);
    } finally {
      acked = await writer.stop();
    }
    assert.equal(r.code, 0, `${r.out.slice(-4000)}\n${r.err}`);
    process.stdout.write(`# apply ${v.cluster} (static rebuild on 3.8.0): ${r.ms} ms, ${acked.length} writes acknowledged\n`);
    const m = await modes([...NEW.keys()]);
    assert.deepEqual([...m.values()].sort(), ['follower', 'follower', 'follower', 'follower', 'leader'], JSON.stringify([...m]));
    for (const [h, id] of NEW) assert.equal(onHost(v.cluster, h, 'cat /data/zookeeper/data/myid').trim(), String(id));
    assert.deepEqual(await tree(NEW_CONNECT, '/lab'), before);
    await assertNoWriteLost(NEW_CONNECT, acked);
  });
});

describe("apply: membership reconfig from the incident's own 3.4.6 onto 3.9.3 (ZOOKEEPER-3056)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-reconfig346-'));
  const file = path.join(dir, 'plan.yaml');
  fs.writeFileSync(
    file,
    fs
      .readFileSync(plan, 'utf8')
      .replace('version: "3.8.0"', 'version: "3.4.6"')
      .replaceAll('/opt/zookeeper-3.8.0', '/opt/zookeeper-3.4.6')
      .replace(/releases: (\S+)/, (_, r: string) => `releases: ${path.resolve(path.dirname(plan), r)}`),
  );
  after(() => labDown(file));
  it('seeds a 3.4.6 leader into a 3.9.3 mini-ensemble, grows by reconfig, and removes snapshot.trust.empty from the zoo.cfg ZooKeeper rewrote', async () => {
    labUp(file, '--znodes', '100');
    const before = await tree(OLD_CONNECT, '/lab');
    const r = await runAsync(stateEnv('reconfig346'), ['apply', file, '--yes']);
    assert.equal(r.code, 0, `${r.out.slice(-4000)}\n${r.err}`);
    process.stdout.write(`# apply codis-reconfig from 3.4.6 (${compiled(file).steps.length} steps): ${r.ms} ms\n`);
    const m = await modes([...NEW.keys()]);
    assert.deepEqual([...m.values()].sort(), ['follower', 'follower', 'follower', 'follower', 'leader'], JSON.stringify([...m]));
    for (const h of NEW.keys()) {
      const cfg = onHost(CLUSTER, h, 'cat /opt/zookeeper-3.9.3/conf/zoo.cfg');
      assert.doesNotMatch(cfg, /snapshot\.trust\.empty/, h);
      assert.match(cfg, /^dynamicConfigFile=\/opt\/zookeeper-3\.9\.3\/conf\/zoo\.cfg\.dynamic\.[0-9a-f]+$/m, h);
    }
    assert.deepEqual(await tree(NEW_CONNECT, '/lab'), before);
  });
});
