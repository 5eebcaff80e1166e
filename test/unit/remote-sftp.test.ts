// sftpWriteAtomic against an in-memory fake of ssh2's SFTPWrapper (no sshd).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sftpStat, sftpWriteAtomic, statFromMode, tempPathFor } from '../../src/remote/sftp.js';

// The ssh2 type, without importing ssh2 outside src/remote.
type SFTPWrapper = Parameters<typeof sftpWriteAtomic>[0];

type Cb = (err?: Error | null, v?: unknown) => void;

/** Minimal in-memory SFTP server model with optional OpenSSH extensions. */
function fakeSftp(opts: { fsync: boolean; rename: boolean; failWrite?: boolean }) {
  const files = new Map<string, { data: Buffer; mode: number }>();
  const handles = new Map<string, string>();
  const calls: string[] = [];
  const notSupported = (): never => {
    throw new Error('Server does not support this extended request');
  };
  const noFile = (): Error => Object.assign(new Error('No such file'), { code: 2 });
  const sftp = {
    open(path: string, flags: string, attrs: { mode: number }, cb: Cb) {
      calls.push(`open ${flags}`);
      if (flags.includes('x') && files.has(path)) return cb(new Error('exists'));
      files.set(path, { data: Buffer.alloc(0), mode: attrs.mode & ~0o022 });
      const h = `h${handles.size}`;
      handles.set(h, path);
      cb(undefined, Buffer.from(h));
    },
    fchmod(h: Buffer, mode: number, cb: Cb) {
      calls.push(`fchmod ${mode.toString(8)}`);
      const f = files.get(handles.get(h.toString()) ?? '');
      if (f) f.mode = mode;
      cb();
    },
    write(h: Buffer, buf: Buffer, off: number, len: number, pos: number, cb: Cb) {
      if (opts.failWrite) return cb(new Error('disk full'));
      const f = files.get(handles.get(h.toString()) ?? '');
      if (!f) return cb(new Error('bad handle'));
      const next = Buffer.alloc(Math.max(f.data.length, pos + len));
      f.data.copy(next);
      buf.copy(next, pos, off, off + len);
      f.data = next;
      cb();
    },
    ext_openssh_fsync(_h: Buffer, cb: Cb) {
      if (!opts.fsync) notSupported();
      calls.push('fsync');
      cb();
    },
    close(h: Buffer, cb: Cb) {
      calls.push('close');
      handles.delete(h.toString());
      cb();
    },
    ext_openssh_rename(from: string, to: string, cb: Cb) {
      if (!opts.rename) notSupported();
      calls.push('posix-rename');
      const f = files.get(from);
      if (!f) return cb(noFile());
      files.delete(from);
      files.set(to, f);
      cb();
    },
    unlink(path: string, cb: Cb) {
      calls.push('unlink');
      files.delete(path);
      cb();
    },
    stat(path: string, cb: Cb) {
      const f = files.get(path);
      if (!f) return cb(noFile());
      cb(undefined, { size: f.data.length, mode: 0o100000 | f.mode, mtime: 1700000000 });
    },
  };
  return { sftp: sftp as unknown as SFTPWrapper, files, calls };
}

test('atomic write with fsync@openssh.com and posix-rename@openssh.com', async () => {
  const { sftp, files, calls } = fakeSftp({ fsync: true, rename: true });
  files.set('/etc/zk/zoo.cfg', { data: Buffer.from('old'), mode: 0o644 });
  const data = Buffer.alloc(100_000, 'z');
  const rep = await sftpWriteAtomic(sftp, '/etc/zk/zoo.cfg', data, 0o600, () => assert.fail('no fallback expected'));
  assert.deepEqual({ fsynced: rep.fsynced, renamedWith: rep.renamedWith }, { fsynced: true, renamedWith: 'posix-rename@openssh.com' });
  assert.match(rep.tmpPath, /^\/etc\/zk\/zoo\.cfg\.zkroll-tmp-[0-9a-f]{12}$/);
  assert.deepEqual([...files.keys()], ['/etc/zk/zoo.cfg']);
  assert.ok(files.get('/etc/zk/zoo.cfg')?.data.equals(data));
  assert.equal(files.get('/etc/zk/zoo.cfg')?.mode, 0o600);
  assert.deepEqual(calls, ['open wx', 'fchmod 600', 'fsync', 'close', 'posix-rename']);
  const st = await sftpStat(sftp, '/etc/zk/zoo.cfg');
  assert.deepEqual(st, { size: 100_000, mode: 0o100600, mtimeMs: 1700000000000, isFile: true, isDirectory: false });
  assert.equal(await sftpStat(sftp, '/nope'), null);
});

test('without extensions: no fsync, rename goes to the fallback (never remove-then-rename)', async () => {
  const { sftp, files, calls } = fakeSftp({ fsync: false, rename: false });
  files.set('/f', { data: Buffer.from('old'), mode: 0o644 });
  const moves: [string, string][] = [];
  const rep = await sftpWriteAtomic(sftp, '/f', Buffer.from('new'), 0o644, async (from, to) => {
    moves.push([from, to]);
    assert.equal(files.get('/f')?.data.toString(), 'old', 'target intact until the atomic move');
    const f = files.get(from);
    assert.ok(f);
    files.delete(from);
    files.set(to, f);
  });
  assert.equal(rep.fsynced, false);
  assert.equal(rep.renamedWith, 'fallback');
  assert.deepEqual(moves, [[rep.tmpPath, '/f']]);
  assert.equal(files.get('/f')?.data.toString(), 'new');
  assert.ok(!calls.includes('unlink'));
});

test('failures remove the temp file and leave the target untouched', async () => {
  const w = fakeSftp({ fsync: true, rename: true, failWrite: true });
  w.files.set('/f', { data: Buffer.from('old'), mode: 0o644 });
  await assert.rejects(
    sftpWriteAtomic(w.sftp, '/f', Buffer.from('new'), 0o644, async () => undefined),
    /disk full/,
  );
  assert.deepEqual([...w.files.keys()], ['/f']);
  assert.equal(w.files.get('/f')?.data.toString(), 'old');
  assert.deepEqual(w.calls.slice(-2), ['close', 'unlink']);

  const r = fakeSftp({ fsync: true, rename: false });
  r.files.set('/f', { data: Buffer.from('old'), mode: 0o644 });
  await assert.rejects(
    sftpWriteAtomic(r.sftp, '/f', Buffer.from('new'), 0o644, async () => {
      throw new Error('mv failed');
    }),
    /mv failed/,
  );
  assert.deepEqual([...r.files.keys()], ['/f']);
  assert.equal(r.files.get('/f')?.data.toString(), 'old');
});

test('temp names are unique siblings; statFromMode decodes file types', () => {
  const a = tempPathFor('/d/x');
  assert.notEqual(a, tempPathFor('/d/x'));
  assert.ok(a.startsWith('/d/x.zkroll-tmp-'));
  assert.equal(statFromMode(1, 0o040755, 0).isDirectory, true);
  assert.equal(statFromMode(1, 0o120777, 0).isFile, false);
});
