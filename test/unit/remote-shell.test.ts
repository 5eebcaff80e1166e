// zkroll's remote shell (src/remote/shell.ts), run for real as a local `sh -c` child: the same
// dispatcher script and client that run over SSH, with the child's pipes in place of an exec
// channel. Checks the byte-exact protocol, concurrency, deadlines and failure handling.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteShell, shellNonce, shellScript, type ShellTransport } from '../../src/remote/shell.js';
import { shellCommand } from '../../src/remote/quote.js';
import { RemoteError } from '../../src/remote/errors.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) killGroup(c);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The dispatcher and everything it started (its own process group). */
function killGroup(cp: ChildProcess): void {
  try {
    process.kill(-cp.pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
}

function childTransport(cp: ChildProcess): ShellTransport {
  return {
    write: (d) => void cp.stdin!.write(d),
    end: () => void cp.stdin!.end(),
    destroy: () => killGroup(cp),
    onStdout: (cb) => void cp.stdout!.on('data', cb),
    onStderr: (cb) => void cp.stderr!.on('data', cb),
    onClose: (cb) => void cp.on('close', (code) => cb(code)),
  };
}

interface Started {
  shell: RemoteShell;
  cp: ChildProcess;
  tmp: string;
}

/** Start the dispatcher locally; `before` runs first in the same sh (a login shell's noise). */
async function start(opts: { before?: string; graceMs?: number; env?: Record<string, string> } = {}): Promise<Started> {
  const tmp = mkdtempSync(join(tmpdir(), 'zkroll-shell-test-'));
  dirs.push(tmp);
  const nonce = shellNonce();
  const cp = spawn('sh', ['-c', `${opts.before ?? ''}\n${shellScript(nonce)}`], {
    env: { ...process.env, TMPDIR: tmp, ...opts.env },
    stdio: 'pipe',
    detached: true,
  });
  children.push(cp);
  const shell = await RemoteShell.start(childTransport(cp), nonce, {
    label: 'local',
    who: 'local (sh)',
    graceMs: opts.graceMs ?? 2000,
    startTimeoutMs: 10000,
    closedErr: () => null,
  });
  return { shell, cp, tmp };
}

test('handshake: noise printed by the login shell is skipped, including a fake marker', async () => {
  const { shell, cp } = await start({ before: 'echo "Welcome to prod"; printf "ZKROLL-SHELL 0000 1\\n"; printf "ZKR 1 0 0 0 0 0\\n"' });
  assert.equal(shell.pid, cp.pid);
  const r = await shell.run({ script: 'echo ok', timeoutMs: 5000 });
  assert.equal(r.stdout.toString(), 'ok\n');
  shell.close();
});

test('argv, exit codes and stderr come back exactly; scripts keep their lines byte for byte', async () => {
  const { shell } = await start();
  const args = ["it's", '$HOME', 'a b\nc', '`id`', '✓', ' lead', 'trail ', 'back\\slash', 'cr\r', '', '-n', '*'];
  const r = await shell.run({ script: shellCommand(['printf', '%s|', ...args]), timeoutMs: 5000 });
  assert.equal(r.code, 0);
  assert.equal(r.stdout.toString(), args.map((a) => `${a}|`).join(''));
  const e = await shell.run({ script: 'echo out; echo err >&2; exit 3', timeoutMs: 5000 });
  assert.deepEqual([e.code, e.stdout.toString(), e.stderr.toString()], [3, 'out\n', 'err\n']);
  // the script as sh -c sees it: printed back with its own text
  for (const script of ['printf %s "$0"', 'x=1\n\n  y=2\n', '\\\nprintf "%s" "a\\\\b"', 'printf "%s\\n" "trailing"\n\n\n']) {
    const echo = await shell.run({ script: `cat <<'ZKEOF'\n${script}\nZKEOF`, timeoutMs: 5000 });
    assert.equal(echo.stdout.toString(), `${script}\n`, JSON.stringify(script));
  }
  const nf = await shell.run({ script: 'no-such-command-zkroll', timeoutMs: 5000 });
  assert.equal(nf.code, 127);
  shell.close();
});

test('binary stdin and stdout are exact; a large stdout keeps its last bytes and says so', async () => {
  const { shell } = await start();
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const r = await shell.run({ script: 'cat', stdin: data, timeoutMs: 20000, cap: 8 * 1024 * 1024 });
  assert.equal(r.stdoutTruncated, false);
  assert.equal(createHash('sha256').update(r.stdout).digest('hex'), createHash('sha256').update(data).digest('hex'));
  // the next command reads its own stdin, not what is left of the previous one
  const sum = await shell.run({ script: 'wc -c', stdin: 'abc', timeoutMs: 5000 });
  assert.equal(sum.stdout.toString().trim(), '3');
  const cut = await shell.run({ script: 'cat', stdin: data, timeoutMs: 20000, cap: 1000 });
  assert.equal(cut.stdoutTruncated, true);
  assert.deepEqual(cut.stdout, data.subarray(data.length - 1000));
  const nul = await shell.run({ script: "printf '\\000\\377\\n'", timeoutMs: 5000 });
  assert.deepEqual([...nul.stdout], [0, 255, 10]);
  shell.close();
});

test('commands run concurrently: one waits for a file that a later one creates', async () => {
  const { shell, tmp } = await start();
  const flag = join(tmp, 'flag');
  const waiter = shell.run({ script: shellCommand(['sh', '-c', 'while [ ! -e "$1" ]; do sleep 0.01; done; echo saw', 'sh', flag]), timeoutMs: 10000 });
  const maker = await shell.run({ script: shellCommand(['touch', flag]), timeoutMs: 5000 });
  assert.equal(maker.code, 0);
  const w = await waiter;
  assert.deepEqual([w.code, w.stdout.toString()], [0, 'saw\n']);
  // many at once, each gets its own answer
  const many = await Promise.all(Array.from({ length: 40 }, (_, i) => shell.run({ script: `echo ${i}; echo e${i} >&2; exit ${i % 7}`, timeoutMs: 10000 })));
  many.forEach((r, i) => assert.deepEqual([r.code, r.stdout.toString(), r.stderr.toString()], [i % 7, `${i}\n`, `e${i}\n`]));
  shell.close();
});

test('a hung command is killed at its deadline and the shell lives on', async () => {
  const { shell } = await start();
  const r = await shell.run({ script: 'echo before; sleep 30', timeoutMs: 1000 });
  assert.equal(r.code, 124);
  assert.equal(r.stdout.toString(), 'before\n');
  const again = await shell.run({ script: 'echo after', timeoutMs: 5000 });
  assert.equal(again.stdout.toString(), 'after\n');
  assert.equal(shell.alive, true);
  shell.close();
});

test('a daemon a command leaves behind does not hold the answer back', async () => {
  const { shell } = await start();
  const mark = `zkroll-daemon-${process.pid}`;
  const r = await shell.run({ script: `sh -c 'exec -a ${mark} sleep 30' > /dev/null 2>&1 & echo started`, timeoutMs: 20000 });
  assert.deepEqual([r.code, r.stdout.toString()], [0, 'started\n']);
  spawnSync('pkill', ['-f', mark]);
  shell.close();
});

test('a dispatcher that stops answering fails its commands at the local deadline and is not reused', async () => {
  const { shell, cp } = await start({ graceMs: 300 });
  process.kill(cp.pid!, 'SIGSTOP');
  const t0 = Date.now();
  await assert.rejects(
    shell.run({ script: 'echo hi', timeoutMs: 1000 }),
    (e: unknown) => e instanceof RemoteError && e.kind === 'timeout' && /presumed hung/.test(e.message),
  );
  assert.ok(Date.now() - t0 >= 6000, 'waited for the remote deadline and the kill grace first');
  assert.equal(shell.alive, false);
  await assert.rejects(shell.run({ script: 'echo hi', timeoutMs: 1000 }), RemoteError);
  process.kill(cp.pid!, 'SIGCONT');
});

test('a dispatcher killed mid-command (with what it started): the command fails as outcome unknown', async () => {
  const { shell, cp } = await start();
  const p = shell.run({ script: 'sleep 5', timeoutMs: 10000 });
  await shell.run({ script: 'true', timeoutMs: 5000 });
  killGroup(cp);
  await assert.rejects(
    p,
    (e: unknown) => e instanceof RemoteError && e.kind === 'closed' && /outcome of the commands it was running is unknown/.test(e.message),
  );
  assert.equal(shell.alive, false);
});

test('no temp dir: the start fails with the reason, not a hang', async () => {
  await assert.rejects(
    start({ env: { TMPDIR: '/nonexistent/zkroll' } }),
    (e: unknown) => e instanceof RemoteError && e.kind === 'io' && /temp dir or fifo/.test(e.message),
  );
});

test('closing lets running commands finish, then removes the temp dir', async () => {
  const { shell, cp, tmp } = await start();
  const r = await shell.run({ script: 'echo x', timeoutMs: 5000 });
  assert.equal(r.code, 0);
  assert.equal(readdirSync(tmp).length, 1, 'one private dir while running');
  const inner = join(tmp, readdirSync(tmp)[0]!);
  // each command's files go right after its answer was sent
  await until(() => readdirSync(inner).length === 1);
  assert.deepEqual(readdirSync(inner), ['q'], 'each command cleans up its own files');
  const done = join(tmp, 'done');
  const running = shell.run({ script: shellCommand(['sh', '-c', 'sleep 0.5; echo finished > "$1"', 'sh', done]), timeoutMs: 5000 });
  running.catch(() => undefined);
  await until(() => readdirSync(inner).length > 1);
  const exited = new Promise((res) => cp.on('close', res));
  shell.close();
  await exited;
  assert.equal(readFileSync(done, 'utf8'), 'finished\n', 'the running command finished');
  assert.equal(existsSync(inner), false);
});

test('a small cap on a small output: the frame says what it sends', async () => {
  const { shell } = await start();
  const r = await shell.run({ script: 'printf 0123456789abcdefghij', timeoutMs: 5000, cap: 10 });
  assert.deepEqual([r.stdout.toString(), r.stdoutTruncated], ['abcdefghij', true]);
  assert.equal((await shell.run({ script: 'echo next', timeoutMs: 5000 })).stdout.toString(), 'next\n');
  shell.close();
});

test('a daemon that keeps writing to the output it inherited does not break the frames', async () => {
  const { shell } = await start();
  const mark = `zkroll-spam-${process.pid}`;
  const r = await shell.run({ script: `sh -c 'while :; do echo ${mark}; done' & echo started`, timeoutMs: 5000 });
  try {
    assert.equal(r.code, 0);
    // its own line is there, unless the daemon wrote more than the 64 KiB kept
    assert.ok(r.stdoutTruncated || /(^|\n)started\n/.test(r.stdout.toString()), r.stdout.toString().slice(0, 200));
    for (let i = 0; i < 20; i++) assert.equal((await shell.run({ script: `echo ${i}`, timeoutMs: 5000 })).stdout.toString(), `${i}\n`);
  } finally {
    spawnSync('pkill', ['-f', `while :; do echo ${mark}`]);
  }
  shell.close();
});

test("commands inherit the login's umask, not a private one", async () => {
  const { shell } = await start({ before: 'umask 022' });
  assert.equal((await shell.run({ script: 'umask', timeoutMs: 5000 })).stdout.toString().trim(), '0022');
  shell.close();
});

test('the dispatcher alone killed: its running command still answers, then the shell ends and cleans up', async () => {
  const { shell, cp, tmp } = await start();
  const p = shell.run({ script: 'sleep 0.3; echo late', timeoutMs: 5000 });
  await until(() => readdirSync(join(tmp, readdirSync(tmp)[0]!)).length > 1);
  process.kill(cp.pid!, 'SIGKILL');
  const r = await p;
  assert.equal(r.stdout.toString(), 'late\n');
  await until(() => !shell.alive);
  await until(() => readdirSync(tmp).length === 0);
});

/** Run the dispatcher with raw input; its exit code and whether `marker` was created. */
function raw(input: string): { code: number | null; ran: boolean } {
  const tmp = mkdtempSync(join(tmpdir(), 'zkroll-shell-raw-'));
  dirs.push(tmp);
  const marker = join(tmp, 'ran');
  const r = spawnSync('sh', ['-c', shellScript('n')], { input: input.replaceAll('MARK', marker), env: { ...process.env, TMPDIR: tmp }, timeout: 10000 });
  return { code: r.status, ran: existsSync(marker) };
}

test('a request cut off by the end of input, or malformed, is not run', () => {
  // the whole request runs (the baseline)
  assert.deepEqual(raw('1 5 100 1 0\ntouch MARK\n'), { code: 0, ran: true });
  // two lines announced, one arrived
  assert.equal(raw('1 5 100 2 0\ntouch MARK\n').ran, false);
  // the last line without its newline
  assert.equal(raw('1 5 100 1 0\ntouch MARK').ran, false);
  // stdin announced 10 bytes, 3 arrived
  assert.equal(raw('1 5 100 1 10\ncat > MARK\nabc').ran, false);
  // a malformed header ends the shell before anything after it runs
  const bad = raw('1 5 x 1 0\ntouch MARK\n');
  assert.deepEqual(bad, { code: 3, ran: false });
  assert.equal(raw('1 5 100 1 0 7\ntouch MARK\n').ran, false);
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (const deadline = Date.now() + ms; !cond();) {
    assert.ok(Date.now() < deadline, 'condition not met in time');
    await new Promise((res) => setTimeout(res, 10));
  }
}
