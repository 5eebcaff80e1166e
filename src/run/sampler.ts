// The state sampler of a run: while a run goes on, every server the plan's steps touch is asked
// for `srvr` over TCP about every 250 ms, and each CHANGE of its state is appended to
// `states.jsonl` in the run's state directory, one JSON line each (times in epoch ms):
//   {"t":1764547317204,"server":"127.0.10.6:2181","label":"127.0.10.6 · myid 6→2","state":"following"}
// States: leading, following, observing, standalone (srvr's mode), looking (the port answers
// without a mode: "not currently serving requests", a read-only server), down (no answer within
// the timeout), unknown (the probe failed otherwise, or the sampler stopped: nothing is known
// from then on). report.html draws them (src/report/html.ts).
// Invariants: the sampler only reads and never delays or fails the run: probes have short
// timeouts, every error becomes a state, a failed append is dropped; one probe per server in
// flight at a time; `stop()` returns at once and leaves no timer running (late answers are
// dropped); a resumed run appends to the same file.
import fs from 'node:fs';
import path from 'node:path';
import type { Compiled, NodeRef, StepTarget } from '../compile/types.js';
import { formatHostPort } from '../plan/host.js';
import { fourLetterWord, notWhitelisted, parseSrvr, readSrvr, type ServerMode } from '../zk/fourlw.js';

export type ServerState = 'down' | 'looking' | 'following' | 'leading' | 'observing' | 'standalone' | 'unknown';

/** One line of states.jsonl: `server` (host:port) entered `state` at `t` (epoch ms). */
export interface StateChange {
  t: number;
  server: string;
  label: string;
  state: ServerState;
}

/** A server to sample: its client address and how the report names it. */
export interface SampleTarget {
  /** host:port (IPv6 in brackets), the key of its lines. */
  server: string;
  host: string;
  port: number;
  label: string;
}

/** The state of the server at host:port, read within about `timeoutMs` (ms); may throw (→ unknown). */
export type StateProbe = (host: string, port: number, timeoutMs: number) => Promise<ServerState>;

export interface SamplerOptions {
  probe: StateProbe;
  /** The clock (epoch ms). */
  now: () => number;
  /** Where a change goes (states.jsonl); a throw is swallowed. */
  record: (c: StateChange) => void;
  /** Run `fn` after `ms`; returns its cancel. Default: an unref'd setTimeout. */
  schedule?: (fn: () => void, ms: number) => () => void;
  /** Time between two rounds of probes, ms (default 250). */
  intervalMs?: number;
  /** Each probe's timeout, ms (default 200). */
  timeoutMs?: number;
}

export interface Sampler {
  /** Stop sampling now: every server with a known state gets a last `unknown` line. */
  stop(): void;
}

const MODE_STATE: Record<ServerMode, ServerState> = {
  leader: 'leading',
  follower: 'following',
  observer: 'observing',
  standalone: 'standalone',
  'read-only': 'looking',
  unknown: 'looking',
};

/** A server's state from its srvr mode (a read-only or unparsed mode is not in a quorum: looking). */
export function stateOfMode(mode: ServerMode): ServerState {
  return MODE_STATE[mode];
}

const defaultSchedule = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/** Start sampling `targets`; the first round runs at once. */
export function startSampler(targets: SampleTarget[], o: SamplerOptions): Sampler {
  const schedule = o.schedule ?? defaultSchedule;
  const interval = o.intervalMs ?? 250;
  const timeout = o.timeoutMs ?? 200;
  const last = new Map<string, ServerState>();
  const busy = new Set<string>();
  let stopped = false;
  let cancel: () => void = () => undefined;
  const note = (t: SampleTarget, state: ServerState) => {
    if (stopped || last.get(t.server) === state) return;
    last.set(t.server, state);
    try {
      o.record({ t: o.now(), server: t.server, label: t.label, state });
    } catch {
      // a lost line only makes the picture coarser; the run goes on
    }
  };
  const probeOne = (t: SampleTarget) => {
    busy.add(t.server);
    let read: Promise<ServerState>;
    try {
      read = o.probe(t.host, t.port, timeout);
    } catch {
      read = Promise.resolve('unknown');
    }
    read
      .catch((): ServerState => 'unknown')
      .then((state) => {
        busy.delete(t.server);
        note(t, state);
      });
  };
  const round = () => {
    if (stopped) return;
    for (const t of targets) if (!busy.has(t.server)) probeOne(t);
    cancel = schedule(round, interval);
  };
  round();
  return {
    stop() {
      if (stopped) return;
      cancel();
      for (const t of targets) if (last.has(t.server) && last.get(t.server) !== 'unknown') note(t, 'unknown');
      stopped = true;
    },
  };
}

