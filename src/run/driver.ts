// The run driver: one run of a compiled plan through the run machine, shaped like xstate's
// durable-actor examples: take the cluster's lock, create the actor (or restore it from
// run.json), persist every snapshot and the report (report.json, and its picture report.html
// with the servers' states the sampler records in states.jsonl while the run goes on) after
// every transition, answer the machine's questions through the injected UI, and end with how
// the run ended. The CLI only loads, compiles, wires the terminal and maps the end to an exit
// code.
// Invariants: one run per cluster (lock, released on every path); nothing changes before the
// preflight holds (hosts reached with strict host-key checking; for a new run, the cluster
// matches the plan); resuming with an edited plan is refused with the differences named; every
// remote command is audited (audit.jsonl); a failed unattended run stops and `resume` goes on.
import fs from 'node:fs';
import path from 'node:path';
import { createActor, fromPromise, type Snapshot } from 'xstate';
import type { Compiled, Step } from '../compile/types.js';
import { preflight } from '../check/preflight.js';
import { errorText, type RunEnv } from '../exec/env.js';
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
import { sshTargets } from '../plan/helpers.js';
import type { ReportJson } from '../report/model.js';
import { archiveReportFiles, reportHtmlWriter } from '../report/write.js';
import { startRunSampler } from './sampler.js';
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

/** The run file to continue (resume) or null for a new run; refuses what cannot go on. */
function existingRun(dir: string, req: RunRequest, out: (l: string) => void): RunFile | null {
  const { plan, planFile: file } = req;
  const existing = readRun(dir);
  if (req.resume) {
    if (!existing) throw new RunRefused(`no run to resume for ${plan.cluster.name} (${dir}); start one with zkroll apply ${file}`);
    if (existing.format !== FORMAT) throw new RunRefused(`${dir}/run.json has format ${existing.format}; this zkroll reads format ${FORMAT}`);
    if (existing.planHash !== planHash(plan)) {
      const diff = planDiff(existing.plan, JSON.parse(JSON.stringify(plan)));
      throw new RunRefused(
        `${file} changed since run ${existing.runId} started; resuming with an edited plan is refused. Differences:\n${diff.map((d) => `  - ${d}`).join('\n')}`,
        true,
      );
    }
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

/** Run (or resume) the plan; resolves with how it ended. Throws RunRefused before any change. */
export async function runPlan(req: RunRequest, ui: RunUi): Promise<RunEnd> {
  const dir = stateDir(req.planFile, req.plan.cluster.name);
  let release: () => void;
  try {
    release = takeLock(dir);
  } catch (e) {
    if (e instanceof LockHeld) throw new RunRefused(e.message);
    throw e;
  }
  const pool = new SshPool();
  const audit = fs.openSync(path.join(dir, 'audit.jsonl'), 'a');
  pool.onCommand = (rec) => fs.writeSync(audit, JSON.stringify({ ts: new Date().toISOString(), ...rec }) + '\n');
  try {
    const existing = existingRun(dir, req, ui.out);
    await preflight(req.plan, req.planFile, pool, existing === null, ui.warn);
    const run: RunFile = existing ?? {
      format: FORMAT,
      planHash: planHash(req.plan),
      plan: JSON.parse(JSON.stringify(req.plan)),
      runId: runIdNow(),
      startedAt: new Date().toISOString(),
      snapshot: null,
    };
    ui.out(`${existing ? 'resuming' : 'starting'} run ${run.runId} of ${req.plan.cluster.name}: ${req.compiled.steps.length} steps (state in ${dir})`);
    return await drive(req, ui, dir, run, existing !== null, hostsOf(req, pool));
  } finally {
    await pool.closeAll();
    fs.closeSync(audit);
    release();
  }
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

async function drive(req: RunRequest, ui: RunUi, dir: string, run: RunFile, resumed: boolean, hosts: (h: string) => Promise<SshHost>): Promise<RunEnd> {
  const { compiled } = req;
  const total = compiled.steps.length;
  const env: RunEnv = {
    settings: compiled.settings,
    planFile: req.planFile,
    runId: run.runId,
    hosts,
    probes: liveProbes(hosts, compiled.settings.gateDeadlineMs, compiled.settings.adminPort),
    stopRequested: req.stopRequested,
    progress: (l) => ui.progress.update(l),
  };
  const machine = runMachine.provide({
    actors: {
      runStep: fromPromise<RunOutput, RunInput>(async ({ input }) => {
        const step = compiled.steps[input.index]!;
        const label = `${step.n}/${total} ${step.title}`;
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
      }),
    },
  });
  const input = { steps: stepMeta(compiled), guided: ui.ask !== null };
  const html = reportHtmlWriter(dir, compiled.cluster, ui.warn);
  const sampler = startRunSampler(dir, compiled);
  const actor = resumed ? createActor(machine, { snapshot: run.snapshot as Snapshot<unknown>, input }) : createActor(machine, { input });
  try {
    return await new Promise<RunEnd>((resolve) => {
      let busy = false;
      let again = false;
      let ready = false;
      const handle = async (): Promise<void> => {
        const snap = actor.getSnapshot();
        run.snapshot = actor.getPersistedSnapshot();
        writeRun(dir, run);
        html(writeReport(dir, run, compiled, String(snap.value), snap.context));
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
