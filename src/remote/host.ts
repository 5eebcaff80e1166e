// SshHost: one authenticated SSH connection to one host, with bounded
// concurrent exec channels, remote+local deadlines and SFTP file operations.
//
// Invariants:
//  - Every command runs as `[sudo -n ]timeout -k 5 <secs> sh -c '<cmd>'`; a
//    local timer (timeoutMs + 10 s) closes the channel if the remote side
//    never answers. No promise from this class can hang past its deadline.
//  - At most `maxChannels` exec channels are open at once (FIFO wait). The
//    SFTP session is one extra, reused channel (OpenSSH MaxSessions is 10).
//  - Once the connection errors/closes, in-flight and later calls reject with
//    RemoteError 'closed' (outcome of in-flight commands unknown).
//  - With sudo, file operations go through exec (SFTP runs as the login user).
//  - The audit hook gets commands and outcomes, never stdin or key material.
//  - Through jump hosts (plan jumpHost / ssh config ProxyJump, see connect.ts)
//    each hop is an SshHost of its own with strict host-key checking, and the
//    next hop's transport is a direct-tcpip channel of the previous one. The
//    target's key is checked under the target's own name and port. A hop's
//    jump connection is closed when the hop's connection closes.

import ssh2 from 'ssh2';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import { runOnChannel, type ChannelRunContext, type RawRun } from './channel.js';
import { prepareConnect, resolveRoute, routeError, type HostTarget, type PreparedConnect } from './connect.js';
import { classifyConnectError, describeHost, RemoteError, type ExecResult } from './errors.js';
import { ChannelLimiter, OUTPUT_CAP_BYTES, remoteTimeoutSecs, tail, TIMEOUT_EXIT_CODES, wrapCommand } from './executil.js';
import { shellCommand } from './quote.js';
import { sftpReadFile, sftpStat, sftpWriteAtomic, tempPathFor, type RemoteStat } from './sftp.js';
import { parseSudoStat, renameScript, sudoReadScript, sudoStatScript, sudoWriteScript } from './sudofiles.js';

export interface CommandRecord {
  host: string;
  command: string;
  code: number | null;
  durationMs: number;
  stdoutTail: string;
  stderrTail: string;
}
export type CommandHook = (rec: CommandRecord) => void;

export interface SshHostOptions {
  onCommand?: CommandHook;
  /** Concurrent exec channels per connection (default 4). */
  maxChannels?: number;
}

export interface ExecOptions {
  timeoutMs: number;
  stdin?: string | Buffer;
  /** Exit codes that count as success (default [0]). */
  okCodes?: number[];
  /** Return the result whatever the exit code; no timeout/okCodes checks. */
  raw?: boolean;
}

export const DEFAULT_MAX_CHANNELS = 4;
export const LOCAL_GRACE_MS = 10_000;
const FILE_OP_TIMEOUT_MS = 60_000;
const SUDO_READ_CAP = 64 * 1024 * 1024;

export class SshHost {
  readonly target: HostTarget;
  onCommand?: CommandHook;
  private readonly client = new ssh2.Client();
  private readonly limiter: ChannelLimiter;
  private readonly inflight = new Set<(e: RemoteError) => void>();
  private closedErr: RemoteError | null = null;
  private lastError: Error | null = null;
  private sockClosed = false;
  private sftpP: Promise<SFTPWrapper> | null = null;
  private closeP: Promise<void> | null = null;
  private readonly channelCtx: ChannelRunContext;
  /** The jump host connection this one runs over (closed with it). */
  private via: SshHost | null = null;

  private constructor(t: HostTarget, opts: SshHostOptions) {
    this.target = t;
    if (opts.onCommand !== undefined) this.onCommand = opts.onCommand;
    this.limiter = new ChannelLimiter(opts.maxChannels ?? DEFAULT_MAX_CHANNELS);
    this.channelCtx = {
      label: t.label,
      who: describeHost(t),
      closedErr: () => this.closedErr,
      track: (abort) => {
        this.inflight.add(abort);
        return () => this.inflight.delete(abort);
      },
    };
  }

  /** Connect (through the jump hosts, if any) with strict host key checking; resolves once authenticated. */
  static async connect(t: HostTarget, opts: SshHostOptions = {}): Promise<SshHost> {
    const hops = await resolveRoute(t);
    let prev: SshHost | null = null;
    for (const hop of hops) {
      try {
        const prep = await prepareConnect(hop.target, hop);
        const sock = prev === null ? undefined : await prev.forwardOut(hop.dialHost, hop.target);
        const h: SshHost = new SshHost(hop.target, hop.target === t ? opts : {});
        h.via = prev;
        await h.start(prep, sock);
        prev = h;
      } catch (e) {
        await prev?.close();
        throw routeError(t, hop, e);
      }
    }
    return prev as SshHost;
  }

