// What executing steps needs from the outside world, gathered in one object so the machine
// stays plain data: the plan, the SSH pool (one connection per host), the run id, a stop flag
// (Ctrl-C) and a progress sink. Also the remote helpers every step kind uses: run a compiled
// command, find a node's process, write a file with its previous version kept.
// Invariants: every remote argument goes through remote/ quoting; @RUN@ is replaced by the run
// id in every argv; a file is never overwritten without its previous content kept beside it.
import type { NodeRef, RemoteCommand } from '../compile/types.js';
import { RUN_TOKEN } from '../compile/nodes.js';
import { findZkJvm, LIST_ZK_JVMS, parseZkJvms, type ZkJvm } from '../zk/process.js';
import { isTransient, retryTransient, ZkClient } from '../zk/client.js';
import { sshTargets, type SshTargetSpec } from '../plan/helpers.js';
import type { Plan } from '../plan/schema.js';
import { RemoteError, type ExecResult, type SshHost, type SshPool } from '../remote/ssh.js';

export interface RunEnv {
  plan: Plan;
  planFile: string;
  runId: string;
  pool: SshPool;
  stopRequested: () => boolean;
  progress: (line: string) => void;
}

export class StepError extends Error {
  constructor(
    message: string,
    readonly outputTail = '',
  ) {
    super(message);
  }
}

/** Ctrl-C arrived: the step stopped after its remote command in flight. */
export class Interrupted extends Error {}

const targetCache = new WeakMap<Plan, Map<string, SshTargetSpec>>();

export function hostTarget(env: RunEnv, host: string): SshTargetSpec {
  let m = targetCache.get(env.plan);
  if (!m) {
    m = new Map(sshTargets(env.plan, env.planFile).map((t) => [t.host, t]));
    targetCache.set(env.plan, m);
  }
  const t = m.get(host);
  if (!t) throw new StepError(`no host ${host} in the plan`);
  return t;
}

export function host(env: RunEnv, h: string): Promise<SshHost> {
  return env.pool.get(hostTarget(env, h));
}

export function withRunId(argv: string[], runId: string): string[] {
  return argv.map((a) => a.replaceAll(RUN_TOKEN, runId));
}

/** Run a compiled command; `accept` may turn a non-zero exit into success (e.g. "already running"). */
export async function runCommand(env: RunEnv, on: string, c: RemoteCommand, accept?: (r: ExecResult) => boolean): Promise<ExecResult> {
  if (env.stopRequested()) throw new Interrupted('stopped before the next command');
  const h = await host(env, on);
  env.progress(`${on}: ${c.does}`);
  forgetJvms(env, on);
  const r = await h.exec(withRunId(c.argv, env.runId), { timeoutMs: c.timeoutMs, raw: true }).finally(() => forgetJvms(env, on));
  if (r.code === 0 || accept?.(r)) return r;
  const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-8).join('\n');
  throw new StepError(`on ${on}: \`${r.command}\` exited with ${r.code ?? r.signal}`, tail);
}

interface JvmRead {
  list: Promise<ZkJvm[]>;
  /** When the read finished (ms since the epoch); null while it runs. */
  at: number | null;
}
const jvmReads = new WeakMap<RunEnv, Map<string, JvmRead>>();

/** A command that may start or stop a JVM ran (or runs) on `on`: its JVM list must be read again. */
function forgetJvms(env: RunEnv, on: string): void {
  jvmReads.get(env)?.delete(on);
}

/**
 * The ZooKeeper JVMs on a host, read at most once per poll interval: gates, pre-checks and
 * polls that ask within one interval share one read, and a compiled command run on the host
 * since makes the next ask read again. Throws StepError when the host could not be asked (an
 * unknown answer is never "not running": a gate keeps polling, a stop is not skipped).
 */
