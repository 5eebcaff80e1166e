// The run driver: one run of a compiled plan through the run machine, shaped like xstate's
// durable-actor examples: take the cluster's lock (here and on its hosts), create the actor (or
// restore it from run.json, or from the hosts' newer copy on a take-over), persist every
// snapshot (run.json here and on every host, src/run/hoststate.ts) and the report (report.json,
// and its picture report.html with the servers' states the sampler records in states.jsonl
// while the run goes on) after every transition, answer the machine's questions through the
// injected UI, and end with how the run ended. The CLI only loads, compiles, wires the terminal
// and maps the end to an exit code.
// Invariants: one run per cluster (lock here and on the hosts, released on every path); nothing
// changes before the preflight holds (hosts reached with strict host-key checking; for a new
// run, the cluster matches the plan) and no other zkroll holds the run on the hosts; before
// each step the hosts' lock is confirmed to be this run's (taken over: the run stops, nothing
// more runs); resuming with an edited plan is refused with the differences named; every remote
// command is audited (audit.jsonl); a failed unattended run stops and `resume` goes on.
import fs from 'node:fs';
import path from 'node:path';
import { createActor, fromPromise, type Snapshot } from 'xstate';
import type { Compiled, Step } from '../compile/types.js';
import { preflight } from '../check/preflight.js';
import { errorText, Interrupted, type RunEnv } from '../exec/env.js';
import { liveProbes } from '../exec/probes.js';
import { executeStep } from '../exec/run-step.js';
import { runMachine, type RunContext, type RunInput, type RunOutput, type StepMeta } from '../machine/run-machine.js';
import {
  archiveRun,
  FORMAT,
  LockHeld,
  planDiff,
  planHash,
  readRun,
  runIdNow,
  stateDir,
  takeLock,
  writeAtomic,
  writeRun,
  type RunFile,
} from '../machine/store.js';
import { resolveLocalPath, sshTargets } from '../plan/helpers.js';
import type { ReportJson } from '../report/model.js';
import { archiveReportFiles, reportHtmlWriter } from '../report/write.js';
import { startRunSampler } from './sampler.js';
import { describeLock } from './hostdecide.js';
import { startOnHosts, me, type HostStart } from './hoststart.js';
import { HostSync, newToken, TakenOver, type HostRef } from './hoststate.js';
import type { Plan } from '../plan/schema.js';
import { SshPool, type SshHost } from '../remote/ssh.js';
import type { Progress } from '../ui/progress.js';

/** A run cannot start; `badInput`: the plan or the command line is at fault (exit 2). */
export class RunRefused extends Error {
  constructor(
    message: string,
    readonly badInput = false,
  ) {
    super(message);
  }
}

/** How a run ended: done, aborted by the operator, stopped on a failure, or stopped by Ctrl-C. */
export type RunEnd = 'done' | 'aborted' | 'failed' | 'interrupted';

/** What the driver needs of the terminal. */
export interface RunUi {
  out(line: string): void;
  progress: Progress;
  /** Guided mode: ask a question, one of `choices` (end of input gives `onEnd`); null when unattended. */
  ask: (<T extends string>(question: string, choices: readonly T[], onEnd: T) => Promise<T>) | null;
  /** The step as `zkroll plan` shows it (shown before it is confirmed). */
  render(step: Step): string;
  /** The health table of the plan's hosts (after the run and on failures). */
  health(): Promise<string>;
  /** A warning that does not stop the run (stderr). */
  warn(line: string): void;
}

export interface RunRequest {
  plan: Plan;
  planFile: string;
  compiled: Compiled;
  resume: boolean;
  /** Resume: take the run over from another machine's zkroll (its lock and the hosts' newer copy). */
  takeOver?: boolean;
  /** Ctrl-C was pressed: stop after the remote command in flight. */
  stopRequested: () => boolean;
}

function stepMeta(c: Compiled): StepMeta[] {
  return c.steps.map((s) => ({ id: s.id, title: s.title, confirm: s.confirm ?? null, round: s.target.kind === 'slot' ? s.target.round : s.phase }));
}

