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
 * Run `visit` over a tree from `root` with at most `depth` visits in flight; `visit` returns the
 * paths to visit next. Rejects with the first error of a visit.
 */
export function pool(root: string, depth: number, visit: (p: string) => Promise<string[]>): Promise<void> {
  return new Promise((resolve, reject) => {
    const queue = [root];
    let active = 0;
    let failed = false;
    const pump = () => {
      while (!failed && active < depth && queue.length > 0) {
        const p = queue.pop()!;
        active++;
        visit(p).then(
          (next) => {
            active--;
            for (const n of next) queue.push(n);
            if (queue.length === 0 && active === 0) resolve();
            else pump();
          },
          (e: unknown) => {
            failed = true;
            reject(e);
          },
        );
      }
    };
    pump();
  });
}

/**
 * Every node under `root` (skipped subtrees left out) with its data and stat; `depth` requests
 * in flight (default 256). `onNode` runs once per node, in completion order.
 */
export async function walkWire(
  s: WireSession,
  skip: (path: string) => boolean,
  onNode: (path: string, data: Buffer, stat: WireStat) => void,
  o: { root?: string; depth?: number } = {},
): Promise<void> {
  await pool(o.root ?? '/', o.depth ?? 256, async (p) => {
    if (skip(p)) return [];
    let node: { data: Buffer; stat: WireStat };
    try {
      node = await s.getData(p);
    } catch (e) {
      if (isGone(e)) return [];
      throw e;
    }
    onNode(p, node.data, node.stat);
    if (node.stat.numChildren === 0) return [];
    try {
      return (await s.getChildren(p)).map((c) => childPath(p, c));
    } catch (e) {
      if (isGone(e)) return [];
      throw e;
    }
  });
}
