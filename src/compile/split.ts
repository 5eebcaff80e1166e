// The split-window step's remote commands: on each old server's host, a reader (a standalone
// ZooKeeper on a copy of that server's final data, on a spare port) is started, and stopped
// once the comparison is done. Pure: argv only; src/exec/split-window.ts runs them.
// Invariants: the old servers' own files are only read (cp -a into zkroll's own directory
// beside the dataDir, refused when that filesystem lacks room); both commands are safe to run
// twice (a start first stops a reader left by an earlier attempt; a stop of a stopped reader
// does nothing); what the stop removes is zkroll's own copy, never the server's data; the
// reader's zoo.cfg gets its paths escaped as the server's own does (properties.ts).
import { RUN_TOKEN } from './nodes.js';
import { escapeValue } from './properties.js';
import type { NodeRef, RemoteCommand } from './types.js';

/** The spare client port of the readers: 30000 + (client port mod 10000). */
export function readerPort(clientPort: number): number {
  return 30000 + (clientPort % 10000);
}

/** zkroll's own directory for the reader of `o`: beside its dataDir, so on the same disk. */
export function readerDir(o: NodeRef): string {
  return `${o.dataDir.replace(/\/+$/, '')}.zkroll-split-${RUN_TOKEN}`;
}

const STOP = `tmp="$1"
if [ -f "$tmp/reader.pid" ]; then
  old=$(cat "$tmp/reader.pid")
  if grep -q "$tmp/zoo.cfg" "/proc/$old/cmdline" 2>/dev/null; then
    kill "$old" 2>/dev/null || true
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do kill -0 "$old" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$old" 2>/dev/null || true
  fi
fi`;

// ZooKeeper itself replays the logs onto the newest snapshot: the reader serves the server's
// final state. The spare port must be free on the host's address once an earlier reader is
// stopped (ss; no check where ss is missing), so that what answers there is this reader; free space is checked before the copy (the copy's size + 64 MiB
// for the reader's own snapshot and log). Its heap is twice the copy's size + 256 MiB (MiB): a
// DataTree holds about twice its snapshot's bytes, and a 1 GiB dataDir's reader ran out of a
// fixed 256 MiB (seen on the lab with --data-mb 1024).
const START = `set -e
${STOP}
tmp="$1"; home="$2"; data="$3"; log="$4"; addr="$5"; port="$6"; cfgdata="$7"; cfgaddr="$8"
taken=$(ss -ltn 2>/dev/null | awk -v a="$addr" -v p="$port" 'NR > 1 { l = $4; if (l == a ":" p || l == "[" a "]:" p || l == "0.0.0.0:" p || l == "*:" p || l == "[::]:" p) print l }')
if [ -n "$taken" ]; then echo "$taken is already taken (another server listens there): the split-window reader needs it free" >&2; exit 4; fi
if [ -d "$tmp" ]; then rm -rf "$tmp"; fi
need=$(du -sk "$data/version-2" | cut -f1)
if [ "$log" != "$data" ]; then need=$((need + $(du -sk "$log/version-2" | cut -f1))); fi
room=$(df -Pk "$(dirname "$tmp")" | awk 'NR==2 {print $4}')
if [ "$room" -lt $((need + 65536)) ]; then echo "not enough room beside $data for a copy of its data: $need KiB + 64 MiB needed, $room KiB free" >&2; exit 3; fi
mkdir -p "$tmp/data/version-2"
cp -a "$data/version-2/." "$tmp/data/version-2/"
if [ "$log" != "$data" ]; then cp -a "$log/version-2/." "$tmp/data/version-2/"; fi
printf 'tickTime=2000\\ndataDir=%s\\nclientPort=%s\\nclientPortAddress=%s\\nadmin.enableServer=false\\n4lw.commands.whitelist=*\\nmaxClientCnxns=0\\n' "$cfgdata" "$port" "$cfgaddr" > "$tmp/zoo.cfg"
cd "$tmp"
heap=$((need / 1024 * 2 + 256))
nohup java -Xmx"$heap"m -cp "$home/*:$home/lib/*:$home/conf" -Dzookeeper.log.dir="$tmp" -Dzookeeper.root.logger=INFO,CONSOLE org.apache.zookeeper.server.ZooKeeperServerMain "$tmp/zoo.cfg" > "$tmp/reader.log" 2>&1 < /dev/null &
echo $! > "$tmp/reader.pid"`;

/** [start the reader, stop it and remove its copy], run on the old server's host. */
export function readerCommands(o: NodeRef, clientPort: number, timeoutMs: number): RemoteCommand[] {
  const tmp = readerDir(o);
  const port = String(readerPort(clientPort));
  return [
    {
      // the reader's dataDir and address also as its zoo.cfg spells them (java.util.Properties escapes)
      argv: ['sh', '-c', START, 'zkroll-split-reader', tmp, o.home, o.dataDir, o.dataLogDir, o.host, port, escapeValue(`${tmp}/data`), escapeValue(o.host)],
      timeoutMs,
      does: `copy the final data of old server ${o.myid} to ${tmp} and open it read-only with a standalone ZooKeeper of ${o.home} on ${o.host}:${port}`,
      host: o.host,
    },
    {
      argv: ['sh', '-c', `${STOP}\nrm -rf "$tmp"`, 'zkroll-split-reader-stop', tmp],
      timeoutMs: 30000,
      does: `stop that reader and remove its copy ${tmp} (old server ${o.myid}'s own files are untouched)`,
      host: o.host,
    },
  ];
}
