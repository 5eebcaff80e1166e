// loadPlanText / loadPlanFile: defaults, YAML errors, schema errors with exact positions, files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatPlanError, loadPlanFile, loadPlanText } from '../../src/plan/load.js';
import { renumberMap } from '../../src/plan/schema.js';
import { REBUILD, ROLLING, loadErrors, loadOk, withLine } from './plan-fixtures.js';

describe('valid plans', () => {
  it('loads the rebuild plan with every default applied', () => {
    const plan = loadOk(REBUILD);
    assert.deepEqual(plan.cluster, { name: 'codis-incident', ports: { client: 2181, quorum: 2888, election: 3888 }, adminPort: 8080 });
    assert.deepEqual(plan.ssh, {
      user: 'root',
      port: 22,
      identityFile: '~/.ssh/id_ed25519',
      knownHosts: '~/.ssh/known_hosts',
      sudo: false,
      connectTimeout: 10_000,
    });
    assert.equal(plan.servers.length, 5);
    assert.deepEqual(plan.servers[4], {
      myid: 10,
      host: '127.0.10.10',
      home: '/opt/zookeeper-3.4.6',
      config: '/opt/zookeeper-3.4.6/conf/zoo.cfg',
      dataDir: '/var/lib/zookeeper/data',
      dataLogDir: '/var/lib/zookeeper/data',
      service: { kind: 'zkServer' },
      role: 'participant',
    });
    assert.deepEqual(plan.target, { version: '3.4.13', home: '/opt/zookeeper-3.4.13', config: '/opt/zookeeper-3.4.13/conf/zoo.cfg' });
    assert.equal(plan.strategy.kind, 'rebuild');
    if (plan.strategy.kind !== 'rebuild') return;
    assert.deepEqual(plan.strategy.temporary, {
      myid: 1,
      host: '127.0.10.1',
      home: '/opt/zookeeper-3.4.13',
      config: '/opt/zookeeper-3.4.13/conf/zoo.cfg',
      dataDir: '/var/lib/zookeeper/data',
      dataLogDir: '/var/lib/zookeeper/data',
      service: { kind: 'zkServer' },
    });
    assert.deepEqual(plan.strategy.broken, [6, 8]);
    assert.deepEqual(plan.strategy.renumber, [
      { from: 6, to: 2 },
      { from: 7, to: 4 },
      { from: 8, to: 3 },
      { from: 9, to: 5 },
      { from: 10, to: 6 },
    ]);
    assert.equal(renumberMap(plan.strategy).get(10), 6);
    assert.equal(plan.strategy.seedFrom, 'leader');
    assert.deepEqual(plan.strategy.preserveEphemerals, ['/jodis']);
    assert.deepEqual(plan.health, {
      pollInterval: 200,
      startDeadline: 60_000,
      gateDeadline: 120_000,
      canaryPath: '/zkroll/canary',
      requiredZnodes: [{ path: '/jodis/codis-demo', minChildren: 1 }],
    });
    assert.deepEqual(plan.lab, { down: [6, 8], znodes: 200, proxies: { product: 'codis-demo', count: 3 } });
  });

  it('loads the rolling plan: explicit values kept, lab.down defaults to []', () => {
    const plan = loadOk(ROLLING);
    assert.deepEqual(plan.strategy, { kind: 'rolling' });
    assert.deepEqual(plan.lab, { down: [], znodes: 200 });
    assert.equal(plan.cluster.adminPort, 9090);
    assert.deepEqual(plan.ssh, {
      user: 'ops',
      port: 2200,
      knownHosts: '~/.ssh/known_hosts',
      jumpHost: 'jump@bastion.example.com:2222',
      sudo: true,
      connectTimeout: 2500,
    });
    const s1 = plan.servers[0];
    assert.equal(s1?.config, '/etc/zookeeper/zoo.cfg');
    assert.equal(s1?.dataLogDir, '/txlog/zk');
    assert.deepEqual(s1?.service, { kind: 'systemd', unit: 'zookeeper.service' });
    assert.deepEqual(s1?.ssh, { user: 'admin', identityFile: 'keys/zk1' });
    assert.equal(plan.servers[1]?.ssh, undefined);
    assert.deepEqual(plan.health, { pollInterval: 1000, startDeadline: 90_000, gateDeadline: 300_000, canaryPath: '/ops/canary', requiredZnodes: [] });
  });

  it('keeps an explicit lab.down and seedFrom myid', () => {
    const plan = loadOk(withLine(withLine(REBUILD, 22, '  seedFrom: 10'), 28, '  down: [8]'));
    assert.deepEqual(plan.lab.down, [8]);
    assert.equal(plan.strategy.kind === 'rebuild' && plan.strategy.seedFrom, 10);
  });
});

