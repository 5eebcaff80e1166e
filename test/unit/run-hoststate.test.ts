// HostSync and readHostCopies (src/run/hoststate.ts) against fake hosts that run the real
// scripts with sh in a temp "home" each: the lock is taken, run.json and the lock land there
// atomically after every save, a host that is down is warned about and does not stop the run,
// a take-over fences the first holder (nothing more is written by it), and two concurrent
// starts cannot both hold the lock.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunFile } from '../../src/machine/store.js';
import { lockInForce, newestCopy } from '../../src/run/hostdecide.js';
import type { HostCopy, Owner } from '../../src/run/hostlock.js';
import { HostSync, newToken, readHostCopies, TakenOver, type HostRef, type StateHost } from '../../src/run/hoststate.js';

const homes: string[] = [];
after(() => homes.forEach((h) => fs.rmSync(h, { recursive: true, force: true })));

/** A host whose commands run with sh in a home of its own; `up: false` makes it unreachable. */
function fakeHost(label: string) {
  const home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-hoststate-')));
  homes.push(home);
  const state = { up: true, purposes: [] as string[] };
  const sh = (script: string, stdin: string | Buffer | undefined, purpose: string | undefined) => {
    state.purposes.push(purpose ?? '');
    const r = spawnSync('sh', ['-c', script], { cwd: home, input: stdin ?? '' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString(), durationMs: 1, command: script };
  };
  const host = {
    exec: async (cmd: { script: string } | string[], o: { stdin?: string | Buffer; purpose?: string }) => {
      const r = sh((cmd as { script: string }).script, o.stdin, o.purpose);
      return { ...r, stdout: r.stdout.toString() };
    },
    execBytes: async (cmd: { script: string } | string[], o: { purpose?: string }) => ({
      ...sh((cmd as { script: string }).script, undefined, o.purpose),
      stdoutTruncated: false,
    }),
  } as unknown as StateHost;
  const ref: HostRef = { label, get: () => (state.up ? Promise.resolve(host) : Promise.reject(new Error(`${label}: connection refused`))) };
  const dir = path.join(home, '.zkroll-runs', 'c1');
  return { ref, home, dir, state };
}

function owner(machine: string): Owner {
  return { machine, pid: 1, stateDir: `/state/${machine}`, token: newToken() };
}

function runFile(seq: number, value = 'running'): RunFile {
  return { format: 1, planHash: 'h', plan: {}, runId: 'R1', startedAt: 't', snapshot: { value, context: { index: seq } }, seq };
}

function sync(refs: HostRef[], copies: HostCopy[], o: Owner, startSeq: number, accept: string[] = [], warn: string[] = []) {
  return new HostSync({ refs, copies, cluster: 'c1', owner: o, runId: 'R1', startSeq, accept, tookFrom: null, warn: (l) => warn.push(l) });
}

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;

describe('the lock write on the host', () => {
  it('two take-overs of the same lock at once: one wins, the other is fenced (the check and the write are one step)', async () => {
    const { spawn } = await import('node:child_process');
    const { lockWriteScript } = await import('../../src/run/hostlock.js');
    const old = 'cccccccccccccccc';
    let both = 0;
    for (let i = 0; i < 20; i++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-cas-'));
      homes.push(dir);
      fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ token: old }));
      const one = (mine: string) =>
        new Promise<number | null>((resolve) => {
          const c = spawn('sh', ['-c', lockWriteScript(dir, mine, [old], false)], { stdio: ['pipe', 'ignore', 'ignore'] });
          c.stdin.end(JSON.stringify({ token: mine }));
          c.on('exit', (code) => resolve(code));
        });
      const codes = await Promise.all([one('aaaaaaaaaaaaaaaa'), one('bbbbbbbbbbbbbbbb')]);
      if (codes.every((c) => c === 0)) both++;
      assert.deepEqual([...codes].sort(), [0, 3], `run ${i}: ${codes.join(', ')}`);
    }
    assert.equal(both, 0);
  });
});

