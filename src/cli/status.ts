// `zkroll status <plan> [--hosts] [--json]`: where the run stands (state, step, failure) and
// what comes next, read from the persisted run: its steps are compiled from the plan stored in
// run.json (the plan the run started with), so an edited plan file cannot misreport the run.
// Where from: this machine's state directory (no network); with --hosts, or when this machine
// has no run, also the run's copies and lock on its hosts over SSH (src/run/hoststate.ts): the
// newest copy is shown, marked as read from the hosts, with who holds the lock.
// Invariants: read-only (here and on the hosts); a copy that cannot be read is a clear error.
import { compile } from '../compile/index.js';
import type { RunContext } from '../machine/run-machine.js';
import { planHash, readRun, stateDir, type RunFile } from '../machine/store.js';
import type { Plan } from '../plan/schema.js';
import { describeLock, lockInForce, newestCopy, sameOwner } from '../run/hostdecide.js';
import { seqOf, type HostCopy } from '../run/hostlock.js';
import { me, readPlanHosts } from '../run/hoststart.js';
import { CliError, EXIT, loadOrFail } from './common.js';

export interface StatusOptions {
  json: boolean;
  /** Read the hosts' copies even when this machine has a run. */
  hosts: boolean;
}

interface Seen {
  run: RunFile;
  source: 'local' | 'hosts';
  copies: HostCopy[] | null;
}

async function whatIsSeen(plan: Plan, file: string, dir: string, hosts: boolean): Promise<Seen> {
  const local = readRun(dir);
  if (local && !hosts) return { run: local, source: 'local', copies: null };
  const copies = await readPlanHosts(plan, file);
  const newest = newestCopy(copies);
  if (newest && (!local || seqOf(newest.run) > seqOf(local))) return { run: newest.run, source: 'hosts', copies };
  if (local) return { run: local, source: 'local', copies };
  const why = copies.flatMap((c) => (c.error ? [c.error] : []));
  throw new CliError(
    `no run of ${plan.cluster.name} yet: none here (${dir}) and none on its hosts${why.length ? ` (not read: ${why.join('; ')})` : ''}; start one with zkroll apply ${file}`,
    EXIT.failed,
  );
}

function stepsOf(run: RunFile, source: string) {
  const snap = run.snapshot as { value?: unknown; context?: RunContext } | null;
  try {
    if (typeof snap?.value !== 'string' || !Array.isArray(snap.context?.records)) throw new Error('no machine snapshot in it');
    return { value: snap.value, ctx: snap.context, steps: compile(run.plan as Plan).steps };
  } catch (e) {
    throw new CliError(`the run file ${source} cannot be read: ${e instanceof Error ? e.message : String(e)}`, EXIT.failed);
  }
}

function lockJson(copies: HostCopy[] | null, dir: string) {
  const l = copies ? lockInForce(copies) : null;
  if (!l) return null;
  const mine = sameOwner(l.lock.owner, me(dir));
  const { token: _token, ...owner } = l.lock.owner;
  return {
    ...owner,
    runId: l.lock.runId,
    since: l.lock.since,
    heartbeat: l.lock.heartbeat,
    heartbeatAgeMs: l.ageMs,
    released: l.lock.released,
    thisMachine: mine,
  };
}

export async function cmdStatus(file: string, o: StatusOptions, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  const dir = stateDir(file, plan.cluster.name);
  const seen = await whatIsSeen(plan, file, dir, o.hosts);
  const { run } = seen;
  const { value, ctx, steps } = stepsOf(run, seen.source === 'local' ? `${dir}/run.json` : 'from the hosts');
  const edited = run.planHash !== planHash(plan);
  const done = ctx.records.filter((r) => r.status === 'done').length;
  const skipped = ctx.records.filter((r) => r.status === 'skipped').length;
  const next = steps[ctx.index];
  const lock = lockJson(seen.copies, dir);
  const hosts = seen.copies?.map((c) => ({ host: c.host, seq: c.run ? seqOf(c.run) : null, error: c.error }));
  if (o.json) {
    const body = {
      runId: run.runId,
      source: seen.source,
      seq: seqOf(run),
      planEditedSinceStart: edited,
      state: value,
      index: ctx.index,
      total: steps.length,
      done,
      skipped,
      next: next ? { n: next.n, id: next.id, title: next.title } : null,
      failure: ctx.failure,
      slotOrders: ctx.slotOrders,
      seed: ctx.seed,
      ...(seen.copies ? { lock, hosts } : {}),
    };
    out(JSON.stringify(body, null, 2));
    return EXIT.ok;
  }
  const from = seen.source === 'hosts' ? ` [read from the hosts: copy ${seqOf(run)}]` : '';
  out(`run ${run.runId} of ${plan.cluster.name} (started ${run.startedAt}): ${value}${from}`);
  if (edited) out(`  ${file} changed since the run started: the steps below are the run's own (from run.json); resume refuses the edited plan`);
  out(`  ${done} of ${steps.length} steps done${skipped ? `, ${skipped} skipped` : ''}`);
  if (ctx.failure) out(`  step ${ctx.failure.index + 1} failed: ${ctx.failure.message}`);
  if (next && value !== 'done') out(`  next: step ${next.n}, ${next.title} (${next.phase})`);
  hostLines(seen.copies, dir, out);
  if (value === 'failed' || value === 'interrupted' || value === 'running' || value === 'confirming')
    out(`  continue with: zkroll resume ${file}${seen.source === 'hosts' || (lock && !lock.thisMachine) ? ' --take-over' : ''}`);
  return EXIT.ok;
}

/** The lock in force and each host's copy (with --hosts or when read from the hosts). */
function hostLines(copies: HostCopy[] | null, dir: string, out: (s: string) => void): void {
  if (!copies) return;
  const l = lockInForce(copies);
  const mine = l && sameOwner(l.lock.owner, me(dir)) ? ' (this machine and state dir)' : '';
  out(`  lock on the hosts: ${l ? `${l.lock.released ? 'released by' : 'held by'} ${describeLock(l)}${mine}` : 'none'}`);
  out(`  copies: ${copies.map((c) => (c.error ? `not read (${c.error})` : `${c.host} ${c.run ? `copy ${seqOf(c.run)}` : 'none'}`)).join('; ')}`);
}
