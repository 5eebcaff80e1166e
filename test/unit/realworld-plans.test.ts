// Plans from public reports (test/fixtures/realworld): IPv6 hosts written bare or in brackets,
// and an ensemble numbered from 0, load, compile and render the way ZooKeeper reads them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile/index.js';
import { FileRefused, plannedFiles, resolveFile, simulateWrites } from '../../src/compile/files.js';
import type { Plan } from '../../src/plan/schema.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { hostsConnectString } from '../../src/zk/client.js';
import { loadOk, ROLLING } from './plan-fixtures.js';

/** The first zoo.cfg the plan writes, from the plan's picture of the current files (zkroll plan without --live). */
function firstZooCfg(plan: Plan): string {
  const initial = plannedFiles(plan);
  const writes = [...simulateWrites(compile(plan), initial).values()].flat();
  return writes.find((f) => f.path.endsWith('zoo.cfg'))!.content;
}

const realworld = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/realworld');

describe('ipv6: hosts bare or in brackets', () => {
  const load = (name: string) => {
    const r = loadPlanFile(path.join(realworld, 'ipv6', name));
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
    return r.plan;
  };
  it('both spellings load to the same bare hosts', () => {
    const bare = load('plan-bare.yaml');
    const bracket = load('plan-bracket.yaml');
    assert.deepEqual(
      bare.servers.map((s) => s.host),
      ['2001:db8::11', '2001:db8::12', '2001:db8::13'],
    );
    assert.deepEqual(
      bracket.servers.map((s) => s.host),
      bare.servers.map((s) => s.host),
    );
  });
  it('server lines and connect strings put IPv6 hosts in brackets', () => {
    for (const name of ['plan-bare.yaml', 'plan-bracket.yaml']) {
      const plan = load(name);
      const cfg = firstZooCfg(plan);
      assert.match(cfg, /^server\.1=\[2001:db8::11\]:2888:3888$/m, cfg);
      assert.match(cfg, /^server\.3=\[2001:db8::13\]:2888:3888$/m);
      assert.equal(hostsConnectString(plan.servers, 2181), '[2001:db8::11]:2181,[2001:db8::12]:2181,[2001:db8::13]:2181');
    }
  });
});

describe('ids-from-zero', () => {
  it('a rolling plan of servers 0, 1, 2 compiles and writes server.0', () => {
    const plan = loadOk(ROLLING.replace('  - myid: 1\n', '  - myid: 0\n'));
    assert.deepEqual(
      plan.servers.map((s) => s.myid),
      [0, 2, 3],
    );
    const cfg = firstZooCfg(plan);
    assert.match(cfg, /^server\.0=zk1\.example\.com:2888:3888$/m, cfg);
    const round = compile(plan).steps.filter((s) => s.action === 'restart');
    assert.equal(round.length, 3);
  });
});