/** Write report.json; returns what it wrote. */
function writeReport(dir: string, run: RunFile, c: Compiled, value: string, ctx: RunContext): ReportJson {
  const iso = (t: number | null) => (t ? new Date(t).toISOString() : null);
  const steps = c.steps.map((s, i) => {
    const r = ctx.records[i]!;
    return {
      n: s.n,
      id: s.id,
      title: s.title,
      status: r.status,
      attempts: r.attempts,
      election: r.election ?? null,
      startedAt: iso(r.startedAt),
      endedAt: iso(r.endedAt),
      durationMs: r.startedAt && r.endedAt ? r.endedAt - r.startedAt : null,
      resolved: r.resolved,
      notes: r.notes,
    };
  });
  const report = { runId: run.runId, startedAt: run.startedAt, state: value, seed: ctx.seed, slotOrders: ctx.slotOrders, failure: ctx.failure, steps };
  writeAtomic(path.join(dir, 'report.json'), JSON.stringify(report, null, 2));
  return report;
}

/** Refuses a run file this zkroll cannot read or that was started from another plan. */
function checkResumable(existing: RunFile, req: RunRequest, where: string): void {
  if (existing.format !== FORMAT) throw new RunRefused(`${where} has format ${existing.format}; this zkroll reads format ${FORMAT}`);
  if (existing.planHash !== planHash(req.plan)) {
    const diff = planDiff(existing.plan, JSON.parse(JSON.stringify(req.plan)));
    throw new RunRefused(
      `${req.planFile} changed since run ${existing.runId} started; resuming with an edited plan is refused. Differences:\n${diff.map((d) => `  - ${d}`).join('\n')}`,
      true,
    );
  }
}

/** The run file to continue (resume) or null for a new run; refuses what cannot go on. */
function existingRun(dir: string, req: RunRequest, out: (l: string) => void): RunFile | null {
  const { plan, planFile: file } = req;
  const existing = readRun(dir);
  if (req.resume) {
    if (!existing) throw new RunRefused(`no run to resume for ${plan.cluster.name} (${dir}); start one with zkroll apply ${file}`);
    checkResumable(existing, req, `${dir}/run.json`);
    return existing;
  }
  if (!existing) return null;
  const value = (existing.snapshot as { value?: string }).value;
  if (value !== 'done' && value !== 'aborted')
    throw new RunRefused(`run ${existing.runId} of ${plan.cluster.name} is not finished (${value}); continue it with: zkroll resume ${file}`);
  const to = archiveRun(dir, existing.runId);
  archiveReportFiles(dir, to);
  out(`previous run ${existing.runId} (${value}) kept in ${to}`);
  return null;
}

function takeLocalLock(dir: string): () => void {
  try {
    return takeLock(dir);
  } catch (e) {
    if (e instanceof LockHeld) throw new RunRefused(e.message);
    throw e;
  }
}

