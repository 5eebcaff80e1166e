// JSON Schema of the plan file, generated from PlanSchema (the single source of truth).
//
// Invariants:
// - Describes the input side: fields with defaults are optional, durations accept both
//   "60s"-style strings and integer milliseconds, renumber is a map of old -> new myid.
// - Cross-field rules (rules.ts) and refinements are not expressible here; the loader is the
//   authority, this schema serves editors and documentation.
import { z } from 'zod';
import { PlanSchema } from './schema.js';

export const PLAN_SCHEMA_ID = 'https://zkroll.dev/schema/plan.schema.json';

export function planJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(PlanSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: PLAN_SCHEMA_ID,
    title: 'zkroll plan',
    description: 'A rolling upgrade or rebuild of an Apache ZooKeeper ensemble, executed by zkroll over SSH.',
    ...rest,
  };
}