describe('YAML errors', () => {
  it('reports a syntax error at its line:col', () => {
    assert.deepEqual(loadErrors(withLine(REBUILD, 18, '  kind: rebuild: now')), [
      'plans/test.yaml:18:9: YAML syntax error: Nested mappings are not allowed in compact mappings',
    ]);
  });

  it('reports a duplicate key by name, in block and flow mappings', () => {
    assert.deepEqual(loadErrors(withLine(REBUILD, 7, '  user: admin')), [
      "plans/test.yaml:7:3: duplicate key 'user' (a key may appear only once in a mapping)",
    ]);
    assert.deepEqual(loadErrors(withLine(REBUILD, 21, '  renumber: { 6: 2, 8: 3, 7: 4, 9: 5, 6: 6 }')), [
      "plans/test.yaml:21:39: duplicate key '6' (a key may appear only once in a mapping)",
    ]);
  });

  it('rejects a second document, tabs, unknown tags and dangling aliases', () => {
    assert.deepEqual(loadErrors(`${REBUILD}---\nversion: 1\n`), [
      "plans/test.yaml:29:1: the plan must be a single YAML document (remove the second '---' document)",
    ]);
    assert.deepEqual(loadErrors('version: 1\nservers:\n\t- myid: 1\n'), [
      'plans/test.yaml:3:1: YAML syntax error: tabs are not allowed for indentation, use spaces',
    ]);
    assert.deepEqual(loadErrors(withLine(REBUILD, 3, '  name: !custom codis')), ['plans/test.yaml:3:9: YAML warning: Unresolved tag: !custom']);
    assert.deepEqual(loadErrors(withLine(REBUILD, 22, '  seedFrom: *leader')), [
      'plans/test.yaml:22:13: YAML error: alias *leader refers to no anchor defined before it',
    ]);
  });

  it('follows anchors and aliases that do resolve', () => {
    const text = withLine(
      withLine(REBUILD, 9, '  - { myid: 6, host: 127.0.10.6, home: &old /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }'),
      10,
      '  - { myid: 7, host: 127.0.10.7, home: *old, dataDir: /var/lib/zookeeper/data }',
    );
    assert.equal(loadOk(text).servers[1]?.home, '/opt/zookeeper-3.4.6');
  });
});

describe('schema errors', () => {
  it('points at a wrong value and says what was expected and what was found', () => {
    assert.deepEqual(loadErrors(withLine(REBUILD, 11, '  - { myid: seven, host: 127.0.10.8, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }')), [
      'plans/test.yaml:11:13: servers[2].myid: expected a non-negative integer (a ZooKeeper myid; 0 is allowed), got "seven"',
    ]);
  });

  it('points at an unknown key, suggests the closest known key, and reports the then-missing key at its map', () => {
    assert.deepEqual(loadErrors(withLine(REBUILD, 19, '  temporary: { myid: 1, host: 127.0.10.1, dataDri: /var/lib/zookeeper/data }')), [
      'plans/test.yaml:19:14: strategy.temporary.dataDir: required field is missing',
      "plans/test.yaml:19:43: strategy.temporary.dataDri: unknown key 'dataDri' (did you mean 'dataDir'?)",
    ]);
  });

  it('lists the allowed keys when nothing is close', () => {
    const text = ROLLING.replace('  kind: rolling\n', '  kind: rolling\n  broken: [1]\n');
    assert.deepEqual(loadErrors(text), ["plans/test.yaml:33:3: strategy.broken: unknown key 'broken' (allowed here: kind)"]);
  });

  it('points a missing required key at its parent map (block style)', () => {
    assert.deepEqual(loadErrors(withLine(ROLLING, 23, '    dataLogDir: /data/zk')), ['plans/test.yaml:20:5: servers[1].dataDir: required field is missing']);
    assert.deepEqual(loadErrors(withLine(REBUILD, 6, '  port: 22')), ['plans/test.yaml:6:3: ssh.user: required field is missing']);
  });

  it('names the strategy kinds', () => {
    assert.deepEqual(loadErrors(withLine(REBUILD, 18, '  kind: rebuilt')), [
      'plans/test.yaml:18:9: strategy.kind: expected one of rolling, rebuild, got "rebuilt"',
    ]);
  });

  it('reports an empty or non-mapping document at 1:1', () => {
    assert.deepEqual(loadErrors(''), ['plans/test.yaml:1:1: plan: expected a mapping, got nothing']);
    assert.deepEqual(loadErrors('- 1\n'), ['plans/test.yaml:1:1: plan: expected a mapping, got a list']);
  });

  it('reports every error of a file, sorted by line then column', () => {
    const text = [
      'target:', //                 1
      '  version: 3.4', //          2
      '  home: /opt/zk-new', //     3
      'version: 1', //              4
      'strategy:', //               5
      '  kind: rolling', //         6
      'servers:', //                7
      '  - myid: -3', //            8
      '    host: zk1', //           9
      '    home: /opt/zk', //      10
      '    dataDir: data', //      11
      'ssh:', //                   12
      '  user: root', //           13
      '  conectTimeout: 5s', //    14
      'cluster:', //               15
      '  name: x', //              16
      '',
    ].join('\n');
    assert.deepEqual(loadErrors(text, 'plans/x.yaml'), [
      'plans/x.yaml:2:12: target.version: expected a ZooKeeper version string like "3.4.13" (quote it in YAML), got 3.4',
      'plans/x.yaml:8:11: servers[0].myid: expected a non-negative integer (a ZooKeeper myid; 0 is allowed), got -3',
      'plans/x.yaml:11:14: servers[0].dataDir: expected an absolute path (starting with "/", without ".."), got "data"',
      "plans/x.yaml:14:3: ssh.conectTimeout: unknown key 'conectTimeout' (did you mean 'connectTimeout'?)",
    ]);
  });
});