  /** A direct-tcpip channel from this host to `host`:to.port (this host is a jump host). */
  private forwardOut(host: string, to: HostTarget): Promise<ClientChannel> {
    const who = describeHost(to);
    return new Promise((resolve, reject) => {
      if (this.closedErr !== null) return reject(this.closedErr);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new RemoteError('timeout', to.label, `${who}: the jump host did not open a connection to ${host}:${to.port} within ${to.connectTimeoutMs} ms.`));
      }, to.connectTimeoutMs);
      this.client.forwardOut('127.0.0.1', 0, host, to.port, (err, stream) => {
        clearTimeout(timer);
        if (timedOut) return stream?.close();
        if (err) return reject(new RemoteError('unreachable', to.label, `${who}: the jump host cannot open a connection to ${host}:${to.port} (${err.message}). Check the address and port, and that the jump host may forward (sshd AllowTcpForwarding).`, { cause: err }));
        resolve(stream);
      });
    });
  }

  get label(): string {
    return this.target.label;
  }

  get closed(): boolean {
    return this.closedErr !== null;
  }

  private get who(): string {
    return describeHost(this.target);
  }

  private start(prep: PreparedConnect, sock?: ClientChannel): Promise<void> {
    const t = this.target;
    return new Promise((resolve, reject) => {
      let ready = false;
      let connected = false;
      let done = false;
      const fail = (e: RemoteError): void => {
        if (done) return;
        done = true;
        this.markClosed(e);
        this.client.destroy();
        reject(e);
      };
      const ctx = (): { socketConnected: boolean; authMethods: string[] } => ({ socketConnected: connected, authMethods: prep.authMethods });
      this.client.on('connect', () => (connected = true));
      this.client.on('ready', () => {
        ready = true;
        if (!done) {
          done = true;
          resolve();
        }
      });
      this.client.on('error', (err: Error) => {
        this.lastError = err;
        if (!ready) fail(prep.hostKeyFailure() ?? classifyConnectError(err, t, ctx()));
      });
      this.client.on('close', () => {
        this.sockClosed = true;
        const why = this.lastError?.message ?? (this.via?.closed === true ? 'the jump host connection closed' : 'no reason given');
        void this.via?.close();
        if (!ready) {
          fail(prep.hostKeyFailure() ?? new RemoteError('closed', t.label, `${this.who}: connection closed during the SSH handshake (${why}). Check that ${t.host}:${t.port} is an SSH server.`));
          return;
        }
        this.markClosed(new RemoteError('closed', t.label, `${this.who}: SSH connection lost (${why}); anything running at that moment has an unknown outcome — re-check the host before continuing.`));
      });
      try {
        this.client.connect(sock === undefined ? prep.config : { ...prep.config, sock });
      } catch (e) {
        fail(classifyConnectError(e, t, ctx()));
      }
    });
  }

  private markClosed(err: RemoteError): void {
    if (this.closedErr !== null) return;
    this.closedErr = err;
    this.limiter.fail(err);
    for (const reject of [...this.inflight]) reject(err);
    this.sftpP = null;
  }

  private assertOpen(): void {
    if (this.closedErr !== null) throw this.closedErr;
  }

  /** Run a command (argv is quoted with shq) or a sh script. */
  async exec(cmd: string[] | { script: string }, opts: ExecOptions): Promise<ExecResult> {
    const command = Array.isArray(cmd) ? shellCommand(cmd) : cmd.script;
    const run = await this.run(command, opts.timeoutMs, opts.stdin, OUTPUT_CAP_BYTES);
    const res: ExecResult = { code: run.code, stdout: run.stdout.toString(), stderr: run.stderr.toString(), durationMs: run.durationMs, command };
    if (run.signal !== undefined) res.signal = run.signal;
    this.audit(command, res);
    if (run.failure !== undefined) throw run.failure;
    if (opts.raw === true) return res;
    const secs = remoteTimeoutSecs(opts.timeoutMs);
    // Local wall time >= remote run time, so a short run cannot be the deadline.
    if (res.code !== null && TIMEOUT_EXIT_CODES.includes(res.code) && res.durationMs >= secs * 1000 - 250) {
      throw new RemoteError('timeout', this.label, `${this.who}: command timed out after ${secs}s on the remote host and was killed (exit ${res.code}): ${command}`, { result: res });
    }
    const ok = opts.okCodes ?? [0];
    if (res.code === null || !ok.includes(res.code)) {
      const how = res.code === null ? `was killed by ${res.signal ?? 'a signal'}` : `exited with code ${res.code}`;
      const err = tail(res.stderr.trim(), 600);
      const hint = /sudo: .*password is required/.test(res.stderr)
        ? ` Passwordless sudo (NOPASSWD) is required for user "${this.target.user}", or set sudo off for this host.`
        : '';
      throw new RemoteError('io', this.label, `${this.who}: command ${how}: ${command}${err ? `\n  stderr: ${err}` : ''}${hint}`, { result: res });
    }
    return res;
  }

  private async run(command: string, timeoutMs: number, stdin: string | Buffer | undefined, cap: number): Promise<RawRun> {
    this.assertOpen();
    const wrapped = wrapCommand(command, timeoutMs, this.target.sudo === true);
    const release = await this.limiter.acquire();
    try {
      return await runOnChannel(this.client, this.channelCtx, { wrapped, command, localMs: timeoutMs + LOCAL_GRACE_MS, stdin, cap });
    } finally {
      release();
    }
  }

  private audit(command: string, res: { code: number | null; durationMs: number; stdout: string; stderr: string }): void {
    const hook = this.onCommand;
    if (hook === undefined) return;
    try {
      hook({ host: this.label, command, code: res.code, durationMs: res.durationMs, stdoutTail: tail(res.stdout), stderrTail: tail(res.stderr) });
    } catch {
      /* an audit hook must not break remote operations */
    }
  }

  private sftp(): Promise<SFTPWrapper> {
    this.assertOpen();
    if (this.sftpP === null) {
      const p = new Promise<SFTPWrapper>((resolve, reject) => {
        try {
          this.client.sftp((err, s) => (err ? reject(err) : resolve(s)));
        } catch (e) {
          reject(e);
        }
      });
      this.sftpP = p;
      const reset = (): void => {
        if (this.sftpP === p) this.sftpP = null;
      };
      p.then((s) => s.on('close', reset).on('error', reset), reset);
    }
    return this.sftpP;
  }

  private fileError(op: string, path: string, e: unknown): RemoteError {
    if (e instanceof RemoteError) return e;
    if (this.closedErr !== null) return this.closedErr;
    const perm = (e as { code?: unknown }).code === 3 ? ` (SFTP runs as "${this.target.user}"; enable sudo for this host if root is needed)` : '';
    return new RemoteError('io', this.label, `${this.who}: ${op} ${path} failed: ${(e as Error).message}${perm}`, { cause: e });
  }

  async readFile(path: string): Promise<Buffer> {
    if (this.target.sudo === true) {
      const r = await this.run(sudoReadScript(path), FILE_OP_TIMEOUT_MS, undefined, SUDO_READ_CAP);
      if (r.failure !== undefined) throw r.failure;
      if (r.code !== 0 || r.stdout.truncated) throw this.fileError('reading', path, new Error(r.stdout.truncated ? 'file too large' : r.stderr.toString().trim() || `exit ${r.code}`));
      return r.stdout.toBuffer();
    }
    try {
      return await sftpReadFile(await this.sftp(), path);
    } catch (e) {
      throw this.fileError('reading', path, e);
    }
  }

  /** A file's contents, or null when the path does not exist. */
  async readIfExists(path: string): Promise<Buffer | null> {
    return (await this.stat(path)) ? this.readFile(path) : null;
  }

  /** Stat (following symlinks); null when the path does not exist. */
  async stat(path: string): Promise<RemoteStat | null> {
    try {
      if (this.target.sudo === true) {
        const r = await this.exec({ script: sudoStatScript(path) }, { timeoutMs: FILE_OP_TIMEOUT_MS });
        return parseSudoStat(r.stdout);
      }
      return await sftpStat(await this.sftp(), path);
    } catch (e) {
      throw this.fileError('stat of', path, e);
    }
  }

  /** Write via temp file + fsync + atomic rename; readers see old or new content, never a mix. */
  async writeFileAtomic(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const started = Date.now();
    const record = `write-file-atomic ${path} (${data.length} bytes, mode ${mode.toString(8)})`;
    try {
      if (this.target.sudo === true) {
        await this.exec({ script: sudoWriteScript(path, tempPathFor(path), mode) }, { timeoutMs: FILE_OP_TIMEOUT_MS, stdin: data });
        return;
      }
      const sftp = await this.sftp();
      await sftpWriteAtomic(sftp, path, data, mode, async (from, to) => {
        await this.exec({ script: renameScript(from, to) }, { timeoutMs: FILE_OP_TIMEOUT_MS });
      });
      this.audit(`sftp ${record}`, { code: 0, durationMs: Date.now() - started, stdout: '', stderr: '' });
    } catch (e) {
      const err = this.fileError('writing', path, e);
      if (this.target.sudo !== true) this.audit(`sftp ${record}`, { code: null, durationMs: Date.now() - started, stdout: '', stderr: err.message });
      throw err;
    }
  }

  /** Close the connection; later calls reject with 'closed'. Idempotent. */
  close(): Promise<void> {
    if (this.closeP !== null) return this.closeP;
    this.markClosed(new RemoteError('closed', this.label, `${this.who}: connection was closed by zkroll; no further commands can run on it.`));
    this.closeP = new Promise<void>((resolve) => {
      if (this.sockClosed) return resolve();
      const t = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 2000);
      this.client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.client.end();
    }).then(() => this.via?.close());
    return this.closeP;
  }
}
