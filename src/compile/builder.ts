// Accumulates steps in order: numbers them, snapshots the quorum model after each one and
// runs the per-step quorum proof, so a strategy only says what happens. Pure.
// Invariants: every step's membership is the model's state after the step; a step that would
// break quorum throws Refusal at the moment it is added (the message names the step).
import type { Plan } from '../plan/schema.js';
import { checkStep, QuorumModel } from './quorum.js';
import { backupCommand, describeNode, serviceOf, startCommand, stopCommand } from './nodes.js';
import type { Gate, NodeRef, Step, StepTarget } from './types.js';

export type StepInput = Omit<Step, 'n' | 'membership' | 'elections'> & { elections?: number };

export class StepList {
  readonly steps: Step[] = [];
  readonly model = new QuorumModel();
  phase = '';

  constructor(readonly plan: Plan) {}

  get h() {
    return this.plan.health;
  }

  /** Add a step; `mutate` applies its effect to the quorum model; `down` is what it takes down while running. */
  add(input: StepInput, mutate: () => boolean | void = () => {}, down?: number): Step {
    const before = this.model.membership();
    const endsOld = mutate() === true;
    const membership = this.model.membership(down);
    checkStep(input.title, before, membership, endsOld);
    const step: Step = { ...input, n: this.steps.length + 1, membership, elections: input.elections ?? 0 };
    if (endsOld && step.confirm === undefined) {
      step.confirm = `this stop ends the old ensemble: it loses quorum (${membership.old?.live.length ?? 0} of ${membership.old?.config.length ?? 0} voters left)`;
    }
    this.steps.push(step);
    return step;
  }

  nodeTarget(node: NodeRef): StepTarget {
    return { kind: 'node', node };
  }

  stopStep(id: string, node: NodeRef, title: string, reason: string, mutate: () => boolean | void, extra: Partial<StepInput> = {}): Step {
    return this.add(
      {
        id,
        phase: this.phase,
        action: 'stop',
        title,
        reason,
        target: this.nodeTarget(node),
        commands: [stopCommand(node, serviceOf(this.plan, node), this.h.gateDeadline)],
        files: [],
        gates: [{ kind: 'stopped', node, deadlineMs: this.h.gateDeadline }],
        ...extra,
      },
      mutate,
    );
  }

  startStep(id: string, node: NodeRef, title: string, reason: string, gates: Gate[], mutate: () => void, extra: Partial<StepInput> = {}): Step {
    return this.add(
      {
        id,
        phase: this.phase,
        action: 'start',
        title,
        reason,
        target: this.nodeTarget(node),
        commands: [startCommand(node, serviceOf(this.plan, node), this.h.startDeadline)],
        files: [],
        gates,
        ...extra,
      },
      mutate,
    );
  }

  backupStep(id: string, node: NodeRef, reason: string): Step {
    return this.add({
      id,
      phase: this.phase,
      action: 'backup-data',
      title: `Move the old data of ${describeNode(node)} to a dated backup`,
      reason,
      target: this.nodeTarget(node),
      commands: [backupCommand(node, this.h.gateDeadline)],
      files: [],
      gates: [],
    });
  }
}
