// A command whose stdin and stdout are streams, on an ssh2 exec channel of its own: the two
// ends of a copy between hosts (tar on one, tar on the other, piped through zkroll). ssh2's
// channel windows give backpressure, so nothing is buffered whole.
// Invariants: `done` resolves exactly once (channel close after stderr ended, an open error, the
// local deadline, or the connection lost); stderr is kept (its tail); stdout is only streamed.
import type { Readable, Writable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { TailBuffer } from './executil.js';
import { notUsable, openFailure, rawRun, settleOnce, watchOutcome, type ChannelExit, type ChannelRunContext, type RawRun } from './channel.js';

export interface StreamRun {
  /** The command's stdout (a readable stream). Consume it (pipe, or resume()): ssh2 closes the channel only once it has been read. */
  stdout: Readable;
  /** The command's stdin (end it when done). */
  stdin: Writable;
  /** The outcome; `stdout` in it is always empty. */
  done: Promise<RawRun>;
}

/** Open the channel and start the command; rejects when the channel cannot be opened. */
export function openStream(client: Client, ctx: ChannelRunContext, run: { wrapped: string; command: string; localMs: number }): Promise<StreamRun> {
  const started = Date.now();
  const stderr = new TailBuffer(64 * 1024);
  return new Promise<StreamRun>((resolveOpen, rejectOpen) => {
    const onOpen = (err: Error | undefined, ch: ClientChannel): void => {
      if (err) {
        rejectOpen(openFailure(ctx, err));
        return;
      }
      const done = new Promise<RawRun>((resolve) => {
        let exitOf: () => ChannelExit | undefined = () => undefined;
        const { finish } = settleOnce(
          ctx,
          run.localMs,
          `no end ${run.localMs} ms after starting (the remote deadline did not fire); channel closed: ${run.command}`,
          () => ch,
          (failure) => resolve(rawRun(exitOf(), null, stderr, started, failure)),
        );
        ch.stderr.on('data', (d: Buffer) => stderr.push(d));
        exitOf = watchOutcome(ch, ctx, run.command, finish);
      });
      resolveOpen({ stdout: ch, stdin: ch, done });
    };
    try {
      client.exec(run.wrapped, onOpen);
    } catch (e) {
      rejectOpen(notUsable(ctx, e));
    }
  });
}
