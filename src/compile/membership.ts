// Membership changes of a rebuild through ZooKeeper's dynamic reconfiguration (strategy
// membership: reconfig, 3.7+): the mini-ensemble is written with reconfigEnabled and a dynamic
// file, zkroll proves it may reconfigure before the old ensemble stops, and then every joining
// server is one `reconfig -add` and the temporary server's retirement one `reconfig -remove` —
// no rolling restarts. Pure.
// Sources: zookeeperReconfig.md ("Adding servers": a joiner starts with the committed config
// plus itself and syncs as a non-voting follower before it is added; "Removing servers": a
// removed leader hands off; "Progress guarantees": both quorums until activation);
// QuorumPeerConfig.java (dynamicConfigFile, reconfigEnabled) at release-3.9.3.
// Invariants: one voter per reconfig (QuorumModel.reconfigure proves both quorums); every
// reconfig is a compare-and-set on the configuration the plan expects; a dynamic file lists
// every member with its client part, so no member rebinds its client port on a reconfig.
import type { Plan, RebuildStrategy } from '../plan/schema.js';
import type { StepList } from './builder.js';
import { describeNode, oldNode, runningGate, serverLines, votersOf } from './nodes.js';
import { renderServerValue } from './serverline.js';
import { firstStartKeys } from './traps.js';
import type { DynamicMember, FileWrite, Gate, NodeRef, ReconfigAuth, ReconfigOp } from './types.js';

/** The plan's reconfig settings (membership: reconfig; rules.ts makes sure they are there). */
export function reconfigAuth(plan: Plan): ReconfigAuth {
  const r = (plan.strategy as RebuildStrategy).reconfig;
  const auth: ReconfigAuth = { access: r?.access ?? 'super', user: r?.user ?? 'super' };
  if (r?.passwordFile !== undefined) auth.passwordFile = r.passwordFile;
  return auth;
}

/**
 * Why an old ensemble must not enable reconfig (the preflight and the access step say it): its
 * servers go LOOKING once it loses quorum, dial the election ports the new servers hold and adopt
 * the higher-versioned configuration leader election carries (FastLeaderElection, release-3.9.3).
 */
export const OLD_RECONFIG_RISK =
  "when the old ensemble loses quorum its servers would adopt the new ensemble's configuration through leader election, join it and overwrite their own data. Set reconfigEnabled=false on the old servers (a rolling restart of the old ensemble) before this rebuild";

/** The change of a reconfig as the zk CLI writes it: `-add server.N=…[,…] -remove N[,…]` (the plan and audit.jsonl show this). */
export function reconfigChange(op: Pick<ReconfigOp, 'joining' | 'leaving'>): string {
  return [...(op.joining.length > 0 ? [`-add ${op.joining.join(',')}`] : []), ...(op.leaving.length > 0 ? [`-remove ${op.leaving.join(',')}`] : [])].join(' ');
}

/** The members as a dynamic configuration lists them, client part per strategy.reconfig.clientAddress. */
export function dynamicMembers(plan: Plan, nodes: NodeRef[]): DynamicMember[] {
  const any = (plan.strategy as RebuildStrategy).reconfig?.clientAddress === 'any';
  return serverLines(plan, nodes).map((l) => ({ ...l, clientHost: any ? null : l.host }));
}

/** `server.N=host:quorum:election:role;[clientHost:]clientPort` (the dynamic file's and reconfig's syntax). */
export function dynamicLine(m: DynamicMember): string {
  const value = renderServerValue({
    id: m.myid,
    addresses: [{ host: m.host, quorumPort: m.quorumPort, electionPort: m.electionPort }],
    role: m.observer ? 'observer' : 'participant',
    client: { address: m.clientHost, port: m.clientPort },
  });
  return `server.${m.myid}=${value}`;
}

/** Where zkroll writes a node's first dynamic file (no version suffix: version 0 until the ensemble forms). */
export function dynamicFilePath(node: NodeRef): string {
  return `${node.config}.dynamic`;
}

/**
 * myid, zoo.cfg and its dynamic file for `node` starting in a dynamic ensemble of `members`:
 * zoo.cfg is `base` (at `baseHost`) with reconfigEnabled=true and dynamicConfigFile set, its
 * server lines, clientPort and clientPortAddress moved into the dynamic file (as ZooKeeper's own
 * QuorumPeerConfig.editStaticConfig does).
 */
export function reconfigConfigFiles(plan: Plan, node: NodeRef, members: NodeRef[], base: string, baseHost: string): FileWrite[] {
  const path = dynamicFilePath(node);
  const lines = dynamicMembers(plan, members);
  const content = lines.map(dynamicLine).join('\n') + '\n';
  const clientHost = lines.find((l) => l.myid === node.myid)?.clientHost ?? null;
  const trap = firstStartKeys(plan).set ?? [];
  return [
    { kind: 'literal', path: `${node.dataDir}/myid`, content: `${node.myid}\n`, mode: 0o644 },
    {
      kind: 'zoo.cfg',
      path: node.config,
      base,
      baseHost,
      servers: serverLines(plan, members),
      node,
      mode: 0o644,
      set: [{ key: 'reconfigEnabled', value: 'true' }, { key: 'dynamicConfigFile', value: path }, ...trap],
      unset: ['clientPort', 'clientPortAddress'],
      dynamic: { path, content, clientHost },
    },
  ];
}

/** The gate that every member's /zookeeper/config lists exactly `members`. */
export function configGate(plan: Plan, members: NodeRef[]): Gate {
  return { kind: 'config', members, expect: dynamicMembers(plan, members), deadlineMs: plan.health.gateDeadline };
}

