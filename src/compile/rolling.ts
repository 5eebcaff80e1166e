// Strategy `rolling`: the in-place upgrade. Every server gets the target install prepared
// beside the running one (same myid, same data, its own zoo.cfg carried over), then one
// round restarts the members onto it: followers in myid order, the current leader last.
// Pure. Invariants: same myids and data directories; one server down at a time; the plan is
// refused when a restart could not keep a quorum (fewer than 3 servers).
import type { Plan } from '../plan/schema.js';
import { StepList } from './builder.js';
import { logConfigFiles } from './logging.js';
import { dropTrustEmpty, firstStartKeys, needsTrustEmpty, trustEmptyReason } from './traps.js';
import { hasDiffHole } from '../plan/versions.js';
import {
  backupCommand,
  checkInstallCommand,
  describeNode,
  oldNode,
  quorumOf,
  runningGate,
  serverLines,
  serviceOf,
  startCommand,
  stopAndWait,
  targetNode,
  votersOf,
} from './nodes.js';
import type { Gate, MemberAction, NodeRef, Step } from './types.js';
import { Refusal } from './types.js';

export function compileRolling(plan: Plan): Step[] {
  const n = plan.servers.length;
  const voters = plan.servers.filter((s) => s.role !== 'observer').length;
  if (voters < 3) {
    const obs = n - voters;
    const what = `${voters} voting server${voters === 1 ? '' : 's'}${obs > 0 ? ` (and ${obs} observer${obs === 1 ? '' : 's'}, which do not vote)` : ''}`;
    throw new Refusal(
      `a rolling restart of ${what} cannot keep a quorum: with one voter down, ${voters - 1} of ${voters} is below the quorum of ${quorumOf(voters)}. An ensemble needs at least 3 voters to be upgraded without an outage.`,
    );
  }
  const b = new StepList(plan);
  const h = plan.health;
  const ids = plan.servers.map((s) => s.myid);
  b.model.formNew(plan.servers.filter((s) => s.role !== 'observer').map((s) => s.myid));
  for (const id of ids) b.model.startNew(id);
  const targets = plan.servers.map((s) => targetNode(plan, s, s.myid));
  const lines = serverLines(plan, targets);

  b.phase = 'Prepare the target install';
  plan.servers.forEach((s, i) => {
    const node = targets[i]!;
    b.add({
      id: `prepare/${s.myid}`,
      phase: b.phase,
      action: 'prepare-install',
      title: `Prepare ${plan.target.home} on ${describeNode(node)}`,
      reason: `the server keeps running; its zoo.cfg is carried over to the ${plan.target.version} install unchanged except for what zkroll owns, with daily-rolled logs${needsTrustEmpty(plan) ? trustEmptyReason(plan) : ''}`,
      target: { kind: 'node', node },
      commands: [checkInstallCommand(plan.target.home, h.gateDeadline)],
      files: [
        { kind: 'zoo.cfg', path: node.config, base: s.config, servers: lines, node, mode: 0o644, ...firstStartKeys(plan) },
        ...logConfigFiles(plan.target.version, plan.target.home),
      ],
      gates: [],
    });
  });

  b.phase = `Rolling restart onto ${plan.target.version}`;
  const members = targets;
  const byId = new Map(plan.servers.map((s) => [s.myid, oldNode(s)]));
  for (let slot = 1; slot <= n; slot++) {
    const leaderSlot = slot === n;
    b.add(
      {
        id: `upgrade/restart-${slot}`,
        phase: b.phase,
        action: 'restart',
        title: leaderSlot
          ? `Restart the leader on ${plan.target.version} (last)`
          : `Restart ${voters < n ? 'non-leader' : 'follower'} ${slot} of ${n - 1} on ${plan.target.version}`,
        reason: leaderSlot
          ? `the leader goes last so the ensemble holds one election in this round${hasDiffHole(plan.target.version) ? `; its version-2 is moved to a dated backup before it starts on ${plan.target.version}, so it takes a full snapshot from the new leader, not a DIFF from a leader that rejoined by DIFF (ZOOKEEPER-4925)` : ''}`
          : voters < n
            ? 'observers first (they do not vote), then the followers, each in myid order, resolved from the live ensemble at this moment'
            : 'followers first, in myid order, resolved from the live ensemble at this moment',
        target: { kind: 'slot', round: 'upgrade', slot, of: n, members },
        commands: [],
        files: [],
        gates: [],
        byMember: members.map((m) => memberRestart(plan, byId.get(m.myid)!, m, members, leaderSlot && hasDiffHole(plan.target.version))),
        elections: leaderSlot ? 1 : 0,
      },
      () => {},
      // the member of this slot is down while it restarts: at worst a voter
      votersOf(members)[0]!.myid,
    );
  }
  dropTrustEmpty(b, members);
  finalStep(b, members);
  return b.steps;
}

/**
 * Stop the server where it runs, start it from the target install, wait for it and the ensemble.
 * `fullSync`: move its version-2 to a dated backup between the stop and the start, so it joins
 * empty and takes a full snapshot from the leader (ZOOKEEPER-4925).
 */
function memberRestart(plan: Plan, from: NodeRef, to: NodeRef, members: NodeRef[], fullSync = false): MemberAction {
  const h = plan.health;
  // `running` first: the JVM must have the target config, or a service that still starts the old
  // install (a systemd unit not repointed) would pass `serving` on the old version
  const gates: Gate[] = [
    runningGate(plan, to, h.startDeadline),
    { kind: 'serving', node: to, deadlineMs: h.startDeadline },
    { kind: 'ensemble', members, deadlineMs: h.gateDeadline },
  ];
  return {
    myid: to.myid,
    host: to.host,
    commands: [
      stopAndWait(from, to, serviceOf(plan, from), h.gateDeadline),
      ...(fullSync ? [backupCommand(to, h.gateDeadline)] : []),
      startCommand(to, serviceOf(plan, to), h.startDeadline),
    ],
    gates,
  };
}

export function finalStep(b: StepList, members: NodeRef[], extra: Gate[] = []): void {
  const h = b.plan.health;
  b.phase = 'Final checks';
  const gates: Gate[] = [
    ...extra,
    { kind: 'ensemble', members, deadlineMs: h.gateDeadline },
    { kind: 'canary', members, path: h.canaryPath, deadlineMs: h.gateDeadline },
  ];
  if (h.requiredZnodes.length > 0) gates.push({ kind: 'znodes', members, znodes: h.requiredZnodes, deadlineMs: h.gateDeadline });
  // every server on the target release (srvr), then the last gate of every plan: the same data
  // on every server (zkroll verify)
  gates.push({ kind: 'version', members, version: b.plan.target.version, deadlineMs: h.gateDeadline });
  gates.push({ kind: 'consistent', members, skip: [h.canaryPath], deadlineMs: h.gateDeadline });
  b.add({
    id: 'final/check',
    phase: b.phase,
    action: 'final-check',
    title: `Check the ensemble of ${members.length}: one leader, ${members.length - 1} synced followers, writes accepted, every server on ${b.plan.target.version}, the same data everywhere`,
    reason: 'the run is done only when the end state is proven, not assumed',
    target: { kind: 'ensemble', which: 'new', members },
    commands: [],
    files: [],
    gates,
  });
}
