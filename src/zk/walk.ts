// Walking a ZooKeeper tree on one session (zk/wire.ts) with many requests in flight: every node
// under a root once, in no particular order, skipping the subtrees the caller names. Used by the
// consistency check (verify) and the split window's carry-over, on trees of a million nodes.
// Invariants: memory holds the paths waiting to be visited, never the tree; a node deleted while
// the walk runs is passed over (ZNONODE); any other error (a lost connection) rejects the walk,
// never taken for an empty subtree.
import { ZkError, ZNONODE } from './client.js';
import type { WireSession, WireStat } from './wire.js';

export const isGone = (e: unknown): boolean => e instanceof ZkError && e.rc === ZNONODE;

export const childPath = (p: string, c: string): string => (p === '/' ? `/${c}` : `${p}/${c}`);

/**
 * Every node under `root` (skipped subtrees left out) with its data and stat; `depth` requests
 * in flight (default 256). `onNode` runs once per node, in completion order. Nodes are read
 * before more directories are listed: a directory's children are listed (at most 2 listings
 * at once) only when fewer than 4 × `depth` nodes wait to be read, so the paths held at once stay
 * near one directory's children, not every directory's (1050 directories of 1000 children
 * listed at once held a quarter of a million paths per server).
 */
export function walkWire(
  s: WireSession,
  skip: (path: string) => boolean,
  onNode: (path: string, data: Buffer, stat: WireStat) => void,
  o: { root?: string; depth?: number } = {},
): Promise<void> {
  const depth = o.depth ?? 256;
  return new Promise((resolve, reject) => {
    const queue: string[] = [o.root ?? '/'];
    const dirs: string[] = [];
    let active = 0;
    let listing = 0;
    let failed = false;
    const fail = (e: unknown) => {
      if (!failed) reject(e);
      failed = true;
    };
    const done = () => {
      active--;
      if (failed) return;
      if (queue.length === 0 && dirs.length === 0 && active === 0) resolve();
      else pump();
    };
    const read = async (p: string) => {
      if (skip(p)) return;
      try {
        const node = await s.getData(p);
        onNode(p, node.data, node.stat);
        if (node.stat.numChildren > 0) dirs.push(p);
      } catch (e) {
        if (!isGone(e)) throw e;
      }
    };
    const list = async (d: string) => {
      try {
        for (const c of await s.getChildren(d)) queue.push(childPath(d, c));
      } catch (e) {
        if (!isGone(e)) throw e;
      } finally {
        listing--;
      }
    };
    const pump = () => {
      while (!failed && active < depth) {
        if (dirs.length > 0 && queue.length < 4 * depth && listing < 2) {
          listing++;
          active++;
          list(dirs.shift()!).then(done, fail);
        } else if (queue.length > 0) {
          active++;
          read(queue.pop()!).then(done, fail);
        } else break;
      }
    };
    pump();
  });
}
