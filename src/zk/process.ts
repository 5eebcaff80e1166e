// Finding a ZooKeeper server's JVM on a host, as a shell script run there (over SSH).
// Invariants: only JVMs count (pgrep -f also matches the shells that carry the pattern in their
// argv); only processes in the caller's mount namespace count (lab hosts share one kernel but
// not their filesystem view; on real hosts this is every process).

/** `sh -c FIND_ZK_JVM sh <pgrep pattern>`: prints the first matching pid and exits 0, else exits 1. */
export const FIND_ZK_JVM =
  'me=$(readlink /proc/$$/ns/mnt); for p in $(pgrep -f -- "$1"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = java ] || continue; [ "$(readlink /proc/$p/ns/mnt 2>/dev/null)" = "$me" ] && { echo $p; exit 0; }; done; exit 1';

/** The pgrep pattern of a server started with `config` (empty: any ZooKeeper server). */
export function zkJvmPattern(config: string): string {
  return config === '' ? 'QuorumPeerMain' : `QuorumPeerMain.* ${config.replace(/[.[\]()*+?^$\\|{}]/g, '\\$&')}$`;
}
