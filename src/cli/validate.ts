// `zkroll validate <plan>`: load and check a plan; on success a one-paragraph summary.
// Invariants: reads only the plan file; bad plans throw CliError with exit code 2.
import type { Plan } from '../plan/schema.js';
import { hazardLine, planHazards } from '../plan/versions.js';
import { loadOrFail } from './common.js';

export function summarize(plan: Plan): string {
  const ids = plan.servers.map((s) => s.myid).join(', ');
  const head = `${plan.cluster.name}: ${plan.servers.length} servers (${ids}) → ${plan.target.version} at ${plan.target.home}`;
  if (plan.strategy.kind === 'rolling') return `${head}; strategy rolling (in place, same myids, leader last)`;
  const s = plan.strategy;
  const map = s.renumber.map((r) => `${r.from}→${r.to}`).join(', ');
  return `${head}; strategy rebuild: temporary ${s.temporary.myid} on ${s.temporary.host}, broken ${s.broken.join(', ') || 'none'}, renumber ${map}, seed from ${s.seedFrom}`;
}

export function cmdValidate(file: string, out: (s: string) => void): number {
  const plan = loadOrFail(file);
  out(`${file}: ok — ${summarize(plan)}`);
  // refusals are plan errors (loadOrFail); warnings and notes are printed for the reviewer
  for (const h of planHazards(plan)) out(`  ${hazardLine(h)}`);
  return 0;
}
