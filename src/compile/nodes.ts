// Building blocks of compiled steps: node references for every role a server plays, and the
// remote commands (start, stop, back up) spelled out as argv. Pure.
// Invariants: commands are idempotent (running one twice leaves the same state: a start of a
// running server, a stop of a stopped one and a backup of a moved directory change nothing);
// nothing is deleted: a backup moves version-2 to version-2.zkroll-backup-<run id>.
import type { Plan, ServerSpec, ServiceSpec } from '../plan/schema.js';
import type { Gate, NodeRef, RemoteCommand, ServerLine } from './types.js';

/** Placeholder the executor replaces with the run id (e.g. 20261121T213000Z) in every argv. */
export const RUN_TOKEN = '@RUN@';

export function oldNode(s: ServerSpec): NodeRef {
  const n: NodeRef = { host: s.host, myid: s.myid, home: s.home, config: s.config, dataDir: s.dataDir, dataLogDir: s.dataLogDir };
  if (s.role === 'observer') n.observer = true;
  return n;
}

/** The server on the target install under its (possibly new) myid. */
export function targetNode(plan: Plan, s: ServerSpec, newId: number): NodeRef {
  const n: NodeRef = { host: s.host, myid: newId, home: plan.target.home, config: plan.target.config, dataDir: s.dataDir, dataLogDir: s.dataLogDir };
  if (newId !== s.myid) n.oldMyid = s.myid;
  if (s.role === 'observer') n.observer = true;
  return n;
}

export function temporaryNode(plan: Plan): NodeRef | null {
  if (plan.strategy.kind !== 'rebuild') return null;
  const t = plan.strategy.temporary;
  return { host: t.host, myid: t.myid, temporary: true, home: t.home, config: t.config, dataDir: t.dataDir, dataLogDir: t.dataLogDir };
}

/** The voters among `nodes` (observers do not vote). */
export function votersOf(nodes: NodeRef[]): NodeRef[] {
  return nodes.filter((n) => !n.observer);
}

export function describeNode(n: NodeRef): string {
  if (n.temporary) return `temporary server ${n.myid} (${n.host})`;
  if (n.observer) return `observer ${n.myid} (${n.host})`;
  if (n.oldMyid !== undefined) return `server ${n.myid} (old ${n.oldMyid}, ${n.host})`;
  return `server ${n.myid} (${n.host})`;
}

export function serverLines(plan: Plan, nodes: NodeRef[]): ServerLine[] {
  const p = plan.cluster.ports;
  return nodes
    .map((n): ServerLine => ({
      myid: n.myid,
      host: n.host,
      quorumPort: p.quorum,
      electionPort: p.election,
      clientPort: p.client,
      ...(n.observer ? { observer: true } : {}),
    }))
    .sort((a, b) => a.myid - b.myid);
}

export function startCommand(n: NodeRef, service: ServiceSpec, timeoutMs: number): RemoteCommand {
  if (service.kind === 'systemd') return { argv: ['systemctl', 'start', service.unit], timeoutMs, does: `start ${service.unit}` };
  return { argv: [`${n.home}/bin/zkServer.sh`, 'start', n.config], timeoutMs, does: `start ZooKeeper from ${n.home} with ${n.config}` };
}

export function stopCommand(n: NodeRef, service: ServiceSpec, timeoutMs: number): RemoteCommand {
  if (service.kind === 'systemd') return { argv: ['systemctl', 'stop', service.unit], timeoutMs, does: `stop ${service.unit}` };
  return { argv: [`${n.home}/bin/zkServer.sh`, 'stop', n.config], timeoutMs, does: `stop the ZooKeeper of ${n.home} (${n.config})` };
}

/**
 * The stop of a restart, then the wait until this server's JVM is gone (the one with the config
 * it ran with, and one with the target's config, should a resumed run find that one running):
 * `zkServer.sh stop` returns before the JVM has exited, and a start would find the ports still
 * taken. Another ensemble's ZooKeeper on the same host is not waited for.
 */
export function stopAndWait(from: NodeRef, to: NodeRef, service: ServiceSpec, timeoutMs: number): RemoteCommand {
  const then: Gate[] = [{ kind: 'stopped', node: from, deadlineMs: timeoutMs }];
  if (to.config !== from.config) then.push({ kind: 'stopped', node: to, deadlineMs: timeoutMs });
  return { ...stopCommand(from, service, timeoutMs), then };
}

const BACKUP_SCRIPT = [
  'for d in "$@"; do',
  '  [ -d "$d/version-2" ] || continue',
  `  b="$d/version-2.zkroll-backup-${RUN_TOKEN}"; i=1`,
  `  while [ -e "$b" ]; do i=$((i+1)); b="$d/version-2.zkroll-backup-${RUN_TOKEN}.$i"; done`,
  '  mv "$d/version-2" "$b" && echo "moved $d/version-2 to $b"',
  'done',
].join('\n');

/** Move version-2 of the node's data directories aside (never delete). */
export function backupCommand(n: NodeRef, timeoutMs: number): RemoteCommand {
  const dirs = n.dataLogDir === n.dataDir ? [n.dataDir] : [n.dataDir, n.dataLogDir];
  return {
    argv: ['sh', '-c', BACKUP_SCRIPT, 'zkroll-backup', ...dirs],
    timeoutMs,
    does: `move ${dirs.map((d) => `${d}/version-2`).join(' and ')} to a dated backup`,
  };
}

/** The install must be there before anything runs from it. */
export function checkInstallCommand(home: string, timeoutMs: number): RemoteCommand {
  return { argv: ['test', '-x', `${home}/bin/zkServer.sh`], timeoutMs, does: `check that ${home} holds a ZooKeeper install` };
}

/**
 * The gate that the node's own JVM runs: one with its config. When another install on the host
 * uses the same config path (a shared /etc/zookeeper/zoo.cfg), only the classpath tells the old
 * install's JVM from the planned one, so the gate also asks for `<home>/` on it.
 */
export function runningGate(plan: Plan, node: NodeRef, deadlineMs: number): Gate {
  const shared = plan.servers.some((s) => s.host === node.host && s.config === node.config && s.home !== node.home);
  return shared ? { kind: 'running', node, deadlineMs, home: node.home } : { kind: 'running', node, deadlineMs };
}

export function serviceOf(plan: Plan, n: NodeRef): ServiceSpec {
  if (n.temporary && plan.strategy.kind === 'rebuild') return plan.strategy.temporary.service;
  const s = plan.servers.find((x) => x.host === n.host);
  return s?.service ?? { kind: 'zkServer' };
}

export function quorumOf(size: number): number {
  return Math.floor(size / 2) + 1;
}
