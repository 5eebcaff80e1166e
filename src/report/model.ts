// The run's picture as data: from report.json (the steps), states.jsonl (each server's state
// changes, src/run/sampler.ts) and the outcome logs of the clients measured (the lab's writer.jsonl,
// src/lab/writer.ts, and its Java clients' logs in the same format, java/ZkrollLabClient.java)
// to what report.html draws: a time window, step lanes, server lanes, elections, and per client
// its outages and errors. Pure: no clock (the caller passes `now`), no I/O.
// Invariants: times are epoch ms; every interval lies inside the window [t0, t1] (clipped);
// inputs in any order and with odd lines give a picture, never a throw; client lanes keep the
// order they were given in.
import type { ServerState, StateChange } from '../run/sampler.js';

/** A step as report.json has it (src/run/driver.ts writeReport). */
export interface ReportStep {
  n: number;
  id: string;
  title: string;
  status: string;
  attempts: number;
  election: { from: number | null; to: number | null; ms: number } | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  resolved: number | null;
  notes: string[];
}

/** report.json (the fields the picture uses). */
export interface ReportJson {
  runId: string;
  startedAt: string;
  state: string;
  failure: { index: number; message: string } | null;
  steps: ReportStep[];
}

/** One line of a client's outcome log (src/lab/writer.ts, java/ZkrollLabClient.java). */
export interface ClientEvent {
  t: number;
  /** start, ok, error, heartbeat or stop. */
  event: string;
  /** error: the error that began an outage. */
  error?: string;
  /** Writes acknowledged since the client started. */
  acked?: number;
  /** Reads answered since the client started (clients that read: the Java clients). */
  reads?: number;
  /** ok after an outage: operations that failed in it. */
  failed?: number;
  /** ok after an outage: its last error. */
  lastError?: string;
  /** error: the operation that failed (the Java clients: write or read). */
  op?: string;
  /** heartbeat: ok, error or none. */
  state?: string;
  /** start: the servers, the znode, operations a second. */
  connect?: string;
  path?: string;
  hz?: number;
  /** start: the release the client was built from and its library's own version (the Java clients). */
  release?: string;
  version?: string;
}

/** A client log's events: one JSON object a line; lines that are not an event (torn, garbage) are skipped. */
export function parseClientLog(text: string): ClientEvent[] {
  return text.split('\n').flatMap((l) => {
    if (l.trim() === '') return [];
    try {
      const e = JSON.parse(l) as ClientEvent | null;
      return e !== null && typeof e === 'object' && typeof e.t === 'number' && typeof e.event === 'string' ? [e] : [];
    } catch {
      return [];
    }
  });
}

/** What the renderer is given. */
export interface ReportInput {
  report: ReportJson;
  /** The cluster's name (the title). */
  cluster: string;
  states: StateChange[];
  /** The outcome logs of the clients measured (the lab's writer and Java clients), one lane each. */
  clients?: { name: string; events: ClientEvent[] }[];
  /** The clock (epoch ms): where running steps end. */
  now: number;
}

export interface Interval {
  from: number;
  to: number;
}

export interface StepBar extends Interval {
  step: ReportStep;
}

export interface StepLane {
  group: string;
  /** Steps of the group that started (pending ones draw nothing). */
  bars: StepBar[];
  /** Steps in the group, started or not. */
  total: number;
}

export interface StateSegment extends Interval {
  state: ServerState;
}

export interface ServerLane {
  server: string;
  label: string;
  segments: StateSegment[];
}

export interface ElectionMark extends Interval {
  step: ReportStep;
  /** Where it was placed: the sampled moment no server led, or the step's start. */
  at: 'sampled' | 'step';
}

export interface ClientOutage extends Interval {
  /** The error that began it. */
  error: string;
  /** Its last error (the ok that ended it says), null when the log does not say or it is still open. */
  lastError: string | null;
  /** Operations that failed in it (the ok that ended it says; at least 1). */
  failed: number;
}

/** An error and the start of the outage it belongs to (ms). */
export interface ClientError {
  at: number;
  error: string;
}

export interface ClientLane {
  name: string;
  /** The client library's version, when its log says (the Java clients' start event). */
  version: string | null;
  /** When the client's log says it was running (within the window). */
  observed: Interval | null;
  outages: ClientOutage[];
  /** The outages' errors: failed operations in all, the first and the last error. */
  errors: { count: number; first: ClientError | null; last: ClientError | null };
  /** Writes the client had acknowledged by the end of the window (its own count), if known. */
  acked: number | null;
  /** Reads it had been answered by the end of the window, if it reads and says. */
  reads: number | null;
}

