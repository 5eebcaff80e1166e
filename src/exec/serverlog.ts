// A start that fails shows the server's own words: when a start or restart step fails (its
// command, or a gate that did not hold), the last lines of the server's newest log files under
// <home>/logs are added to the failure — where zkroll's logging setup puts them (ZOO_LOG_DIR
// defaults to <home>/logs: src/compile/logging.ts for 3.4–3.7; bin/zkEnv.sh of 3.5+), both the
// rolled log (zookeeper.log, zookeeper-<user>-server-<host>.log) and the file zkServer.sh sends
// the JVM's stdout and stderr to (zookeeper.out in 3.4, zookeeper-<user>-server-<host>.out in
// 3.5+: a JVM that refuses a flag says so only there).
// Invariants: a read (tail of at most TAIL_FILES files, TAIL_LINES lines each, bounded by a
// deadline), run only after the step has failed; it never hides the failure: when the log
// cannot be read, the original error goes on unchanged.
import type { NodeRef } from '../compile/types.js';
import { GateFailed } from '../zk/gates.js';
import { Interrupted, StepError, type RunEnv } from './env.js';

/** Lines of each log file shown. */
export const TAIL_LINES = 15;
/** Newest files of <home>/logs shown (the .out of the JVM and the rolled log). */
export const TAIL_FILES = 2;
const TAIL_TIMEOUT_MS = 10000;

/**
 * The command that prints the newest TAIL_FILES `*.out`/`*.log` files of `dir`, each as a
 * `==> path <==` header and its last TAIL_LINES lines (what `tail` prints for several files).
 */
export function logTailArgv(dir: string): string[] {
  return [
    'sh',
    '-c',
    'cd "$1" 2>/dev/null || exit 0; ls -t -- *.out *.log 2>/dev/null | head -n "$2" | while IFS= read -r f; do printf "==> %s/%s <==\\n" "$1" "$f"; tail -n "$3" -- "$f"; done',
    'zkroll-log-tail',
    dir,
    String(TAIL_FILES),
    String(TAIL_LINES),
  ];
}

/** The tail of `node`'s logs, or '' when there is none or it cannot be read. */
export async function serverLogTail(env: RunEnv, node: NodeRef): Promise<string> {
  try {
    const h = await env.hosts(node.host);
    const r = await h.exec(logTailArgv(`${node.home}/logs`), { timeoutMs: TAIL_TIMEOUT_MS, raw: true, purpose: 'read' });
    return r.stdout.trim();
  } catch {
    return '';
  }
}

/**
 * Run `act` (a start or restart of `node`); when it fails with a StepError or GateFailed, throw
 * a StepError with the same message whose output ends with the server's log tail. Interruptions
 * (Ctrl-C) and other errors pass unchanged.
 */
export async function withServerLog<T>(env: RunEnv, node: NodeRef, act: () => Promise<T>): Promise<T> {
  try {
    return await act();
  } catch (e) {
    if (e instanceof Interrupted || env.stopRequested() || !(e instanceof StepError || e instanceof GateFailed)) throw e;
    const tail = await serverLogTail(env, node);
    if (tail === '') throw e;
    const own = e instanceof StepError ? e.outputTail : '';
    throw new StepError(e.message, [own, `the server's own log (${node.home}/logs):`, tail].filter((x) => x !== '').join('\n'));
  }
}
