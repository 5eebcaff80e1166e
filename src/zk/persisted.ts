// The persistent copies zkroll writes of ephemeral nodes before a rebuild (<name>.zkroll-persisted)
// and, after the run, which of them are shadowed: their owner registered again (an ephemeral
// sibling with the same name, or one with the same data). Finding is read-only; removing takes
// only shadowed copies, after their data was saved by the caller.
import { ZkClient } from './client.js';

export const COPY_SUFFIX = '.zkroll-persisted';

export interface PersistedCopy {
  copy: string;
  original: string;
  /** The owner is back: an ephemeral node with the original name or the same data exists. */
  shadowed: boolean;
  data: string;
}

export async function findPersistedCopies(zk: ZkClient, roots: string[]): Promise<PersistedCopy[]> {
  const out: PersistedCopy[] = [];
  const walk = async (p: string): Promise<void> => {
    const st = await zk.exists(p);
    if (!st || String(st.ephemeralOwner) !== '0') return;
    const children = await zk.getChildren(p).catch(() => [] as string[]);
    const ephemeralData = new Map<string, string>();
    for (const c of children.filter((c) => !c.endsWith(COPY_SUFFIX))) {
      const child = `${p === '/' ? '' : p}/${c}`;
      const cst = await zk.exists(child);
      if (cst && String(cst.ephemeralOwner) !== '0') ephemeralData.set(c, (await zk.get(child)).data.toString('base64'));
    }
    for (const c of children) {
      const child = `${p === '/' ? '' : p}/${c}`;
      if (c.endsWith(COPY_SUFFIX)) {
        const name = c.slice(0, -COPY_SUFFIX.length);
        const data = (await zk.get(child)).data.toString('base64');
        out.push({
          copy: child,
          original: `${p === '/' ? '' : p}/${name}`,
          shadowed: ephemeralData.has(name) || [...ephemeralData.values()].includes(data),
          data,
        });
      } else if (!ephemeralData.has(c)) {
        await walk(child);
      }
    }
  };
  for (const r of roots) await walk(r);
  return out;
}

export async function removeCopies(zk: ZkClient, copies: PersistedCopy[]): Promise<string[]> {
  const removed: string[] = [];
  for (const c of copies) {
    if (!c.shadowed) continue;
    await zk.delete(c.copy);
    removed.push(c.copy);
  }
  return removed;
}
