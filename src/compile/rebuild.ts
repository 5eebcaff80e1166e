// Strategy `rebuild`: the recovery of RUNBOOK.md §2 B, generalised to any number of servers
// and any renumbering. The broken servers stop and move their data aside; a temporary server
// is seeded with the seed server's data; temporary + broken (renumbered) form a mini-ensemble;
// the old ensemble is stopped; each remaining old server joins renumbered, one voter per round,
// with a rolling restart (followers first, leader last) — or, with membership: reconfig, one
// incremental reconfig each (membership.ts); the temporary server retires. Pure.
// Invariants: membership changes one voter at a time; every step passes the quorum proof or
// the plan is refused; every server keeps its host and client port.
import type { Plan, RebuildStrategy, ServerSpec } from '../plan/schema.js';
import { StepList } from './builder.js';
import { logConfigFiles } from './logging.js';
import {
  RUN_TOKEN,
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
  temporaryNode,
  votersOf,
} from './nodes.js';
import { readerCommands } from './split.js';
import { accessStep, configGate, growByReconfig, reconfigConfigFiles, retireByReconfig } from './membership.js';
import { finalStep } from './rolling.js';
import { dropTrustEmpty, firstStartKeys } from './traps.js';
import type { FileWrite, Gate, MemberAction, NodeRef, RemoteCommand, Step } from './types.js';
import { Refusal } from './types.js';

