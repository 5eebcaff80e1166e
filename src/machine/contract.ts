// The contract between the run machine and the step runner (src/exec/run-step.ts): what the
// machine hands a step (RunInput) and what a finished step hands back (RunOutput). Its one
// owner: the machine persists exactly these shapes (plain JSON), the executor implements them.
// Invariants: plain JSON only; canary values are `<run id>#<n>` with n from canarySeq, counted
// by the executor and stored by the machine (a retried step may reuse its numbers: harmless,
// each canary is compared with the value just written).

/** A leader election: from the leader that stopped to the one elected, in ms. */
export interface Election {
  from: number | null;
  to: number | null;
  ms: number;
}

/** What the step runner gives back when a step is done. */
export interface RunOutput {
  /** The leader election the step caused (a leader's stop), measured. */
  election?: Election;
  /** Slot steps: the myid the slot resolved to. */
  resolved?: number;
  /** Slot steps: the round's order (followers by myid, then the leader), fixed at its first slot. */
  slotOrder?: number[];
  /** Seed steps: the seed and its zxid (hex) when its data was copied. */
  seed?: { myid: number; zxid: string };
  /** The canary counter after the step (each canary write takes the next number). */
  canarySeq?: number;
  notes: string[];
}

/** What the machine gives the step runner: the step's index and what earlier steps learned. */
export interface RunInput {
  index: number;
  attempt: number;
  slotOrders: Record<string, number[]>;
  canarySeq: number;
  seedZxid?: string;
}

/**
 * The `name` of the error a step runner throws when Ctrl-C stopped it: the machine then goes to
 * `interrupted` (resumable), not `failed`.
 */
export const INTERRUPTED = 'Interrupted';
