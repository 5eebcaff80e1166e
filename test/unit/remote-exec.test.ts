import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelLimiter, TailBuffer, wrapCommand, remoteTimeoutSecs } from '../../src/remote/executil.js';
import { shellCommand } from '../../src/remote/quote.js';
import { shellEvent } from '../../src/remote/host.js';
import { parseSudoStat, renameScript, sudoReadScript, sudoStatScript, sudoWriteScript } from '../../src/remote/sudofiles.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'zkroll-exec-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Run a wrapped remote command line locally, the way sshd would: `sh -c <line>`. */
function runLine(line: string, input?: string | Buffer): { code: number | null; stdout: Buffer; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync('sh', ['-c', line], { input: input ?? '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString(), ms: Date.now() - t0 };
}

test('wrapCommand shape, with and without sudo', () => {
  assert.equal(wrapCommand('echo hi', 30_000, false), "timeout -k 5 30 sh -c 'echo hi'");
  assert.equal(wrapCommand('echo hi', 1500, true), "sudo -n timeout -k 5 2 sh -c 'echo hi'");
  assert.equal(remoteTimeoutSecs(1), 1);
  assert.equal(remoteTimeoutSecs(0), 1);
});

test('wrapped command passes nasty arguments and exit codes through', () => {
  const args = ["it's", '$HOME', 'a b\nc', '`id`', '✓'];
  const r = runLine(wrapCommand(shellCommand(['printf', '%s|', ...args]), 10_000, false));
  assert.equal(r.code, 0);
  assert.equal(r.stdout.toString(), args.map((a) => `${a}|`).join(''));
  assert.equal(runLine(wrapCommand('exit 3', 10_000, false)).code, 3);
});

test('remote deadline: timeout(1) exits 124 after the deadline', () => {
  const r = runLine(wrapCommand('sleep 20', 1000, false));
  assert.equal(r.code, 124);
  assert.ok(r.ms >= 900 && r.ms < 5000, `took ${r.ms} ms`);
});

test('remote deadline: a command ignoring TERM is KILLed 5 s later (exit 137)', () => {
  const r = runLine(wrapCommand(`trap '' TERM; sleep 30`, 1000, false));
  assert.equal(r.code, 137);
  assert.ok(r.ms >= 5500 && r.ms < 10_000, `took ${r.ms} ms`);
});

test('TailBuffer keeps only the last bytes', () => {
  const b = new TailBuffer(10);
  b.push('0123456789');
  assert.equal(b.truncated, false);
  b.push('abc');
  assert.equal(b.toString(), '3456789abc');
  assert.equal(b.truncated, true);
  b.push(Buffer.from('x'.repeat(25)));
  assert.equal(b.toString(), 'x'.repeat(10));
  const u = new TailBuffer(4);
  u.push('é✓'); // 2 + 3 bytes: the cut lands inside "é"
  assert.equal(u.toString(), '✓');
  const big = new TailBuffer();
  for (let i = 0; i < 100; i++) big.push(Buffer.alloc(4096, 65 + (i % 26)));
  assert.equal(big.toBuffer().length, 64 * 1024);
});

test('ChannelLimiter bounds concurrency and serves waiters FIFO', async () => {
  const lim = new ChannelLimiter(2);
  const order: number[] = [];
  let running = 0;
  let peak = 0;
  const job = async (i: number, ms: number): Promise<void> => {
    const release = await lim.acquire();
    order.push(i);
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, ms));
    running--;
    release();
    release(); // double release is harmless
  };
  await Promise.all([job(0, 30), job(1, 10), job(2, 5), job(3, 5), job(4, 5)]);
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.equal(lim.inUse, 0);
  assert.throws(() => new ChannelLimiter(0));
});

