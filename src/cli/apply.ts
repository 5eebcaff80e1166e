// `zkroll apply|resume <plan>`: run the compiled steps through the run machine, persisting it
// after every transition; guided (ask per step) on a terminal, unattended with --yes.
// Invariants: before any change every host is reached with strict host-key checking and (for
// a new run) the cluster must match the plan; one run per cluster (lock); Ctrl-C stops after
// the remote command in flight, saves and exits 130; a failed unattended run exits 1 and
// `resume` continues it; the audit log and the report are written as the run goes.
import fs from 'node:fs';
import path from 'node:path';
import { createActor, fromPromise, type Snapshot } from 'xstate';
import type { Compiled } from '../compile/types.js';
import { executeStep, type StepOutcome } from '../exec/run-step.js';
import { errorText, type RunEnv } from '../exec/env.js';
import { readLive } from '../inspect/live.js';
import { runMachine, type RunContext, type RunInput, type RunOutput, type StepMeta } from '../machine/run-machine.js';
import { archiveRun, FORMAT, LockHeld, planDiff, planHash, readRun, stateDir, takeLock, writeAtomic, writeRun, type RunFile } from '../machine/store.js';
import { sshTargets } from '../plan/helpers.js';
import type { Plan } from '../plan/schema.js';
import { RemoteError, SshPool } from '../remote/ssh.js';
import { renderPlan } from '../ui/plan-render.js';
import { makeProgress } from '../ui/progress.js';
import { Prompter } from '../ui/prompt.js';
import { healthTable } from './health.js';
import { checkHost } from './check.js';
import { electionListener, zkJvmsOn } from '../check/checks.js';
import { findZkJvm } from '../zk/process.js';
import { quorumOf } from '../compile/nodes.js';
import { compileOrFail } from './plan.js';
import { CliError, EXIT, loadOrFail } from './common.js';

export interface ApplyOptions {
  resume: boolean;
  yes: boolean;
  guided: boolean;
}