export function compileRebuild(plan: Plan): Step[] {
  const s = plan.strategy as RebuildStrategy;
  const h = plan.health;
  const brokenObservers = plan.servers.filter((x) => x.role === 'observer' && s.broken.includes(x.myid)).map((x) => x.myid);
  if (brokenObservers.length > 0) {
    throw new Refusal(
      `broken server${brokenObservers.length === 1 ? '' : 's'} ${brokenObservers.join(', ')} ${brokenObservers.length === 1 ? 'is an observer' : 'are observers'}: the mini-ensemble is formed by voters (the temporary server and the broken servers), and an observer does not vote. List only participants under strategy.broken; an observer rejoins in its own round like the other old servers.`,
    );
  }
  const temp = temporaryNode(plan)!;
  const newId = new Map(s.renumber.map((r) => [r.from, r.to]));
  const broken = plan.servers.filter((x) => s.broken.includes(x.myid));
  const rest = plan.servers.filter((x) => !s.broken.includes(x.myid)).sort((a, b) => newId.get(a.myid)! - newId.get(b.myid)!);
  const target = (x: ServerSpec) => targetNode(plan, x, newId.get(x.myid)!);
  const mini = [temp, ...broken.map(target)];
  if (mini.length < 3) {
    throw new Refusal(
      `the mini-ensemble (temporary server ${temp.myid}${broken.length ? ` + ${broken.map((x) => x.myid).join(', ')}` : ''}) would have ${mini.length} server${mini.length === 1 ? '' : 's'}: ` +
        `it could not keep a quorum while the next server joins (a rolling restart of ${mini.length} takes it below ${quorumOf(mini.length)}). It needs at least 3: list at least 2 servers as broken.`,
    );
  }

  const reconfig = s.membership === 'reconfig';
  // the mini-ensemble's and joiners' first config: static server lines, or a dynamic file (reconfig)
  const firstFiles = reconfig ? reconfigConfigFiles : configFiles;
  const b = new StepList(plan);
  // observers do not vote: the old ensemble's quorum is of its participants
  const voter = (x: ServerSpec) => x.role !== 'observer';
  b.model.startOld(
    plan.servers.filter(voter).map((x) => x.myid),
    rest.filter(voter).map((x) => x.myid),
  );
  const seedCandidates = s.seedFrom === 'leader' ? rest.map(oldNode) : plan.servers.filter((x) => x.myid === s.seedFrom).map(oldNode);
  const seedLabel = s.seedFrom === 'leader' ? "the old ensemble's leader (found at run time)" : `server ${s.seedFrom}`;
  const baseServer = rest[0]!;

  b.phase = 'Prepare';
  for (const node of [...plan.servers.map(target), temp]) {
    b.add({
      id: `prepare/${node.host}`,
      phase: b.phase,
      action: 'prepare-install',
      title: `Check the ${plan.target.version} install on ${node.host} and set daily-rolled logs`,
      reason: 'the new work directory sits beside the running one; nothing running is touched',
      target: { kind: 'node', node },
      commands: [checkInstallCommand(plan.target.home, h.gateDeadline)],
      files: logConfigFiles(plan.target.version, plan.target.home),
      gates: [],
    });
  }
  if (s.preserveEphemerals.length > 0) {
    b.add({
      id: 'prepare/persist-ephemerals',
      phase: b.phase,
      action: 'persist-ephemerals',
      title: `Write persistent copies of the ephemeral nodes under ${s.preserveEphemerals.join(', ')}`,
      reason:
        'ephemeral nodes are not in snapshots a new ensemble starts from; the copies keep clients (Codis proxies) discoverable until their owners re-register',
      target: { kind: 'ensemble', which: 'old', members: rest.map(oldNode) },
      commands: [],
      files: [],
      gates: [],
    });
  }

  b.phase = 'Stop the broken servers';
  for (const x of broken) {
    b.stopStep(
      `broken/stop-${x.myid}`,
      oldNode(x),
      `Stop broken server ${x.myid} (${x.host})`,
      'it cannot rejoin the old ensemble; it is renumbered into the new one',
      () => b.model.stopOld(x.myid),
    );
  }
  for (const x of broken)
    b.backupStep(`broken/backup-${x.myid}`, target(x), 'it will sync the full data from the mini-ensemble; its stale data is kept, not deleted');

  b.phase = `Seed temporary server ${temp.myid}`;
  b.backupStep(`seed/backup-${temp.myid}`, temp, 'a spare host should have no data; anything there is kept aside, not mixed in');
  b.add({
    id: 'seed/copy',
    phase: b.phase,
    action: 'copy-seed-data',
    title: `Copy the data of ${seedLabel} to temporary server ${temp.myid} (${temp.host})`,
    reason:
      "the new ensemble starts from the old one's complete data (snapshots and transaction logs); the old ensemble's last zxid is recorded for the split-window check",
    target: { kind: 'seed', seedFrom: s.seedFrom, candidates: seedCandidates, to: temp },
    commands: [],
    files: [],
    gates: [],
    // the seed is resolved at run time (the leader): each candidate's own copy commands
    byMember: seedCandidates.map((c) => ({ myid: c.myid, host: c.host, commands: seedCopyCommands(c, temp, h.gateDeadline), gates: [] })),
  });
  b.add({
    id: `seed/config-${temp.myid}`,
    phase: b.phase,
    action: 'write-config',
    title: `Write myid ${temp.myid} and the mini-ensemble's zoo.cfg on ${describeNode(temp)}`,
    reason: `the mini-ensemble is servers ${mini.map((n) => n.myid).join(', ')} only`,
    target: { kind: 'node', node: temp },
    commands: [],
    files: firstFiles(plan, temp, mini, baseServer.config, baseServer.host),
    gates: [],
  });

  b.phase = `Form the mini-ensemble (${mini.map((n) => n.myid).join(', ')})`;
  for (const x of broken) {
    const node = target(x);
    b.add({
      id: `mini/config-${node.myid}`,
      phase: b.phase,
      action: 'write-config',
      title: `Write myid ${node.myid} and the mini-ensemble's zoo.cfg on ${describeNode(node)}`,
      reason: `old server ${x.myid} becomes ${node.myid} (renumbering) on the ${plan.target.version} install`,
      target: { kind: 'node', node },
      commands: [],
      files: firstFiles(plan, node, mini, x.config, x.host),
      gates: [],
    });
  }
  b.model.formNew(mini.map((n) => n.myid));
  mini.forEach((node, i) => {
    const last = i === mini.length - 1;
    const formed = i + 1 === quorumOf(mini.length);
    const gates: Gate[] = [runningGate(plan, node, h.startDeadline)];
    if (i + 1 >= quorumOf(mini.length)) gates.push({ kind: 'serving', node, deadlineMs: h.startDeadline });
    if (last)
      gates.push(
        { kind: 'ensemble', members: mini, deadlineMs: h.gateDeadline },
        { kind: 'canary', members: mini, path: h.canaryPath, deadlineMs: h.gateDeadline },
        ...(reconfig ? [configGate(plan, mini)] : []),
      );
    b.startStep(
      `mini/start-${node.myid}`,
      node,
      `Start ${describeNode(node)}`,
      formed
        ? 'with this server the mini-ensemble reaches quorum and elects a leader; it syncs from the seeded data'
        : last
          ? 'the mini-ensemble is complete'
          : 'it waits for a quorum of the mini-ensemble',
      gates,
      () => b.model.startNew(node.myid),
      { elections: formed ? 1 : 0 },
    );
  });

  if (reconfig) accessStep(b, mini);

  b.phase = 'Stop the old ensemble';
  // the stop that takes the old ensemble below its quorum (the broken servers are down already)
  const restVoters = rest.filter(voter);
  const ender = restVoters[restVoters.length - quorumOf(plan.servers.filter(voter).length)];
  rest.forEach((x) => {
    b.stopStep(
      `old/stop-${x.myid}`,
      oldNode(x),
      `Stop old ${x.role === 'observer' ? 'observer' : 'server'} ${x.myid} (${x.host})`,
      x === ender
        ? 'the old ensemble ends here (no write can be acknowledged by it after this); writes it took after the copy are carried over once it has stopped; clients reconnect to the new ensemble on the same hosts and ports'
        : x.role === 'observer'
          ? 'an observer of the old ensemble (it does not vote); it rejoins renumbered in its round'
          : 'the rest of the old ensemble goes; the server rejoins renumbered in its round',
      () => b.model.stopOld(x.myid),
    );
  });

  b.add({
    id: 'old/split-window',
    phase: b.phase,
    action: 'split-window',
    title: 'Carry over the writes the old ensemble took after the copy (split window)',
    reason:
      "two ensembles served from the copy until the old one stopped: copies of the old servers' final data are opened read-only, the last zxid is compared with the one recorded at the copy, and every node the old ensemble created or changed since is written to the new ensemble (nothing is deleted)",
    target: { kind: 'split', old: rest.map(oldNode), neu: mini },
    commands: [],
    files: [],
    gates: [],
    // each old member's reader: [start, stop]
    byMember: rest.map((x) => ({ myid: x.myid, host: x.host, commands: readerCommands(oldNode(x), plan.cluster.ports.client, h.gateDeadline), gates: [] })),
  });
  let members = [...mini];
  for (const x of rest) {
    const joiner = target(x);
    const next = [...members, joiner];
    b.phase = `Grow: old ${x.myid} joins as ${joiner.myid}`;
    if (reconfig) {
      members = growByReconfig(b, joiner, x.myid, members, x.config, x.host);
      continue;
    }
    b.backupStep(`grow-${joiner.myid}/backup`, joiner, 'it rejoins empty and takes the full data from the new leader; its old data is kept aside');
    b.add({
      id: `grow-${joiner.myid}/config-${joiner.myid}`,
      phase: b.phase,
      action: 'write-config',
      title: `Write myid ${joiner.myid} and a ${next.length}-server zoo.cfg on ${describeNode(joiner)}`,
      reason: `old server ${x.myid} becomes ${joiner.myid}`,
      target: { kind: 'node', node: joiner },
      commands: [],
      files: configFiles(plan, joiner, next, x.config, x.host),
      gates: [],
    });
    b.model.beginRound(votersOf(next).map((n) => n.myid));
    b.startStep(
      `grow-${joiner.myid}/start`,
      joiner,
      `Start ${describeNode(joiner)}`,
      'it connects to the current leader and syncs before the members learn about it',
      [runningGate(plan, joiner, h.startDeadline), { kind: 'serving', node: joiner, deadlineMs: h.startDeadline }],
      () => b.model.startNew(joiner.myid),
    );
    rollRound(b, `grow-${joiner.myid}`, members, next, `add server.${joiner.myid}`);
    members = next;
  }

  const final = members.filter((n) => !n.temporary);
  b.phase = `Retire temporary server ${temp.myid}`;
  if (reconfig) {
    retireByReconfig(b, temp, members);
    dropTrustEmpty(b, final);
    finalStep(b, final, [configGate(plan, final)]);
    return b.steps;
  }
  b.model.beginRound(votersOf(final).map((n) => n.myid));
  b.stopStep(
    `retire/stop-${temp.myid}`,
    temp,
    `Stop ${describeNode(temp)}`,
    'it has done its job; if it leads, the others elect a new leader',
    () => b.model.stopNew(temp.myid),
    {
      gates: [
        { kind: 'stopped', node: temp, deadlineMs: h.gateDeadline },
        { kind: 'ensemble', members: final, deadlineMs: h.gateDeadline },
      ],
      maybeElection: true,
    },
  );
  rollRound(b, 'retire', final, final, `remove server.${temp.myid}`);
  dropTrustEmpty(b, final);
  finalStep(b, final);
  return b.steps;
}