export interface Timeline extends Interval {
  /** Pauses where no step ran for more than BREAK_MS (a resume hours later): drawn narrow. */
  breaks: Interval[];
  steps: StepLane[];
  servers: ServerLane[];
  /** Sampled intervals without any leading server. */
  leaderless: Interval[];
  elections: ElectionMark[];
  /** One lane per client, in the order given. */
  clients: ClientLane[];
}

const ms = (iso: string | null): number | null => {
  const t = iso === null ? NaN : Date.parse(iso);
  return Number.isFinite(t) ? t : null;
};

/** The group of a step id: "grow-4/restart-3" → "grow-4". */
export function stepGroup(id: string): string {
  const i = id.indexOf('/');
  return i < 0 ? id : id.slice(0, i);
}

/** The window: from the run's start to its last known moment (running steps: `now`). */
function window(input: ReportInput): Interval {
  const starts = input.report.steps.map((s) => ms(s.startedAt)).filter((t): t is number => t !== null);
  const ends = input.report.steps.map((s) => (s.status === 'running' ? input.now : ms(s.endedAt))).filter((t): t is number => t !== null);
  const from = Math.min(ms(input.report.startedAt) ?? Infinity, ...starts, ...(input.states[0] ? [input.states[0].t] : []));
  const t0 = Number.isFinite(from) ? from : input.now;
  const t1 = Math.max(t0 + 1000, ...ends, ...input.states.map((c) => c.t));
  return { from: t0, to: t1 };
}

function stepLanes(report: ReportJson, w: Interval, now: number): StepLane[] {
  const lanes = new Map<string, StepLane>();
  for (const step of report.steps) {
    const group = stepGroup(step.id);
    const lane = lanes.get(group) ?? { group, bars: [], total: 0 };
    lanes.set(group, lane);
    lane.total++;
    const from = ms(step.startedAt);
    if (from === null) continue;
    const to = step.status === 'running' ? now : (ms(step.endedAt) ?? from);
    lane.bars.push({ step, from: Math.max(w.from, from), to: Math.min(w.to, Math.max(from, to)) });
  }
  return [...lanes.values()];
}

const byLabel = new Intl.Collator('en', { numeric: true });

function serverLanes(states: StateChange[], w: Interval): ServerLane[] {
  const lanes = new Map<string, ServerLane>();
  for (const c of states) {
    const lane = lanes.get(c.server) ?? { server: c.server, label: c.label || c.server, segments: [] };
    lanes.set(c.server, lane);
    lane.label = c.label || lane.label;
    const prev = lane.segments[lane.segments.length - 1];
    if (prev) prev.to = c.t;
    lane.segments.push({ state: c.state, from: c.t, to: w.to });
  }
  for (const lane of lanes.values())
    lane.segments = lane.segments
      .map((s) => ({ ...s, from: Math.max(w.from, s.from), to: Math.min(w.to, s.to) }))
      .filter((s) => s.to > s.from && s.state !== 'unknown');
  return [...lanes.values()].sort((a, b) => byLabel.compare(a.label, b.label));
}

const LEADS: ReadonlySet<ServerState> = new Set(['leading', 'standalone']);

/**
 * Shorter leaderless moments (ms) are the order in which one round's answers arrived (a few ms
 * apart), not a server losing its leader: a real one lasts about a sampling round (250 ms).
 */
const MIN_LEADERLESS_MS = 50;

/** Intervals where some server was sampled and none led (at least MIN_LEADERLESS_MS long). */
function leaderless(states: StateChange[], w: Interval): Interval[] {
  const now = new Map<string, ServerState>();
  const out: Interval[] = [];
  let open: number | null = null;
  for (let i = 0; i < states.length; i++) {
    const c = states[i]!;
    now.set(c.server, c.state);
    if (states[i + 1]?.t === c.t) continue;
    const known = [...now.values()].some((s) => s !== 'unknown');
    const led = [...now.values()].some((s) => LEADS.has(s));
    if (known && !led && open === null) open = c.t;
    if ((led || !known) && open !== null) {
      out.push({ from: open, to: c.t });
      open = null;
    }
  }
  if (open !== null) out.push({ from: open, to: w.to });
  return out.map((i) => ({ from: Math.max(w.from, i.from), to: Math.min(w.to, i.to) })).filter((i) => i.to - i.from >= MIN_LEADERLESS_MS);
}