describe('HostSync', () => {
  it('takes the lock, writes run.json and the lock after every save, and releases at the end', async () => {
    const hosts = [fakeHost('h1'), fakeHost('h2')];
    const refs = hosts.map((h) => h.ref);
    const first = await readHostCopies(refs, 'c1');
    assert.deepEqual(
      first.map((c) => [c.home, c.run, c.lock]),
      hosts.map((h) => [h.home, null, null]),
    );
    const a = owner('alpha');
    const s = sync(refs, first, a, 1);
    await s.acquire();
    s.save(runFile(1));
    s.save(runFile(2));
    await s.fence();
    for (const h of hosts) {
      assert.equal(readJson(path.join(h.dir, 'run.json'))['seq'], 2, 'the newest state');
      assert.equal((readJson(path.join(h.dir, 'lock'))['owner'] as Owner).token, a.token);
      assert.deepEqual(fs.readdirSync(h.dir).sort(), ['.mutex', 'lock', 'run.json'], 'no temp file left (the flock mutex stays)');
      assert.equal(fs.statSync(path.join(h.dir, 'lock')).mode & 0o777, 0o600);
      assert.ok(h.state.purposes.includes(`write ${h.dir}/run.json`) && h.state.purposes.includes(`write ${h.dir}/lock`), 'audited as file writes');
    }
    const beat = readJson(path.join(hosts[0]!.dir, 'lock'))['heartbeat'];
    await new Promise((r) => setTimeout(r, 5));
    await s.fence();
    assert.notEqual(readJson(path.join(hosts[0]!.dir, 'lock'))['heartbeat'], beat, 'each fence refreshes the heartbeat');
    await s.close(runFile(3, 'done'));
    const copies = await readHostCopies(refs, 'c1');
    assert.equal(newestCopy(copies)!.run.seq, 3);
    const l = lockInForce(copies)!;
    assert.ok(l.lock.released, 'released');
    assert.ok(l.ageMs !== null && l.ageMs < 5000);
  });

  it('a host that is down is warned about once and does not stop the run; the newest copy wins', async () => {
    const [h1, h2] = [fakeHost('h1'), fakeHost('h2')];
    const refs = [h1.ref, h2.ref];
    const warn: string[] = [];
    const s = sync(refs, await readHostCopies(refs, 'c1'), owner('alpha'), 1, [], warn);
    await s.acquire();
    s.save(runFile(1));
    await s.fence();
    h2.state.up = false;
    s.save(runFile(2));
    await s.fence();
    s.save(runFile(3));
    await s.fence();
    assert.equal(warn.length, 1, warn.join('\n'));
    assert.match(warn[0]!, /could not write the run's copy on h2 \(h2: connection refused\); it keeps copy 1, the run goes on/);
    h2.state.up = true;
    const copies = await readHostCopies(refs, 'c1');
    assert.deepEqual(
      copies.map((c) => c.run?.seq),
      [3, 1],
    );
    assert.equal(newestCopy(copies)!.hosts.join(), 'h1');
    await s.fence();
    assert.match(warn[1] ?? '', /h2 written again \(copy 3\)/);
    await s.close(runFile(4, 'done'));
  });

  it('a host that goes down mid-run: the fence waits for one failed attempt, not for ever, however often the heartbeat lands', async () => {
    const [h1, h2] = [fakeHost('h1'), fakeHost('h2')];
    const refs = [h1.ref, h2.ref];
    const s = sync(refs, await readHostCopies(refs, 'c1'), owner('alpha'), 1, [], []);
    await s.acquire();
    // h2 unreachable as behind a dead link: every connection attempt takes a while and fails,
    // and a save (as the heartbeat timer does) lands during each attempt
    let attempts = 0;
    let fencing = true;
    h2.ref.get = async () => {
      attempts++;
      await new Promise((r) => setTimeout(r, 5));
      if (fencing) s.save(runFile(10 + attempts));
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('h2: timed out while waiting for the handshake');
    };
    const fenced = await Promise.race([s.fence().then(() => 'fenced'), new Promise((r) => setTimeout(() => r('still waiting'), 2000))]);
    fencing = false;
    assert.equal(fenced, 'fenced');
    assert.ok(attempts <= 2, `${attempts} connection attempts for one fence`);
    await s.close(runFile(99, 'done'));
  });

  it('a take-over fences the first holder: it learns who, and writes nothing more', async () => {
    const hosts = [fakeHost('h1'), fakeHost('h2')];
    const refs = hosts.map((h) => h.ref);
    const a = owner('alpha');
    const sa = sync(refs, await readHostCopies(refs, 'c1'), a, 1);
    let told: TakenOver | null = null;
    sa.onTakenOver = (e) => (told = e);
    await sa.acquire();
    sa.save(runFile(5));
    await sa.fence();
    const b = owner('beta');
    const copies = await readHostCopies(refs, 'c1');
    const sb = sync(refs, copies, b, 6, [a.token]);
    await sb.acquire();
    sb.save(runFile(6));
    await sb.fence();
    await assert.rejects(
      sa.fence(),
      (e: unknown) => e instanceof TakenOver && /taken over by zkroll pid 1 on machine beta \(state dir \/state\/beta\)/.test(e.message),
    );
    assert.ok(told, 'onTakenOver was called');
    sa.save(runFile(99));
    await sa.close(runFile(100, 'failed'));
    for (const h of hosts) {
      assert.equal(readJson(path.join(h.dir, 'run.json'))['seq'], 6, 'the fenced holder wrote nothing more');
      assert.equal((readJson(path.join(h.dir, 'lock'))['owner'] as Owner).machine, 'beta');
    }
    await sb.close(runFile(7, 'done'));
  });

  it('two starts from the same reading cannot both hold the lock; a leftover older lock is replaced', async () => {
    const h = fakeHost('h1');
    const copies = await readHostCopies([h.ref], 'c1');
    const a = sync([h.ref], copies, owner('alpha'), 4);
    const b = sync([h.ref], copies, owner('beta'), 4);
    await a.acquire();
    await assert.rejects(b.acquire(), TakenOver);
    await a.close(runFile(4, 'failed'));
    // two starts that split two hosts (each won one, so each is refused): each lets go of its own
    const [x, y] = [fakeHost('x'), fakeHost('y')];
    const both = await readHostCopies([x.ref, y.ref], 'c1');
    const d = sync([x.ref], both, owner('delta'), 20);
    const e = sync([y.ref], both, owner('epsilon'), 20);
    await d.acquire();
    await e.acquire();
    assert.equal(readJson(path.join(x.dir, 'lock'))['released'], null);
    await d.abandon();
    await e.abandon();
    for (const h of [x, y]) assert.notEqual(readJson(path.join(h.dir, 'lock'))['released'], null, `${h.ref.label}: no unreleased lock of a start that lost`);
    // abandon writes only where the lock is still its own: another holder's lock is left alone
    const f = sync([x.ref], await readHostCopies([x.ref], 'c1'), owner('phi'), 30);
    await f.acquire();
    await d.abandon();
    assert.equal((readJson(path.join(x.dir, 'lock'))['owner'] as Owner).machine, 'phi');
    assert.equal(readJson(path.join(x.dir, 'lock'))['released'], null);
    await f.close(runFile(30, 'done'));
    // an older lock that nobody vetted (seq below this run's start) is a leftover: replaced
    const c = sync([h.ref], [], owner('gamma'), 10);
    await c.acquire();
    assert.equal((readJson(path.join(h.dir, 'lock'))['owner'] as Owner).machine, 'gamma');
    await c.close(runFile(10, 'done'));
  });
});
