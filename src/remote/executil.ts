// Building blocks for remote exec: command wrapping with a remote-side
// deadline, bounded output capture, and a FIFO channel limiter.
//
// Invariants:
//  - wrapCommand always yields `[sudo -n ]timeout -k 5 <secs> sh -c '<cmd>'`
//    with <cmd> quoted by shq, so the remote shell sees exactly <cmd>.
//    sudo goes outside `timeout` so that timeout (running as root) can kill
//    the root-owned command tree.
//  - TailBuffer never holds more than its cap (plus one chunk while
//    appending) and keeps the most recent bytes.
//  - ChannelLimiter grants at most `max` slots; waiters are served in FIFO
//    order; fail() rejects every waiter and all later acquire() calls.

import { shq } from './quote.js';

/** Seconds after SIGTERM before `timeout -k` sends SIGKILL. */
export const KILL_AFTER_SECS = 5;
/** Exit codes of GNU/busybox `timeout` when the deadline fired (TERM / KILL). */
export const TIMEOUT_EXIT_CODES: readonly number[] = [124, 137];

export function remoteTimeoutSecs(timeoutMs: number): number {
  return Math.max(1, Math.ceil(timeoutMs / 1000));
}

export function wrapCommand(cmd: string, timeoutMs: number, sudo: boolean): string {
  const core = `timeout -k ${KILL_AFTER_SECS} ${remoteTimeoutSecs(timeoutMs)} sh -c ${shq(cmd)}`;
  return sudo ? `sudo -n ${core}` : core;
}

export const OUTPUT_CAP_BYTES = 64 * 1024;

/** Keeps the last `cap` bytes written to it. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly cap: number = OUTPUT_CAP_BYTES) {}

  push(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.cap && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.cap;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
      this.truncated = true;
    }
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }

  toString(): string {
    let s = this.toBuffer().toString('utf8');
    // A cut in the middle of a multi-byte character decodes as U+FFFD.
    if (this.truncated) s = s.replace(/^\uFFFD+/, '');
    return s;
  }
}

/** Output bytes as text; a tail cut in the middle of a multi-byte character loses that character. */
export function decodeOutput(b: Buffer, truncated: boolean): string {
  const s = b.toString('utf8');
  return truncated ? s.replace(/^\uFFFD+/, '') : s;
}

/** Last `max` characters of s (for audit records). */
export function tail(s: string, max = 4096): string {
  return s.length <= max ? s : s.slice(s.length - max);
}

/** FIFO semaphore bounding concurrent SSH channels on one connection. */
export class ChannelLimiter {
  private active = 0;
  private readonly waiters: { grant: () => void; reject: (e: Error) => void }[] = [];
  private failure: Error | null = null;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`ChannelLimiter: max must be a positive integer, got ${max}`);
  }

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves with a release function once a slot is free. */
  acquire(): Promise<() => void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        this.active++;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.active--;
          this.next();
        });
      };
      if (this.active < this.max && this.waiters.length === 0) grant();
      else this.waiters.push({ grant, reject });
    });
  }

  /** Reject all current and future waiters (connection is gone). */
  fail(err: Error): void {
    this.failure = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  private next(): void {
    if (this.failure !== null) return;
    while (this.active < this.max) {
      const w = this.waiters.shift();
      if (w === undefined) return;
      w.grant();
    }
  }
}
