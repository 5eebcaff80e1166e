// Durations in plan files: "200ms", "60s", "2m", "1h" or an integer number of milliseconds.
//
// Invariants:
// - The parsed value is always an integer number of milliseconds, 1 .. the schema's maximum
//   (24h unless a field says otherwise, which keeps every value a valid setTimeout delay).
// - Only whole numbers with one unit are accepted ("1.5s", "1m30s", "10 s" are rejected).
import { z } from 'zod';

const DURATION_RE = /^(\d+)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const MAX_DURATION_MS = 24 * 3_600_000;

/** "200ms" | "60s" | "2m" | "1h" | integer milliseconds -> milliseconds (undefined if invalid). */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  const m = DURATION_RE.exec(v);
  const unit = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
  return m?.[1] === undefined || unit === undefined ? undefined : Number(m[1]) * unit;
}

const DUR = 'expected a duration like "200ms", "60s", "2m", "1h" or a number of milliseconds';

/** A duration field: input string|integer, output milliseconds in 1..maxMs (maxText names maxMs). */
export function durationSchema(maxMs = MAX_DURATION_MS, maxText = '24h') {
  return z
    .union([z.int({ error: DUR }).min(0, { error: DUR }), z.string({ error: DUR }).regex(DURATION_RE, { error: DUR })], {
      error: DUR,
    })
    .transform((v) => parseDuration(v) ?? 0)
    .refine((ms) => ms > 0, { error: 'expected a duration greater than zero' })
    .refine((ms) => ms <= maxMs, { error: `expected a duration of at most ${maxText}` });
}
