// A sudo host for real: a lab sshd (its own mount namespace on a loopback address) whose
// /etc/passwd, /etc/shadow, /etc/group and /etc/sudoers are its own copies with two extra
// users: `zkops` (NOPASSWD sudo) and `zknopw` (sudo with a password). zkroll's remote shell runs
// under `sudo -n` once per connection: commands and file operations run as root; a user without
// passwordless sudo gets a clear error before anything runs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RemoteError, SshHost, type CommandRecord, type HostTarget } from '../../src/remote/ssh.js';
import { ensureIdentity, hostDirs, prepareSshd, startSshd, type StartedSshd } from '../../src/lab/sshd.js';
import { killAll, pidsInNamespace } from '../../src/lab/procs.js';

const IP = '127.0.31.1';
/** The pid of the nearest `sudo` above this command, or "none". */
const SUDO_ANCESTOR =
  'p=$$; while [ "$p" -gt 1 ]; do [ "$(cat /proc/$p/comm)" = sudo ] && { echo "$p"; exit 0; }; p=$(cut -d" " -f4 /proc/$p/stat); done; echo none';
const PORT = 2222;

describe(
  'sudo hosts: the remote shell runs under sudo -n, once per connection',
  { skip: !fs.existsSync('/usr/bin/sudo') && 'sudo is not installed (.ci/run installs it)' },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-sudo-lab-'));
    const h = hostDirs(dir, IP);
    const etc = path.join(h.dir, 'etc');
    let sshd: StartedSshd | null = null;
    let kh = '';
    let id = '';

    const target = (user: string): HostTarget => ({
      label: `${user}@sudo-host`,
      host: IP,
      port: PORT,
      user,
      identityFile: id,
      knownHostsFile: kh,
      connectTimeoutMs: 10000,
      sudo: true,
    });

    before(async () => {
      id = path.join(dir, 'id_ed25519');
      const key = ensureIdentity(id, dir);
      const { config, knownHostsLine } = prepareSshd(h, IP, PORT, key);
      // sshd reads authorized_keys as the user logging in
      for (const d of [dir, path.dirname(h.dir), h.dir, h.sshDir]) fs.chmodSync(d, 0o755);
      fs.chmodSync(path.join(h.sshDir, 'authorized_keys'), 0o644);
      kh = path.join(dir, 'known_hosts');
      fs.writeFileSync(kh, knownHostsLine + '\n');
      fs.mkdirSync(etc, { recursive: true });
      const copy = (name: string, extra: string, mode: number): [string, string] => {
        const f = path.join(etc, name.replaceAll('/', '_'));
        fs.writeFileSync(f, fs.readFileSync(`/etc/${name}`, 'utf8') + extra, { mode });
        fs.chmodSync(f, mode);
        return [f, `/etc/${name}`];
      };
      const binds = [
        copy('passwd', 'zkops:x:4701:4701:zkroll sudo test:/tmp:/bin/sh\nzknopw:x:4702:4702:zkroll sudo test:/tmp:/bin/sh\n', 0o644),
        copy('group', 'zkops:x:4701:\nzknopw:x:4702:\n', 0o644),
        copy('shadow', 'zkops:*:19000:0:99999:7:::\nzknopw:*:19000:0:99999:7:::\n', 0o640),
        copy('sudoers', 'zkops ALL=(ALL) NOPASSWD: ALL\nzknopw ALL=(ALL) ALL\n', 0o440),
      ];
      sshd = await startSshd(h, IP, PORT, config, binds);
    });

    after(async () => {
      if (sshd !== null) await killAll(pidsInNamespace(sshd.ns));
      if (process.env['ZKROLL_KEEP'] === undefined) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('runs commands and file operations as root through one sudo -n', async () => {
      const secret = path.join(dir, 'root-only');
      fs.writeFileSync(secret, 'for root\n', { mode: 0o600 });
      const audit: CommandRecord[] = [];
      const host = await SshHost.connect(target('zkops'), { onCommand: (r) => audit.push(r) });
      try {
        assert.equal((await host.exec(['id', '-u'], { timeoutMs: 10000 })).stdout, '0\n');
        assert.equal((await host.exec(['sh', '-c', 'echo "$SUDO_USER"'], { timeoutMs: 10000 })).stdout, 'zkops\n');
        assert.equal((await host.readFile(secret)).toString(), 'for root\n');
        const out = path.join(dir, 'written-by-sudo');
        await host.writeFileAtomic(out, 'atomic\n', 0o600);
        assert.equal(fs.readFileSync(out, 'utf8'), 'atomic\n');
        assert.equal(fs.statSync(out).uid, 0, 'written as root');
        assert.equal((await host.stat(out))?.size, 7);
        assert.equal(await host.stat(path.join(dir, 'missing')), null);
        const sum = await host.exec(['wc', '-c'], { timeoutMs: 10000, stdin: Buffer.alloc(100000, 1) });
        assert.equal(sum.stdout.trim(), '100000');
        assert.equal(host.shellStarts, 1);
        assert.match(audit[0]!.command, /^zkroll remote shell \(sudo -n\): started/);
        // one sudo for the connection: every command descends from the same sudo process
        const sudoAncestor = async (): Promise<string> => (await host.exec(['sh', '-c', SUDO_ANCESTOR], { timeoutMs: 10000 })).stdout.trim();
        const first = await sudoAncestor();
        assert.match(first, /^\d+$/);
        assert.equal(await sudoAncestor(), first);
      } finally {
        await host.close();
      }
      // per-command exec channels (ZKROLL_REMOTE_SHELL=off) still work, one sudo each
      const own = await SshHost.connect(target('zkops'), { remoteShell: false });
      try {
        const a = (await own.exec(['sh', '-c', SUDO_ANCESTOR], { timeoutMs: 10000 })).stdout.trim();
        const b = (await own.exec(['sh', '-c', SUDO_ANCESTOR], { timeoutMs: 10000 })).stdout.trim();
        assert.match(a, /^\d+$/);
        assert.notEqual(a, b);
        assert.equal((await own.exec(['id', '-u'], { timeoutMs: 10000 })).stdout, '0\n');
      } finally {
        await own.close();
      }
      // without sudo the same user is not root (the test's premise)
      const plain = await SshHost.connect({ ...target('zkops'), sudo: false });
      try {
        assert.equal((await plain.exec(['id', '-u'], { timeoutMs: 10000 })).stdout, '4701\n');
      } finally {
        await plain.close();
      }
    });

    it('a user whose sudo wants a password gets a clear error, and nothing runs', async () => {
      const marker = path.join(dir, 'must-not-exist');
      const host = await SshHost.connect(target('zknopw'));
      try {
        await assert.rejects(
          host.exec(['touch', marker], { timeoutMs: 10000 }),
          (e: unknown) => e instanceof RemoteError && e.kind === 'auth' && /Passwordless sudo \(NOPASSWD\) is required for user "zknopw"/.test(e.message),
        );
        assert.equal(fs.existsSync(marker), false);
      } finally {
        await host.close();
      }
    });
  },
);
