// Finding a ZooKeeper server's JVM on a host: one shell script, run there (over SSH), lists every
// ZooKeeper JVM with its whole command line; pure functions read that list.
// Invariants: only JVMs count (`pgrep -x java` matches the process name, not the shells that
// carry a pattern in their argv); only processes in the caller's mount namespace count (lab
// hosts share one kernel but not their filesystem view; on real hosts this is every process);
// the command line is read whole from /proc/<pid>/cmdline and split on NULs, not matched with
// `pgrep -f` (procps-ng 3.3 reads only its first 4096 bytes, and a 3.5+ tarball's -cp alone is
// longer; a regex over the joined line also cannot tell an argument boundary from a space).

const MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';
const MARK = '--zkroll-jvm';

/** `sh -c LIST_ZK_JVMS`: for every QuorumPeerMain JVM, a line `--zkroll-jvm <pid>`, then its arguments one per line. */
export const LIST_ZK_JVMS = [
  'me=$(readlink /proc/$$/ns/mnt)',
  'for p in $(pgrep -x java); do',
  '  [ "$(readlink /proc/$p/ns/mnt 2>/dev/null)" = "$me" ] || continue',
  '  args=$(tr "\\000" "\\n" < /proc/$p/cmdline 2>/dev/null) || continue',
  `  printf "%s\\n" "$args" | grep -qx "${MAIN}" || continue`,
  `  echo "${MARK} $p"; printf "%s\\n" "$args"`,
  'done',
  'exit 0',
].join('\n');

export interface ZkJvm {
  pid: string;
  args: string[];
}

/** The output of LIST_ZK_JVMS, in the order the host listed them. */
export function parseZkJvms(text: string): ZkJvm[] {
  const out: ZkJvm[] = [];
  for (const line of text.split('\n')) {
    const m = line.startsWith(`${MARK} `) ? line.slice(MARK.length + 1).trim() : null;
    if (m !== null) out.push({ pid: m, args: [] });
    else if (out.length > 0 && line !== '') out.at(-1)!.args.push(line);
  }
  return out;
}

/**
 * The first JVM started with `config` as its last argument (any JVM when `config` is ''), and,
 * when `home` is given, with `<home>/` in one of its arguments (its classpath).
 */
export function findZkJvm(jvms: ZkJvm[], config: string, home?: string): ZkJvm | undefined {
  return jvms.find((j) => (config === '' || j.args.at(-1) === config) && (home === undefined || j.args.some((a) => a.includes(`${home}/`))));
}
