// Finding a ZooKeeper server's JVM on a host: one shell script, run there (over SSH), lists every
// ZooKeeper JVM with its whole command line; pure functions read that list.
// Invariants: only JVMs count (`pgrep -x java` matches the process name, not the shells that
// carry a pattern in their argv); only processes in the caller's mount namespace count (lab
// hosts share one kernel but not their filesystem view; on real hosts this is every process);
// the command line is read whole from /proc/<pid>/cmdline and split on NULs, not matched with
// `pgrep -f` (procps-ng 3.3 reads only its first 4096 bytes, and a 3.5+ tarball's -cp alone is
// longer; a regex over the joined line also cannot tell an argument boundary from a space);
// a JVM's config argument is compared as the host resolves it (`readlink -f`, relative to the
// JVM's own cwd), never as a string: `zkServer.sh start` passes `<home>/bin/../conf/zoo.cfg`,
// and /etc/zookeeper/conf is often a symlink. A JVM whose config cannot be resolved is reported
// as such (unresolvedZkJvms), never taken for "not this server".

const MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';
const MARK = '--zkroll-jvm';
const CONFIG = '--zkroll-config';

/**
 * `sh -c LIST_ZK_JVMS`: for every QuorumPeerMain JVM, a line `--zkroll-jvm <pid>`, a line
 * `--zkroll-config <path>` — its config argument (the last one, as zkServer.sh passes it)
 * resolved on the host with `readlink -f`, a relative one against the JVM's cwd
 * (/proc/<pid>/cwd); empty when it could not be resolved — then its arguments one per line.
 */
export const LIST_ZK_JVMS = [
  'me=$(readlink /proc/$$/ns/mnt)',
  'for p in $(pgrep -x java); do',
  '  [ "$(readlink /proc/$p/ns/mnt 2>/dev/null)" = "$me" ] || continue',
  '  args=$(tr "\\000" "\\n" < /proc/$p/cmdline 2>/dev/null) || continue',
  `  printf "%s\\n" "$args" | grep -qx "${MAIN}" || continue`,
  '  cfg=$(printf "%s\\n" "$args" | tail -n 1); real=',
  `  case $cfg in "${MAIN}"|"") ;; /*) real=$(readlink -f "$cfg" 2>/dev/null) ;; *) real=$(readlink -f "/proc/$p/cwd/$cfg" 2>/dev/null) ;; esac`,
  `  printf "%s\\n" "${MARK} $p" "${CONFIG} $real" "$args"`,
  'done',
  'exit 0',
].join('\n');

export interface ZkJvm {
  pid: string;
  args: string[];
  /**
   * Its config argument (the last one) resolved on its host (`readlink -f`); null when it could
   * not be; undefined when the listing did not say (not LIST_ZK_JVMS output: only the argument
   * as written is compared).
   */
  config?: string | null;
}

/** The output of LIST_ZK_JVMS, in the order the host listed them. */
export function parseZkJvms(text: string): ZkJvm[] {
  const out: ZkJvm[] = [];
  for (const line of text.split('\n')) {
    const m = line.startsWith(`${MARK} `) ? line.slice(MARK.length + 1).trim() : null;
    const cur = out.at(-1);
    if (m !== null) out.push({ pid: m, args: [], config: null });
    else if (cur !== undefined && cur.args.length === 0 && (line === CONFIG || line.startsWith(`${CONFIG} `)))
      cur.config = line.slice(CONFIG.length + 1) || null;
    else if (cur !== undefined && line !== '') cur.args.push(line);
  }
  return out;
}

/** The config argument a JVM was started with (its last argument; '' when it has none after the main class). */
export function configArg(jvm: ZkJvm): string {
  const last = jvm.args.at(-1) ?? '';
  return last === MAIN ? '' : last;
}

const fromHome = (j: ZkJvm, homes: readonly string[]) => homes.some((h) => j.args.some((a) => a.includes(`${h}/`)));
const list = (x: string | readonly string[]) => (typeof x === 'string' ? [x] : x);

/**
 * The first JVM whose config is one of `config` (any JVM when `config` is ''), and, when `home`
 * is given, with `<home>/` in one of its arguments (its classpath). `config` and `home` are
 * paths or lists of spellings of one path (as written in the plan and as `readlink -f` resolves
 * it on the host); a JVM matches by its host-resolved config or by its argument as written.
 * Only JVMs whose config resolved can be told apart: see unresolvedZkJvms.
 */
export function findZkJvm(jvms: ZkJvm[], config: string | readonly string[], home?: string | readonly string[]): ZkJvm | undefined {
  const configs = list(config).filter((c) => c !== '');
  return jvms.find(
    (j) => (configs.length === 0 || configs.some((c) => c === j.config || c === configArg(j))) && (home === undefined || fromHome(j, list(home))),
  );
}

/**
 * The JVMs (from `home`, when given) whose config could not be resolved on their host: such a
 * JVM may be the server asked about, so "no match" does not mean "not running" while one runs.
 */
export function unresolvedZkJvms(jvms: ZkJvm[], home?: string | readonly string[]): ZkJvm[] {
  return jvms.filter((j) => j.config === null && (home === undefined || fromHome(j, list(home))));
}

/** `sh -c RESOLVE_PATH sh <path>`: the path resolved on the host (`readlink -f`); nothing printed when it cannot be. */
export const RESOLVE_PATH = 'readlink -f "$1" 2>/dev/null || true';
