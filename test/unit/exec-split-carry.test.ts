// The split window's carry-over (src/exec/split-window.ts carry) on two fake trees with real
// zxids: what the old ensemble wrote after the copy reaches the new one; what both changed,
// what the new one deleted or made ephemeral, and children of such nodes are conflicts left as
// the new ensemble has them; nodes only the new tree has are reported, never deleted.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { carry } from '../../src/exec/split-window.js';
import { ZkError } from '../../src/zk/client.js';
import type { WireSession, WireStat } from '../../src/zk/wire.js';

interface FakeNode {
  data: string;
  czxid: bigint;
  mzxid: bigint;
  pzxid: bigint;
  ephemeral?: boolean;
}

class FakeTree {
  readonly writes: string[] = [];
  constructor(
    readonly nodes: Map<string, FakeNode>,
    private readonly nextZxid: bigint,
  ) {}
  private kids(p: string): string[] {
    const pre = p === '/' ? '/' : `${p}/`;
    return [...this.nodes.keys()].filter((k) => k !== p && k.startsWith(pre) && !k.slice(pre.length).includes('/')).map((k) => k.slice(pre.length));
  }
  private stat(n: FakeNode, p: string): WireStat {
    const raw = Buffer.alloc(68);
    raw.writeBigInt64BE(n.czxid, 0);
    raw.writeBigInt64BE(n.mzxid, 8);
    raw.writeBigInt64BE(n.pzxid, 60);
    return { version: 0, ephemeral: n.ephemeral === true, dataLength: n.data.length, numChildren: this.kids(p).length, raw, at: 0 };
  }
  session(): WireSession {
    const get = (p: string) => {
      const n = this.nodes.get(p);
      if (!n) throw new ZkError(`get ${p}: no node`, -101);
      return n;
    };
    return {
      getData: async (p: string) => ({ data: Buffer.from(get(p).data), stat: this.stat(get(p), p) }),
      getChildren: async (p: string) => (get(p), this.kids(p)),
      sync: async () => undefined,
      create: async (p: string, d: Buffer) => {
        if (this.nodes.has(p)) throw new ZkError(`create ${p}: exists`, -110);
        const parent = p.slice(0, p.lastIndexOf('/')) || '/';
        if (!this.nodes.has(parent)) throw new ZkError(`create ${p}: no parent`, -101);
        this.nodes.set(p, { data: d.toString(), czxid: this.nextZxid, mzxid: this.nextZxid, pzxid: this.nextZxid });
        this.writes.push(`create ${p}`);
      },
      setData: async (p: string, d: Buffer) => {
        get(p).data = d.toString();
        this.writes.push(`set ${p}`);
      },
    } as unknown as WireSession;
  }
}

const COPY = 0x100000050n; // the zxid of the seed copy
const at = (z: bigint, data = 'x', more: Partial<FakeNode> = {}): FakeNode => ({ data, czxid: z, mzxid: z, pzxid: z, ...more });

/** The tree at the copy, as both ensembles hold it then. */
function atCopy(): [string, FakeNode][] {
  return [
    ['/', at(0n, '', { pzxid: 0x100000003n })],
    ['/app', at(0x100000001n, 'a', { pzxid: 0x100000004n })],
    ['/app/keep', at(0x100000002n, 'same')],
    ['/app/both', at(0x100000003n, 'v0')],
    ['/app/gone-new', at(0x100000004n, 'v0')],
    ['/dir', at(0x100000005n, '')],
  ];
}

