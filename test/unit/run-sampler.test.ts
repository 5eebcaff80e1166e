// The run's state sampler (src/run/sampler.ts) on a fake clock, scheduler and probe: it records
// only changes, one probe per server in flight, errors become `unknown`, stop is immediate and
// leaves nothing scheduled; the live probe's states from srvr answers of fake servers; the
// servers a compiled plan samples, labelled by host and myid.
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { liveStateProbe, sampleTargets, startSampler, type SampleTarget, type ServerState, type StateChange } from '../../src/run/sampler.js';
import { closedPort, fakeServers } from './net-fakes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const targets: SampleTarget[] = ['a', 'b'].map((h) => ({ server: `${h}:2181`, host: h, port: 2181, label: h }));

/** A scheduler that runs nothing by itself: `tick()` runs what is due (one round). */
function fakeScheduler() {
  const pending: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  return {
    schedule: (fn: () => void, ms: number) => {
      const p = { fn, ms, cancelled: false };
      pending.push(p);
      return () => void (p.cancelled = true);
    },
    live: () => pending.filter((p) => !p.cancelled).length,
    tick: () => {
      const due = pending.splice(0).filter((p) => !p.cancelled);
      for (const p of due) p.fn();
    },
  };
}

/** A probe answering from a script per host (last answer repeats); `hold` keeps answers back. */
function scriptedProbe(script: Record<string, (ServerState | Error)[]>) {
  const calls: string[] = [];
  const held: (() => void)[] = [];
  let hold = false;
  const probe = (host: string) => {
    calls.push(host);
    const list = script[host]!;
    const next = list.length > 1 ? list.shift()! : list[0]!;
    return new Promise<ServerState>((resolve, reject) => {
      const answer = () => (next instanceof Error ? reject(next) : resolve(next));
      if (hold) held.push(answer);
      else answer();
    });
  };
  return {
    probe,
    calls,
    hold: (on: boolean) => void (hold = on),
    release: () => held.splice(0).forEach((a) => a()),
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('state sampler', () => {
  it('records only changes, with the clock of the answer', async () => {
    const sch = fakeScheduler();
    const p = scriptedProbe({ a: ['following', 'following', 'down', 'down', 'looking', 'leading'], b: ['leading'] });
    let now = 1000;
    const lines: StateChange[] = [];
    const s = startSampler(targets, { probe: p.probe, now: () => now, record: (c) => lines.push(c), schedule: sch.schedule });
    for (let i = 0; i < 6; i++) {
      await settle();
      now += 250;
      sch.tick();
    }
    await settle();
    s.stop();
    assert.deepEqual(
      lines.map((l) => [l.t, l.server, l.state]),
      [
        [1000, 'a:2181', 'following'],
        [1000, 'b:2181', 'leading'],
        [1500, 'a:2181', 'down'],
        [2000, 'a:2181', 'looking'],
        [2250, 'a:2181', 'leading'],
        [2500, 'a:2181', 'unknown'],
        [2500, 'b:2181', 'unknown'],
      ],
    );
    assert.equal(lines[0]!.label, 'a');
  });

  it('a failing probe is unknown, a throwing record is swallowed, and the run never sees either', async () => {
    const sch = fakeScheduler();
    const p = scriptedProbe({ a: [new Error('refused'), 'following'], b: ['following'] });
    const lines: StateChange[] = [];
    let fail = true;
    const s = startSampler(targets, {
      probe: p.probe,
      now: () => 5,
      schedule: sch.schedule,
      record: (c) => {
        if (fail && c.server === 'b:2181') {
          fail = false;
          throw new Error('disk full');
        }
        lines.push(c);
      },
    });
    await settle();
    sch.tick();
    await settle();
    s.stop();
    assert.deepEqual(
      lines.map((l) => `${l.server} ${l.state}`),
      ['a:2181 unknown', 'a:2181 following', 'a:2181 unknown', 'b:2181 unknown'],
    );
  });

  it('asks a server again only once its last probe answered', async () => {
    const sch = fakeScheduler();
    const p = scriptedProbe({ a: ['following'], b: ['following'] });
    p.hold(true);
    const s = startSampler(targets, { probe: p.probe, now: () => 0, record: () => undefined, schedule: sch.schedule });
    sch.tick();
    sch.tick();
    assert.deepEqual(p.calls, ['a', 'b'], 'no second probe while the first is in flight');
    p.hold(false);
    p.release();
    await settle();
    sch.tick();
    assert.deepEqual(p.calls, ['a', 'b', 'a', 'b']);
    s.stop();
  });

  it('stops at once: nothing left scheduled, late answers dropped, twice is fine', async () => {
    const sch = fakeScheduler();
    const p = scriptedProbe({ a: ['leading'], b: ['following'] });
    const lines: StateChange[] = [];
    const s = startSampler(targets, { probe: p.probe, now: () => 7, record: (c) => lines.push(c), schedule: sch.schedule });
    await settle();
    p.hold(true);
    sch.tick();
    assert.equal(sch.live(), 1);
    s.stop();
    s.stop();
    assert.equal(sch.live(), 0, 'the next round is cancelled');
    p.release();
    await settle();
    sch.tick();
    assert.deepEqual(
      lines.map((l) => `${l.server} ${l.state}`),
      ['a:2181 leading', 'b:2181 following', 'a:2181 unknown', 'b:2181 unknown'],
    );
  });

  it('with real timers and a probe that never answers, stop returns at once and leaves no timer behind', async () => {
    const s = startSampler(targets, { probe: () => new Promise<ServerState>(() => undefined), now: Date.now, record: () => undefined, intervalMs: 5 });
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    s.stop();
    assert.ok(Date.now() - t0 < 50);
  });
});

describe('live state probe', () => {
  const fakes = fakeServers();
  after(() => fakes.closeAll());
  const answering = (text: string) =>
    net.createServer((c) => {
      c.once('data', () => c.end(text));
    });

  it('reads srvr: leader → leading, follower → following, observer → observing, not serving → looking, no answer → down', async () => {
    const srvr = (mode: string) =>
      `Zookeeper version: 3.4.13-2d71af4dbe22557fda74f9a9b4309b15a7487f03, built on 06/29/2018 04:05 GMT\nMode: ${mode}\nNode count: 5\n`;
    await fakes.listen('leader', answering(srvr('leader')));
    await fakes.listen('follower', answering(srvr('follower')));
    await fakes.listen('observer', answering(srvr('observer')));
    await fakes.listen('looking', answering('This ZooKeeper instance is not currently serving requests\n'));
    const probe = liveStateProbe(undefined);
    const state = (name: string) => probe('127.0.0.1', fakes.ports[name]!, 500);
    assert.equal(await state('leader'), 'leading');
    assert.equal(await state('follower'), 'following');
    assert.equal(await state('observer'), 'observing');
    assert.equal(await state('looking'), 'looking');
    assert.equal(await probe('127.0.0.1', await closedPort(), 500), 'down');
  });

  it('a server that never answers is down within the timeout', async () => {
    await fakes.listen(
      'mute',
      net.createServer(() => undefined),
    );
    const t0 = Date.now();
    assert.equal(await liveStateProbe(undefined)('127.0.0.1', fakes.ports['mute']!, 100), 'down');
    assert.ok(Date.now() - t0 < 1000);
  });
});

describe('the servers a run samples', () => {
  it('every host the incident plan touches, once, at the client port, labelled with its myid (old → new)', () => {
    const r = loadPlanFile(path.join(root, 'plans', 'codis-incident.yaml'));
    assert.ok(r.ok);
    const t = sampleTargets(compile(r.plan));
    assert.deepEqual(t.map((x) => [x.server, x.label]).sort(), [
      ['127.0.10.10:2181', '127.0.10.10 · myid 10→6'],
      ['127.0.10.1:2181', '127.0.10.1 · myid 1'],
      ['127.0.10.6:2181', '127.0.10.6 · myid 6→2'],
      ['127.0.10.7:2181', '127.0.10.7 · myid 7→4'],
      ['127.0.10.8:2181', '127.0.10.8 · myid 8→3'],
      ['127.0.10.9:2181', '127.0.10.9 · myid 9→5'],
    ]);
  });

  it('a rolling plan: each server keeps its myid', () => {
    const r = loadPlanFile(path.join(root, 'plans', 'rolling-upgrade.yaml'));
    assert.ok(r.ok);
    assert.deepEqual(
      sampleTargets(compile(r.plan)).map((x) => x.label),
      ['127.0.20.1 · myid 1', '127.0.20.2 · myid 2', '127.0.20.3 · myid 3'],
    );
  });
});
