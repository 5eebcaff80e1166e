// Promise wrappers over one ssh2 SFTP session: read, stat, atomic write.
//
// Invariants for sftpWriteAtomic:
//  - Content goes to `<path>.zkroll-tmp-<random>` created exclusively
//    (O_CREAT|O_EXCL), chmod'ed to the requested mode (umask-independent),
//    fsync'ed with fsync@openssh.com when the server offers it, closed, and
//    only then renamed over the target.
//  - The rename is atomic: posix-rename@openssh.com when offered, otherwise
//    the caller's fallback (`mv -f` over exec). Plain SFTP RENAME is never
//    used (it fails if the target exists, and remove-then-rename would leave a
//    window with no file).
//  - On any failure the temp file is removed (best effort) and the target is
//    untouched.

import { randomBytes } from 'node:crypto';
import type { SFTPWrapper, Stats } from 'ssh2';

export interface RemoteStat {
  size: number;
  /** Full st_mode (type bits included). */
  mode: number;
  mtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
}

/** SFTP status code for "no such file" (ssh2 utils.sftp.STATUS_CODE.NO_SUCH_FILE). */
export const SFTP_NO_SUCH_FILE = 2;

const WRITE_CHUNK = 32 * 1024;

export function isNoSuchFile(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === SFTP_NO_SUCH_FILE;
}

export function statFromMode(size: number, mode: number, mtimeSec: number): RemoteStat {
  const type = mode & 0o170000;
  return { size, mode, mtimeMs: mtimeSec * 1000, isFile: type === 0o100000, isDirectory: type === 0o040000 };
}

function call<T>(fn: (cb: (err: Error | undefined | null, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    try {
      fn((err, v) => (err ? reject(err) : resolve(v)));
    } catch (e) {
      reject(e);
    }
  });
}

export function sftpReadFile(sftp: SFTPWrapper, path: string): Promise<Buffer> {
  return call<Buffer>((cb) => sftp.readFile(path, cb));
}

export async function sftpStat(sftp: SFTPWrapper, path: string): Promise<RemoteStat | null> {
  try {
    const st = await call<Stats>((cb) => sftp.stat(path, cb));
    return statFromMode(st.size, st.mode, st.mtime);
  } catch (e) {
    if (isNoSuchFile(e)) return null;
    throw e;
  }
}

/** Runs an ssh2 extension method; resolves false if the server lacks it. */
function tryExtension(invoke: (cb: (err: Error | null | undefined) => void) => void): Promise<boolean> {
  return new Promise((resolve, reject) => {
    try {
      invoke((err) => (err ? reject(err) : resolve(true)));
    } catch (e) {
      // ssh2 throws synchronously "Server does not support this extended request".
      if (e instanceof Error && /does not support/.test(e.message)) resolve(false);
      else reject(e);
    }
  });
}

export interface AtomicWriteReport {
  tmpPath: string;
  fsynced: boolean;
  renamedWith: 'posix-rename@openssh.com' | 'fallback';
}

export function tempPathFor(path: string): string {
  return `${path}.zkroll-tmp-${randomBytes(6).toString('hex')}`;
}

export async function sftpWriteAtomic(
  sftp: SFTPWrapper,
  path: string,
  data: Buffer,
  mode: number,
  fallbackRename: (from: string, to: string) => Promise<void>,
): Promise<AtomicWriteReport> {
  const tmpPath = tempPathFor(path);
  let created = false;
  let handle: Buffer | null = null;
  try {
    handle = await call<Buffer>((cb) => sftp.open(tmpPath, 'wx', { mode }, cb));
    created = true;
    const h = handle;
    await call<void>((cb) => sftp.fchmod(h, mode, (err) => cb(err, undefined)));
    for (let off = 0; off < data.length; off += WRITE_CHUNK) {
      const len = Math.min(WRITE_CHUNK, data.length - off);
      await call<void>((cb) => sftp.write(h, data, off, len, off, (err) => cb(err, undefined)));
    }
    const fsynced = await tryExtension((cb) => sftp.ext_openssh_fsync(h, (err) => cb(err)));
    handle = null;
    await call<void>((cb) => sftp.close(h, (err) => cb(err, undefined)));
    let renamedWith: AtomicWriteReport['renamedWith'] = 'posix-rename@openssh.com';
    if (!(await tryExtension((cb) => sftp.ext_openssh_rename(tmpPath, path, (err) => cb(err))))) {
      renamedWith = 'fallback';
      await fallbackRename(tmpPath, path);
    }
    return { tmpPath, fsynced, renamedWith };
  } catch (e) {
    if (handle !== null) {
      const h = handle;
      await call<void>((cb) => sftp.close(h, (err) => cb(err, undefined))).catch(() => undefined);
    }
    if (created) await call<void>((cb) => sftp.unlink(tmpPath, (err) => cb(err, undefined))).catch(() => undefined);
    throw e;
  }
}