/** myid + zoo.cfg for `node` in an ensemble of `members`, the zoo.cfg based on `base` at `baseHost`. */
function configFiles(plan: Plan, node: NodeRef, members: NodeRef[], base: string, baseHost: string): FileWrite[] {
  return [
    { kind: 'literal', path: `${node.dataDir}/myid`, content: `${node.myid}\n`, mode: 0o644 },
    { kind: 'zoo.cfg', path: node.config, base, baseHost, servers: serverLines(plan, members), node, mode: 0o644, ...firstStartKeys(plan) },
  ];
}

/** Write the round's config on every member, then restart them: followers first, leader last. */
function rollRound(b: StepList, round: string, members: NodeRef[], next: NodeRef[], change: string): void {
  const plan = b.plan;
  const h = plan.health;
  const running = b.model.neu ? [...b.model.neu.running] : [];
  const ensemble = next.filter((n) => running.includes(n.myid));
  for (const m of members) {
    b.add({
      id: `${round}/config-${m.myid}`,
      phase: b.phase,
      action: 'write-config',
      title: `Write the ${next.length}-server zoo.cfg on ${describeNode(m)} (${change})`,
      reason: 'takes effect when the server restarts in this round',
      target: { kind: 'node', node: m },
      commands: [],
      files: [{ kind: 'zoo.cfg', path: m.config, base: m.config, servers: serverLines(plan, next), node: m, mode: 0o644 }],
      gates: [],
    });
  }
  const byMember: MemberAction[] = members.map((m) => ({
    myid: m.myid,
    host: m.host,
    commands: [stopAndWait(m, m, serviceOf(plan, m), h.gateDeadline), startCommand(m, serviceOf(plan, m), h.startDeadline)],
    gates: [
      runningGate(plan, m, h.startDeadline),
      { kind: 'serving', node: m, deadlineMs: h.startDeadline },
      { kind: 'ensemble', members: ensemble, deadlineMs: h.gateDeadline },
    ],
  }));
  const n = members.length;
  for (let slot = 1; slot <= n; slot++) {
    const leaderSlot = slot === n;
    b.add(
      {
        id: `${round}/restart-${slot}`,
        phase: b.phase,
        action: 'restart',
        title: leaderSlot ? `Restart the leader (last of ${n})` : `Restart follower ${slot} of ${n - 1}`,
        reason: leaderSlot
          ? 'one election per round: the leader goes last, and the new configuration serves from here'
          : 'followers first, in myid order, resolved from the live ensemble at this moment',
        target: { kind: 'slot', round, slot, of: n, members },
        commands: [],
        files: [],
        gates: [],
        byMember,
        elections: leaderSlot ? 1 : 0,
      },
      () => {
        if (leaderSlot) b.model.endRound();
      },
      // while it restarts, one voter of the serving configuration is down
      leaderSlot ? next.find((x) => members.some((m) => m.myid === x.myid))?.myid : members.find((m) => b.model.neu?.serving.includes(m.myid))?.myid,
    );
  }
}