/** Run (or resume) the plan; resolves with how it ended. Throws RunRefused before any change. */
export async function runPlan(req: RunRequest, ui: RunUi): Promise<RunEnd> {
  const dir = stateDir(req.planFile, req.plan.cluster.name);
  const release = takeLocalLock(dir);
  const pool = new SshPool();
  // the hosts are read before the audit file is opened (an older run's may be archived first)
  const early: string[] = [];
  let audit: number | null = null;
  pool.onCommand = (rec) => {
    const line = JSON.stringify({ ts: new Date().toISOString(), ...rec }) + '\n';
    if (audit === null) early.push(line);
    else fs.writeSync(audit, line);
  };
  try {
    const refs = hostRefs(req, pool);
    const mode = !req.resume ? 'apply' : req.takeOver ? 'take-over' : 'resume';
    const start = await startOnHosts({
      mode,
      dir,
      refs,
      cluster: req.plan.cluster.name,
      planFile: req.planFile,
      checkResumable: (r) => checkResumable(r, req, "the hosts' copy of the run"),
      refuse: (m) => new RunRefused(m),
      out: ui.out,
    });
    const existing = existingRun(dir, req, ui.out);
    audit = fs.openSync(path.join(dir, 'audit.jsonl'), 'a');
    for (const line of early.splice(0)) fs.writeSync(audit, line);
    await preflight(req.plan, req.planFile, pool, existing === null, ui.warn);
    const run: RunFile = existing ?? {
      format: FORMAT,
      planHash: planHash(req.plan),
      plan: JSON.parse(JSON.stringify(req.plan)),
      runId: runIdNow(),
      startedAt: new Date().toISOString(),
      snapshot: null,
    };
    const sync = await holdOnHosts(req, dir, run, refs, start, ui);
    ui.out(`${existing ? 'resuming' : 'starting'} run ${run.runId} of ${req.plan.cluster.name}: ${req.compiled.steps.length} steps (state in ${dir})`);
    return await drive(req, ui, dir, run, existing !== null, hostsOf(req, pool), sync, start.seq, pool.onCommand);
  } finally {
    await pool.closeAll();
    if (audit !== null) fs.closeSync(audit);
    release();
  }
}

/** Take the run's lock on its hosts (after the preflight: refusals before it change nothing). */
async function holdOnHosts(req: RunRequest, dir: string, run: RunFile, refs: HostRef[], start: HostStart, ui: RunUi): Promise<HostSync> {
  const from = start.tookFrom;
  const sync = new HostSync({
    refs,
    copies: start.copies,
    cluster: req.plan.cluster.name,
    owner: { ...me(dir), token: newToken() },
    runId: run.runId,
    startSeq: start.seq,
    accept: start.accept,
    tookFrom: from ? { machine: from.lock.owner.machine, pid: from.lock.owner.pid, stateDir: from.lock.owner.stateDir, heartbeat: from.lock.heartbeat } : null,
    warn: ui.warn,
  });
  try {
    await sync.acquire();
  } catch (e) {
    // another zkroll won some host: the locks this start took elsewhere are let go
    await sync.abandon();
    throw new RunRefused(`${errorText(e)}; nothing was changed (the locks this start had taken are released)`);
  }
  if (from) ui.out(`took over the lock of ${describeLock(from)}`);
  if (start.fetched) ui.out(`continuing from the hosts' copy ${start.fetched.seq ?? 0} of run ${start.fetched.runId}`);
  return sync;
}

/** The plan's hosts as the host state reads and writes them (through the run's pool). */
function hostRefs(req: RunRequest, pool: SshPool): HostRef[] {
  return sshTargets(req.plan, req.planFile).map((t) => ({ label: t.label, get: () => pool.get(t) }));
}

/** The plan's hosts by label, through the pool (one connection each). */
function hostsOf(req: RunRequest, pool: SshPool): (host: string) => Promise<SshHost> {
  const targets = new Map(sshTargets(req.plan, req.planFile).map((t) => [t.host, t]));
  return (h) => {
    const t = targets.get(h);
    if (!t) return Promise.reject(new RunRefused(`no host ${h} in the plan`));
    return pool.get(t);
  };
}