test('ChannelLimiter.fail rejects waiters and later acquires', async () => {
  const lim = new ChannelLimiter(1);
  const release = await lim.acquire();
  const waiting = lim.acquire();
  assert.equal(lim.waiting, 1);
  lim.fail(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  await assert.rejects(lim.acquire(), /gone/);
  release();
});

test('sudo write script: atomic replace with exact mode, binary content, no temp left', () => {
  const target = join(dir, "conf dir 'x'", 'zoo.cfg');
  mkdirSync(join(dir, "conf dir 'x'"));
  writeFileSync(target, 'old\n');
  const content = Buffer.concat([Buffer.from('tickTime=2000\n✓\n'), Buffer.from([0, 1, 2, 255]), Buffer.alloc(200_000, 7)]);
  const tmp = `${target}.zkroll-tmp-abc`;
  const r = runLine(wrapCommand(sudoWriteScript(target, tmp, 0o640), 10_000, false), content);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(readFileSync(target).equals(content));
  assert.equal(statSync(target).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(join(dir, "conf dir 'x'")), ['zoo.cfg']);
});

test('sudo write script: failure leaves target and directory clean', () => {
  const d = join(dir, 'fail');
  mkdirSync(d);
  const target = join(d, 'sub-does-not-exist', 'f');
  const r = runLine(wrapCommand(sudoWriteScript(target, `${target}.zkroll-tmp-1`, 0o644), 10_000, false), 'x');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /zkroll: cannot create temp file/);
  // a directory at the target path is refused, not written into
  const asDir = join(d, 'isdir');
  mkdirSync(asDir);
  const r3 = runLine(wrapCommand(sudoWriteScript(asDir, `${asDir}.zkroll-tmp-2`, 0o644), 10_000, false), 'x');
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /is a directory[\s\S]*zkroll: writing .* failed/);
  assert.deepEqual(readdirSync(asDir), []);
  assert.ok(!existsSync(`${asDir}.zkroll-tmp-2`));
  // existing temp path is refused (noclobber), target untouched
  const t2 = join(d, 'g');
  writeFileSync(t2, 'keep');
  writeFileSync(`${t2}.tmp`, 'someone else');
  const r2 = runLine(wrapCommand(sudoWriteScript(t2, `${t2}.tmp`, 0o644), 10_000, false), 'new');
  assert.notEqual(r2.code, 0);
  assert.equal(readFileSync(t2, 'utf8'), 'keep');
  assert.equal(readFileSync(`${t2}.tmp`, 'utf8'), 'someone else');
});

test('renameScript replaces a file atomically with mv -f', () => {
  const a = join(dir, 'ren a');
  const b = join(dir, "ren 'b'");
  writeFileSync(a, 'new');
  writeFileSync(b, 'old');
  assert.equal(runLine(renameScript(a, b)).code, 0);
  assert.equal(readFileSync(b, 'utf8'), 'new');
  assert.ok(!existsSync(a));
});

test('sudo stat/read scripts', () => {
  const f = join(dir, 'st file');
  writeFileSync(f, 'hello', { mode: 0o600 });
  const st = parseSudoStat(runLine(wrapCommand(sudoStatScript(f), 10_000, false)).stdout.toString());
  assert.ok(st !== null);
  assert.equal(st.size, 5);
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(st.isFile, true);
  assert.ok(Math.abs(st.mtimeMs - statSync(f).mtimeMs) < 1500);
  const sd = parseSudoStat(runLine(wrapCommand(sudoStatScript(dir), 10_000, false)).stdout.toString());
  assert.equal(sd?.isDirectory, true);
  assert.equal(parseSudoStat(runLine(wrapCommand(sudoStatScript(join(dir, 'nope')), 10_000, false)).stdout.toString()), null);
  assert.throws(() => parseSudoStat('garbage'), /unexpected stat output/);
  assert.equal(runLine(wrapCommand(sudoReadScript(f), 10_000, false)).stdout.toString(), 'hello');
  assert.ok(!existsSync(join(dir, 'nope')));
});

test('shellEvent reads the audit records SshHost writes about its remote shell, and only those', () => {
  assert.equal(shellEvent('zkroll remote shell: started, pid 42'), 'started');
  assert.equal(shellEvent('zkroll remote shell (sudo -n): restarted (the previous one failed: x), pid 43'), 'restarted');
  assert.equal(shellEvent('zkroll remote shell: off (turned off); one SSH exec channel, and one login, per command'), 'other');
  assert.equal(shellEvent('zkroll remote shell (sudo -n): could not start'), 'other');
  assert.equal(shellEvent("sh -c 'echo zkroll remote shell: started'"), null);
  assert.equal(shellEvent('true'), null);
});