// The receiving side of the seed copy: an earlier version-2 (or the leftover of an interrupted
// copy) is moved to a dated backup, the stream is unpacked into version-2.zkroll-incoming and
// moved into place only once tar has read the whole archive (set -e: a cut stream leaves the
// incoming directory, moved aside by the next attempt, never mixed with a fresh copy).
export const RECEIVE_SCRIPT = [
  'set -e',
  'mkdir -p "$1"',
  'for x in version-2 version-2.zkroll-incoming; do if [ -e "$1/$x" ]; then mv "$1/$x" "$1/$x.zkroll-backup-$2-$(date +%s%N)"; fi; done',
  'mkdir "$1/version-2.zkroll-incoming"',
  'tar -C "$1/version-2.zkroll-incoming" -xf -',
  'mv "$1/version-2.zkroll-incoming/version-2" "$1/version-2"',
  'rmdir "$1/version-2.zkroll-incoming"',
].join('; ');

/**
 * What the copy runs when `seed` is the seed: per data directory, tar on the seed streamed into
 * the receiving script on the temporary server. A live leader appends to its log while tar reads
 * it: GNU tar then exits 1 ("file changed as we read it"), accepted (ZooKeeper reads a log up to
 * its last whole transaction).
 */
function seedCopyCommands(seed: NodeRef, to: NodeRef, timeoutMs: number): RemoteCommand[] {
  const pairs =
    seed.dataDir === seed.dataLogDir
      ? [[seed.dataDir, to.dataDir]]
      : [
          [seed.dataDir, to.dataDir],
          [seed.dataLogDir, to.dataLogDir],
        ];
  return pairs.flatMap(([from, into], i): RemoteCommand[] => [
    {
      argv: ['tar', '--warning=no-file-changed', '-C', from!, '-cf', '-', 'version-2'],
      timeoutMs,
      does: `on the seed ${seed.host}: stream ${from}/version-2 as a tar archive, through zkroll to ${to.host}`,
      host: seed.host,
      okCodes: [0, 1],
      streamTo: 2 * i + 1,
    },
    {
      argv: ['sh', '-c', RECEIVE_SCRIPT, 'zkroll-receive', into!, RUN_TOKEN],
      timeoutMs,
      does: `on ${to.host}: unpack it into ${into}/version-2 (an earlier version-2 or an interrupted copy is moved to a dated backup)`,
      host: to.host,
    },
  ]);
}