/** The step runner: confirm the hosts' lock is still this run's, then execute the step. */
function stepRunner(req: RunRequest, ui: RunUi, env: RunEnv, sync: HostSync) {
  const { compiled } = req;
  const total = compiled.steps.length;
  return fromPromise<RunOutput, RunInput>(async ({ input }) => {
    const step = compiled.steps[input.index]!;
    const label = `${step.n}/${total} ${step.title}`;
    try {
      await sync.fence();
    } catch (e) {
      if (e instanceof TakenOver) throw new Interrupted(e.message);
      throw e;
    }
    ui.progress.start(label);
    const t0 = Date.now();
    try {
      const res = await executeStep(step, env, {
        slotOrders: { ...input.slotOrders },
        canarySeq: input.canarySeq,
        ...(input.seedZxid ? { seedZxid: input.seedZxid } : {}),
      });
      ui.progress.succeed(`${label}${res.resolved !== undefined ? ` → server ${res.resolved}` : ''} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
      return res;
    } catch (e) {
      ui.progress.fail(`${label}: ${errorText(e)}`);
      throw e;
    }
  });
}

async function drive(
  req: RunRequest,
  ui: RunUi,
  dir: string,
  run: RunFile,
  resumed: boolean,
  hosts: (h: string) => Promise<SshHost>,
  sync: HostSync,
  startSeq: number,
  audit?: RunEnv['audit'],
): Promise<RunEnd> {
  const { compiled } = req;
  const env: RunEnv = {
    settings: compiled.settings,
    planFile: req.planFile,
    runId: run.runId,
    hosts,
    probes: liveProbes(hosts, compiled.settings.gateDeadlineMs, compiled.settings.adminPort),
    readSecret: (file) => readSecretFile(resolveLocalPath(req.planFile, file), ui.warn),
    ...(audit ? { audit } : {}),
    // Ctrl-C, or the run was taken over: stop after the remote command in flight
    stopRequested: () => req.stopRequested() || sync.takenOver !== null,
    progress: (l) => ui.progress.update(l),
  };
  const machine = runMachine.provide({ actors: { runStep: stepRunner(req, ui, env, sync) } });
  const input = { steps: stepMeta(compiled), guided: ui.ask !== null };
  const html = reportHtmlWriter(dir, compiled.cluster, ui.warn);
  const sampler = startRunSampler(dir, compiled);
  const actor = resumed ? createActor(machine, { snapshot: run.snapshot as Snapshot<unknown>, input }) : createActor(machine, { input });
  try {
    return await new Promise<RunEnd>((resolve) => {
      let busy = false;
      let again = false;
      let ready = false;
      let seq = startSeq;
      let ended = false;
      // taken over: end now, unless a step is running (it stops after its command in flight)
      const takenOver = (): void => {
        if (ended || actor.getSnapshot().value === 'running') return;
        ended = true;
        ui.progress.stop();
        ui.out(
          `\n${sync.takenOver!.message}. This zkroll stops here (state ${String(actor.getSnapshot().value)}, step ${actor.getSnapshot().context.index + 1}) and runs nothing more on ${compiled.cluster}; follow the run with: zkroll status ${req.planFile} --hosts`,
        );
        resolve('failed');
      };
      sync.onTakenOver = takenOver;
      const handle = async (): Promise<void> => {
        const snap = actor.getSnapshot();
        run.snapshot = actor.getPersistedSnapshot();
        run.seq = seq++;
        writeRun(dir, run);
        sync.save(run);
        html(writeReport(dir, run, compiled, String(snap.value), snap.context));
        if (sync.takenOver) return takenOver();
        if (!ready) return;
        if (busy) {
          again = true;
          return;
        }
        busy = true;
        try {
          const end = await answer(req, ui, run, String(snap.value), snap.context, (e) => actor.send(e));
          if (end !== null) resolve(end);
        } finally {
          busy = false;
          if (again) {
            again = false;
            void handle();
          }
        }
      };
      actor.subscribe({
        next: () => void handle(),
        error: (e) => {
          ui.out(`zkroll: ${errorText(e)}`);
          resolve('failed');
        },
      });
      actor.start();
      // a resumed run continues: a failed step is retried, an interrupted run goes on
      const first = actor.getSnapshot().value;
      if (first === 'failed' && req.resume) actor.send({ type: 'RETRY' });
      else if (first === 'interrupted') actor.send({ type: 'RESUME' });
      ready = true;
      void handle();
    });
  } finally {
    actor.stop();
    sampler.stop();
    html();
    await sync.close(run);
  }
}

type Send = (e: { type: 'ANSWER'; answer: 'yes' | 'round' | 'skip' | 'abort' } | { type: 'RETRY' | 'SKIP' | 'ABORT' | 'RESUME' }) => void;

/** React to one machine state: the run's end, or null while it goes on. */
async function answer(req: RunRequest, ui: RunUi, run: RunFile, value: string, ctx: RunContext, send: Send): Promise<RunEnd | null> {
  const step = req.compiled.steps[ctx.index];
  switch (value) {
    case 'done': {
      ui.progress.stop();
      ui.out(
        `run ${run.runId} done: ${ctx.records.filter((r) => r.status === 'done').length} steps done, ${ctx.records.filter((r) => r.status === 'skipped').length} skipped`,
      );
      const el = ctx.records.map((r, i) => ({ r, i })).filter(({ r }) => r.election);
      if (el.length > 0) {
        const ms = el.map(({ r }) => r.election!.ms);
        ui.out(
          `leader elections caused by the run: ${el.length}, ${Math.min(...ms)}–${Math.max(...ms)} ms (${el.map(({ r, i }) => `step ${i + 1}: ${r.election!.from}→${r.election!.to ?? '?'} ${r.election!.ms} ms`).join('; ')})`,
        );
      }
      ui.out(await ui.health());
      return 'done';
    }
    case 'aborted':
      ui.progress.stop();
      ui.out(`run ${run.runId} aborted at step ${ctx.index + 1}; nothing more was done`);
      return 'aborted';
    case 'interrupted':
      ui.progress.stop();
      if (req.stopRequested()) {
        ui.out(`stopped before step ${ctx.index + 1}; continue with: zkroll resume ${req.planFile}`);
        return 'interrupted';
      }
      send({ type: 'RESUME' });
      return null;
    case 'confirming': {
      if (!step) return null;
      if (req.stopRequested()) return 'interrupted';
      ui.out('\n' + ui.render(step).trimEnd());
      if (!ui.ask) {
        // unattended (--yes): the operator confirmed every step, including this one
        if (step.confirm) ui.out(`     confirmed by --yes: ${step.confirm}`);
        send({ type: 'ANSWER', answer: 'yes' });
        return null;
      }
      const slot = step.target.kind === 'slot';
      const choices = slot ? (['yes', 'round', 'skip', 'abort'] as const) : (['yes', 'skip', 'abort'] as const);
      send({ type: 'ANSWER', answer: await ui.ask(`run step ${step.n}?${slot ? ' (round = yes to the rest of this round)' : ''}`, choices, 'abort') });
      return null;
    }
    case 'failed': {
      const f = ctx.failure;
      ui.out(`\nstep ${(f?.index ?? ctx.index) + 1} failed: ${f?.message}${f?.output ? `\n  output:\n${f.output.replace(/^/gm, '    ')}` : ''}`);
      ui.out(await ui.health());
      if (!ui.ask) {
        ui.out(`fix the cause, then continue with: zkroll resume ${req.planFile}`);
        return 'failed';
      }
      const a = await ui.ask('retry, skip (the step is not done: be sure) or abort?', ['retry', 'skip', 'abort'] as const, 'abort');
      if (a === 'skip' && (await ui.ask(`really skip step ${ctx.index + 1} (${step?.title})?`, ['no', 'yes'] as const, 'no')) !== 'yes') {
        send({ type: 'RETRY' });
        return null;
      }
      send({ type: a === 'retry' ? 'RETRY' : a === 'skip' ? 'SKIP' : 'ABORT' });
      return null;
    }
    default:
      return null;
  }
}

/**
 * A secret file's content without its trailing newline (strategy.reconfig.passwordFile); a file
 * others may read is warned about once. Throws Error naming the file; the caller names the step.
 */
const warnedSecrets = new Set<string>();
async function readSecretFile(file: string, warn: (line: string) => void): Promise<string> {
  try {
    const st = await fs.promises.stat(file);
    if ((st.mode & 0o077) !== 0 && !warnedSecrets.has(file)) {
      warnedSecrets.add(file);
      warn(`the password file ${file} can be read by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
    }
    return (await fs.promises.readFile(file, 'utf8')).replace(/\r?\n$/, '');
  } catch (e) {
    throw new Error(`cannot read the password file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
