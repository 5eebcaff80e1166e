// zoo.cfg rendering keeps the operator's file; the diff is a correct unified diff.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { unifiedDiff } from '../../src/compile/diff.js';
import { configuredIds, renderZooCfg } from '../../src/compile/zoocfg.js';
import type { NodeRef, ServerLine } from '../../src/compile/types.js';

const node: NodeRef = { host: '10.0.0.2', myid: 2, home: '/opt/zk', config: '/opt/zk/conf/zoo.cfg', dataDir: '/data/zk', dataLogDir: '/data/zk' };
const line = (myid: number, host: string): ServerLine => ({ myid, host, quorumPort: 2888, electionPort: 3888, clientPort: 2181 });

const BASE = `# Codis ensemble, managed by the DBA team
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/data/zk
clientPort=2181
clientPortAddress=10.0.0.9
# the ensemble
server.6=10.0.0.6:2888:3888
server.7=10.0.0.7:2888:3888
autopurge.snapRetainCount=10
`;

describe('renderZooCfg', () => {
  it('changes only the server lines and the host-bound address; keeps comments and order', () => {
    const r = renderZooCfg(BASE, [line(3, '10.0.0.3'), line(2, '10.0.0.2')], node, '10.0.0.9');
    assert.equal(
      r.main,
      BASE.replace('server.6=10.0.0.6:2888:3888\nserver.7=10.0.0.7:2888:3888', 'server.2=10.0.0.2:2888:3888\nserver.3=10.0.0.3:2888:3888').replace(
        'clientPortAddress=10.0.0.9',
        'clientPortAddress=10.0.0.2',
      ),
    );
    assert.equal(r.dynamic, undefined);
  });

  it('keeps a host-bound key that names another address as it is', () => {
    const r = renderZooCfg(BASE.replace('clientPortAddress=10.0.0.9', 'clientPortAddress=0.0.0.0'), [line(2, '10.0.0.2')], node, '10.0.0.9');
    assert.match(r.main, /^clientPortAddress=0\.0\.0\.0$/m);
  });

  it("follows the node's data directories", () => {
    const r = renderZooCfg(BASE, [line(2, '10.0.0.2')], { ...node, dataDir: '/srv/zk', dataLogDir: '/srv/txlog' }, '10.0.0.9');
    assert.match(r.main, /^dataDir=\/srv\/zk$/m);
    assert.match(r.main, /^dataLogDir=\/srv\/txlog$/m);
  });

  it('3.5+ dynamic config: the server lines go to the dynamic file in its style', () => {
    const base = 'tickTime=2000\ndataDir=/data/zk\ndynamicConfigFile=/opt/zk/conf/zoo.cfg.dynamic\n';
    const dyn = 'server.6=10.0.0.6:2888:3888:participant;2181\nserver.7=10.0.0.7:2888:3888:participant;2181\n';
    const r = renderZooCfg(base, [line(2, '10.0.0.2'), line(3, '10.0.0.3')], node, '10.0.0.2', dyn);
    assert.equal(r.main, base);
    assert.deepEqual(r.dynamic, {
      path: '/opt/zk/conf/zoo.cfg.dynamic',
      content: 'server.2=10.0.0.2:2888:3888:participant;2181\nserver.3=10.0.0.3:2888:3888:participant;2181\n',
    });
    assert.deepEqual(configuredIds(r.dynamic?.content ?? ''), [2, 3]);
  });
});

/** Apply a unified diff (an independent reading of the format) to `a`. */
function applyDiff(a: string, diff: string): string {
  const src = a === '' ? [] : a.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let pos = 0;
  const lines = diff.replace(/\n$/, '').split('\n').slice(2);
  for (let i = 0; i < lines.length; i++) {
    const h = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(lines[i]!);
    if (!h) continue;
    const start = Number(h[2]) === 0 ? Number(h[1]) : Number(h[1]) - 1;
    while (pos < start) out.push(src[pos++]!);
    for (i++; i < lines.length && !lines[i]!.startsWith('@@'); i++) {
      const l = lines[i]!;
      if (l.startsWith('+')) out.push(l.slice(1));
      else {
        assert.equal(src[pos], l.slice(1), 'context/removed line matches the source');
        if (l.startsWith(' ')) out.push(src[pos]!);
        pos++;
      }
    }
    i--;
  }
  while (pos < src.length) out.push(src[pos++]!);
  return out.length ? out.join('\n') + '\n' : '';
}

describe('renderZooCfg: keys zkroll sets and removes (snapshot.trust.empty, ZOOKEEPER-3056)', () => {
  const servers = [line(6, '10.0.0.6'), line(7, '10.0.0.7')];
  it('appends a key the file does not have, and removing it gives the file back byte for byte', () => {
    const set = renderZooCfg(BASE, servers, node, '10.0.0.9', undefined, { set: [{ key: 'snapshot.trust.empty', value: 'true' }] }).main;
    assert.match(set, /\nsnapshot\.trust\.empty=true\n$/);
    const back = renderZooCfg(set, servers, node, '10.0.0.2', undefined, { unset: ['snapshot.trust.empty'] }).main;
    assert.equal(back, renderZooCfg(BASE, servers, node, '10.0.0.9').main);
  });
  it('replaces the value of a key already there, in place, once', () => {
    const base = BASE.replace('tickTime=2000', 'snapshot.trust.empty=false\ntickTime=2000\nsnapshot.trust.empty = false');
    const out = renderZooCfg(base, servers, node, '10.0.0.9', undefined, { set: [{ key: 'snapshot.trust.empty', value: 'true' }] }).main;
    assert.equal(out.match(/snapshot\.trust\.empty/g)?.length, 1);
    assert.ok(out.startsWith('# Codis ensemble, managed by the DBA team\nsnapshot.trust.empty=true\ntickTime=2000\n'), out);
  });
});

describe('unifiedDiff', () => {
  it('is empty for equal texts and turns a into b', () => {
    assert.equal(unifiedDiff('x\n', 'x\n', 'a', 'b'), '');
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', 'server.1=x', ''), { maxLength: 25 }),
        fc.array(fc.constantFrom('a', 'b', 'c', 'server.2=y', ''), { maxLength: 25 }),
        (xa, xb) => {
          const a = xa.length ? xa.join('\n') + '\n' : '';
          const b = xb.length ? xb.join('\n') + '\n' : '';
          const d = unifiedDiff(a, b, 'a', 'b');
          if (a === b) assert.equal(d, '');
          else assert.equal(applyDiff(a, d), b);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