describe('split window: carry(old, new)', () => {
  it('carries creates and changes made after the copy, keeps the new ensemble where both wrote, and deletes nothing', async () => {
    const oldTree = new FakeTree(
      new Map([
        ...atCopy(),
        ['/app', at(0x100000001n, 'a', { pzxid: 0x100000060n })],
        ['/app/both', at(0x100000003n, 'old-v1', { mzxid: 0x100000061n })],
        ['/app/gone-new', at(0x100000004n, 'old-v1', { mzxid: 0x100000062n })],
        ['/app/new-old', at(0x100000060n, 'created on old')],
        ['/app/keep', at(0x100000002n, 'old-changed', { mzxid: 0x100000063n })],
        ['/dir', at(0x100000005n, '', { pzxid: 0x100000064n })],
        ['/dir/child', at(0x100000064n, 'under a dir the new ensemble dropped')],
        ['/app/eph', at(0x100000065n, 'old persistent')],
        // written while the copy streamed (so in the copy), then changed again after it
        ['/app/during', at(0x100000055n, 'old-v2', { mzxid: 0x100000066n })],
        // written while the copy streamed, not changed since
        ['/app/in-copy', at(0x100000056n, 'c')],
      ]),
      0n,
    );
    const newMap = new Map(atCopy());
    newMap.set('/app/both', at(0x100000003n, 'new-v1', { mzxid: 0x200000002n }));
    newMap.delete('/app/gone-new');
    newMap.set('/app', at(0x100000001n, 'a', { pzxid: 0x200000004n }));
    newMap.delete('/dir');
    newMap.set('/', at(0n, '', { pzxid: 0x200000005n }));
    newMap.set('/only-new', at(0x200000006n, 'n'));
    newMap.set('/app/eph', at(0x200000007n, 'a session', { ephemeral: true }));
    // what the copy brought of the writes during it: the old ensemble's zxids
    newMap.set('/app/during', at(0x100000055n, 'old-v1'));
    newMap.set('/app/in-copy', at(0x100000056n, 'c'));
    const newTree = new FakeTree(newMap, 0x200000010n);
    const r = await carry(oldTree.session(), newTree.session(), () => false, COPY);
    assert.deepEqual(r.created, ['/app/new-old']);
    assert.deepEqual(r.changed.sort(), ['/app/during', '/app/keep']);
    assert.equal(newTree.nodes.get('/app/during')!.data, 'old-v2', 'the last value of a node written during the copy and after it is carried');
    assert.equal(newTree.nodes.get('/app/keep')!.data, 'old-changed');
    assert.equal(newTree.nodes.get('/app/both')!.data, 'new-v1', "the new ensemble's acknowledged write is kept");
    assert.equal(newTree.nodes.has('/app/gone-new'), false, 'a node the new ensemble deleted is not brought back');
    assert.equal(newTree.nodes.get('/app/eph')!.ephemeral, true);
    assert.deepEqual(r.conflicts.sort(), [
      '/app/both (changed in both ensembles after the copy)',
      '/app/eph (an ephemeral node of the new ensemble)',
      '/app/gone-new (deleted in the new ensemble after the copy)',
      '/dir/child (its parent is gone from the new ensemble)',
    ]);
    assert.ok(!newTree.nodes.has('/dir/child'), 'a child of a conflict is left with it');
    assert.deepEqual(r.onlyNew, ['/only-new']);
    assert.deepEqual(newTree.writes.sort(), ['create /app/new-old', 'set /app/during', 'set /app/keep']);
    // safe to run twice: nothing more is written, and what the first run carried is no conflict
    const again = await carry(oldTree.session(), newTree.session(), () => false, COPY);
    assert.deepEqual(newTree.writes.sort(), ['create /app/new-old', 'set /app/during', 'set /app/keep']);
    assert.deepEqual(again.changed, []);
    assert.deepEqual(again.conflicts.sort(), r.conflicts.sort());
  });

  it('writes nothing when the old ensemble wrote nothing after the copy', async () => {
    const newTree = new FakeTree(new Map(atCopy()), 0x200000001n);
    const r = await carry(new FakeTree(new Map(atCopy()), 0n).session(), newTree.session(), () => false, COPY);
    assert.deepEqual([r.created, r.changed, r.conflicts, r.onlyNew], [[], [], [], []]);
    assert.deepEqual(newTree.writes, []);
  });
});
