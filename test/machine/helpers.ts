// Fakes for the run machine's `runStep` actor, step metadata and state waits.
import { Interrupted } from '../../src/exec/env.js';
import { createActor, fromPromise, waitFor, type Snapshot } from 'xstate';
import { runMachine, type RunContext, type RunInput, type RunOutput, type StepMeta } from '../../src/machine/run-machine.js';

export type Machine = ReturnType<typeof runMachine.provide>;
export type Actor = ReturnType<typeof createActor<Machine>>;
/** What the fake does on its n-th call (1-based, over this fake only). */
export type Behave = (input: RunInput, call: number) => RunOutput | Promise<RunOutput>;

export const ok: Behave = () => ({ notes: [] });
export const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
/** A promise that never settles (a step in flight). */
export const never = (): Promise<never> => new Promise<never>(() => {});

export function step(id: string, round: string | null = null, confirm: string | null = null): StepMeta {
  return { id, title: `step ${id}`, round, confirm };
}
export const plain = (n: number): StepMeta[] => Array.from({ length: n }, (_, i) => step(`s${i}`));

export function failure(message: string, outputTail?: string): Error {
  return Object.assign(new Error(message), outputTail === undefined ? {} : { outputTail });
}
/** The executor's own Ctrl-C error (src/exec/env.ts), not a look-alike. */
export function interruption(): Error {
  return new Interrupted('stopped by Ctrl-C');
}

export interface Fake {
  calls: RunInput[];
  machine: Machine;
}

export function fake(behave: Behave = ok): Fake {
  const calls: RunInput[] = [];
  const machine = runMachine.provide({
    actors: {
      runStep: fromPromise<RunOutput, RunInput>(async ({ input }) => {
        calls.push(structuredClone(input));
        return behave(input, calls.length);
      }),
    },
  });
  return { calls, machine };
}

/** Start an actor on the fake, fresh or restored from a (persisted) snapshot. */
export function start(f: Fake, steps: StepMeta[], guided: boolean, snapshot?: unknown): Actor {
  const input = { steps, guided };
  const actor = snapshot === undefined ? createActor(f.machine, { input }) : createActor(f.machine, { snapshot: snapshot as Snapshot<unknown>, input });
  actor.start();
  return actor;
}

type Snap = ReturnType<Actor['getSnapshot']>;
export function until(actor: Actor, want: string | ((s: Snap) => boolean), timeout = 2000): Promise<Snap> {
  const pred = typeof want === 'string' ? (s: Snap) => s.value === want : want;
  return waitFor(actor, pred, { timeout });
}

export const ctx = (actor: Actor): RunContext => actor.getSnapshot().context;
export const statuses = (actor: Actor): string[] => ctx(actor).records.map((r) => r.status);

/** Copy with undefined-valued keys dropped from plain objects (what JSON would do to them). */
export function dropUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropUndefined);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, dropUndefined(x)]),
    );
  }
  return v;
}
