// `zkroll status <plan>`: where the run stands (state, step, failure) and what comes next,
// read from the persisted run: its steps are compiled from the plan stored in run.json (the
// plan the run started with), so an edited plan file cannot misreport the run. Read-only;
// works with no network.
import { compile } from '../compile/index.js';
import type { RunContext } from '../machine/run-machine.js';
import { planHash, readRun, stateDir } from '../machine/store.js';
import type { Plan } from '../plan/schema.js';
import { CliError, EXIT, loadOrFail } from './common.js';

export function cmdStatus(file: string, json: boolean, out: (s: string) => void): number {
  const plan = loadOrFail(file);
  const dir = stateDir(file, plan.cluster.name);
  const run = readRun(dir);
  if (!run) throw new CliError(`no run of ${plan.cluster.name} yet (${dir}); start one with zkroll apply ${file}`, EXIT.failed);
  const snap = run.snapshot as { value: string; context: RunContext };
  const ctx = snap.context;
  const steps = compile(run.plan as Plan).steps;
  const edited = run.planHash !== planHash(plan);
  const done = ctx.records.filter((r) => r.status === 'done').length;
  const skipped = ctx.records.filter((r) => r.status === 'skipped').length;
  const next = steps[ctx.index];
  if (json) {
    out(
      JSON.stringify(
        {
          runId: run.runId,
          planEditedSinceStart: edited,
          state: snap.value,
          index: ctx.index,
          total: steps.length,
          done,
          skipped,
          next: next ? { n: next.n, id: next.id, title: next.title } : null,
          failure: ctx.failure,
          slotOrders: ctx.slotOrders,
          seed: ctx.seed,
        },
        null,
        2,
      ),
    );
    return EXIT.ok;
  }
  out(`run ${run.runId} of ${plan.cluster.name} (started ${run.startedAt}): ${snap.value}`);
  if (edited) out(`  ${file} changed since the run started: the steps below are the run's own (from run.json); resume refuses the edited plan`);
  out(`  ${done} of ${steps.length} steps done${skipped ? `, ${skipped} skipped` : ''}`);
  if (ctx.failure) out(`  step ${ctx.failure.index + 1} failed: ${ctx.failure.message}`);
  if (next && snap.value !== 'done') out(`  next: step ${next.n}, ${next.title} (${next.phase})`);
  if (snap.value === 'failed' || snap.value === 'interrupted' || snap.value === 'running' || snap.value === 'confirming')
    out(`  continue with: zkroll resume ${file}`);
  return EXIT.ok;
}
