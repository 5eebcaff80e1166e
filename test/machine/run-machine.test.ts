// The run machine (src/machine/run-machine.ts) with fake step runners, and the run store.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createActor, type Snapshot } from 'xstate';
import { LockHeld, planDiff, planHash, readRun, takeLock, writeRun, type RunFile } from '../../src/machine/store.js';
import { ctx, dropUndefined, failure, fake, interruption, json, never, plain, start, statuses, step, until } from './helpers.js';

const idx = (calls: { index: number }[]) => calls.map((c) => c.index);

describe('run machine: unattended', () => {
  it('keeps the canary counter a step reports (the executor counts its canary writes)', async () => {
    const f = fake((i) => ({ notes: [], canarySeq: i.canarySeq + (i.index === 1 ? 7 : 0) }));
    const s = await until(start(f, plain(3), false), 'done');
    assert.deepEqual(
      f.calls.map((c) => c.canarySeq),
      [0, 1, 8],
    );
    assert.equal(s.context.canarySeq, 9);
  });

  it('runs every step once, in order, with attempt 1, and ends done', async () => {
    const f = fake();
    const actor = start(f, plain(4), false);
    const s = await until(actor, 'done');
    assert.deepEqual(
      f.calls.map((c) => [c.index, c.attempt]),
      [
        [0, 1],
        [1, 1],
        [2, 1],
        [3, 1],
      ],
    );
    assert.deepEqual(
      f.calls.map((c) => c.canarySeq),
      [0, 1, 2, 3],
      'a step that wrote no canary still moves the counter on',
    );
    assert.equal(s.context.index, 4);
    assert.equal(s.status, 'done');
    for (const r of s.context.records) {
      assert.equal(r.status, 'done');
      assert.equal(r.attempts, 1);
      assert.ok(r.startedAt !== null && r.endedAt !== null && r.endedAt >= r.startedAt);
    }
    assert.equal(s.context.failure, null);
  });

  it('records resolved and notes from the runner', async () => {
    const f = fake((i) => ({ notes: [`n${i.index}`], resolved: i.index === 1 ? 7 : undefined }));
    const s = await until(start(f, plain(2), false), 'done');
    assert.deepEqual(
      s.context.records.map((r) => [r.resolved, r.notes]),
      [
        [null, ['n0']],
        [7, ['n1']],
      ],
    );
  });
});

describe('run machine: confirmations', () => {
  const steps = () => [step('a'), step('b', null, 'this restarts the leader'), step('c')];

  it('stops at a step with confirm text even unattended; yes continues', async () => {
    const f = fake();
    const actor = start(f, steps(), false);
    const s = await until(actor, 'confirming');
    assert.equal(s.context.index, 1);
    assert.deepEqual(idx(f.calls), [0]);
    actor.send({ type: 'ANSWER', answer: 'yes' });
    await until(actor, 'done');
    assert.deepEqual(idx(f.calls), [0, 1, 2]);
    assert.deepEqual(statuses(actor), ['done', 'done', 'done']);
  });

  it('abort ends the run and no later step runs', async () => {
    const f = fake();
    const actor = start(f, steps(), false);
    await until(actor, 'confirming');
    actor.send({ type: 'ANSWER', answer: 'abort' });
    const s = await until(actor, 'aborted');
    assert.equal(s.status, 'done');
    assert.deepEqual(idx(f.calls), [0]);
    assert.deepEqual(statuses(actor), ['done', 'pending', 'pending']);
    assert.equal(s.context.index, 1);
  });

  it('skip marks the step skipped and continues', async () => {
    const f = fake();
    const actor = start(f, steps(), false);
    await until(actor, 'confirming');
    actor.send({ type: 'ANSWER', answer: 'skip' });
    await until(actor, 'done');
    assert.deepEqual(idx(f.calls), [0, 2]);
    assert.deepEqual(statuses(actor), ['done', 'skipped', 'done']);
    assert.equal(ctx(actor).records[1]?.attempts, 0);
  });
});

