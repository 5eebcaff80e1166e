// Shared CLI plumbing (the one module the command files share): plan loading and compiling
// that turn plan errors and refusals into an exit-2 failure, and the error type commands throw
// to end with a given exit code.
// Invariants: every message is meant for a person (no stack traces); exit codes are:
// 0 ok, 1 failed (a check or an action), 2 bad input (plan, usage), 130 interrupted.
import { formatPlanError, loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { compile, Refusal, type Compiled } from '../compile/index.js';

export const EXIT = { ok: 0, failed: 1, badInput: 2, interrupted: 130 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export function loadOrFail(file: string): Plan {
  const r = loadPlanFile(file);
  if (!r.ok) throw new CliError(r.errors.map(formatPlanError).join('\n'), EXIT.badInput);
  return r.plan;
}

/** Compile, or fail with exit 2 and the refusal's reason. */
export function compileOrFail(plan: Plan, file: string): Compiled {
  try {
    return compile(plan);
  } catch (e) {
    if (e instanceof Refusal) throw new CliError(`${file}: refused: ${e.message}`, EXIT.badInput);
    throw e;
  }
}
