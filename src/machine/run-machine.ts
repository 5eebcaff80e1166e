// The run as an xstate v5 machine over the compiled steps: decide → (confirm) → run → next,
// with failed (retry / skip / abort), interrupted (Ctrl-C) and the final states done/aborted.
// The step runner is the actor `runStep` (swapped with .provide() in tests and by the CLI).
// Invariants: the context is plain JSON (persisted after every transition); no timers live in
// the machine (deadlines are in the steps, polled by the runner), so a restored actor loses
// nothing: a step that was running is simply run again, and every step is safe to run twice.
import { assign, fromPromise, setup } from 'xstate';
import { INTERRUPTED, type Election, type RunInput, type RunOutput } from './contract.js';

export type { Election, RunInput, RunOutput } from './contract.js';

export interface StepMeta {
  id: string;
  title: string;
  /** Text of a confirmation the step needs even in unattended-by-round mode. */
  confirm: string | null;
  /** Rolling round the step belongs to (for "yes to the rest of this round"). */
  round: string | null;
}

export interface StepRecord {
  status: 'pending' | 'running' | 'done' | 'skipped' | 'failed';
  attempts: number;
  startedAt: number | null;
  endedAt: number | null;
  resolved: number | null;
  notes: string[];
  /** The leader election this step caused, measured from losing a leader to having one again. */
  election?: Election | null;
}

export interface RunContext {
  steps: StepMeta[];
  records: StepRecord[];
  index: number;
  /** Ask before each step (guided mode). */
  guided: boolean;
  /** Round whose remaining steps were confirmed at once. */
  yesRound: string | null;
  slotOrders: Record<string, number[]>;
  canarySeq: number;
  seed: { myid: number; zxid: string } | null;
  failure: { index: number; message: string; output: string } | null;
}

export type RunEvent =
  { type: 'ANSWER'; answer: 'yes' | 'round' | 'skip' | 'abort' } | { type: 'RETRY' } | { type: 'SKIP' } | { type: 'ABORT' } | { type: 'RESUME' };

const now = () => Date.now();

function patch(ctx: RunContext, i: number, p: Partial<StepRecord>): StepRecord[] {
  return ctx.records.map((r, k) => (k === i ? { ...r, ...p } : r));
}

export const runMachine = setup({
  types: {
    context: {} as RunContext,
    events: {} as RunEvent,
    input: {} as { steps: StepMeta[]; guided: boolean },
  },
  actors: {
    runStep: fromPromise<RunOutput, RunInput>(async () => {
      throw new Error('runStep is provided by the caller');
    }),
  },
  guards: {
    finished: ({ context }) => context.index >= context.steps.length,
    mustAsk: ({ context }) => {
      const s = context.steps[context.index];
      if (!s) return false;
      if (s.confirm) return true;
      return context.guided && !(s.round !== null && s.round === context.yesRound);
    },
    interrupted: ({ event }) => (event as { error?: { name?: string } }).error?.name === INTERRUPTED,
  },
  actions: {
    skipStep: assign(({ context }) => ({
      records: patch(context, context.index, { status: 'skipped', endedAt: now() }),
      index: context.index + 1,
      failure: null,
    })),
  },
}).createMachine({
  id: 'zkroll-run',
  context: ({ input }) => ({
    steps: input.steps,
    records: input.steps.map(() => ({ status: 'pending', attempts: 0, startedAt: null, endedAt: null, resolved: null, notes: [] })),
    index: 0,
    guided: input.guided,
    yesRound: null,
    slotOrders: {},
    canarySeq: 0,
    seed: null,
    failure: null,
  }),
  initial: 'deciding',
  states: {
    deciding: {
      always: [{ guard: 'finished', target: 'done' }, { guard: 'mustAsk', target: 'confirming' }, { target: 'running' }],
    },
    confirming: {
      on: {
        ANSWER: [
          { guard: ({ event }) => event.answer === 'yes', target: 'running' },
          {
            guard: ({ event }) => event.answer === 'round',
            target: 'running',
            actions: assign(({ context }) => ({ yesRound: context.steps[context.index]?.round ?? null })),
          },
          { guard: ({ event }) => event.answer === 'skip', target: 'deciding', actions: 'skipStep' },
          { target: 'aborted' },
        ],
      },
    },
    running: {
      entry: assign(({ context }) => ({
        records: patch(context, context.index, {
          status: 'running',
          attempts: (context.records[context.index]?.attempts ?? 0) + 1,
          startedAt: now(),
          endedAt: null,
        }),
        failure: null,
      })),
      invoke: {
        src: 'runStep',
        input: ({ context }) => ({
          index: context.index,
          attempt: context.records[context.index]?.attempts ?? 1,
          slotOrders: context.slotOrders,
          canarySeq: context.canarySeq,
          ...(context.seed ? { seedZxid: context.seed.zxid } : {}),
        }),
        onDone: {
          target: 'deciding',
          actions: assign(({ context, event }) => {
            const out = event.output;
            const round = context.steps[context.index]?.round;
            return {
              records: patch(context, context.index, {
                status: 'done',
                endedAt: now(),
                resolved: out.resolved ?? null,
                notes: out.notes,
                election: out.election ?? null,
              }),
              index: context.index + 1,
              slotOrders: round && out.slotOrder ? { ...context.slotOrders, [round]: out.slotOrder } : context.slotOrders,
              seed: out.seed ?? context.seed,
              canarySeq: Math.max(context.canarySeq + 1, out.canarySeq ?? 0),
              failure: null,
            };
          }),
        },
        onError: [
          {
            guard: 'interrupted',
            target: 'interrupted',
            actions: assign(({ context }) => ({ records: patch(context, context.index, { status: 'pending' }) })),
          },
          {
            target: 'failed',
            actions: assign(({ context, event }) => {
              const e = event.error as { message?: string; outputTail?: string } | undefined;
              return {
                records: patch(context, context.index, { status: 'failed', endedAt: now() }),
                failure: { index: context.index, message: e?.message ?? String(event.error), output: e?.outputTail ?? '' },
              };
            }),
          },
        ],
      },
    },
    failed: {
      on: {
        RETRY: { target: 'running' },
        SKIP: { target: 'deciding', actions: 'skipStep' },
        ABORT: { target: 'aborted' },
      },
    },
    interrupted: {
      on: { RESUME: { target: 'deciding' } },
    },
    done: { type: 'final' },
    aborted: { type: 'final' },
  },
});

export type RunSnapshotValue = 'deciding' | 'confirming' | 'running' | 'failed' | 'interrupted' | 'done' | 'aborted';
