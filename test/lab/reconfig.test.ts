// membership: reconfig on real servers: the incident's recovery from a 3.8.0 ensemble onto 3.9.3
// (plans/codis-incident-reconfig.yaml) with a client writing throughout, killed at a reconfig
// step and resumed; and a wrong password, refused at the access check while the old ensemble
// still serves.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { compile } from '../../src/compile/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { probeSrvr } from '../../src/zk/fourlw.js';
import { readConfig } from '../../src/zk/gates.js';
import { membersDiffer } from '../../src/zk/dynconfig.js';
import { assertNoWriteLost, incidentRunState, killAtStep, labDown, labUp, onHost, root, run, spawnApply, startWriter, stateEnv, tree } from './helpers.js';

const plan = path.join(root, 'plans', 'codis-incident-reconfig.yaml');
const CLUSTER = 'codis-reconfig';
const OLD = ['127.0.40.7', '127.0.40.9', '127.0.40.10'];
const NEW = new Map([
  ['127.0.40.6', 2],
  ['127.0.40.8', 3],
  ['127.0.40.7', 4],
  ['127.0.40.9', 5],
  ['127.0.40.10', 6],
]);
const OLD_CONNECT = OLD.map((h) => `${h}:2181`).join(',');
const NEW_CONNECT = [...NEW.keys()].map((h) => `${h}:2181`).join(',');

function compiled() {
  const r = loadPlanFile(plan);
  assert.ok(r.ok);
  return compile(r.plan);
}

async function modes(hosts: string[]): Promise<Map<string, string>> {
  return new Map(await Promise.all(hosts.map(async (h) => [h, (await probeSrvr(h, 2181))?.mode ?? 'down'] as [string, string])));
}

describe('apply: membership reconfig refuses before the point of no return', () => {
  after(() => labDown(plan));
  it('a wrong password stops the run at the access check, the old ensemble still serving', async () => {
    labUp(plan, '--znodes', '50');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-reconfig-'));
    fs.writeFileSync(path.join(dir, 'wrong'), 'not-the-password\n', { mode: 0o600 });
    const copy = path.join(dir, 'plan.yaml');
    fs.writeFileSync(copy, fs.readFileSync(plan, 'utf8').replace(/passwordFile: \S+/, `passwordFile: ${path.join(dir, 'wrong')}`));
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
    let acked: string[] = [];
    let out = '';
    try {
      const a = spawnApply(env, ['apply', plan, '--yes']);
      a.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await killAtStep(env, a, grow5.n - 1, 0, undefined, CLUSTER).catch((e: unknown) => assert.fail(`${String(e)}\n${out.slice(-3000)}`));
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
    // the end state, from the servers: one leader, 4 followers on 3.9.3, the temporary server gone
    const m = await modes([...NEW.keys()]);
    assert.deepEqual([...m.values()].sort(), ['follower', 'follower', 'follower', 'follower', 'leader'], JSON.stringify([...m]));
    assert.equal(await probeSrvr('127.0.40.1', 2181), null, 'the temporary server is stopped');
    for (const h of NEW.keys()) assert.match((await probeSrvr(h, 2181))!.version, /^3\.9\.3/, h);
    // the committed configuration, read back from every member, is the plan's
    const expect = c.steps.at(-1)!.gates.find((g) => g.kind === 'config')!;
    assert.ok(expect.kind === 'config');
    for (const h of NEW.keys()) assert.equal(membersDiffer(await readConfig(h, 2181), expect.expect), null, h);
    // ZooKeeper itself wrote the dynamic file and pointed zoo.cfg at it (no static server lines)
    for (const [h, id] of NEW) {
      const cfg = onHost(CLUSTER, h, 'cat /opt/zookeeper-3.9.3/conf/zoo.cfg');
      assert.match(cfg, /^dynamicConfigFile=\/opt\/zookeeper-3\.9\.3\/conf\/zoo\.cfg\.dynamic\.[0-9a-f]+$/m, h);
      assert.doesNotMatch(cfg, /^server\./m, h);
      assert.equal(onHost(CLUSTER, h, 'cat /data/zookeeper/data/myid').trim(), String(id));
    }
    assert.deepEqual(await tree(NEW_CONNECT, '/lab'), before, 'the data tree is as before the recovery');
    await assertNoWriteLost(NEW_CONNECT, acked);
    // the resumed reconfig either found its change committed or sent it once
    assert.match(r.out, /already lists 1, 2, 3, 4, 5: nothing sent|version 0x[0-9a-f]+ → 0x[0-9a-f]+/);
    // the password is nowhere in zkroll's state
    const password = fs.readFileSync('/tmp/zkroll-lab/codis-reconfig/zk-super', 'utf8').trim();
    const files = fs.readdirSync(env['ZKROLL_STATE_DIR']!, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    assert.ok(files.length > 0);
    for (const f of files) assert.ok(!fs.readFileSync(path.join(f.parentPath, f.name), 'utf8').includes(password), `${f.name} holds the password`);
  });
});
