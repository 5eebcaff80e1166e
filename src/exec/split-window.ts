// The split window of a rebuild: from the data copy until the old ensemble stops, two
// ensembles serve, and writes that reached the old one are not in the new one. Once the old
// ensemble has stopped (no more acknowledged writes can happen), each old server's final data
// is opened read-only: a copy of its version-2 directories is loaded by a standalone ZooKeeper
// on a spare port of its own host (ZooKeeper itself replays the transaction logs). The most
// advanced copy is compared with the new ensemble, and every persistent node it created or
// changed since the copy is written to the new ensemble. Nodes only the new ensemble has are
// reported, never deleted.
// Invariants: the old servers' own files are never touched (only copies are opened); the
// temporary copies and readers are zkroll's own and are removed; safe to run twice (creates are
// create-if-missing, changes set-if-different).
import type { NodeRef } from '../compile/types.js';
import { hostsConnectString, ZNODEEXISTS, ZkError, type ZkClient } from '../zk/client.js';
import { ensembleView } from '../zk/gates.js';
import { probeSrvr } from '../zk/fourlw.js';
import { COPY_SUFFIX } from '../zk/persisted.js';
import { walkTree } from '../zk/tree.js';
import { host, StepError, withZks, type RunEnv } from './env.js';

// A reader left by an attempt that was killed (SIGKILL skips the cleanup below) still holds
// the port: it is stopped first, so the step is safe to run again.
const READER = `set -e
tmp="$1"; home="$2"; data="$3"; log="$4"; addr="$5"; port="$6"
if [ -f "$tmp/reader.pid" ]; then
  old=$(cat "$tmp/reader.pid")
  if grep -q "$tmp/zoo.cfg" "/proc/$old/cmdline" 2>/dev/null; then
    kill "$old" 2>/dev/null || true
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do kill -0 "$old" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$old" 2>/dev/null || true
  fi
fi
if [ -d "$tmp" ]; then rm -rf "$tmp"; fi
mkdir -p "$tmp/data/version-2"
cp -a "$data/version-2/." "$tmp/data/version-2/"
if [ "$log" != "$data" ]; then cp -a "$log/version-2/." "$tmp/data/version-2/"; fi
printf 'tickTime=2000\\ndataDir=%s/data\\nclientPort=%s\\nclientPortAddress=%s\\nadmin.enableServer=false\\n4lw.commands.whitelist=*\\nmaxClientCnxns=0\\n' "$tmp" "$port" "$addr" > "$tmp/zoo.cfg"
cd "$tmp"
nohup java -Xmx256m -cp "$home/*:$home/lib/*:$home/conf" -Dzookeeper.log.dir="$tmp" -Dzookeeper.root.logger=INFO,CONSOLE org.apache.zookeeper.server.ZooKeeperServerMain "$tmp/zoo.cfg" > "$tmp/reader.log" 2>&1 < /dev/null &
echo $! > "$tmp/reader.pid"
echo $!`;

/** Every persistent node except "/" with its data (owners re-register their ephemerals). */
async function persistentTree(zk: ZkClient, skip: (p: string) => boolean): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  await walkTree(zk, skip, (p, data, stat) => {
    if (p !== '/' && String(stat.ephemeralOwner) === '0') out.set(p, data);
  });
  return out;
}

export interface SplitResult {
  /** Final zxid of the old ensemble (the most advanced old server), hex. */
  oldZxid: string | null;
  from: number | null;
  created: string[];
  changed: string[];
  onlyNew: string[];
}

interface Reader {
  node: NodeRef;
  pid: string;
  tmp: string;
  port: number;
}

