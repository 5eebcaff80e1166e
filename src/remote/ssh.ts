// Public entry point of the remote layer (the only part of zkroll that talks
// SSH): re-exports SshHost / RemoteError / HostTarget and provides SshPool.
//
// Invariants of SshPool:
//  - One connection per host label: concurrent get() calls for a label share
//    one connect promise; a failed connect is forgotten so a later get()
//    retries; a connection that was lost is replaced on the next get().
//  - A label is bound to one (host, port, user); reusing it for another
//    address is a programming error.
//  - After closeAll() the pool refuses new connections, and connections
//    still being established are closed as soon as they complete.
//  - Every host's commands go through one remote shell (host.ts, shell.ts) unless
//    remoteShell is false or ZKROLL_REMOTE_SHELL=off.
//  - Jump host connections (jumpHost / ssh config ProxyJump) are not pooled:
//    each host's connection owns its own and closes it with itself.

import { RemoteError, describeHost } from './errors.js';
import { SshHost, type CommandHook, type SshHostOptions } from './host.js';
import type { HostTarget } from './connect.js';

export { RemoteError, describeHost } from './errors.js';
export type { ExecResult, RemoteErrorKind } from './errors.js';
export { SshHost, DEFAULT_MAX_CHANNELS, LOCAL_GRACE_MS, shellEvent } from './host.js';
export type { CommandHook, CommandRecord, ExecOptions, SshHostOptions } from './host.js';
export type { HostTarget } from './connect.js';
export { parseSshConfig, resolveHost } from './sshconfig.js';
export type { ResolvedSshHost, SshConfig } from './sshconfig.js';
export type { RemoteStat } from './sftp.js';
export type { StreamRun } from './stream.js';
export { shq, shellCommand } from './quote.js';

export class SshPool {
  onCommand?: CommandHook;
  private readonly maxChannels: number | undefined;
  private readonly remoteShell: boolean;
  private readonly pending = new Map<string, { target: HostTarget; promise: Promise<SshHost>; host?: SshHost }>();
  private closing = false;

  constructor(opts: SshHostOptions = {}) {
    if (opts.onCommand !== undefined) this.onCommand = opts.onCommand;
    this.maxChannels = opts.maxChannels;
    // ZKROLL_REMOTE_SHELL=off: one exec channel (and one login) per command, as before the remote shell
    this.remoteShell = opts.remoteShell ?? !/^(off|false|no|0)$/i.test(process.env['ZKROLL_REMOTE_SHELL'] ?? '');
  }

  get(t: HostTarget): Promise<SshHost> {
    if (this.closing) {
      return Promise.reject(new RemoteError('closed', t.label, `${describeHost(t)}: the SSH pool is closed; no new connections are made.`));
    }
    const cur = this.pending.get(t.label);
    if (cur !== undefined) {
      const a = cur.target;
      if (a.host !== t.host || a.port !== t.port || a.user !== t.user) {
        throw new Error(`SshPool: label "${t.label}" is already used for ${a.user}@${a.host}:${a.port}, not ${t.user}@${t.host}:${t.port}`);
      }
      if (cur.host === undefined || !cur.host.closed) return cur.promise;
    }
    const opts: SshHostOptions = { onCommand: (rec) => this.onCommand?.(rec), remoteShell: this.remoteShell };
    if (this.maxChannels !== undefined) opts.maxChannels = this.maxChannels;
    const entry: { target: HostTarget; promise: Promise<SshHost>; host?: SshHost } = { target: t, promise: SshHost.connect(t, opts) };
    this.pending.set(t.label, entry);
    entry.promise.then(
      (h) => {
        entry.host = h;
        if (this.closing) void h.close();
      },
      () => {
        if (this.pending.get(t.label) === entry) this.pending.delete(t.label);
      },
    );
    return entry.promise;
  }

  /** Close every connection (including ones still connecting). */
  async closeAll(): Promise<void> {
    this.closing = true;
    const all = [...this.pending.values()];
    this.pending.clear();
    await Promise.allSettled(all.map(async (e) => (await e.promise).close()));
  }
}
