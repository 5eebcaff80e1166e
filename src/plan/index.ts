// The plan module's public surface: schema and types, loading, rules, helpers, JSON schema.
//
// Invariants: re-exports only; importing this has no side effects.
export * from './schema.js';
export { checkRules, type PlanPath, type RuleViolation } from './rules.js';
export { formatPlanError, loadPlanFile, loadPlanText, type LoadResult, type PlanError } from './load.js';
export { allHosts, effectiveSsh, resolveLocalPath, sshTargets, type EffectiveSsh, type HostEntry, type SshTargetSpec } from './helpers.js';
export { planJsonSchema, PLAN_SCHEMA_ID } from './jsonschema.js';
