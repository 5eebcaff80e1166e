// What executing steps needs from the outside world, gathered in one object so the machine
// stays plain data: the compiled plan's settings, the hosts (one SSH connection each), the
// injected probes (reads only), the run id, a stop flag (Ctrl-C) and a progress sink. Also the
// remote helpers every step kind uses: run a compiled command, find a node's process, write a
// file with its previous version kept.
// Invariants: every remote argument goes through remote/ quoting; @RUN@ is replaced by the run
// id in every argv; the only changing commands are the compiled ones and the file writes of
// compiled FileWrites (audited as `write <path>`); a file is never overwritten without its
// previous content kept beside it.
import type { WireSession } from '../zk/wire.js';
import { INTERRUPTED } from '../machine/contract.js';
import type { NodeRef, RemoteCommand, RunSettings } from '../compile/types.js';
import { RUN_TOKEN } from '../compile/nodes.js';
import { configArg, findZkJvm, unresolvedZkJvms, type ZkJvm } from '../zk/process.js';
import { isTransient, retryTransient, type ZkClient } from '../zk/client.js';
import type { SrvrProbe } from '../zk/gates.js';
import type { MonitorRead } from '../zk/monitor.js';
import type { DataReport } from '../check/datadir.js';
import { RemoteError, type ExecResult, type SshHost } from '../remote/ssh.js';

/** What a step does on a host: the SshHost operations the executor uses. */
export type RemoteHost = Pick<SshHost, 'exec' | 'stream' | 'readIfExists' | 'stat' | 'writeFileAtomic'>;

/**
 * The executor's reads of the world, injected (src/exec/probes.ts has the real ones: SSH, TCP,
 * the ZooKeeper client; the unit tests have fakes). None of them changes anything.
 */
export interface Probes {
  /** `srvr` of one server over TCP; null when it does not serve. */
  srvr: SrvrProbe;
  /** Monitor values of one server (mntr, or the AdminServer on 3.5+). */
  monitor: (host: string, clientPort: number, adminPort: number, timeoutMs: number) => Promise<MonitorRead>;
  /** The ZooKeeper JVMs on a host (zk/process.ts LIST_ZK_JVMS); throws when the host cannot be asked. */
  jvms: (host: string) => Promise<ZkJvm[]>;
  /**
   * A path as the host resolves it (`readlink -f`: `bin/..`, symlinks such as /etc/zookeeper/conf);
   * null when it cannot be resolved; throws when the host cannot be asked. Absent in fakes: then
   * paths are compared as written.
   */
  realpath?: (host: string, path: string) => Promise<string | null>;
  /** Does the node's dataDir hold a snapshot file (version-2/snapshot.<zxid>)? */
  hasSnapshot: (node: NodeRef) => Promise<boolean>;
  /** The data check of a node (check/datadir.ts readDataDirs); `runningZxid` is what it serves now. */
  dataCheck: (node: NodeRef, runningZxid: bigint | null | undefined) => Promise<DataReport>;
  /** A ZooKeeper client session (zk/client.ts ZkClient.connect); timeout in ms. */
  connect: (connectString: string, timeoutMs: number) => Promise<ZkClient>;
  /** A session on one server for bulk reads and writes (zk/wire.ts WireSession.connect); timeout in ms. */
  session: (host: string, port: number, timeoutMs: number) => Promise<WireSession>;
}

