// Runs one already-wrapped command on one ssh2 exec channel and collects its
// outcome (used where zkroll's remote shell is off or could not start). Never rejects: every failure is returned as RawRun.failure.
//
// Invariants:
//  - Resolves exactly once: on channel close (after stdout and stderr have
//    ended), on a channel/open error, on the local deadline, or when the
//    owner calls the registered abort (connection lost).
//  - The local deadline closes the channel: ssh2 has no exec timeout and
//    ClientChannel.signal() is a no-op once stdin reached EOF.
//  - A close without exit-status/exit-signal is a failure (outcome unknown).
//  - stdin is written then EOF'd; with no stdin the remote sees EOF at once.

import type { Client, ClientChannel } from 'ssh2';
import { RemoteError } from './errors.js';
import { TailBuffer } from './executil.js';

/** One command's outcome, whichever way it ran (an exec channel of its own, or the remote shell). */
export interface RawRun {
  code: number | null;
  signal?: string;
  /** The last `cap` bytes of stdout. */
  stdout: Buffer;
  stderr: Buffer;
  /** stdout was longer than the cap. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
  failure?: RemoteError;
}

export interface ChannelRunContext {
  label: string;
  /** "label (host:port)" for messages. */
  who: string;
  /** The connection-level error once the connection is gone. */
  closedErr: () => RemoteError | null;
  /** Register/unregister an abort callback used when the connection dies. */
  track: (abort: (e: RemoteError) => void) => () => void;
}

export interface ChannelExit {
  code: number | null;
  signal?: string;
}

/**
 * Wire a channel's exit status, errors and close to `finish` (called once the channel closed and
 * its stderr ended, or on a channel error; a close without an exit status is a failure: outcome
 * unknown). Returns a getter of the exit status seen so far.
 */
export function watchOutcome(
  ch: ClientChannel,
  ctx: ChannelRunContext,
  command: string,
  finish: (failure?: RemoteError) => void,
): () => ChannelExit | undefined {
  let exit: ChannelExit | undefined;
  ch.on('exit', (code: number | null, signal?: string) => {
    exit = { code: typeof code === 'number' ? code : null };
    if (typeof signal === 'string') exit.signal = signal;
  });
  ch.on('error', (e: Error) => finish(new RemoteError('io', ctx.label, `${ctx.who}: channel error: ${e.message}`, { cause: e })));
  ch.on('close', () => {
    const done = (): void =>
      finish(
        exit !== undefined
          ? undefined
          : (ctx.closedErr() ?? new RemoteError('closed', ctx.label, `${ctx.who}: channel closed without an exit status; outcome unknown: ${command}`)),
      );
    if (ch.stderr.readableEnded) done();
    else ch.stderr.once('end', done);
  });
  return () => exit;
}

/** A finished command's outcome: its exit as seen, the output buffers (no stdout: it was streamed), the time since `started` (ms). */
export function rawRun(exit: ChannelExit | undefined, stdout: TailBuffer | null, stderr: TailBuffer, started: number, failure?: RemoteError): RawRun {
  const r: RawRun = {
    code: exit?.code ?? null,
    stdout: stdout?.toBuffer() ?? Buffer.alloc(0),
    stderr: stderr.toBuffer(),
    stdoutTruncated: stdout?.truncated ?? false,
    stderrTruncated: stderr.truncated,
    durationMs: Date.now() - started,
  };
  if (exit?.signal !== undefined) r.signal = exit.signal;
  if (failure !== undefined) r.failure = failure;
  return r;
}

/** Why a channel could not be opened: the connection's own error once it is gone, else the open error. */
export function openFailure(ctx: ChannelRunContext, err: Error): RemoteError {
  return (
    ctx.closedErr() ??
    new RemoteError('io', ctx.label, `${ctx.who}: could not open an SSH channel (${err.message}). Check sshd MaxSessions on the host.`, { cause: err })
  );
}

/** Why `client.exec` threw before a channel was asked for: the connection's own error, else this. */
export function notUsable(ctx: ChannelRunContext, e: unknown): RemoteError {
  return ctx.closedErr() ?? new RemoteError('closed', ctx.label, `${ctx.who}: SSH connection is not usable: ${(e as Error).message}`, { cause: e });
}

/**
 * One channel run's end, settled exactly once: by `finish`, by the connection being lost
 * (ctx.track), or at `localMs` (ms), when the channel (if open yet) is closed and the run fails
 * as a timeout with `timeoutText` after the host's name. `settle` receives the failure, if any.
 */
export function settleOnce(
  ctx: ChannelRunContext,
  localMs: number,
  timeoutText: string,
  channel: () => ClientChannel | undefined,
  settle: (failure?: RemoteError) => void,
): { finish: (failure?: RemoteError) => void; settled: () => boolean } {
  let settled = false;
  const finish = (failure?: RemoteError): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    untrack();
    settle(failure);
  };
  const untrack = ctx.track(finish);
  const timer = setTimeout(() => {
    try {
      channel()?.close();
    } catch {
      /* channel already gone */
    }
    finish(new RemoteError('timeout', ctx.label, `${ctx.who}: ${timeoutText}`));
  }, localMs);
  return { finish, settled: () => settled };
}

export function runOnChannel(
  client: Client,
  ctx: ChannelRunContext,
  run: { wrapped: string; command: string; localMs: number; stdin: string | Buffer | undefined; cap: number },
): Promise<RawRun> {
  const started = Date.now();
  const stdout = new TailBuffer(run.cap);
  const stderr = new TailBuffer(run.cap);
  return new Promise<RawRun>((resolve) => {
    let channel: ClientChannel | undefined;
    let exitOf: () => ChannelExit | undefined = () => undefined;
    const { finish, settled } = settleOnce(
      ctx,
      run.localMs,
      `no answer from the remote side ${run.localMs} ms after starting (the remote deadline did not fire); channel closed. The host may be hung or the network partitioned: ${run.command}`,
      () => channel,
      (failure) => resolve(rawRun(exitOf(), stdout, stderr, started, failure)),
    );
    const onOpen = (err: Error | undefined, ch: ClientChannel): void => {
      if (err) {
        finish(openFailure(ctx, err));
        return;
      }
      if (settled()) {
        ch.close();
        return;
      }
      channel = ch;
      ch.on('data', (d: Buffer) => stdout.push(d));
      ch.stderr.on('data', (d: Buffer) => stderr.push(d));
      exitOf = watchOutcome(ch, ctx, run.command, finish);
      ch.end(run.stdin);
    };
    try {
      client.exec(run.wrapped, onOpen);
    } catch (e) {
      finish(notUsable(ctx, e));
    }
  });
}