export function zkJvms(env: RunEnv, on: string): Promise<ZkJvm[]> {
  let reads = jvmReads.get(env);
  if (reads === undefined) jvmReads.set(env, (reads = new Map()));
  const cur = reads.get(on);
  if (cur !== undefined && (cur.at === null || Date.now() - cur.at < env.plan.health.pollInterval)) return cur.list;
  const read: JvmRead = { at: null, list: Promise.resolve([]) };
  read.list = (async () => {
    try {
      const h = await host(env, on);
      const r = await h.exec(['sh', '-c', LIST_ZK_JVMS], { timeoutMs: 10000, raw: true });
      if (r.code !== 0) throw new StepError(`could not list the ZooKeeper processes on ${on} (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
      return parseZkJvms(r.stdout);
    } finally {
      read.at = Date.now();
    }
  })();
  reads.set(on, read);
  // a failed read is not kept: the next ask tries again
  read.list.catch(() => reads.get(on) === read && reads.delete(on));
  return read.list;
}

/** Is a ZooKeeper JVM running with this node's config (from `home`, when given) on its host (same mount namespace)? */
export async function hasProcess(env: RunEnv, node: NodeRef, home?: string): Promise<boolean> {
  return findZkJvm(await zkJvms(env, node.host), node.config, home) !== undefined;
}

/** Does the node's dataDir hold a snapshot file (version-2/snapshot.<zxid>)? */
export async function hasSnapshot(env: RunEnv, node: NodeRef): Promise<boolean> {
  const h = await host(env, node.host);
  const r = await h.exec(['sh', '-c', 'ls -1 "$1/version-2" 2>/dev/null || true', 'sh', node.dataDir], { timeoutMs: 10000, raw: true });
  return r.stdout.split('\n').some((n) => /^snapshot\.[0-9a-f]+$/i.test(n));
}

/** Read a remote text file, or undefined when it does not exist. */
export async function readText(env: RunEnv, on: string, path: string): Promise<string | undefined> {
  const h = await host(env, on);
  return (await h.readIfExists(path))?.toString('utf8');
}

/** Write a file atomically; a different existing file is first copied to <path>.zkroll-backup-<run>. */
export async function writeKeeping(env: RunEnv, on: string, path: string, content: string, mode: number): Promise<'written' | 'unchanged'> {
  const h = await host(env, on);
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  await h.exec(['mkdir', '-p', dir], { timeoutMs: 10000 });
  const before = (await h.readIfExists(path))?.toString('utf8');
  if (before === content) return 'unchanged';
  if (before !== undefined) {
    const backup = `${path}.zkroll-backup-${env.runId}`;
    if (!(await h.stat(backup))) await h.writeFileAtomic(backup, before, mode);
  }
  await h.writeFileAtomic(path, content, mode);
  env.progress(`${on}: wrote ${path}`);
  return 'written';
}

/**
 * Idempotent client work on connections of its own (one per connect string), done again from
 * the start, on fresh connections, after any of them is lost (a busy server, an election) until
 * the gate deadline passes. Ctrl-C during a retry ends it as Interrupted.
 */
export async function withZks<T>(env: RunEnv, connectStrings: string[], work: (zks: ZkClient[]) => Promise<T>): Promise<T> {
  try {
    return await retryTransient(
      async () => {
        const zks: ZkClient[] = [];
        try {
          for (const c of connectStrings) zks.push(await ZkClient.connect(c, 10000));
          return await work(zks);
        } finally {
          for (const zk of zks) zk.close();
        }
      },
      {
        deadlineMs: Date.now() + env.plan.health.gateDeadline,
        pollMs: env.plan.health.pollInterval,
        onRetry: (e, n) => env.progress(`lost a connection to ${connectStrings.join(' / ')} (${e.message}): starting over (${n})`),
        stopped: env.stopRequested,
      },
    );
  } catch (e) {
    if (env.stopRequested() && isTransient(e)) throw new Interrupted(`interrupted while talking to ${connectStrings.join(' / ')}`);
    throw e;
  }
}

/** withZks with one connection. */
export function withZk<T>(env: RunEnv, connectString: string, work: (zk: ZkClient) => Promise<T>): Promise<T> {
  return withZks(env, [connectString], ([zk]) => work(zk!));
}

export function errorText(e: unknown): string {
  if (e instanceof RemoteError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
