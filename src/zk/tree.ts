// Walking a ZooKeeper tree through the client: every node under a root, depth first, children
// in name order, skipping the subtrees the caller names.
// Invariants: a node deleted while the walk runs is passed over (ZNONODE); any other error
// (a lost connection) is thrown, never taken for an empty subtree.
import { ZkClient, ZkError, ZNONODE, type ZkStat } from './client.js';

export async function walkTree(
  zk: ZkClient,
  skip: (path: string) => boolean,
  onNode: (path: string, data: Buffer, stat: ZkStat) => void,
  root = '/',
): Promise<void> {
  const gone = (e: unknown) => e instanceof ZkError && e.rc === ZNONODE;
  const visit = async (p: string): Promise<void> => {
    if (skip(p)) return;
    let node: { data: Buffer; stat: ZkStat };
    let children: string[];
    try {
      node = await zk.get(p);
      children = await zk.getChildren(p);
    } catch (e) {
      if (gone(e)) return;
      throw e;
    }
    onNode(p, node.data, node.stat);
    for (const c of children.sort()) await visit(p === '/' ? `/${c}` : `${p}/${c}`);
  };
  await visit(root);
}
