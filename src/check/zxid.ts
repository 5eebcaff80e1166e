// zxid headroom (RUNBOOK.md §3): a zxid is epoch (high 32 bits) and counter (low 32 bits);
// when the counter nears 2^32 the leader forces an election. Pure arithmetic on BigInt zxids.
// Invariants: exact for every 64-bit zxid; a rate is only given from two reads of the same
// epoch with time between them.
export const COUNTER_LIMIT = 1n << 32n;

export interface Headroom {
  epoch: bigint;
  counter: bigint;
  /** Transactions left before the counter rolls over. */
  left: bigint;
  /** Fraction of the counter used, 0..1. */
  used: number;
  /** Writes per second between the two reads, when known. */
  ratePerSec: number | null;
  /** Seconds until rollover at that rate, when known and the rate is positive. */
  secondsLeft: number | null;
}

export function headroom(zxid: bigint, earlier?: { zxid: bigint; atMs: number }, nowMs?: number): Headroom {
  const epoch = zxid >> 32n;
  const counter = zxid & (COUNTER_LIMIT - 1n);
  const left = COUNTER_LIMIT - counter;
  let ratePerSec: number | null = null;
  if (earlier && nowMs !== undefined && nowMs > earlier.atMs && earlier.zxid >> 32n === epoch && zxid >= earlier.zxid) {
    ratePerSec = Number(zxid - earlier.zxid) / ((nowMs - earlier.atMs) / 1000);
  }
  return {
    epoch,
    counter,
    left,
    used: Number(counter) / Number(COUNTER_LIMIT),
    ratePerSec,
    secondsLeft: ratePerSec !== null && ratePerSec > 0 ? Number(left) / ratePerSec : null,
  };
}

export function humanDuration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}
