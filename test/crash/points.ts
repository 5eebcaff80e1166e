// The crash matrix's kill points, derived from the compiled incident plan (not listed by hand, so
// a step added to the procedure is a new point): every step boundary, and points inside each kind
// of step that acts over time — during the seed copy, during the split-window carry-over, between
// a restart's stop and its start, and during a start's or a restart's gate (the server's JVM is
// listening, the gate still waits for it to serve), and 150 ms into a reconfig and the final check.
// Invariants: pure (no I/O, no clock); a point's name is stable (`13`, `13:copy`, `30:stop-start`)
// so a failure can be replayed by name; points sort in the order a run meets them.
import type { Step } from '../../src/compile/index.js';

/** Where inside a step a point kills: `start` is the boundary (the step has just begun). */
export type PointKind = 'start' | 'copy' | 'carry' | 'stop-start' | 'gate' | 'during';

export interface KillPoint {
  /** 1-based step number. */
  n: number;
  kind: PointKind;
  /** `13` for a boundary, `13:copy` for a point inside step 13. */
  name: string;
  /** What the point is, for the report. */
  what: string;
}

const ORDER: Record<PointKind, number> = { start: 0, copy: 1, carry: 1, 'stop-start': 1, gate: 2, during: 1 };

/** The kinds of points inside a step of this action. */
function inside(action: string): PointKind[] {
  if (action === 'copy-seed-data') return ['copy'];
  if (action === 'split-window') return ['carry'];
  if (action === 'restart') return ['stop-start', 'gate'];
  if (action === 'start') return ['gate'];
  // a reconfig commits within tens of ms, then reads it back on every member: 150 ms in lands
  // there (or just after the send); the step boundary lands before it
  if (action === 'final-check' || action === 'reconfig') return ['during'];
  return [];
}

const WHAT: Record<PointKind, string> = {
  start: 'at the step boundary',
  copy: 'during the seed copy',
  carry: 'during the split-window carry-over',
  'stop-start': 'between the stop and the start',
  gate: 'during the gate',
  during: '150 ms in',
};

/** Every kill point of the steps, in run order. */
export function killPoints(steps: readonly Step[]): KillPoint[] {
  const out: KillPoint[] = [];
  for (const s of steps) {
    for (const kind of ['start' as const, ...inside(s.action)]) {
      out.push({ n: s.n, kind, name: kind === 'start' ? String(s.n) : `${s.n}:${kind}`, what: `step ${s.n} (${s.title}) ${WHAT[kind]}` });
    }
  }
  return sortPoints(out);
}

export function sortPoints(points: KillPoint[]): KillPoint[] {
  return [...points].sort((a, b) => a.n - b.n || ORDER[a.kind] - ORDER[b.kind]);
}

/** Split the points into `runs` chains, each spread over the whole procedure (point k → run k mod runs). */
export function chains(points: readonly KillPoint[], runs: number): KillPoint[][] {
  const out: KillPoint[][] = Array.from({ length: Math.max(1, runs) }, () => []);
  points.forEach((p, k) => out[k % out.length]!.push(p));
  return out.filter((c) => c.length > 0);
}

/** A small deterministic PRNG (mulberry32): the same seed picks the same points. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct points picked by `seed`, in run order. */
export function sample(points: readonly KillPoint[], count: number, seed: number): KillPoint[] {
  const rnd = prng(seed);
  const pool = [...points];
  const picked: KillPoint[] = [];
  while (picked.length < count && pool.length > 0) picked.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0]!);
  return sortPoints(picked);
}

/** The points named (e.g. `13`, `30:gate`); throws on a name that is not a point. */
export function byName(points: readonly KillPoint[], names: readonly string[]): KillPoint[] {
  return sortPoints(
    names.map((name) => {
      const p = points.find((x) => x.name === name);
      if (!p) throw new Error(`no kill point ${name} (points are step numbers, or n:copy, n:carry, n:stop-start, n:gate)`);
      return p;
    }),
  );
}