describe('files', () => {
  it('gives one clean error without position for a missing file or a directory', () => {
    const missing = path.join(os.tmpdir(), 'zkroll-no-such-dir', 'plan.yaml');
    const r = loadPlanFile(missing);
    assert.deepEqual(r, { ok: false, errors: [{ file: missing, message: 'cannot read plan: ENOENT (no such file)' }] });
    if (!r.ok) assert.equal(formatPlanError(r.errors[0]!), `${missing}: cannot read plan: ENOENT (no such file)`);
    const dir = loadPlanFile(os.tmpdir());
    assert.deepEqual(dir.ok ? [] : dir.errors.map((e) => e.message), ['cannot read plan: EISDIR (is a directory)']);
  });

  it('loads a plan from a file and labels errors with the file name', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zkroll-plan-'));
    try {
      const good = path.join(dir, 'good.yaml');
      writeFileSync(good, REBUILD);
      const r = loadPlanFile(good);
      assert.equal(r.ok && r.file, good);
      const bad = path.join(dir, 'bad.yaml');
      writeFileSync(bad, withLine(REBUILD, 16, '  home: relative/dir'));
      const b = loadPlanFile(bad);
      assert.deepEqual(b.ok ? [] : b.errors.map(formatPlanError), [
        `${bad}:16:9: target.home: expected an absolute path (starting with "/", without ".."), got "relative/dir"`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('formats errors with and without a position', () => {
    assert.equal(formatPlanError({ file: 'plans/x.yaml', line: 12, col: 7, message: 'm' }), 'plans/x.yaml:12:7: m');
    assert.equal(formatPlanError({ file: 'plans/x.yaml', message: 'm' }), 'plans/x.yaml: m');
  });
});

describe('robustness', () => {
  const lineCount = (t: string): number => t.split('\n').length;
  const check = (text: string): void => {
    const r = loadPlanText(text, 'p.yaml');
    if (r.ok) return;
    assert.ok(r.errors.length > 0);
    for (const e of r.errors) {
      assert.ok(e.line === undefined || (e.line >= 1 && e.line <= lineCount(text)), formatPlanError(e));
      assert.ok(e.col === undefined || e.col >= 1, formatPlanError(e));
    }
  };

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (t) => check(t)),
      { numRuns: 300 },
    );
  });

  it('never throws on a valid plan with a slice cut out or a character inserted', () => {
    const edit = fc.tuple(fc.nat(REBUILD.length), fc.nat(12), fc.constantFrom('', ':', '-', ' ', '{', '[', "'", '\n', 'x', '#', '&a', '*a'));
    fc.assert(
      fc.property(edit, ([at, len, ins]) => check(REBUILD.slice(0, at) + ins + REBUILD.slice(at + len))),
      { numRuns: 400 },
    );
  });
});