describe('run machine: guided', () => {
  it('asks before every step; "round" covers the rest of that round only (not confirm steps)', async () => {
    const steps = [step('a', 'r1'), step('b', 'r1'), step('c', 'r1'), step('d', 'r1', 'sure?'), step('e', 'r2'), step('f', 'r2'), step('g')];
    const f = fake();
    const actor = start(f, steps, true);
    const asked: number[] = [];
    const answers: Record<number, 'yes' | 'round'> = { 0: 'round', 3: 'yes', 4: 'yes', 5: 'round', 6: 'round' };
    for (;;) {
      const s = await until(actor, (x) => x.value === 'confirming' || x.value === 'done');
      if (s.value === 'done') break;
      asked.push(s.context.index);
      assert.deepEqual(idx(f.calls), [...Array(s.context.index).keys()], 'no step runs before it is confirmed');
      actor.send({ type: 'ANSWER', answer: answers[s.context.index] ?? 'yes' });
    }
    assert.deepEqual(asked, [0, 3, 4, 5, 6]);
    assert.deepEqual(idx(f.calls), [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(ctx(actor).yesRound, null, '"round" on a step without a round sets none');
  });
});

describe('run machine: failures', () => {
  const failOnce: Parameters<typeof fake>[0] = (i, n) => {
    if (i.index === 1 && n === 2) throw failure('zk2 did not rejoin', 'line 1\nline 2');
    return { notes: [] };
  };

  it('a failing step stops in failed with the failure; RETRY re-runs it as attempt 2', async () => {
    const f = fake(failOnce);
    const actor = start(f, plain(3), false);
    const s = await until(actor, 'failed');
    assert.deepEqual(s.context.failure, { index: 1, message: 'zk2 did not rejoin', output: 'line 1\nline 2' });
    assert.deepEqual(statuses(actor), ['done', 'failed', 'pending']);
    assert.equal(s.context.index, 1);
    actor.send({ type: 'RETRY' });
    const d = await until(actor, 'done');
    assert.deepEqual(
      f.calls.map((c) => [c.index, c.attempt]),
      [
        [0, 1],
        [1, 1],
        [1, 2],
        [2, 1],
      ],
    );
    assert.deepEqual(statuses(actor), ['done', 'done', 'done']);
    assert.equal(d.context.records[1]?.attempts, 2);
    assert.equal(d.context.failure, null);
  });

  it('an error without outputTail gives empty output', async () => {
    const f = fake(() => {
      throw new Error('boom');
    });
    const s = await until(start(f, plain(1), false), 'failed');
    assert.deepEqual(s.context.failure, { index: 0, message: 'boom', output: '' });
  });

  it('SKIP marks the failed step skipped and continues', async () => {
    const f = fake(failOnce);
    const actor = start(f, plain(3), false);
    await until(actor, 'failed');
    actor.send({ type: 'SKIP' });
    const d = await until(actor, 'done');
    assert.deepEqual(idx(f.calls), [0, 1, 2]);
    assert.deepEqual(statuses(actor), ['done', 'skipped', 'done']);
    assert.equal(d.context.failure, null);
  });

  it('ABORT ends in aborted with nothing more run', async () => {
    const f = fake(failOnce);
    const actor = start(f, plain(3), false);
    await until(actor, 'failed');
    actor.send({ type: 'ABORT' });
    await until(actor, 'aborted');
    assert.deepEqual(idx(f.calls), [0, 1]);
    assert.deepEqual(statuses(actor), ['done', 'failed', 'pending']);
  });

  it('an Interrupted error stops in interrupted with the step pending; RESUME continues from it', async () => {
    const f = fake((_i, n) => {
      if (n === 2) throw interruption();
      return { notes: [] };
    });
    const actor = start(f, plain(3), false);
    const s = await until(actor, 'interrupted');
    assert.deepEqual(statuses(actor), ['done', 'pending', 'pending']);
    assert.equal(s.context.index, 1);
    assert.equal(s.context.failure, null);
    actor.send({ type: 'RESUME' });
    await until(actor, 'done');
    assert.deepEqual(idx(f.calls), [0, 1, 1, 2]);
    assert.deepEqual(statuses(actor), ['done', 'done', 'done']);
  });
});

describe('run machine: persistence and restore', () => {
  const steps = plain(4);

  it('a snapshot taken with a step in flight restores and re-runs that step only', async () => {
    const f1 = fake((i) => (i.index === 2 ? never() : { notes: [`first ${i.index}`], slotOrder: [3, 1, 2] }));
    const a1 = start(
      f1,
      steps.map((s) => ({ ...s, round: 'r' })),
      false,
    );
    await until(a1, (s) => s.value === 'running' && s.context.index === 2);
    const persisted = json(a1.getPersistedSnapshot());
    a1.stop();
    assert.deepEqual(idx(f1.calls), [0, 1, 2]);

    const f2 = fake();
    const a2 = start(f2, steps, false, persisted);
    const d = await until(a2, 'done');
    assert.deepEqual(idx(f2.calls), [2, 3], 'the in-flight step runs again; earlier ones do not');
    assert.deepEqual(f2.calls[0]?.slotOrders, { r: [3, 1, 2] }, 'the re-run gets the context it had');
    assert.equal(f2.calls[0]?.canarySeq, 2);
    assert.deepEqual(
      d.context.records.map((r) => r.status),
      ['done', 'done', 'done', 'done'],
    );
    assert.deepEqual(d.context.records[0]?.notes, ['first 0']);
    assert.equal(d.context.index, 4);
  });

  it('restores from failed (RETRY) and from interrupted (RESUME)', async () => {
    for (const [err, value, event] of [
      [failure('x'), 'failed', 'RETRY'],
      [interruption(), 'interrupted', 'RESUME'],
    ] as const) {
      const f1 = fake((i) => {
        if (i.index === 1) throw err;
        return { notes: [] };
      });
      const a1 = start(f1, steps, false);
      await until(a1, value);
      const persisted = json(a1.getPersistedSnapshot());
      a1.stop();

      const f2 = fake();
      const a2 = start(f2, steps, false, persisted);
      assert.equal(a2.getSnapshot().value, value, `restored in ${value}`);
      assert.equal(f2.calls.length, 0, `nothing runs until ${event}`);
      a2.send({ type: event });
      const d = await until(a2, 'done');
      assert.deepEqual(
        f2.calls.map((c) => [c.index, c.attempt]),
        [
          [1, 2],
          [2, 1],
          [3, 1],
        ],
        `${value}: continues at step 1`,
      );
      assert.deepEqual(statuses(a2), ['done', 'done', 'done', 'done']);
      assert.equal(d.context.failure, null);
    }
  });
});

describe('run machine: outputs carried in the context', () => {
  it('merges slotOrders by round and the seed, and passes them to later steps', async () => {
    const steps = [step('a', 'r1'), step('b', 'r1'), step('c', 'r2'), step('d', null), step('e', 'r2')];
    const f = fake((i) => {
      if (i.index === 0) return { notes: [], slotOrder: [2, 3, 1] };
      if (i.index === 2) return { notes: [], slotOrder: [5, 4], seed: { myid: 4, zxid: '0x500000012' } };
      if (i.index === 3) return { notes: [], slotOrder: [9] }; // no round: ignored
      return { notes: [] };
    });
    const d = await until(start(f, steps, false), 'done');
    assert.deepEqual(
      f.calls.map((c) => c.slotOrders),
      [{}, { r1: [2, 3, 1] }, { r1: [2, 3, 1] }, { r1: [2, 3, 1], r2: [5, 4] }, { r1: [2, 3, 1], r2: [5, 4] }],
    );
    assert.deepEqual(d.context.slotOrders, { r1: [2, 3, 1], r2: [5, 4] });
    assert.deepEqual(d.context.seed, { myid: 4, zxid: '0x500000012' }, 'a later step without seed keeps it');
  });
});

describe('run machine: the persisted snapshot is plain JSON', () => {
  it('round-trips through JSON and restores to the same state at every transition', async () => {
    const steps = [step('a', 'r1', 'confirm a'), step('b', 'r1'), step('c', 'r2'), step('d', 'r2')];
    const f = fake((i, n) => {
      if (i.index === 1 && i.attempt === 1) throw failure('b failed', 'tail');
      if (i.index === 2 && n === 4) throw interruption();
      return { notes: [`ok ${n}`], resolved: n, slotOrder: [n], seed: i.index === 3 ? { myid: 1, zxid: '0x1' } : undefined };
    });
    const actor = createActor(f.machine, { input: { steps, guided: false } });
    const seen: { value: unknown; p: { context: unknown } }[] = [];
    actor.subscribe(() => seen.push({ value: actor.getSnapshot().value, p: actor.getPersistedSnapshot() as unknown as { context: unknown } }));
    actor.start();
    await until(actor, 'confirming');
    actor.send({ type: 'ANSWER', answer: 'yes' });
    await until(actor, 'failed');
    actor.send({ type: 'RETRY' });
    await until(actor, 'interrupted');
    actor.send({ type: 'RESUME' });
    await until(actor, 'done');
    const values = seen.map((s) => s.value);
    for (const v of ['confirming', 'running', 'failed', 'interrupted', 'done']) assert.ok(values.includes(v), `saw ${v}`);
    for (const { value, p } of seen) {
      const rt = json(p);
      assert.deepEqual(rt, dropUndefined(p), `${String(value)}: persisted snapshot is plain JSON`);
      const context = p.context;
      assert.deepEqual(rt.context, context, `${String(value)}: context survives JSON unchanged`);
      const restored = createActor(f.machine, { snapshot: rt as unknown as Snapshot<unknown>, input: { steps, guided: false } }).getSnapshot();
      assert.equal(restored.value, value);
      assert.deepEqual(restored.context, context);
    }
  });
});

describe('store', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-store-'));

  it('planDiff names the changed dotted paths', () => {
    const a = { cluster: { name: 'c1', port: 2181 }, servers: [{ host: 'h1' }, { host: 'h2' }], same: true };
    const b = { cluster: { name: 'c1', port: 2182 }, servers: [{ host: 'h1' }, { host: 'h3' }], same: true, extra: 1 };
    assert.deepEqual(planDiff(a, a), []);
    assert.deepEqual(planDiff(a, { ...a, cluster: { port: 2181, name: 'c1' } }), [], 'key order is not a difference');
    const d = planDiff(a, b);
    assert.deepEqual(
      d.map((x) => x.split(': ')[0]),
      ['cluster.port', 'servers[1].host', 'extra'],
    );
    assert.equal(d[0], 'cluster.port: 2181 → 2182');
    assert.deepEqual(planDiff(1, 2), ['(plan): 1 → 2']);
  });

  it('planHash is stable under key order and changes with content', () => {
    const h = planHash({ a: 1, b: { c: [1, 2], d: 'x' } });
    assert.match(h, /^[0-9a-f]{16}$/);
    assert.equal(planHash({ b: { d: 'x', c: [1, 2] }, a: 1 }), h);
    assert.notEqual(planHash({ a: 1, b: { c: [2, 1], d: 'x' } }), h, 'array order matters');
    assert.notEqual(planHash({ a: 2, b: { c: [1, 2], d: 'x' } }), h);
  });

  it('takeLock refuses a live holder, takes over a stale one, and releases', () => {
    const dir = tmp();
    const lock = path.join(dir, 'lock');
    const release = takeLock(dir);
    assert.equal(JSON.parse(fs.readFileSync(lock, 'utf8')).pid, process.pid);
    assert.throws(() => takeLock(dir), LockHeld);
    release();
    assert.equal(fs.existsSync(lock), false);

    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead && dead !== process.pid);
    fs.writeFileSync(lock, JSON.stringify({ pid: dead, host: os.hostname(), since: '2020-01-01T00:00:00Z' }));
    const release2 = takeLock(dir);
    assert.equal(JSON.parse(fs.readFileSync(lock, 'utf8')).pid, process.pid, 'stale lock taken over');
    assert.equal(fs.readdirSync(dir).filter((n) => n.startsWith('lock.stale-')).length, 1, 'stale lock kept aside');
    release2();

    fs.writeFileSync(lock, JSON.stringify({ pid: dead, host: `not-${os.hostname()}`, since: 'x' }));
    assert.throws(() => takeLock(dir), LockHeld, 'a lock from another host is never taken over');
    fs.rmSync(dir, { recursive: true });
  });

  it('writeRun/readRun round-trip', () => {
    const dir = tmp();
    assert.equal(readRun(dir), null);
    const run: RunFile = {
      format: 1,
      planHash: planHash({ p: 1 }),
      plan: { p: 1 },
      runId: '20240101T000000Z',
      startedAt: '2024-01-01T00:00:00.000Z',
      snapshot: { value: 'running', context: { index: 2 } },
    };
    writeRun(dir, run);
    assert.deepEqual(readRun(dir), run);
    writeRun(dir, { ...run, snapshot: { value: 'done' } });
    assert.deepEqual(readRun(dir)?.snapshot, { value: 'done' });
    assert.deepEqual(fs.readdirSync(dir), ['run.json'], 'no temp file left');
    fs.rmSync(dir, { recursive: true });
  });
});
