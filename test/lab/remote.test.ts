// zkroll's remote shell against real OpenSSH sshd: lab hosts whose login shell costs 1 s in its
// startup file (`lab up --login-delay 1s`) and counts every login. One login per connection
// whatever the number of commands; exact argv, stdin and binary output; a hung command killed by
// its deadline without losing the shell; a shell killed on the host replaced (and audited); SFTP
// beside it; and the per-command exec channels of ZKROLL_REMOTE_SHELL=off, one login each.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPlanFile } from '../../src/plan/load.js';
import { sshTargets } from '../../src/plan/helpers.js';
import { RemoteError, SshHost, SshPool, type CommandRecord } from '../../src/remote/ssh.js';
import { labDir } from '../../src/lab/lab.js';
import { loginCount } from '../../src/lab/sshd.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const zkroll = path.join(root, 'bin', 'zkroll');
const rolling = path.join(root, 'plans', 'rolling-upgrade.yaml');

function run(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [zkroll, ...args], { encoding: 'utf8', timeout: 240000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('remote shell: one login per host, whatever the startup files cost', () => {
  const r = loadPlanFile(rolling);
  assert.ok(r.ok);
  const plan = r.plan;
  const dir = labDir(plan.cluster.name);
  const [t1, t2] = sshTargets(plan, rolling);

  before(() => {
    run('lab', 'down', rolling);
    const up = run('lab', 'up', rolling, '--login-delay', '1s', '--znodes', '10');
    assert.equal(up.code, 0, up.out);
  });
  after(() => {
    run('lab', 'down', rolling);
  });

  it('runs 40 commands on one login, with exact argv, stdin and binary output; SFTP works beside it', async () => {
    const audit: CommandRecord[] = [];
    const pool = new SshPool({ onCommand: (rec) => audit.push(rec) });
    const before = loginCount(dir, t1!.host);
    try {
      const h = await pool.get(t1!);
      const args = ["it's", '$HOME', 'a b\nc', '`id`', '✓', '*', ''];
      for (let i = 0; i < 40; i++) {
        const res = await h.exec(['printf', '%s|', ...args, String(i)], { timeoutMs: 10000 });
        assert.equal(res.stdout, [...args, String(i)].map((a) => `${a}|`).join(''));
      }
      const data = randomBytes(256 * 1024);
      const sum = await h.exec(['sha256sum'], { timeoutMs: 10000, stdin: data });
      assert.equal(sum.stdout.split(' ')[0], createHash('sha256').update(data).digest('hex'));
      const bin = await h.execBytes(['head', '-c', '70000', '/dev/zero'], { timeoutMs: 10000, maxStdoutBytes: 1 << 20 });
      assert.deepEqual([bin.stdout.length, bin.stdoutTruncated, bin.stdout.every((b) => b === 0)], [70000, false, true]);
      const fail = await h.exec(['sh', '-c', 'echo oops >&2; exit 7'], { timeoutMs: 10000, raw: true });
      assert.deepEqual([fail.code, fail.stderr], [7, 'oops\n']);
      const file = `/tmp/zkroll-remote-test-${process.pid}`;
      await h.writeFileAtomic(file, 'written over sftp\n');
      assert.equal((await h.exec(['cat', file], { timeoutMs: 10000 })).stdout, 'written over sftp\n');
      await h.exec(['rm', '-f', file], { timeoutMs: 10000 });
      assert.equal(loginCount(dir, t1!.host) - before, 1, 'one login for the whole connection');
      assert.equal(h.shellStarts, 1);
      const starts = audit.filter((a) => /^zkroll remote shell: started/.test(a.command));
      assert.equal(starts.length, 1);
      assert.ok(starts[0]!.durationMs >= 1000, `the start paid the 1 s startup file once (${starts[0]!.durationMs} ms)`);
      process.stdout.write(
        `# remote shell start (1 s startup file): ${starts[0]!.durationMs} ms; median command: ${median(audit.filter((a) => a.command.startsWith('printf')).map((a) => a.durationMs))} ms\n`,
      );
    } finally {
      await pool.closeAll();
    }
  });

  it('a hung command is killed by its deadline and the shell lives on', async () => {
    const pool = new SshPool();
    const before = loginCount(dir, t1!.host);
    try {
      const h = await pool.get(t1!);
      await h.exec(['true'], { timeoutMs: 10000 });
      await assert.rejects(
        h.exec(['sleep', '30'], { timeoutMs: 1000 }),
        (e: unknown) => e instanceof RemoteError && e.kind === 'timeout' && /timed out after 1s/.test(e.message),
      );
      assert.equal((await h.exec(['echo', 'alive'], { timeoutMs: 10000 })).stdout, 'alive\n');
      assert.equal(h.shellStarts, 1);
      assert.equal(loginCount(dir, t1!.host) - before, 1);
    } finally {
      await pool.closeAll();
    }
  });

  it('a shell killed on the host: its command fails as unknown, the next one starts a new shell, and the audit says so', async () => {
    const audit: CommandRecord[] = [];
    const pool = new SshPool({ onCommand: (rec) => audit.push(rec) });
    const before = loginCount(dir, t1!.host);
    try {
      const h = await pool.get(t1!);
      await h.exec(['true'], { timeoutMs: 10000 });
      const pid = /pid (\d+)/.exec(audit[0]!.command)?.[1];
      assert.ok(pid, audit[0]!.command);
      // the login shell leads its own process group: kill the shell and everything it started
      await assert.rejects(
        h.exec(['sh', '-c', 'kill -9 -"$1"', 'sh', pid], { timeoutMs: 10000 }),
        (e: unknown) => e instanceof RemoteError && e.kind === 'closed' && /outcome/.test(e.message),
      );
      assert.equal((await h.exec(['echo', 'again'], { timeoutMs: 10000 })).stdout, 'again\n');
      assert.equal(h.shellStarts, 2);
      assert.ok(
        audit.some((a) => /^zkroll remote shell: restarted \(the previous one failed: .*exited with code|ended/.test(a.command)),
        audit.map((a) => a.command).join('\n'),
      );
      assert.equal(loginCount(dir, t1!.host) - before, 2, 'one more login for the new shell');
    } finally {
      await pool.closeAll();
    }
  });

  it('ZKROLL_REMOTE_SHELL=off (or a host without mkfifo): one exec channel and one login per command', async () => {
    const host = await SshHost.connect(t2!, { remoteShell: false });
    const before = loginCount(dir, t2!.host);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await host.exec(['echo', String(i)], { timeoutMs: 10000 })).stdout, `${i}\n`);
      assert.equal(loginCount(dir, t2!.host) - before, 3);
      assert.equal(host.shellStarts, 0);
    } finally {
      await host.close();
    }
  });
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