/** Each measured election, at the sampled leaderless moment within its step (else the step's start), as wide as measured. */
function elections(report: ReportJson, gaps: Interval[], w: Interval): ElectionMark[] {
  const out: ElectionMark[] = [];
  for (const step of report.steps) {
    const from = ms(step.startedAt);
    if (!step.election || from === null) continue;
    const to = ms(step.endedAt) ?? w.to;
    const gap = gaps.find((g) => g.to >= from && g.from <= to);
    const at = gap ? Math.max(gap.from, from) : from;
    out.push({ step, at: gap ? 'sampled' : 'step', from: at, to: Math.min(w.to, at + step.election.ms) });
  }
  return out;
}

/**
 * A client's lane: when it ran, its outages (error → next ok, or stop, or the window's end) with
 * their first and last errors and failed operations, clipped to the window.
 */
export function clientLane(name: string, events: ClientEvent[], w: Interval): ClientLane {
  const sorted = events.filter((e) => typeof e.t === 'number').sort((a, b) => a.t - b.t);
  const outages: ClientOutage[] = [];
  let open: { from: number; error: string } | null = null;
  let acked: number | null = null;
  let reads: number | null = null;
  let stopAt: number | null = null;
  for (const e of sorted) {
    if (e.t <= w.to && typeof e.acked === 'number') acked = e.acked;
    if (e.t <= w.to && typeof e.reads === 'number') reads = e.reads;
    if (e.event === 'error' && open === null) open = { from: e.t, error: e.error ?? 'error' };
    if ((e.event === 'ok' || e.event === 'stop') && open !== null) {
      const ended = e.event === 'ok';
      const failed = ended && typeof e.failed === 'number' && e.failed >= 1 ? e.failed : 1;
      outages.push({ ...open, to: e.t, lastError: ended && typeof e.lastError === 'string' ? e.lastError : null, failed });
      open = null;
    }
    if (e.event === 'stop') stopAt = e.t;
  }
  if (open !== null) outages.push({ ...open, to: w.to, lastError: null, failed: 1 });
  const first = sorted[0]?.t;
  const observed = first === undefined ? null : { from: Math.max(w.from, first), to: Math.min(w.to, stopAt ?? w.to) };
  const clipped = outages.map((o) => ({ ...o, from: Math.max(w.from, o.from), to: Math.min(w.to, o.to) })).filter((o) => o.to > o.from);
  const head = clipped[0];
  const tail = clipped[clipped.length - 1];
  const version = sorted.find((e) => e.event === 'start' && typeof e.version === 'string')?.version ?? null;
  return {
    name,
    version,
    observed: observed && observed.to > observed.from ? observed : null,
    outages: clipped,
    errors: {
      count: clipped.reduce((a, o) => a + o.failed, 0),
      first: head ? { at: head.from, error: head.error } : null,
      last: tail ? { at: tail.from, error: tail.lastError ?? tail.error } : null,
    },
    acked,
    reads,
  };
}

/** A pause longer than this (ms) where no step ran is drawn narrow. */
export const BREAK_MS = 120_000;

/** The pauses between steps (and after the last one) longer than BREAK_MS. */
function breaks(lanes: StepLane[], w: Interval): Interval[] {
  const bars = lanes.flatMap((l) => l.bars).sort((a, b) => a.from - b.from);
  const out: Interval[] = [];
  let end = bars[0]?.from ?? w.from;
  for (const b of [...bars, { from: w.to, to: w.to }]) {
    if (b.from - end > BREAK_MS) out.push({ from: end, to: b.from });
    end = Math.max(end, b.to);
  }
  return out;
}

/** Everything report.html draws. */
export function timeline(input: ReportInput): Timeline {
  const states = [...input.states].sort((a, b) => a.t - b.t);
  const w = window({ ...input, states });
  const gaps = leaderless(states, w);
  const steps = stepLanes(input.report, w, input.now);
  return {
    ...w,
    breaks: breaks(steps, w),
    steps,
    servers: serverLanes(states, w),
    leaderless: gaps,
    elections: elections(input.report, gaps, w),
    clients: (input.clients ?? []).map((c) => clientLane(c.name, c.events, w)),
  };
}