/**
 * Before the old ensemble stops (the point of no return): prove on the formed mini-ensemble that
 * zkroll's session may reconfigure (super in whoAmI, or skipACL) and that reconfig is enabled.
 */
export function accessStep(b: StepList, mini: NodeRef[]): void {
  const op: ReconfigOp = {
    from: dynamicMembers(b.plan, mini),
    to: dynamicMembers(b.plan, mini),
    joining: [],
    leaving: [],
    members: mini,
    auth: reconfigAuth(b.plan),
    oldEnsemble: b.plan.servers.map(oldNode),
  };
  b.add({
    id: 'mini/reconfig-access',
    phase: b.phase,
    action: 'check-reconfig-access',
    title: `Prove that zkroll may reconfigure the mini-ensemble (${op.auth.access === 'super' ? `digest user ${op.auth.user}, superuser` : 'skipACL'})`,
    reason:
      "every later membership change is a reconfig; this is proven on every member while the old ensemble still serves, so a missing superDigest, skipACL or reconfigEnabled stops the run before anything irreversible; the old servers' zoo.cfg must not enable reconfig (they would join the new ensemble once the old one loses quorum)",
    target: { kind: 'ensemble', which: 'new', members: mini },
    commands: [],
    files: [],
    gates: [],
    reconfig: op,
  });
}

/** One joiner: its data aside, its first config (committed + itself) written and its start as a non-voting follower in one step, then `reconfig -add`. */
export function growByReconfig(b: StepList, joiner: NodeRef, oldId: number, members: NodeRef[], base: string, baseHost: string): NodeRef[] {
  const plan = b.plan;
  const h = plan.health;
  const next = [...members, joiner];
  b.backupStep(`grow-${joiner.myid}/backup`, joiner, 'it joins empty and takes the full data from the leader (SNAP); its old data is kept aside');
  b.startStep(
    `grow-${joiner.myid}/start`,
    joiner,
    `Write myid ${joiner.myid} and a joiner's config (the committed ${members.length} + itself), then start ${describeNode(joiner)} (a non-voting follower until it is added)`,
    `old server ${oldId} becomes ${joiner.myid}; a joiner starts with the last committed configuration plus itself and syncs from the leader before the members count it (zookeeperReconfig.md, "Adding servers"). The files are written only when the server does not run, just before each start: a joiner that has adopted the committed configuration cannot boot again from the files ZooKeeper rewrote`,
    [runningGate(plan, joiner, h.startDeadline), { kind: 'serving', node: joiner, deadlineMs: h.startDeadline }, ensembleGate(plan, members)],
    () => b.model.startNew(joiner.myid),
    { files: reconfigConfigFiles(plan, joiner, next, base, baseHost) },
  );
  reconfigStep(b, `grow-${joiner.myid}/reconfig`, `Add server ${joiner.myid} to the ensemble (reconfig, no restart)`, members, next, {
    joining: [joiner],
    leaving: [],
    reason: 'one incremental reconfig: the leader commits it with a quorum of the old and of the new configuration; no server restarts',
  });
  return next;
}

/** The temporary server's retirement: `reconfig -remove` (a hand-off when it leads), then its stop. */
export function retireByReconfig(b: StepList, temp: NodeRef, members: NodeRef[]): NodeRef[] {
  const final = members.filter((n) => n.myid !== temp.myid);
  reconfigStep(b, `retire/reconfig-${temp.myid}`, `Remove ${describeNode(temp)} from the ensemble (reconfig; a leader hand-off if it leads)`, members, final, {
    joining: [],
    leaving: [temp],
    reason: 'the removed server stays up as a non-voting follower; a removed leader hands off to a member of the new configuration without an election',
    maybeElection: true,
  });
  b.stopStep(
    `retire/stop-${temp.myid}`,
    temp,
    `Stop ${describeNode(temp)} (no longer a member)`,
    'it has done its job; the ensemble no longer counts it',
    () => b.model.stopNew(temp.myid),
    { gates: [{ kind: 'stopped', node: temp, deadlineMs: b.plan.health.gateDeadline }, ensembleGate(b.plan, final)] },
  );
  return final;
}

function ensembleGate(plan: Plan, members: NodeRef[]): Gate {
  return { kind: 'ensemble', members, deadlineMs: plan.health.gateDeadline };
}

function reconfigStep(
  b: StepList,
  id: string,
  title: string,
  from: NodeRef[],
  to: NodeRef[],
  o: { joining: NodeRef[]; leaving: NodeRef[]; reason: string; maybeElection?: boolean },
): void {
  const plan = b.plan;
  const h = plan.health;
  const op: ReconfigOp = {
    from: dynamicMembers(plan, from),
    to: dynamicMembers(plan, to),
    joining: dynamicMembers(plan, o.joining).map(dynamicLine),
    leaving: o.leaving.map((n) => n.myid),
    members: from,
    auth: reconfigAuth(plan),
  };
  b.add(
    {
      id,
      phase: b.phase,
      action: 'reconfig',
      title,
      reason: o.reason,
      target: { kind: 'ensemble', which: 'new', members: from },
      commands: [],
      files: [],
      gates: [configGate(plan, to), { kind: 'canary', members: to, path: h.canaryPath, deadlineMs: h.gateDeadline }, ensembleGate(plan, to)],
      reconfig: op,
      ...(o.maybeElection ? { maybeElection: true } : {}),
    },
    () => b.model.reconfigure(votersOf(to).map((n) => n.myid)),
  );
}