export function runIdNow(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function stepMeta(c: Compiled): StepMeta[] {
  return c.steps.map((s) => ({ id: s.id, title: s.title, confirm: s.confirm ?? null, round: s.target.kind === 'slot' ? s.target.round : s.phase }));
}

function report(dir: string, run: RunFile, c: Compiled, value: string, ctx: RunContext): void {
  writeAtomic(
    path.join(dir, 'report.json'),
    JSON.stringify(
      {
        runId: run.runId,
        startedAt: run.startedAt,
        state: value,
        seed: ctx.seed,
        slotOrders: ctx.slotOrders,
        failure: ctx.failure,
        steps: c.steps.map((s, i) => {
          const r = ctx.records[i]!;
          return { n: s.n, id: s.id, title: s.title, status: r.status, attempts: r.attempts, election: r.election ?? null, startedAt: r.startedAt && new Date(r.startedAt).toISOString(), endedAt: r.endedAt && new Date(r.endedAt).toISOString(), durationMs: r.startedAt && r.endedAt ? r.endedAt - r.startedAt : null, resolved: r.resolved, notes: r.notes };
        }),
      },
      null,
      2,
    ),
  );
}

async function preflight(plan: Plan, file: string, pool: SshPool, fresh: boolean): Promise<void> {
  try {
    await Promise.all(sshTargets(plan, file).map((t) => pool.get(t)));
  } catch (e) {
    if (e instanceof RemoteError) throw new CliError(`${e.message}\nNothing was changed.`, EXIT.failed);
    throw e;
  }
  if (!fresh) return;
  const live = await readLive(plan, file, pool);
  if (live.mismatches.length > 0) {
    throw new CliError(`${file}: the plan does not match the cluster; nothing was changed:\n${live.mismatches.map((m) => `  - ${m}`).join('\n')}`, EXIT.badInput);
  }
  // a restart needs an election, and an election needs a quorum of live election listeners
  const targets = new Map(sshTargets(plan, file).map((t) => [t.host, t]));
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const findings = await Promise.all(
    plan.servers.map(async (s) => {
      const h = checkHost(await pool.get(targets.get(s.host)!));
      return electionListener(s.host, `${s.myid} (${s.host})`, h, plan.cluster.ports.election, live.servers.find((x) => x.myid === s.myid)?.srvr != null, sleep, findZkJvm(await zkJvmsOn(h), ''));
    }),
  );
  const dead = findings.filter((f) => f.status === 'fail');
  const liveCount = plan.servers.length - dead.length;
  if (dead.length > 0 && plan.strategy.kind === 'rolling' && liveCount < quorumOf(plan.servers.length)) {
    throw new CliError(
      `${file}: refusing to restart servers: only ${liveCount} of ${plan.servers.length} servers have a live election listener, fewer than a quorum (${quorumOf(plan.servers.length)}). ` +
        `A restarted server needs an election to rejoin, and no election can succeed; the ensemble would lose a member it cannot get back (the Codis incident). ` +
        `Dead listeners: ${dead.map((f) => f.server).join(', ')}. Use the rebuild strategy (see plans/codis-incident.yaml). Nothing was changed.`,
      EXIT.failed,
    );
  }
  for (const f of dead) process.stderr.write(`warning: server ${f.server}: ${f.detail}\n`);
}

export async function cmdApply(file: string, o: ApplyOptions, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  const compiled = compileOrFail(plan, file);
  const dir = stateDir(file, plan.cluster.name);
  let release: () => void;
  try {
    release = takeLock(dir);
  } catch (e) {
    if (e instanceof LockHeld) throw new CliError(e.message, EXIT.failed);
    throw e;
  }
  const pool = new SshPool();
  const audit = fs.openSync(path.join(dir, 'audit.jsonl'), 'a');
  pool.onCommand = (rec) => fs.writeSync(audit, JSON.stringify({ ts: new Date().toISOString(), ...rec }) + '\n');
  let prompter: Prompter | null = null;
  try {
    let existing = readRun(dir);
    const hash = planHash(plan);
    if (o.resume) {
      if (!existing) throw new CliError(`no run to resume for ${plan.cluster.name} (${dir}); start one with zkroll apply ${file}`, EXIT.failed);
      if (existing.format !== FORMAT) throw new CliError(`${dir}/run.json has format ${existing.format}; this zkroll reads format ${FORMAT}`, EXIT.failed);
      if (existing.planHash !== hash) {
        const diff = planDiff(existing.plan, JSON.parse(JSON.stringify(plan)));
        throw new CliError(`${file} changed since run ${existing.runId} started; resuming with an edited plan is refused. Differences:\n${diff.map((d) => `  - ${d}`).join('\n')}`, EXIT.badInput);
      }
    } else if (existing) {
      const value = (existing.snapshot as { value?: string }).value;
      if (value !== 'done' && value !== 'aborted') {
        throw new CliError(`run ${existing.runId} of ${plan.cluster.name} is not finished (${value}); continue it with: zkroll resume ${file}`, EXIT.failed);
      }
      out(`previous run ${existing.runId} (${value}) kept in ${archiveRun(dir, existing.runId)}`);
      existing = null;
    }
    const guided = o.guided || (!o.yes && process.stdin.isTTY === true);
    if (!guided && !o.yes) throw new CliError('stdin is not a terminal: pass --yes to run unattended, or --guided to answer prompts from stdin', EXIT.badInput);
    await preflight(plan, file, pool, existing === null);

    const run: RunFile = existing ?? { format: FORMAT, planHash: hash, plan: JSON.parse(JSON.stringify(plan)), runId: runIdNow(), startedAt: new Date().toISOString(), snapshot: null };
    const tty = process.stdout.isTTY === true;
    const progress = makeProgress(tty, out);
    let stop = false;
    const env: RunEnv = { plan, planFile: file, runId: run.runId, pool, stopRequested: () => stop, progress: (l) => progress.update(l) };
    out(`${existing ? 'resuming' : 'starting'} run ${run.runId} of ${plan.cluster.name}: ${compiled.steps.length} steps (state in ${dir})`);

    const machine = runMachine.provide({
      actors: {
        runStep: fromPromise<RunOutput, RunInput>(async ({ input }) => {
          const step = compiled.steps[input.index]!;
          progress.start(`${step.n}/${compiled.steps.length} ${step.title}`);
          const t0 = Date.now();
          try {
            const memo = { slotOrders: { ...input.slotOrders }, canarySeq: input.canarySeq, ...(input.seedZxid ? { seedZxid: input.seedZxid } : {}) };
            const res: StepOutcome = await executeStep(step, env, memo);
            progress.succeed(`${step.n}/${compiled.steps.length} ${step.title}${res.resolved !== undefined ? ` → server ${res.resolved}` : ''} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
            return res;
          } catch (e) {
            progress.fail(`${step.n}/${compiled.steps.length} ${step.title}: ${errorText(e)}`);
            throw e;
          }
        }),
      },
    });
    const actor = existing
      ? createActor(machine, { snapshot: existing.snapshot as Snapshot<unknown>, input: { steps: stepMeta(compiled), guided } })
      : createActor(machine, { input: { steps: stepMeta(compiled), guided } });
    const onSigint = () => {
      if (stop) process.kill(process.pid, 'SIGKILL');
      stop = true;
      progress.info('\nCtrl-C: stopping after the remote command in flight (again to kill now); `zkroll resume` continues');
    };
    process.on('SIGINT', onSigint);
    prompter = guided ? new Prompter() : null;

    const code = await new Promise<number>((resolve) => {
      let busy = false;
      let again = false;
      let ready = false;
      const handle = async (): Promise<void> => {
        const snap = actor.getSnapshot();
        run.snapshot = actor.getPersistedSnapshot();
        writeRun(dir, run);
        report(dir, run, compiled, String(snap.value), snap.context);
        if (!ready) return;
        if (busy) {
          again = true;
          return;
        }
        busy = true;
        try {
          const ctx = snap.context;
          const step = compiled.steps[ctx.index];
          switch (snap.value) {
            case 'done':
              progress.stop();
              out(`run ${run.runId} done: ${ctx.records.filter((r) => r.status === 'done').length} steps done, ${ctx.records.filter((r) => r.status === 'skipped').length} skipped`);
              {
                const el = ctx.records.map((r, i) => ({ r, i })).filter(({ r }) => r.election);
                if (el.length > 0) {
                  const ms = el.map(({ r }) => r.election!.ms);
                  out(`leader elections caused by the run: ${el.length}, ${Math.min(...ms)}–${Math.max(...ms)} ms (${el.map(({ r, i }) => `step ${i + 1}: ${r.election!.from}→${r.election!.to ?? '?'} ${r.election!.ms} ms`).join('; ')})`);
                }
              }
              out(await healthTable(plan));
              return resolve(EXIT.ok);
            case 'aborted':
              progress.stop();
              out(`run ${run.runId} aborted at step ${ctx.index + 1}; nothing more was done`);
              return resolve(EXIT.failed);
            case 'interrupted':
              progress.stop();
              if (stop) {
                out(`stopped before step ${ctx.index + 1}; continue with: zkroll resume ${file}`);
                return resolve(EXIT.interrupted);
              }
              actor.send({ type: 'RESUME' });
              return;
            case 'confirming': {
              if (!step) return;
              if (stop) return resolve(EXIT.interrupted);
              out('\n' + renderPlan(compiled, new Map(), 'text', [step.n]).trimEnd());
              if (!prompter) {
                // unattended (--yes): the operator confirmed every step, including this one
                if (step.confirm) out(`     confirmed by --yes: ${step.confirm}`);
                actor.send({ type: 'ANSWER', answer: 'yes' });
                return;
              }
              const choices = step.target.kind === 'slot' ? (['yes', 'round', 'skip', 'abort'] as const) : (['yes', 'skip', 'abort'] as const);
              const a = await prompter.choose(`run step ${step.n}?${step.target.kind === 'slot' ? ' (round = yes to the rest of this round)' : ''}`, choices, 'abort');
              actor.send({ type: 'ANSWER', answer: a });
              return;
            }
            case 'failed': {
              const f = ctx.failure;
              out(`\nstep ${(f?.index ?? ctx.index) + 1} failed: ${f?.message}${f?.output ? `\n  output:\n${f.output.replace(/^/gm, '    ')}` : ''}`);
              out(await healthTable(plan));
              if (!prompter) {
                out(`fix the cause, then continue with: zkroll resume ${file}`);
                return resolve(EXIT.failed);
              }
              const a = await prompter.choose('retry, skip (the step is not done: be sure) or abort?', ['retry', 'skip', 'abort'] as const, 'abort');
              if (a === 'skip' && (await prompter.choose(`really skip step ${ctx.index + 1} (${step?.title})?`, ['no', 'yes'] as const, 'no')) !== 'yes') {
                actor.send({ type: 'RETRY' });
                return;
              }
              actor.send({ type: a === 'retry' ? 'RETRY' : a === 'skip' ? 'SKIP' : 'ABORT' });
              return;
            }
            default:
              return;
          }
        } finally {
          busy = false;
          if (again) {
            again = false;
            void handle();
          }
        }
      };
      actor.subscribe({ next: () => void handle(), error: (e) => { out(`zkroll: ${errorText(e)}`); resolve(EXIT.failed); } });
      actor.start();
      // a resumed run continues: a failed step is retried, an interrupted run goes on
      const first = actor.getSnapshot().value;
      if (first === 'failed' && o.resume) actor.send({ type: 'RETRY' });
      else if (first === 'interrupted') actor.send({ type: 'RESUME' });
      ready = true;
      void handle();
    });
    process.off('SIGINT', onSigint);
    actor.stop();
    return code;
  } finally {
    prompter?.close();
    await pool.closeAll();
    fs.closeSync(audit);
    release();
  }
}
