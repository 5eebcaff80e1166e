// One chain of the crash matrix on the lab: bring up a scenario's lab (the incident, or the incident
// recovered by reconfig: scenarios.ts), start a client writing a
// new znode 20 times a second, `zkroll apply` its plan, and at each kill point of the
// chain (in run order) SIGKILL zkroll and start `zkroll resume`; after the last point let the run
// finish (`resume` again after a failed end, at most RETRIES times, each counted against the
// point it followed); then check the end state from the servers themselves (the scenario's: 5
// servers, myids 2–6 on their hosts, one leader, 4 synced followers, the temporary server
// retired, the data tree under /lab as before, …), the same data on every server (`zkroll
// verify`), and every acknowledged write present.
// Points are found by watching what a user could watch: the run's state file (run.json), which
// client ports listen (`ss`), the seed copy's incoming directory and the split-window readers.
// Invariants: every kill is a real SIGKILL of the zkroll process at a point the watcher saw hold
// (a point the run went past unseen is reported as missed, never passed); nothing of zkroll's own
// output decides the end state.
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import {
  assertNoWriteLost,
  incidentRunState,
  labDown,
  labUp,
  readerRunning,
  run,
  seedCopyInFlight,
  spawnApply,
  startWriter,
  stateEnv,
  tree,
} from '../lab/helpers.js';
import type { Scenario } from './scenarios.js';
import type { KillPoint } from './points.js';

const pexec = promisify(execFile);

/** Writes per second of the chain's client. */
export const WRITER_HZ = 20;
/** `resume` after a failed end, at most this many times per point. */
const RETRIES = 2;
/** A point not reached within this long (ms) of its process's start is missed. */
const POINT_DEADLINE_MS = 300000;
const POLL_MS = 10;

export interface PointResult {
  point: string;
  what: string;
  /** seen and killed, or the run went past it unseen (missed). */
  outcome: 'killed' | 'missed';
  /** ms from the chain's apply to the kill. */
  atMs: number;
  /** Failed ends of `resume` after this point before the next point or the end (0 is a pass). */
  failedResumes: number;
  errors: string[];
}

export interface ChainResult {
  points: PointResult[];
  ok: boolean;
  /** End-state checks that did not hold. */
  endErrors: string[];
  acked: number;
  lost: number;
  /** Wall time of the chain (ms), lab up included. */
  ms: number;
  resumes: number;
}

/** The hosts of `HOSTS` (the scenario's) with a listening client port. */
async function listening(HOSTS: string[]): Promise<Set<string>> {
  const { stdout } = await pexec('ss', ['-Hltn', 'sport = :2181']);
  const up = new Set<string>();
  // Java binds IPv4 addresses as IPv4-mapped IPv6 ones: `[::ffff:127.0.10.6]:2181`
  for (const m of stdout.matchAll(/\s\[?(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)\]?:2181\s/g)) if (HOSTS.includes(m[1]!)) up.add(m[1]!);
  return up;
}

class Missed extends Error {}

/**
 * Wait until `p` holds for the run of `child` (state in `env`); throws Missed when the run
 * ends or goes past the point's step first.
 */
