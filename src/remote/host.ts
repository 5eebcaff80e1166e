// SshHost: one authenticated SSH connection to one host. Commands go through zkroll's remote
// shell (shell.ts): one dispatcher per host started over one exec channel, so the login shell
// and its startup files run once per connection, not once per command. SFTP file operations
// use one more, reused channel.
//
// Invariants:
//  - Every command runs as `timeout -k 5 <secs> sh -c '<cmd>'` on the host (in the remote
//    shell, or `[sudo -n ]timeout ...` on an exec channel of its own where the remote shell is
//    off or cannot start there); a local timer (remote deadline + kill grace + local grace) ends
//    the wait if the host never answers. No promise from this class can hang past its deadline.
//  - A remote shell that misses a deadline or dies is replaced by a fresh one on the next
//    command, and the audit hook is told (one record for each start, restart and fallback).
//  - On sudo hosts the remote shell itself runs under `sudo -n` (one sudo per connection).
//  - At most `maxChannels` channels are open at once (FIFO wait); the remote shell holds one
//    for its life. The SFTP session is one extra, reused channel (OpenSSH MaxSessions is 10).
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
import { openStream, type StreamRun } from './stream.js';
import { prepareConnect, resolveRoute, routeError, type HostTarget, type PreparedConnect } from './connect.js';
import { classifyConnectError, describeHost, RemoteError, type ExecResult } from './errors.js';
import { ChannelLimiter, decodeOutput, OUTPUT_CAP_BYTES, remoteTimeoutSecs, tail, TIMEOUT_EXIT_CODES, wrapCommand } from './executil.js';
import { shellCommand, shq } from './quote.js';
import { RemoteShell, shellNonce, shellScript, type ShellTransport } from './shell.js';
import { sftpReadFile, sftpStat, sftpWriteAtomic, tempPathFor, type RemoteStat } from './sftp.js';
import { parseSudoStat, renameScript, sudoReadScript, sudoStatScript, sudoWriteScript } from './sudofiles.js';

export interface CommandRecord {
  host: string;
  command: string;
  code: number | null;
  durationMs: number;
  stdoutTail: string;
  stderrTail: string;
  /**
   * Why a command that is not a compiled one ran: `read` (it changes nothing) or `write <path>`
   * (part of writing that file); absent for the commands of the compiled steps and of tools.
   */
  purpose?: string;
}
export type CommandHook = (rec: CommandRecord) => void;

export interface SshHostOptions {
  onCommand?: CommandHook;
  /** Concurrent channels per connection (default 4; the remote shell holds one). */
  maxChannels?: number;
  /** Run commands through zkroll's remote shell (default true); false: one exec channel per command. */
  remoteShell?: boolean;
  /** How long past a command's remote deadline (+ kill grace) zkroll waits for its answer (default LOCAL_GRACE_MS). */
  localGraceMs?: number;
}

/** Output of a command with stdout kept as bytes (binary-safe). */
export interface ExecBytesResult {
  code: number | null;
  stdout: Buffer;
  /** stdout was longer than the cap asked for; `stdout` holds its last bytes. */
  stdoutTruncated: boolean;
  stderr: string;
  durationMs: number;
  command: string;
}

export interface ExecOptions {
  timeoutMs: number;
  stdin?: string | Buffer;
  /** Exit codes that count as success (default [0]). */
  okCodes?: number[];
  /** Return the result whatever the exit code; no timeout/okCodes checks. */
  raw?: boolean;
  /** Recorded in the audit (CommandRecord.purpose): `read`, or `write <path>`. */
  purpose?: string;
}

/** How audit records about the remote shell (not a command) begin. */
const SHELL_RECORD = 'zkroll remote shell';

/**
 * What an audit record's `command` says about the remote shell: a login (`started`,
 * `restarted`), another shell event (`other`: could not start, unavailable, off), or null for a
 * record of a command.
 */
export function shellEvent(command: string): 'started' | 'restarted' | 'other' | null {
  const m = /^zkroll remote shell(?: \(sudo -n\))?: (\w+)/.exec(command);
  if (m === null) return null;
  return m[1] === 'started' || m[1] === 'restarted' ? m[1] : 'other';
}