export interface RunEnv {
  /** Ports, poll interval and deadlines of the compiled plan (the executor never reads the plan). */
  settings: RunSettings;
  /** The plan's file name, only for messages that tell the operator what to run next. */
  planFile: string;
  runId: string;
  /** The host of a label (one SSH connection per host per run). Throws StepError for an unknown host. */
  hosts: (host: string) => Promise<RemoteHost>;
  probes: Probes;
  /**
   * The content of a local secret file (strategy.reconfig.passwordFile, relative to the plan),
   * without its trailing newline; never stored. Absent: no secret can be read (StepError).
   */
  readSecret?: (file: string) => Promise<string>;
  /**
   * The audit log (audit.jsonl) for what a step sends through the ZooKeeper client (a reconfig,
   * an addauth with the password masked); `purpose: 'read'` for what changes nothing.
   */
  audit?: (rec: { host: string; command: string; code: number | null; durationMs: number; stdoutTail: string; stderrTail: string; purpose?: string }) => void;
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
export class Interrupted extends Error {
  override readonly name = INTERRUPTED;
}

export function withRunId(argv: string[], runId: string): string[] {
  return argv.map((a) => a.replaceAll(RUN_TOKEN, runId));
}

/**
 * Run a compiled command; `accept` may turn a non-zero exit into success (e.g. "already running").
 * After Ctrl-C only a cleanup runs (`evenIfStopped`); anything else throws Interrupted.
 */
export async function runCommand(env: RunEnv, on: string, c: RemoteCommand, accept?: (r: ExecResult) => boolean, evenIfStopped = false): Promise<ExecResult> {
  if (env.stopRequested() && !evenIfStopped) throw new Interrupted('stopped before the next command');
  const h = await env.hosts(on);
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
  if (cur !== undefined && (cur.at === null || Date.now() - cur.at < env.settings.pollIntervalMs)) return cur.list;
  const read: JvmRead = { at: null, list: Promise.resolve([]) };
  read.list = env.probes.jvms(on).finally(() => {
    read.at = Date.now();
  });
  reads.set(on, read);
  // a failed read is not kept: the next ask tries again
  read.list.catch(() => reads.get(on) === read && reads.delete(on));
  return read.list;
}

const realpaths = new WeakMap<RunEnv, Map<string, Promise<string | null>>>();

/**
 * `path` as `on` resolves it (Probes.realpath), read once per run per host and path (a plan's
 * config and home paths do not move during a run); a failed read is not kept. null when the
 * host cannot resolve it or the probes cannot resolve paths.
 */
export function realpathOn(env: RunEnv, on: string, path: string): Promise<string | null> {
  const probe = env.probes.realpath;
  if (probe === undefined || path === '') return Promise.resolve(null);
  let known = realpaths.get(env);
  if (known === undefined) realpaths.set(env, (known = new Map()));
  const key = `${on}\u0000${path}`;
  const cur = known.get(key);
  if (cur !== undefined) return cur;
  const read = probe(on, path);
  known.set(key, read);
  read.catch(() => known.get(key) === read && known.delete(key));
  return read;
}

/** A path's spellings to compare: as written and as the host resolves it. */
async function spellings(env: RunEnv, on: string, path: string): Promise<string[]> {
  const real = await realpathOn(env, on, path);
  return real === null || real === path ? [path] : [path, real];
}

/**
 * Is a ZooKeeper JVM running with this node's config (from `home`, when given) on its host (same
 * mount namespace)? Configs and homes are compared as the host resolves them (readlink -f of
 * the plan's paths and of each JVM's config argument, zk/process.ts LIST_ZK_JVMS), so
 * `<home>/bin/../conf/zoo.cfg` and a symlinked conf directory match. Throws StepError when the
 * host cannot be asked, or when no JVM matches but one (from `home`) runs with a config that
 * could not be resolved: it may be this server, and "could not match" is never "stopped".
 */
export async function hasProcess(env: RunEnv, node: NodeRef, home?: string): Promise<boolean> {
  const [jvms, configs, homes] = await Promise.all([
    zkJvms(env, node.host),
    spellings(env, node.host, node.config),
    home === undefined ? undefined : spellings(env, node.host, home),
  ]);
  if (findZkJvm(jvms, configs, homes) !== undefined) return true;
  const unknown = node.config === '' ? [] : unresolvedZkJvms(jvms, homes);
  if (unknown.length > 0)
    throw new StepError(
      `cannot tell whether ${node.config} runs on ${node.host}: ${unknown
        .map((j) => `ZooKeeper JVM ${j.pid} runs with config ${JSON.stringify(configArg(j))}, which could not be resolved there (readlink -f)`)
        .join('; ')}. Check that process by hand (stop it, or fix its config path), then resume.`,
    );
  return false;
}

/** Read a remote text file, or undefined when it does not exist. */
export async function readText(env: RunEnv, on: string, path: string): Promise<string | undefined> {
  const h = await env.hosts(on);
  return (await h.readIfExists(path))?.toString('utf8');
}

/** Write a file atomically; a different existing file is first copied to <path>.zkroll-backup-<run>. */
export async function writeKeeping(env: RunEnv, on: string, path: string, content: string, mode: number): Promise<'written' | 'unchanged'> {
  // as runCommand: once the run must stop (Ctrl-C, or the run was taken over on its hosts), no
  // more changes: the step runs again when the run is resumed
  if (env.stopRequested()) throw new Interrupted(`stopped before writing ${path} on ${on}`);
  const h = await env.hosts(on);
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  await h.exec(['mkdir', '-p', dir], { timeoutMs: 10000, purpose: `write ${path}` });
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
          for (const c of connectStrings) zks.push(await env.probes.connect(c, 10000));
          return await work(zks);
        } finally {
          for (const zk of zks) zk.close();
        }
      },
      {
        deadlineMs: Date.now() + env.settings.gateDeadlineMs,
        pollMs: env.settings.pollIntervalMs,
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