export async function carrySplitWindow(env: RunEnv, oldMembers: NodeRef[], newMembers: NodeRef[], seedZxid: string | undefined): Promise<SplitResult> {
  const port = env.plan.cluster.ports.client;
  if ((await ensembleView(oldMembers, port)).leader !== null) throw new StepError('the old ensemble still serves: its final data can only be read once it has stopped');
  const readerPort = 30000 + (port % 10000);
  const readers: Reader[] = [];
  try {
    for (const o of oldMembers) {
      const h = await host(env, o.host);
      const tmp = `/tmp/zkroll-split-${env.runId}-${o.myid}`;
      const r = await h.exec(['sh', '-c', READER, 'sh', tmp, o.home, o.dataDir, o.dataLogDir, o.host, String(readerPort)], { timeoutMs: env.plan.health.gateDeadline });
      readers.push({ node: o, pid: r.stdout.trim().split('\n').at(-1) ?? '', tmp, port: readerPort });
    }
    let best: { r: Reader; zxid: bigint } | null = null;
    for (const r of readers) {
      const deadline = Date.now() + env.plan.health.startDeadline;
      let s = await probeSrvr(r.node.host, r.port, 1000);
      while (!s && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, env.plan.health.pollInterval));
        s = await probeSrvr(r.node.host, r.port, 1000);
      }
      if (!s || s.zxid === null) throw new StepError(`could not open the final data of old server ${r.node.myid} (${r.node.host}): the reader did not serve within ${env.plan.health.startDeadline} ms (see ${r.tmp}/reader.log)`);
      env.progress(`old server ${r.node.myid} ended at zxid 0x${s.zxid.toString(16)}`);
      if (!best || s.zxid > best.zxid) best = { r, zxid: s.zxid };
    }
    if (!best) return { oldZxid: null, from: null, created: [], changed: [], onlyNew: [] };
    const hex = `0x${best.zxid.toString(16)}`;
    if (seedZxid !== undefined && hex === seedZxid) {
      env.progress(`the old ensemble ended at ${hex}, where the data was copied: no writes to carry over`);
      return { oldZxid: hex, from: best.r.node.myid, created: [], changed: [], onlyNew: [] };
    }
    env.progress(`the old ensemble ended at ${hex}, after the copy at ${seedZxid ?? 'unknown'}: comparing with the new ensemble`);
    const canary = env.plan.health.canaryPath;
    const skip = (p: string) => p === '/zookeeper' || p.startsWith('/zookeeper/') || p === canary || p.endsWith(COPY_SUFFIX);
    const oldAt = `${best.r.node.host}:${best.r.port}`;
    const from = best.r.node.myid;
    // old reader and new ensemble on connections of their own; a lost connection starts the
    // comparison over on fresh ones (creates are create-if-missing, changes set-if-different;
    // what an earlier attempt carried stays counted)
    const created = new Set<string>();
    const changed = new Set<string>();
    const onlyNew = await withZks(env, [oldAt, hostsConnectString(newMembers, port)], async ([oldZk, newZk]) => {
      const [a, b] = [await persistentTree(oldZk!, skip), await persistentTree(newZk!, skip)];
      // parents before children
      for (const [p, data] of [...a.entries()].sort(([x], [y]) => x.split('/').length - y.split('/').length || x.localeCompare(y))) {
        const mine = b.get(p);
        if (mine === undefined) {
          try {
            await newZk!.create(p, data);
          } catch (e) {
            if (!(e instanceof ZkError && e.rc === ZNODEEXISTS)) throw e;
          }
          created.add(p);
        } else if (!mine.equals(data)) {
          await newZk!.set(p, data);
          changed.add(p);
        }
      }
      return [...b.keys()].filter((p) => !a.has(p));
    });
    env.progress(`carried ${created.size} new and ${changed.size} changed nodes to the new ensemble; ${onlyNew.length} nodes only in the new one (kept)`);
    return { oldZxid: hex, from, created: [...created], changed: [...changed], onlyNew };
  } finally {
    // the readers and their copies are zkroll's own temporary files
    await Promise.all(
      readers.map(async (r) => {
        const h = await host(env, r.node.host);
        await h.exec(['sh', '-c', 'kill "$1" 2>/dev/null; for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done; kill -9 "$1" 2>/dev/null; rm -rf "$2"', 'sh', r.pid, r.tmp], { timeoutMs: 30000, raw: true });
      }),
    );
  }
}
