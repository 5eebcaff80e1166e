// Finding a ZooKeeper server's JVM on a host, as a shell script run there (over SSH).
// Invariants: only JVMs count (`pgrep -x java` matches the process name, not the shells that
// carry a pattern in their argv); only processes in the caller's mount namespace count (lab
// hosts share one kernel but not their filesystem view; on real hosts this is every process);
// the command line is read whole from /proc/<pid>/cmdline and split on NULs, not matched with
// `pgrep -f` (procps-ng 3.3 reads only its first 4096 bytes, and a 3.5+ tarball's -cp alone is
// longer; a regex over the joined line also cannot tell an argument boundary from a space).

/**
 * `sh -c FIND_ZK_JVM sh <config> [<home>]`: prints the pid of the first QuorumPeerMain JVM whose
 * last argument is `<config>` (any config when empty) and, when `<home>` is given, one of whose
 * arguments contains `<home>/` (its classpath); exits 0, else exits 1.
 */
export const FIND_ZK_JVM = zkJvmScript('echo "$p"');

/** The FIND_ZK_JVM script with `found` run (with $p the pid) instead of printing the pid. */
export function zkJvmScript(found: string): string {
  return [
    'me=$(readlink /proc/$$/ns/mnt)',
    'for p in $(pgrep -x java); do',
    '  [ "$(readlink /proc/$p/ns/mnt 2>/dev/null)" = "$me" ] || continue',
    '  args=$(tr "\\000" "\\n" < /proc/$p/cmdline 2>/dev/null) || continue',
    '  printf "%s\\n" "$args" | grep -qx "org.apache.zookeeper.server.quorum.QuorumPeerMain" || continue',
    '  [ -z "$1" ] || [ "$(printf "%s\\n" "$args" | tail -n 1)" = "$1" ] || continue',
    '  [ -z "$2" ] || printf "%s\\n" "$args" | grep -qF -- "$2/" || continue',
    `  ${found}; exit 0`,
    'done',
    'exit 1',
  ].join('\n');
}

/** Arguments of FIND_ZK_JVM: a server started with `config` ('' = any), from `home` when given. */
export function zkJvmArgs(config: string, home?: string): string[] {
  return home === undefined ? [config] : [config, home];
}