/**
 * The live probe: `srvr` over TCP (mode → state; an answer without one → looking; no answer →
 * down); where the whitelist refuses srvr, stat and the AdminServer (readSrvr) decide.
 */
export function liveStateProbe(adminPort: number | undefined): StateProbe {
  return async (host, port, timeoutMs) => {
    let text: string;
    try {
      text = await fourLetterWord(host, port, 'srvr', timeoutMs);
    } catch {
      return 'down';
    }
    const s = parseSrvr(text);
    if (s !== null) return stateOfMode(s.mode);
    if (!notWhitelisted(text)) return 'looking';
    const r = await readSrvr(host, port, timeoutMs, adminPort === undefined ? {} : { adminPort });
    return r.state === 'serving' ? stateOfMode(r.srvr.mode) : r.state === 'not-serving' ? 'looking' : 'unknown';
  };
}

/** Every server a step target names. */
function nodesOf(t: StepTarget): NodeRef[] {
  switch (t.kind) {
    case 'node':
      return [t.node];
    case 'slot':
    case 'ensemble':
      return t.members;
    case 'seed':
      return [...t.candidates, t.to];
    case 'split':
      return [...t.old, ...t.neu];
  }
}

/** "myid 6", "myid 6→2" (renumbered on its host), or "" when the host's myids say nothing clear. */
function myidLabel(refs: NodeRef[]): string {
  const ids = [...new Set(refs.map((r) => r.myid))];
  if (ids.length === 1) return `myid ${ids[0]}`;
  const moved = refs.find((r) => r.oldMyid !== undefined && r.oldMyid !== r.myid);
  if (ids.length === 2 && moved && ids.includes(moved.oldMyid!)) return `myid ${moved.oldMyid}→${moved.myid}`;
  return '';
}

/**
 * The servers to sample: every distinct host of the compiled steps at the plan's client port,
 * in order of first appearance, labelled by host (and myid when the host has a clear one).
 */
export function sampleTargets(c: Compiled): SampleTarget[] {
  const byHost = new Map<string, NodeRef[]>();
  for (const s of c.steps) for (const n of nodesOf(s.target)) byHost.set(n.host, [...(byHost.get(n.host) ?? []), n]);
  const port = c.settings.clientPort;
  return [...byHost].map(([host, refs]) => {
    const id = myidLabel(refs);
    return { server: formatHostPort(host, port), host, port, label: id ? `${host} · ${id}` : host };
  });
}

/** The states file of a run's state directory. */
export function statesFile(dir: string): string {
  return path.join(dir, 'states.jsonl');
}

/** Start the sampler of a run: the plan's servers, live probes, appended to <dir>/states.jsonl. */
export function startRunSampler(dir: string, c: Compiled): Sampler {
  const file = statesFile(dir);
  return startSampler(sampleTargets(c), {
    probe: liveStateProbe(c.settings.adminPort),
    now: Date.now,
    record: (ch) => fs.appendFileSync(file, JSON.stringify(ch) + '\n'),
  });
}

/** The changes in a states file (missing file: none; a line that does not parse is skipped). */
export function readStates(file: string): StateChange[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: StateChange[] = [];
  for (const line of text.split('\n')) {
    try {
      const c = JSON.parse(line) as StateChange;
      if (typeof c.t === 'number' && typeof c.server === 'string' && typeof c.state === 'string') out.push(c);
    } catch {
      // a torn last line (the run was killed mid-write)
    }
  }
  return out;
}