export const DEFAULT_MAX_CHANNELS = 4;
export const LOCAL_GRACE_MS = 10_000;
/** Commands in flight at once in one remote shell. */
const MAX_SHELL_COMMANDS = 16;
/** How long the login shell may take to start the remote shell (startup files included). */
const SHELL_START_MS = 60_000;
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
  private readonly graceMs: number;
  /** Why commands use exec channels of their own (remote shell off or unavailable); null: the remote shell. */
  private shellOff: string | null;
  private shellP: Promise<RemoteShell | null> | null = null;
  private shellNow: RemoteShell | null = null;
  private readonly shellLimiter = new ChannelLimiter(MAX_SHELL_COMMANDS);
  private offNoted = false;
  /** Remote shells started on this connection (1 unless one had to be replaced). */
  shellStarts = 0;

  private constructor(t: HostTarget, opts: SshHostOptions) {
    this.target = t;
    if (opts.onCommand !== undefined) this.onCommand = opts.onCommand;
    this.limiter = new ChannelLimiter(opts.maxChannels ?? DEFAULT_MAX_CHANNELS);
    this.graceMs = opts.localGraceMs ?? LOCAL_GRACE_MS;
    this.shellOff = opts.remoteShell === false ? 'turned off: remoteShell false / ZKROLL_REMOTE_SHELL=off' : null;
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
        if (err)
          return reject(
            new RemoteError(
              'unreachable',
              to.label,
              `${who}: the jump host cannot open a connection to ${host}:${to.port} (${err.message}). Check the address and port, and that the jump host may forward (sshd AllowTcpForwarding).`,
              { cause: err },
            ),
          );
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
        // commands and their answers are small messages: no Nagle delay on our side
        this.client.setNoDelay(true);
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
          fail(
            prep.hostKeyFailure() ??
              new RemoteError(
                'closed',
                t.label,
                `${this.who}: connection closed during the SSH handshake (${why}). Check that ${t.host}:${t.port} is an SSH server.`,
              ),
          );
          return;
        }
        this.markClosed(
          new RemoteError(
            'closed',
            t.label,
            `${this.who}: SSH connection lost (${why}); anything running at that moment has an unknown outcome — re-check the host before continuing.`,
          ),
        );
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
    this.shellLimiter.fail(err);
    this.shellNow?.closed(err);
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
    const res: ExecResult = {
      code: run.code,
      stdout: decodeOutput(run.stdout, run.stdoutTruncated),
      stderr: decodeOutput(run.stderr, run.stderrTruncated),
      durationMs: run.durationMs,
      command,
    };
    if (run.signal !== undefined) res.signal = run.signal;
    this.audit(command, res, opts.purpose);
    if (run.failure !== undefined) throw run.failure;
    if (opts.raw === true) return res;
    const secs = remoteTimeoutSecs(opts.timeoutMs);
    // Local wall time >= remote run time, so a short run cannot be the deadline.
    if (res.code !== null && TIMEOUT_EXIT_CODES.includes(res.code) && res.durationMs >= secs * 1000 - 250) {
      throw new RemoteError(
        'timeout',
        this.label,
        `${this.who}: command timed out after ${secs}s on the remote host and was killed (exit ${res.code}): ${command}`,
        { result: res },
      );
    }
    const ok = opts.okCodes ?? [0];
    if (res.code === null || !ok.includes(res.code)) {
      const how = res.code === null ? `was killed by ${res.signal ?? 'a signal'}` : `exited with code ${res.code}`;
      const err = tail(res.stderr.trim(), 600);
      const hint = /sudo: .*password is required/.test(res.stderr) ? ` ${this.sudoHint()}` : '';
      throw new RemoteError('io', this.label, `${this.who}: command ${how}: ${command}${err ? `\n  stderr: ${err}` : ''}${hint}`, { result: res });
    }
    return res;
  }

  /**
   * Run a command keeping stdout as bytes (at most `maxStdoutBytes`, its last ones): binary
   * output (a gzip stream, a data file) comes back exact. Never throws on an exit code; throws
   * RemoteError when the command's outcome is unknown (connection or remote shell lost, deadline).
   */
  async execBytes(
    cmd: string[] | { script: string },
    opts: { timeoutMs: number; maxStdoutBytes: number; purpose?: string; stdin?: string | Buffer },
  ): Promise<ExecBytesResult> {
    const command = Array.isArray(cmd) ? shellCommand(cmd) : cmd.script;
    const run = await this.run(command, opts.timeoutMs, opts.stdin, opts.maxStdoutBytes);
    const stderr = decodeOutput(run.stderr, run.stderrTruncated);
    this.audit(command, { code: run.code, durationMs: run.durationMs, stdout: `(${run.stdout.length} bytes)`, stderr }, opts.purpose);
    if (run.failure !== undefined) throw run.failure;
    return { code: run.code, stdout: run.stdout, stdoutTruncated: run.stdoutTruncated, stderr, durationMs: run.durationMs, command };
  }

  /**
   * Run argv on an SSH exec channel of its own, with its stdin and stdout as streams (one end of
   * a copy between hosts; the remote shell cannot stream). Under `timeout -k` like every command;
   * audited when it ends. Rejects (RemoteError) when the channel cannot be opened.
   */
  async stream(cmd: string[], opts: { timeoutMs: number }): Promise<StreamRun> {
    this.assertOpen();
    const command = shellCommand(cmd);
    const wrapped = wrapCommand(command, opts.timeoutMs, this.target.sudo === true);
    const release = await this.limiter.acquire();
    let run: StreamRun;
    try {
      run = await openStream(this.client, this.channelCtx, { wrapped, command, localMs: opts.timeoutMs + this.graceMs });
    } catch (e) {
      release();
      throw e;
    }
    const done = run.done.then((r) => {
      release();
      this.audit(command, { code: r.code, durationMs: r.durationMs, stdout: '(streamed)', stderr: decodeOutput(r.stderr, r.stderrTruncated) });
      return r;
    });
    return { ...run, done };
  }

  private async run(command: string, timeoutMs: number, stdin: string | Buffer | undefined, cap: number): Promise<RawRun> {
    this.assertOpen();
    if ((await this.shell()) === null) {
      if (!this.offNoted) {
        this.offNoted = true;
        this.shellAudit(`off (${this.shellOff}); one SSH exec channel, and one login, per command`, { code: null, durationMs: 0, stdout: '', stderr: '' });
      }
      return this.runOnOwnChannel(command, timeoutMs, stdin, cap);
    }
    const release = await this.shellLimiter.acquire();
    const started = Date.now();
    try {
      // the shell may have died while this command waited for its turn: it then goes to a new
      // one (it was never sent, so it is not an unknown outcome)
      const shell = await this.shell();
      if (shell === null) return await this.runOnOwnChannel(command, timeoutMs, stdin, cap);
      const r = await shell.run({ script: command, timeoutMs, stdin, cap });
      return {
        code: r.code,
        stdout: r.stdout,
        stderr: r.stderr,
        stdoutTruncated: r.stdoutTruncated,
        stderrTruncated: r.stderrTruncated,
        durationMs: r.durationMs,
      };
    } catch (e) {
      const failure = e instanceof RemoteError ? e : new RemoteError('io', this.label, `${this.who}: ${(e as Error).message}`, { cause: e });
      return {
        code: null,
        stdout: Buffer.alloc(0),
        stderr: Buffer.alloc(0),
        stdoutTruncated: false,
        stderrTruncated: false,
        durationMs: Date.now() - started,
        failure,
      };
    } finally {
      release();
    }
  }

  private async runOnOwnChannel(command: string, timeoutMs: number, stdin: string | Buffer | undefined, cap: number): Promise<RawRun> {
    const wrapped = wrapCommand(command, timeoutMs, this.target.sudo === true);
    const release = await this.limiter.acquire();
    try {
      return await runOnChannel(this.client, this.channelCtx, { wrapped, command, localMs: timeoutMs + this.graceMs, stdin, cap });
    } finally {
      release();
    }
  }

  /**
   * The live remote shell, started on first use and replaced when it died; null where commands
   * use exec channels of their own. Throws RemoteError when the connection is gone, when sudo
   * wants a password, or when the login shell did not start it in time.
   */
  private async shell(): Promise<RemoteShell | null> {
    for (;;) {
      if (this.shellOff !== null) return null;
      const cur = this.shellP;
      if (cur === null) {
        const prev = this.shellNow;
        const p = this.startShell(prev?.failure?.message ?? null);
        this.shellP = p;
        p.catch(() => {
          if (this.shellP === p) this.shellP = null;
        });
        continue;
      }
      const s = await cur;
      if (s === null || s.alive) return s;
      if (this.shellP === cur) this.shellP = null;
    }
  }

  private async startShell(replacing: string | null): Promise<RemoteShell | null> {
    this.assertOpen();
    const nonce = shellNonce();
    const sudo = this.target.sudo === true;
    const command = `${sudo ? 'sudo -n ' : ''}sh -c ${shq(shellScript(nonce))}`;
    const release = await this.limiter.acquire();
    const started = Date.now();
    let transport: ShellTransport;
    try {
      transport = await this.openShellChannel(command);
    } catch (e) {
      release();
      throw e;
    }
    transport.onClose(() => release());
    try {
      const shell = await RemoteShell.start(transport, nonce, {
        label: this.label,
        who: this.who,
        graceMs: this.graceMs,
        startTimeoutMs: SHELL_START_MS,
        closedErr: () => this.closedErr,
      });
      this.shellNow = shell;
      this.shellStarts++;
      const how = replacing === null ? 'started' : `restarted (the previous one failed: ${replacing})`;
      this.shellAudit(`${how}, pid ${shell.pid}`, { code: 0, durationMs: shell.startMs, stdout: '', stderr: '' });
      return shell;
    } catch (e) {
      if (this.closedErr !== null) throw this.closedErr;
      const err = e instanceof RemoteError ? e : new RemoteError('io', this.label, `${this.who}: ${(e as Error).message}`, { cause: e });
      this.shellAudit('could not start', { code: null, durationMs: Date.now() - started, stdout: '', stderr: err.message });
      if (sudo && /password is required|a terminal is required/.test(err.message)) {
        throw new RemoteError('auth', this.label, `${err.message}\n  ${this.sudoHint()}`, { cause: err });
      }
      if (err.kind !== 'io') throw err;
      // the host lacks what the remote shell needs (mktemp, mkfifo, a writable temp dir):
      // commands still run, each on an exec channel of its own (one login each)
      this.shellOff = err.message;
      this.offNoted = true;
      this.shellAudit('unavailable, one SSH exec channel per command from now on', { code: null, durationMs: 0, stdout: '', stderr: err.message });
      return null;
    }
  }

  /** An exec channel running `command`, as a ShellTransport. */
  private openShellChannel(command: string): Promise<ShellTransport> {
    return new Promise((resolve, reject) => {
      try {
        this.client.exec(command, (err, ch) => {
          if (err)
            return reject(
              this.closedErr ??
                new RemoteError(
                  'io',
                  this.label,
                  `${this.who}: could not open an SSH channel for zkroll's remote shell (${err.message}). Check sshd MaxSessions on the host.`,
                  { cause: err },
                ),
            );
          resolve(channelTransport(ch));
        });
      } catch (e) {
        reject(this.closedErr ?? new RemoteError('closed', this.label, `${this.who}: SSH connection is not usable: ${(e as Error).message}`, { cause: e }));
      }
    });
  }

  private sudoHint(): string {
    return `Passwordless sudo (NOPASSWD) is required for user "${this.target.user}", or set sudo off for this host.`;
  }

  /** An audit record about the remote shell itself (read back with shellEvent). */
  private shellAudit(what: string, res: { code: number | null; durationMs: number; stdout: string; stderr: string }): void {
    this.audit(`${SHELL_RECORD}${this.target.sudo === true ? ' (sudo -n)' : ''}: ${what}`, res);
  }

  private audit(command: string, res: { code: number | null; durationMs: number; stdout: string; stderr: string }, purpose?: string): void {
    const hook = this.onCommand;
    if (hook === undefined) return;
    try {
      const rec: CommandRecord = {
        host: this.label,
        command,
        code: res.code,
        durationMs: res.durationMs,
        stdoutTail: tail(res.stdout),
        stderrTail: tail(res.stderr),
      };
      if (purpose !== undefined) rec.purpose = purpose;
      hook(rec);
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
      if (r.code !== 0 || r.stdoutTruncated)
        throw this.fileError('reading', path, new Error(r.stdoutTruncated ? 'file too large' : r.stderr.toString().trim() || `exit ${r.code}`));
      return r.stdout;
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
        const r = await this.exec({ script: sudoStatScript(path) }, { timeoutMs: FILE_OP_TIMEOUT_MS, purpose: 'read' });
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
        await this.exec({ script: sudoWriteScript(path, tempPathFor(path), mode) }, { timeoutMs: FILE_OP_TIMEOUT_MS, stdin: data, purpose: `write ${path}` });
        return;
      }
      const sftp = await this.sftp();
      await sftpWriteAtomic(sftp, path, data, mode, async (from, to) => {
        await this.exec({ script: renameScript(from, to) }, { timeoutMs: FILE_OP_TIMEOUT_MS, purpose: `write ${path}` });
      });
      this.audit(`sftp ${record}`, { code: 0, durationMs: Date.now() - started, stdout: '', stderr: '' }, `write ${path}`);
    } catch (e) {
      const err = this.fileError('writing', path, e);
      if (this.target.sudo !== true)
        this.audit(`sftp ${record}`, { code: null, durationMs: Date.now() - started, stdout: '', stderr: err.message }, `write ${path}`);
      throw err;
    }
  }

  /** Close the connection; later calls reject with 'closed'. Idempotent. */
  close(): Promise<void> {
    if (this.closeP !== null) return this.closeP;
    // end the remote shell's input first: it lets running commands finish and cleans up
    this.shellNow?.close();
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

/** An ssh2 exec channel as the remote shell's transport. */
function channelTransport(ch: ClientChannel): ShellTransport {
  let code: number | null = null;
  ch.on('exit', (c: number | null) => {
    if (typeof c === 'number') code = c;
  });
  // errors surface as 'close' (and the connection's own error)
  ch.on('error', () => undefined);
  return {
    write: (d) => void ch.write(d),
    end: () => void ch.end(),
    destroy: () => void ch.close(),
    onStdout: (cb) => void ch.on('data', cb),
    onStderr: (cb) => void ch.stderr.on('data', cb),
    onClose: (cb) => void ch.on('close', () => cb(code)),
  };
}