describe('reconfig-enabled: the dynamic file moves with the config; membership belongs to reconfig', () => {
  const dir = path.join(realworld, 'reconfig-enabled');
  const files = new Map([
    ['zk1\u0000/opt/zookeeper-3.5.5/conf/zoo.cfg', fs.readFileSync(path.join(dir, 'zoo.cfg'), 'utf8')],
    ['zk1\u0000/opt/zookeeper-3.5.5/conf/zoo.cfg.dynamic.100000000', fs.readFileSync(path.join(dir, 'zoo.cfg.dynamic.100000000'), 'utf8')],
  ]);
  const read = (h: string, p: string) => files.get(`${h}\u0000${p}`);
  const node = {
    host: 'zk1',
    myid: 1,
    home: '/opt/zookeeper-3.5.9',
    config: '/opt/zookeeper-3.5.9/conf/zoo.cfg',
    dataDir: '/var/lib/zookeeper',
    dataLogDir: '/var/lib/zookeeper',
  };
  const member = (myid: number) => ({ myid, host: `zk${myid}.example.net`, quorumPort: 2888, electionPort: 3888, clientPort: 2181 });
  const write = (servers: ReturnType<typeof member>[]) =>
    resolveFile({ kind: 'zoo.cfg', path: node.config, base: '/opt/zookeeper-3.5.5/conf/zoo.cfg', servers, node, mode: 0o644 }, 'zk1', read);

  it('same members: the new zoo.cfg points at its own copy of the dynamic file; the old install is not written', () => {
    const out = write([member(1), member(2), member(3)]);
    assert.deepEqual(
      out.map((f) => f.path),
      ['/opt/zookeeper-3.5.9/conf/zoo.cfg', '/opt/zookeeper-3.5.9/conf/zoo.cfg.dynamic.100000000'],
    );
    assert.match(out[0]!.content, /^dynamicConfigFile=\/opt\/zookeeper-3\.5\.9\/conf\/zoo\.cfg\.dynamic\.100000000$/m);
    assert.equal(out[1]!.content, files.get('zk1\u0000/opt/zookeeper-3.5.5/conf/zoo.cfg.dynamic.100000000'), 'the members keep their lines verbatim');
  });

  it('a membership change is refused, with the reason', () => {
    assert.throws(
      () => write([member(1), member(2), member(3), member(4)]),
      (e: unknown) => e instanceof FileRefused && /reconfigEnabled=true.*\[1, 2, 3\] → \[1, 2, 3, 4\]/.test(e.message),
    );
  });
});

describe('dynamic files: kept where the operator keeps them, never invented', () => {
  const node = { host: 'zk1', myid: 1, home: '/opt/zk-new', config: '/opt/zk-new/conf/zoo.cfg', dataDir: '/d', dataLogDir: '/d' };
  const member = (myid: number, host = `zk${myid}`) => ({ myid, host, quorumPort: 2888, electionPort: 3888, clientPort: 2181 });
  const fw = { kind: 'zoo.cfg' as const, path: node.config, base: '/opt/zk-old/conf/zoo.cfg', servers: [member(1), member(2), member(3)], node, mode: 0o644 };

  it('a dynamic file outside the old install stays where it is, and the line pointing at it too', () => {
    const files = new Map([
      ['zk1\u0000/opt/zk-old/conf/zoo.cfg', 'dataDir=/d\ndynamicConfigFile=/etc/zookeeper/zoo.cfg.dynamic\n'],
      ['zk1\u0000/etc/zookeeper/zoo.cfg.dynamic', 'server.1=zk1:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888\n'],
    ]);
    const out = resolveFile(fw, 'zk1', (h, p) => files.get(`${h}\u0000${p}`));
    assert.equal(out[0]!.content, 'dataDir=/d\ndynamicConfigFile=/etc/zookeeper/zoo.cfg.dynamic\n');
    assert.equal(out[1]!.path, '/etc/zookeeper/zoo.cfg.dynamic');
  });

  it('a dynamic file that cannot be read is refused, not written from the plan alone', () => {
    const files = new Map([['zk1\u0000/opt/zk-old/conf/zoo.cfg', 'dataDir=/d\ndynamicConfigFile=/opt/zk-old/conf/zoo.cfg.dynamic.100000000\n']]);
    assert.throws(
      () => resolveFile(fw, 'zk1', (h, p) => files.get(`${h}\u0000${p}`)),
      /zoo\.cfg\.dynamic\.100000000 \(the dynamicConfigFile of .*\) does not exist/,
    );
  });

  it("with reconfigEnabled=true, a server's own line binding 0.0.0.0 is no membership change", () => {
    const files = new Map([
      ['zk1\u0000/opt/zk-old/conf/zoo.cfg', 'reconfigEnabled=true\ndynamicConfigFile=/opt/zk-old/conf/zoo.cfg.dynamic.100000000\n'],
      ['zk1\u0000/opt/zk-old/conf/zoo.cfg.dynamic.100000000', 'server.1=0.0.0.0:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888\n'],
    ]);
    const out = resolveFile(fw, 'zk1', (h, p) => files.get(`${h}\u0000${p}`));
    assert.equal(out[1]!.content, 'server.1=0.0.0.0:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888\n');
  });
});
