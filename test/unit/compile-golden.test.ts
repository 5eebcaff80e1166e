// Golden tests: `zkroll plan` of the example plans, byte for byte (review what changed with
// `git diff` after UPDATE_GOLDEN=1 npm run test:unit), and the seed plan's step list in
// numbers the runbook gives (RUNBOOK.md §2: rounds restart 3, 4, 5 and 5 members).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile/index.js';
import { loadPlanFile } from '../../src/plan/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const zkroll = path.join(root, 'bin', 'zkroll');

function plan(name: string) {
  const r = loadPlanFile(path.join(root, 'plans', name));
  assert.ok(r.ok);
  return r.plan;
}

function zk(...args: string[]) {
  return spawnSync(process.execPath, [zkroll, ...args], { encoding: 'utf8', cwd: root });
}

describe('zkroll plan: golden output', () => {
  for (const name of ['codis-incident', 'codis-incident-reconfig', 'rolling-upgrade', 'upgrade-3.4-to-3.8', 'rolling-observer']) {
    it(`${name}: text output matches the reviewed golden file`, () => {
      const r = zk('plan', `plans/${name}.yaml`);
      assert.equal(r.status, 0, r.stderr);
      const golden = path.join(root, 'test', 'fixtures', 'golden', `${name}.plan.txt`);
      if (process.env['UPDATE_GOLDEN']) fs.writeFileSync(golden, r.stdout);
      assert.equal(r.stdout, fs.readFileSync(golden, 'utf8'));
    });
  }

  it('json carries the same steps the compiler produces', () => {
    const r = zk('plan', 'plans/codis-incident.yaml', '--format', 'json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { steps: unknown[] };
    assert.deepEqual(j.steps, JSON.parse(JSON.stringify(compile(plan('codis-incident.yaml')).steps)));
  });

  it('markdown shows every step title', () => {
    const r = zk('plan', 'plans/codis-incident.yaml', '--format', 'markdown');
    assert.equal(r.status, 0, r.stderr);
    for (const s of compile(plan('codis-incident.yaml')).steps) assert.ok(r.stdout.includes(`### ${s.n}. ${s.title}`), s.title);
  });
});

describe('the seed plan (codis-incident)', () => {
  const c = compile(plan('codis-incident.yaml'));
  const rounds = new Map<string, number>();
  for (const s of c.steps) if (s.target.kind === 'slot') rounds.set(s.target.round, s.target.of);

  it('has 3 growth rounds and 1 retire round restarting 3, 4, 5 and 5 members: 17 restarts', () => {
    assert.deepEqual(
      [...rounds.entries()],
      [
        ['grow-4', 3],
        ['grow-5', 4],
        ['grow-6', 5],
        ['retire', 5],
      ],
    );
    assert.equal(c.totals.restarts, 17);
    assert.equal(c.totals.rounds, 4);
  });

  it('stops 6 and 8 first, forms 1, 2, 3, ends the old ensemble at the first old stop, grows 4, 5, 6, retires 1', () => {
    const starts = c.steps.filter((s) => s.action === 'start').map((s) => (s.target.kind === 'node' ? s.target.node.myid : 0));
    assert.deepEqual(starts, [1, 2, 3, 4, 5, 6]);
    const stops = c.steps.filter((s) => s.action === 'stop').map((s) => s.id);
    assert.deepEqual(stops, ['broken/stop-6', 'broken/stop-8', 'old/stop-7', 'old/stop-9', 'old/stop-10', 'retire/stop-1']);
    const confirms = c.steps.filter((s) => s.confirm).map((s) => s.id);
    assert.deepEqual(confirms, ['old/stop-7']);
    const ended = c.steps.find((s) => s.id === 'old/stop-7')!;
    assert.equal(ended.membership.old?.state, 'ended');
    assert.equal(ended.membership.new?.state, 'serving', 'the new ensemble serves before the old one ends');
  });

  it('keeps every server on its host and client port, renumbered as planned', () => {
    const last = c.steps.at(-1)!;
    assert.equal(last.target.kind, 'ensemble');
    if (last.target.kind !== 'ensemble') return;
    assert.deepEqual(
      last.target.members.map((m) => [m.oldMyid, m.myid, m.host]),
      [
        [8, 3, '127.0.10.8'],
        [6, 2, '127.0.10.6'],
        [7, 4, '127.0.10.7'],
        [9, 5, '127.0.10.9'],
        [10, 6, '127.0.10.10'],
      ].sort((a, b) => (a[1] as number) - (b[1] as number)),
    );
  });

  it('leader last in every round; the leader slot is the one that switches the serving configuration', () => {
    for (const s of c.steps.filter((x) => x.target.kind === 'slot')) {
      if (s.target.kind !== 'slot') continue;
      const isLeader = s.target.slot === s.target.of;
      assert.equal(s.elections, isLeader ? 1 : 0, s.id);
      assert.equal(s.membership.new?.next === undefined, isLeader, s.id);
    }
  });
});
