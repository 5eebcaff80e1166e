// The host-state decisions (src/run/hostdecide.ts) and script/answer shapes (src/run/hostlock.ts)
// on hand-made host copies: the newest copy, the lock in force, refusals of apply / resume /
// take-over, fencing, and what the read and write scripts print and contain.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunFile } from '../../src/machine/store.js';
import { shq } from '../../src/remote/quote.js';
import { decideStart, isTakenOver, lockInForce, newestCopy, type StartInput } from '../../src/run/hostdecide.js';
import {
  FENCED_MARK,
  isHostStatePath,
  lockWriteScript,
  parseFenced,
  parseRead,
  readScript,
  runWriteScript,
  STALE_MS,
  type HostCopy,
  type HostLock,
  type Owner,
} from '../../src/run/hostlock.js';

const A: Owner = { machine: 'alpha', pid: 100, stateDir: '/a/.zkroll/c1', token: 'aaaaaaaaaaaaaaaa' };
const B: Owner = { machine: 'beta', pid: 200, stateDir: '/b/c1', token: 'bbbbbbbbbbbbbbbb' };
const meB = { machine: B.machine, pid: 201, stateDir: B.stateDir };

function run(seq: number, value = 'running', runId = 'R1'): RunFile {
  return { format: 1, planHash: 'h', plan: {}, runId, startedAt: 't', snapshot: { value, context: { index: 2 } }, seq };
}

function lock(owner: Owner, seq: number, extra: Partial<HostLock> = {}): HostLock {
  return {
    format: 1,
    cluster: 'c1',
    runId: 'R1',
    owner,
    since: 's',
    heartbeat: `2026-01-01T00:00:${String(seq).padStart(2, '0')}Z`,
    seq,
    released: null,
    tookFrom: null,
    ...extra,
  };
}

function copy(host: string, r: RunFile | null, l: HostLock | null, ageMs: number | null = 1000): HostCopy {
  return { host, error: null, home: '/root', run: r, lock: l, lockUnreadable: false, lockAgeMs: l ? ageMs : null };
}

const down = (host: string): HostCopy => ({ host, error: 'unreachable', home: null, run: null, lock: null, lockUnreadable: false, lockAgeMs: null });

function input(mode: StartInput['mode'], copies: HostCopy[], local: RunFile | null = null, gone = false): StartInput {
  return { mode, me: meB, local, copies, ownerGone: () => gone, planFile: 'p.yaml', cluster: 'c1' };
}

describe('newest copy and lock in force', () => {
  it('the highest sequence number wins; hosts that missed writes and unreachable hosts do not', () => {
    const copies = [copy('h1', run(7), lock(A, 7)), copy('h2', run(9), lock(A, 9)), down('h3'), copy('h4', run(9), lock(A, 9))];
    const n = newestCopy(copies)!;
    assert.equal(n.run.seq, 9);
    assert.deepEqual(n.hosts, ['h2', 'h4']);
    assert.equal(newestCopy([down('h1'), copy('h2', null, null)]), null);
    // a file written before sequence numbers counts as 0
    const old = { ...run(0) };
    delete old.seq;
    assert.equal(newestCopy([copy('h1', old, null), copy('h2', run(1), null)])!.hosts[0], 'h2');
  });

  it('the lock with the highest seq is in force; its age is the freshest heartbeat among hosts holding it', () => {
    const l = lockInForce([copy('h1', null, lock(A, 3), 50_000), copy('h2', null, lock(B, 8), 40_000), copy('h3', null, lock(B, 8), 5_000)])!;
    assert.equal(l.lock.owner.machine, 'beta');
    assert.equal(l.ageMs, 5_000);
    assert.equal(lockInForce([down('h1')]), null);
  });
});

