// The compiler: Plan → the step list `zkroll plan` shows and `zkroll apply` runs, with totals.
// Pure: no I/O, no clock. Invariants: the same plan always compiles to the same steps; a plan
// that cannot run safely is refused (Refusal) with the reason, never half-compiled.
import type { Plan } from '../plan/schema.js';
import { compileRebuild } from './rebuild.js';
import { compileRolling } from './rolling.js';
import type { Compiled, RunSettings, Step, Totals } from './types.js';

export * from './types.js';

export function compile(plan: Plan): Compiled {
  const steps = plan.strategy.kind === 'rolling' ? compileRolling(plan) : compileRebuild(plan);
  return { strategy: plan.strategy.kind, cluster: plan.cluster.name, settings: runSettings(plan), steps, totals: totals(steps) };
}

export function runSettings(plan: Plan): RunSettings {
  const h = plan.health;
  return {
    clientPort: plan.cluster.ports.client,
    adminPort: plan.cluster.adminPort,
    pollIntervalMs: h.pollInterval,
    gateDeadlineMs: h.gateDeadline,
    startDeadlineMs: h.startDeadline,
    canaryPath: h.canaryPath,
    preserveEphemerals: plan.strategy.kind === 'rebuild' ? plan.strategy.preserveEphemerals : [],
  };
}

export function totals(steps: Step[]): Totals {
  const rounds = new Set(steps.filter((s) => s.target.kind === 'slot').map((s) => (s.target.kind === 'slot' ? s.target.round : '')));
  return {
    steps: steps.length,
    starts: steps.filter((s) => s.action === 'start').length,
    stops: steps.filter((s) => s.action === 'stop').length,
    restarts: steps.filter((s) => s.action === 'restart').length,
    reconfigs: steps.filter((s) => s.action === 'reconfig').length,
    elections: steps.reduce((n, s) => n + s.elections, 0),
    maybeElections: steps.filter((s) => s.maybeElection).length,
    rounds: rounds.size,
  };
}
