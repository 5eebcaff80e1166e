// Accumulates steps in order: numbers them, snapshots the quorum model after each one and
// runs the per-step quorum proof, so a strategy only says what happens. Pure.
// Invariants: every step's membership is the model's state after the step; a step that would
// break quorum throws Refusal at the moment it is added (the message names the step).
import type { Plan } from '../plan/schema.js';
import { checkStep, QuorumModel } from './quorum.js';
import { backupCommand, describeNode, serviceOf, startCommand, stopCommand } from './nodes.js';
import type { Gate, NodeRef, Step, StepTarget } from './types.js';

export type StepInput = Omit<Step, 'n' | 'membership' | 'elections' | 'reads'> & { elections?: number };

/** What a step of this kind reads at run time (reads change nothing; see Step.reads). */
export function readsOf(s: StepInput): string[] {
  const r: string[] = [];
  const t = s.target;
  const where = t.kind === 'node' ? t.node.host : 'its host';
  const data =
    t.kind === 'node' ? (t.node.dataDir === t.node.dataLogDir ? t.node.dataDir : `${t.node.dataDir} and ${t.node.dataLogDir}`) : 'its data directories';
  switch (s.action) {
    case 'stop':
      r.push(`the ZooKeeper processes on ${where} (a server that is not running is not stopped again)`);
      break;
    case 'start':
      r.push(
        `the ZooKeeper processes on ${where} (a running server is not started again)`,
        `the snapshots, transaction logs and free space of ${data} (a start on bad data is refused)`,
        `after a failed start: the last lines of the server's newest logs under ${t.kind === 'node' ? t.node.home : '<home>'}/logs`,
      );
      break;
    case 'restart':
      r.push(
        "srvr on every member (who leads; the round's order is fixed at its first slot and remembered)",
        "the member's snapshots, transaction logs and free space (a restart onto bad data is refused)",
        "after a failed start: the last lines of the member's newest logs under <home>/logs",
      );
      break;
    case 'copy-seed-data':
      r.push('srvr on every candidate (the leader is the seed; its zxid is recorded for the split-window check)');
      break;
    case 'persist-ephemerals':
      r.push('the tree under the preserved roots, through the ZooKeeper client (it writes the persistent copies)');
      break;
    case 'split-window':
      r.push(
        "srvr on the old members and on each reader, the readers' trees and the new ensemble's, through the ZooKeeper client (it writes what the old ensemble took after the copy)",
      );
      break;
    case 'final-check':
      r.push('the persistent copies of ephemeral nodes, through the ZooKeeper client');
      break;
    case 'reconfig':
      r.push('srvr on the members (the reconfig goes to the leader)', '/zookeeper/config after a sync (the committed configuration and its version)');
      break;
    case 'check-reconfig-access':
      r.push(
        "the old servers' zoo.cfg (reconfigEnabled must be off there)",
        'srvr on the members (the leader is probed)',
        'whoAmI on every member, or their AdminServer system_properties (skipACL)',
        '/zookeeper/config after a sync',
      );
      break;
    default:
      break;
  }
  if (s.files.some((f) => f.kind !== 'literal')) r.push("the files it rewrites as they are now (and a zoo.cfg's dynamicConfigFile)");
  if (s.maybeElection || (s.elections ?? 0) > 0) r.push('srvr on the members while an election runs (its length is measured)');
  if (
    (s.before ?? []).length + s.gates.length + (s.byMember ?? []).reduce((n, m) => n + m.gates.length, 0) > 0 ||
    s.commands.some((c) => c.then) ||
    (s.byMember ?? []).some((m) => m.commands.some((c) => c.then))
  )
    r.push('what its gates poll');
  return r;
}

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
    const step: Step = { ...input, n: this.steps.length + 1, membership, elections: input.elections ?? 0, reads: readsOf(input) };
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