describe('decideStart', () => {
  const liveA = [copy('h1', run(12), lock(A, 12), 2_000), copy('h2', run(12), lock(A, 12), 3_000)];

  it('apply and resume are refused while another machine holds a live lock, naming owner, machine and heartbeat', () => {
    for (const mode of ['apply', 'resume'] as const) {
      const d = decideStart(input(mode, liveA));
      assert.equal(d.kind, 'refuse');
      if (d.kind !== 'refuse') continue;
      assert.match(d.message, /pid 100 on machine alpha \(state dir \/a\/\.zkroll\/c1\)/);
      assert.match(d.message, /last heartbeat 2026-01-01T00:00:12Z \(2 s ago/);
      assert.match(d.message, /zkroll resume p\.yaml --take-over/);
      assert.match(d.message, /Nothing was changed/);
    }
  });

  it('the same machine and state dir is not another owner (a crashed zkroll of ours)', () => {
    const mine = { ...A, pid: 1 };
    const d = decideStart({ ...input('resume', [copy('h1', run(12), lock(mine, 12))], run(12)), me: { machine: A.machine, pid: 5, stateDir: A.stateDir } });
    assert.equal(d.kind, 'go');
    if (d.kind === 'go') {
      assert.equal(d.fetch, null);
      assert.equal(d.seq, 13);
      assert.deepEqual(d.accept, [A.token]);
    }
  });

  it('apply is refused while the hosts hold an unfinished run, even with its lock released', () => {
    const d = decideStart(input('apply', [copy('h1', run(12, 'failed'), lock(A, 12, { released: 'x' }))]));
    assert.equal(d.kind, 'refuse');
    if (d.kind === 'refuse') assert.match(d.message, /run R1 of c1 is not finished on its hosts \(failed, copy 12 on h1/);
  });

  it('apply goes after a finished run, with a sequence number above every copy and lock', () => {
    const d = decideStart(input('apply', [copy('h1', run(12, 'done'), lock(A, 14, { released: 'x' })), copy('h2', run(11, 'running'), lock(A, 11))]));
    assert.equal(d.kind, 'go');
    if (d.kind === 'go') {
      assert.equal(d.seq, 15);
      assert.equal(d.tookFrom, null);
    }
  });

  it('resume without --take-over is refused when the hosts are newer than this machine', () => {
    const released = [copy('h1', run(20, 'failed'), lock(A, 20, { released: 'x' }))];
    for (const local of [null, run(15)]) {
      const d = decideStart(input('resume', released, local));
      assert.equal(d.kind, 'refuse');
      if (d.kind === 'refuse') assert.match(d.message, new RegExp(`newer state of run R1 .*copy 20 on h1; here: ${local ? 'copy 15' : 'none'}`));
    }
  });

  it('take-over: refused while the heartbeat is fresh, allowed once stale or when the owner is gone from this machine', () => {
    const fresh = decideStart(input('take-over', liveA));
    assert.equal(fresh.kind, 'refuse');
    if (fresh.kind === 'refuse') assert.match(fresh.message, new RegExp(`fresher than ${STALE_MS / 1000} s`));
    const staleCopies = [copy('h1', run(12), lock(A, 12), STALE_MS + 1000), copy('h2', run(11), lock(A, 11), STALE_MS + 9000)];
    const stale = decideStart(input('take-over', staleCopies));
    assert.equal(stale.kind, 'go');
    if (stale.kind === 'go') {
      assert.equal(stale.fetch?.seq, 12, 'the newest copy is fetched');
      assert.equal(stale.tookFrom?.lock.owner.machine, 'alpha');
      assert.equal(stale.seq, 13);
    }
    assert.equal(decideStart(input('take-over', liveA, null, true)).kind, 'go', 'owner on this machine, process gone');
    // the freshest host decides: one fresh heartbeat anywhere refuses
    assert.equal(decideStart(input('take-over', [copy('h1', run(12), lock(A, 12), STALE_MS + 1), copy('h2', null, lock(A, 12), 100)])).kind, 'refuse');
  });

  it('take-over keeps a newer local run and refuses when there is nothing to continue', () => {
    const d = decideStart(input('take-over', [copy('h1', run(12), lock(A, 12, { released: 'x' }))], run(30)));
    assert.equal(d.kind === 'go' && d.fetch, null);
    const done = decideStart(input('take-over', [copy('h1', run(12, 'done'), lock(A, 12, { released: 'x' }))]));
    assert.equal(done.kind, 'refuse');
    if (done.kind === 'refuse') assert.match(done.message, /is done on its hosts: nothing to resume/);
    const none = decideStart(input('take-over', [down('h1')]));
    assert.equal(none.kind, 'refuse');
  });

  it('a lock file being created (no token yet) refuses; an old damaged one is ignored', () => {
    const unreadable = (age: number): HostCopy => ({ ...copy('h1', null, null), lockUnreadable: true, lockAgeMs: age });
    assert.equal(decideStart(input('apply', [unreadable(1000)])).kind, 'refuse');
    assert.equal(decideStart(input('apply', [unreadable(STALE_MS + 1)])).kind, 'go');
  });
});

describe('fencing', () => {
  const me = { machine: A.machine, pid: A.pid, stateDir: A.stateDir };
  it('another owner’s lock written since this run started means taken over; a leftover does not', () => {
    assert.equal(isTakenOver({ lock: lock(B, 13), ageMs: 0 }, me, 13), true);
    assert.equal(isTakenOver({ lock: lock(B, 40, { released: 'x' }), ageMs: 0 }, me, 13), true, 'even released: someone ran after us');
    assert.equal(isTakenOver({ lock: lock(B, 12), ageMs: 0 }, me, 13), false, 'older than our start: a leftover');
    assert.equal(isTakenOver({ lock: lock({ ...A, pid: 9, token: 'cccccccccccccccc' }, 99), ageMs: 0 }, me, 13), false, 'this machine and dir');
    assert.equal(isTakenOver({ lock: null, ageMs: 1000 }, me, 13), true, 'a lock file being created');
    assert.equal(isTakenOver({ lock: null, ageMs: STALE_MS + 1 }, me, 13), false);
  });
});

describe('scripts and answers', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('parses the read script’s answer, ages by the host’s clock', () => {
    const l = lock(A, 4);
    const text = `home /home/zk op\nnow 1000\nfile lock 990 ${b64(JSON.stringify(l))}\nfile run.json 990 ${b64(JSON.stringify(run(4)))}\n`;
    const c = parseRead('h1', text);
    assert.equal(c.home, '/home/zk op');
    assert.equal(c.lockAgeMs, 10_000);
    assert.deepEqual(c.lock, l);
    assert.equal(c.run?.seq, 4);
    const empty = parseRead('h1', 'home /root\nnow 5\nfile lock 5 \n');
    assert.equal(empty.lockUnreadable, true);
    assert.equal(parseRead('h1', 'garbage').error !== null, true);
  });

  it('parses a fenced answer', () => {
    const f = parseFenced(`${FENCED_MARK} 100 130 ${b64(JSON.stringify(lock(B, 3)))}\n`)!;
    assert.equal(f.lock?.owner.machine, 'beta');
    assert.equal(f.ageMs, 30_000);
    assert.equal(parseFenced('something else'), null);
  });

  it('the read script reads relative to the login directory and changes nothing', () => {
    const s = readScript('c1');
    assert.ok(s.startsWith(`d=${shq('.zkroll-runs/c1')}\n`));
    assert.match(s, /pwd -P/);
    assert.doesNotMatch(s, /\b(mv|rm|mkdir|dd|chmod)\b|>\s*[^&/]/);
  });

  it('the lock write is a compare-and-swap ending in temp file + fsync + rename', () => {
    const s = lockWriteScript("/home/o'b/.zkroll/c1", A.token, [B.token, 'not a token; rm -rf /'], true);
    assert.match(s, /mkdir -p '\/home\/o'\\''b\/\.zkroll\/c1'/);
    assert.match(s, /\( set -C; : > '\/home\/o'\\''b\/\.zkroll\/c1\/lock' \)/, 'created with noclobber when absent');
    assert.ok(s.includes(`grep -qF '"token":"${A.token}"'`));
    assert.ok(s.includes(`grep -qF '"token":"${B.token}"'`));
    assert.ok(!s.includes('rm -rf /'), 'a token that is not hex never reaches the script');
    assert.match(s, /! grep -qF '"token":'/);
    assert.match(s, /dd of=.*conv=notrunc,fsync/);
    assert.match(s, /mv -f '\/home\/o'\\''b\/\.zkroll\/c1\/lock\.zkroll-tmp-[0-9a-f]+' '\/home\/o'\\''b\/\.zkroll\/c1\/lock'/);
    assert.doesNotMatch(lockWriteScript('/r/.zkroll/c1', A.token, [], false), /! grep/);
  });

  it('run.json is written only while the lock holds our token', () => {
    const s = runWriteScript('/r/.zkroll/c1', A.token);
    assert.ok(s.includes(`grep -qF '"token":"${A.token}"' ${shq('/r/.zkroll/c1/lock')} || {`));
    assert.match(s, /mv -f '?\/r\/\.zkroll\/c1\/run\.json\.zkroll-tmp-[0-9a-f]+'? '?\/r\/\.zkroll\/c1\/run\.json'?/);
    assert.throws(() => runWriteScript('/r', 'x; reboot'));
  });

  it('knows its own paths (for audits)', () => {
    assert.equal(isHostStatePath('/root/.zkroll-runs/rolling-demo/run.json'), true);
    assert.equal(isHostStatePath('/root/.zkroll-runs/rolling-demo/lock'), true);
    assert.equal(isHostStatePath('/opt/zookeeper/conf/zoo.cfg'), false);
  });
});