async function reach(p: KillPoint, child: ChildProcess, env: NodeJS.ProcessEnv, sc: Scenario): Promise<void> {
  const HOSTS = sc.hosts;
  const deadline = Date.now() + POINT_DEADLINE_MS;
  let baseline: Set<string> | null = null;
  const closedSeen = new Set<string>();
  let enteredAt = 0;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Missed(`zkroll ended (${child.exitCode ?? child.signalCode}) before ${p.name}`);
    if (Date.now() > deadline) throw new Missed(`${p.name} not reached within ${POINT_DEADLINE_MS} ms`);
    const st = incidentRunState(env, sc.cluster);
    if (st && st.value === 'running' && st.index === p.n - 1) {
      if (p.kind === 'start') return;
      if (enteredAt === 0) enteredAt = Date.now();
      if (p.kind === 'copy' && seedCopyInFlight(sc.cluster, sc.temporary)) return;
      if (p.kind === 'carry' && readerRunning()) return;
      if (p.kind === 'during' && Date.now() - enteredAt >= 150) return;
      if (p.kind === 'stop-start' || p.kind === 'gate') {
        const up = await listening(HOSTS);
        baseline ??= up;
        if (p.kind === 'stop-start' && [...baseline].some((h) => !up.has(h))) return;
        for (const h of HOSTS) if (!up.has(h)) closedSeen.add(h);
        if (p.kind === 'gate' && [...closedSeen].some((h) => up.has(h))) return;
      }
    } else if (st && (st.index > p.n - 1 || st.value === 'done')) {
      throw new Missed(`the run went past ${p.name} unseen (at step ${st.index + 1}, ${st.value})`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await exited(child);
}

/** Collect what a check throws instead of stopping at the first. */
async function check(errors: string[], what: string, f: () => Promise<unknown> | unknown): Promise<void> {
  try {
    await f();
  } catch (e) {
    errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Run one chain (points in run order) of the scenario's plan of `totalSteps` steps; `log` gets a line per event. */
export async function runChain(sc: Scenario, points: readonly KillPoint[], totalSteps: number, log: (line: string) => void): Promise<ChainResult> {
  const t0 = Date.now();
  const plan = sc.plan;
  labUp(plan, '--znodes', '300');
  try {
    const before = await tree(sc.oldConnect, '/lab');
    const env = stateEnv('crash');
    const writer = startWriter(sc.oldConnect, 1000 / WRITER_HZ);
    const applyAt = Date.now();
    let child = spawnApply(env, ['apply', plan, '--yes']);
    let resumes = 0;
    const results: PointResult[] = [];
    /** Resume after a failed end, at most RETRIES times; returns the failed ends seen. */
    const settle = async (r: PointResult | null): Promise<boolean> => {
      for (let attempt = 0; ; attempt++) {
        const code = await exited(child);
        if (code === 0) return true;
        if (r) {
          r.failedResumes++;
          r.errors.push(`zkroll exited ${code} after ${r.point}`);
        }
        if (attempt >= RETRIES) return false;
        log(`  zkroll exited ${code}: resume again`);
        child = spawnApply(env, ['resume', plan, '--yes']);
        resumes++;
      }
    };
    let last: PointResult | null = null;
    for (const p of points) {
      const r: PointResult = { point: p.name, what: p.what, outcome: 'killed', atMs: 0, failedResumes: 0, errors: [] };
      try {
        await reach(p, child, env, sc);
      } catch (e) {
        if (!(e instanceof Missed)) throw e;
        r.outcome = 'missed';
        r.errors.push(e.message);
        log(`  ${p.name}: missed (${e.message})`);
        results.push(r);
        if (child.exitCode !== null && child.exitCode !== 0 && !(await settle(last))) break;
        continue;
      }
      await kill(child);
      r.atMs = Date.now() - applyAt;
      log(`  killed ${r.atMs} ms in: ${p.what}`);
      results.push(r);
      last = r;
      child = spawnApply(env, ['resume', plan, '--yes']);
      resumes++;
    }
    const finished = await settle(last);
    const acked = await writer.stop();
    const endErrors: string[] = [];
    if (!finished) endErrors.push('the run did not finish');
    await check(endErrors, 'end state', () => sc.endState(before));
    let lost = 0;
    await check(endErrors, 'acknowledged writes', async () => {
      try {
        await assertNoWriteLost(sc.newConnect, acked);
      } catch (e) {
        lost = Number(/^(\d+) of/.exec(e instanceof Error ? e.message : '')?.[1] ?? -1);
        throw e;
      }
    });
    await check(endErrors, 'the same data on every server', () => {
      const v = run(env, ['verify', plan]);
      if (v.code !== 0) throw new Error(`zkroll verify exited ${v.code}: ${v.out}${v.err}`);
    });
    await check(endErrors, 'status', () => {
      const st = run(env, ['status', plan]);
      if (!/: done/.test(st.out) || !st.out.includes(`${totalSteps} of ${totalSteps} steps done`)) throw new Error(st.out);
    });
    const ok = endErrors.length === 0 && results.every((r) => r.outcome === 'killed' && r.failedResumes === 0);
    return { points: results, ok, endErrors, acked: acked.length, lost, ms: Date.now() - t0, resumes };
  } finally {
    labDown(plan);
  }
}
