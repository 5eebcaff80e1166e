// Cross-field rules: each rule broken once, with the exact message and line:col it produces.
// Column arithmetic refers to the REBUILD fixture's lines (see plan-fixtures.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRules } from '../../src/plan/rules.js';
import { PlanSchema } from '../../src/plan/schema.js';
import { REBUILD, ROLLING, loadErrors, loadOk, withLine } from './plan-fixtures.js';

const SERVERS = 'the servers are 6, 7, 8, 9 and 10';
const server = (myid: number, host: string): string => `  - { myid: ${myid}, host: ${host}, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }`;

describe('servers', () => {
  it('myids are unique (points at the later one)', () => {
    // line 10: "  - { myid: " is 12 characters, so the value starts at col 13.
    assert.deepEqual(loadErrors(withLine(REBUILD, 10, server(6, '127.0.10.7'))), [
      'plans/test.yaml:10:13: servers[1].myid: myid 6 is already used by servers[0]',
      // renumber still maps 7, which is no longer a server: "  renumber: { 6: 2, 8: 3, " is 26 chars.
      'plans/test.yaml:21:27: strategy.renumber.7: 7 is not a current server myid (the servers are 6, 8, 9 and 10)',
    ]);
  });

  it('hosts are unique', () => {
    // "  - { myid: 8, host: " is 21 characters.
    assert.deepEqual(loadErrors(withLine(REBUILD, 11, server(8, '127.0.10.7'))), [
      'plans/test.yaml:11:22: servers[2].host: host 127.0.10.7 is already used by servers[1] (one server per host)',
    ]);
  });
});

describe('rebuild', () => {
  it('the temporary server needs a spare host', () => {
    // "  temporary: { myid: 1, host: " is 30 characters.
    assert.deepEqual(loadErrors(withLine(REBUILD, 19, '  temporary: { myid: 1, host: 127.0.10.9, dataDir: /var/lib/zookeeper/data }')), [
      'plans/test.yaml:19:31: strategy.temporary.host: the temporary server needs a spare host: 127.0.10.9 is already servers[3] (myid 9)',
    ]);
  });

  it('the temporary myid is any id ZooKeeper accepts, 0 included (QuorumPeerConfig reads it with Long.parseLong)', () => {
    assert.equal(loadOk(withLine(REBUILD, 19, '  temporary: { myid: 0, host: 127.0.10.1, dataDir: /var/lib/zookeeper/data }')).strategy.kind, 'rebuild');
    assert.deepEqual(loadErrors(withLine(REBUILD, 19, '  temporary: { myid: -1, host: 127.0.10.1, dataDir: /var/lib/zookeeper/data }')), [
      'plans/test.yaml:19:22: strategy.temporary.myid: expected a non-negative integer (a ZooKeeper myid; 0 is allowed), got -1',
    ]);
  });

  it('broken servers are current servers (lab.down defaulted from them is not reported twice)', () => {
    // "  broken: [6, " is 14 characters.
    assert.deepEqual(loadErrors(withLine(REBUILD, 20, '  broken: [6, 11]')), [
      `plans/test.yaml:20:15: strategy.broken[1]: myid 11 is not a current server (${SERVERS})`,
    ]);
  });

  it('broken servers are listed once', () => {
    assert.deepEqual(loadErrors(withLine(REBUILD, 20, '  broken: [6, 6]')), ['plans/test.yaml:20:15: strategy.broken[1]: myid 6 is listed twice']);
  });

  it('at least one server is not broken', () => {
    assert.deepEqual(loadErrors(withLine(REBUILD, 20, '  broken: [6, 7, 8, 9, 10]')), [
      'plans/test.yaml:20:11: strategy.broken: every server is listed as broken; the rebuild needs a running server to copy the data from',
    ]);
  });

  it('renumber names the servers it misses, at the map', () => {
    // "  renumber: " is 12 characters: the map starts at col 13.
    assert.deepEqual(loadErrors(withLine(REBUILD, 21, '  renumber: { 6: 2, 8: 3, 7: 4 }')), [
      'plans/test.yaml:21:13: strategy.renumber: no new myid for servers 9 and 10 (every current server needs one)',
    ]);
  });

  it('renumber names an extra key, at the key', () => {
    // "  renumber: { 6: 2, 8: 3, 7: 4, 9: 5, 10: 6, " is 45 characters.
    assert.deepEqual(loadErrors(withLine(REBUILD, 21, '  renumber: { 6: 2, 8: 3, 7: 4, 9: 5, 10: 6, 11: 7 }')), [
      `plans/test.yaml:21:46: strategy.renumber.11: 11 is not a current server myid (${SERVERS})`,
    ]);
  });

  it('renumber is one-to-one', () => {
    // "  renumber: { 6: 2, 8: 3, 7: 4, 9: " is 35 characters.
    assert.deepEqual(loadErrors(withLine(REBUILD, 21, '  renumber: { 6: 2, 8: 3, 7: 4, 9: 4, 10: 6 }')), [
      'plans/test.yaml:21:36: strategy.renumber.9: new myid 4 is also given to server 7 (new myids must be unique)',
    ]);
  });

  it("renumber does not reuse the temporary server's myid", () => {
    // "  renumber: { 6: 2, 8: 3, 7: 4, 9: 5, 10: " is 42 characters.
    assert.deepEqual(loadErrors(withLine(REBUILD, 21, '  renumber: { 6: 2, 8: 3, 7: 4, 9: 5, 10: 1 }')), [
      "plans/test.yaml:21:43: strategy.renumber.10: new myid 1 is the temporary server's myid (strategy.temporary.myid)",
    ]);
  });

  it('renumber values are myids (non-negative integers) and keys are numbers', () => {
    assert.deepEqual(loadErrors(withLine(REBUILD, 21, '  renumber: { 6: 2, 8: 3, 7: 4, 9: 5, 10: -6 }')), [
      'plans/test.yaml:21:43: strategy.renumber.10: expected a non-negative integer (a ZooKeeper myid; 0 is allowed), got -6',
    ]);
    assert.deepEqual(loadErrors(withLine(REBUILD, 21, '  renumber: { 6: 2, 8: 3, 7: 4, 9: 5, ten: 6 }')), [
      `plans/test.yaml:21:39: strategy.renumber.ten: expected a current server's myid (an integer) as key, got "ten"`,
    ]);
  });

  it('seedFrom is a current server', () => {
    // "  seedFrom: " is 12 characters.
    assert.deepEqual(loadErrors(withLine(REBUILD, 22, '  seedFrom: 11')), [
      `plans/test.yaml:22:13: strategy.seedFrom: 11 is not a current server (${SERVERS})`,
    ]);
  });

  it('seedFrom is not a broken server', () => {
    assert.deepEqual(loadErrors(withLine(REBUILD, 22, '  seedFrom: 8')), [
      'plans/test.yaml:22:13: strategy.seedFrom: server 8 is listed as broken; seed from a healthy server or "leader"',
    ]);
  });
});

describe('lab and cluster', () => {
  it('lab.down lists current servers', () => {
    // "  down: [6, " is 12 characters.
    assert.deepEqual(loadErrors(withLine(REBUILD, 28, '  down: [6, 12]')), [
      `plans/test.yaml:28:13: lab.down[1]: myid 12 is not a current server (${SERVERS})`,
    ]);
    assert.deepEqual(loadErrors(`${ROLLING}lab: { down: [3, 3] }\n`), ['plans/test.yaml:38:18: lab.down[1]: myid 3 is listed twice']);
  });

  it('the three ports differ, even when one of them is a default', () => {
    // "  ports: { client: 2181, quorum: 2888, election: " is 49 characters.
    assert.deepEqual(loadErrors(withLine(REBUILD, 4, '  ports: { client: 2181, quorum: 2888, election: 2888 }')), [
      'plans/test.yaml:4:50: cluster.ports.election: election port must differ from the client and quorum ports',
    ]);
    // election defaults to 3888: the error falls back to the ports map ("  ports: " is 9 characters).
    assert.deepEqual(loadErrors(withLine(REBUILD, 4, '  ports: { client: 3888 }')), [
      'plans/test.yaml:4:10: cluster.ports.election: election port must differ from the client and quorum ports',
    ]);
  });

  it('adminPort differs from the ZooKeeper ports', () => {
    assert.deepEqual(loadErrors(withLine(REBUILD, 4, '  adminPort: 2181')), [
      'plans/test.yaml:4:14: cluster.adminPort: adminPort 2181 collides with a client/quorum/election port',
    ]);
  });
});

describe('checkRules on parsed plans', () => {
  const base = {
    version: 1,
    cluster: { name: 't' },
    ssh: { user: 'root' },
    servers: [
      { myid: 1, host: 'a', home: '/zk', dataDir: '/d' },
      { myid: 2, host: 'b', home: '/zk', dataDir: '/d' },
    ],
    target: { version: '3.4.13', home: '/zk2' },
  };

  it('accepts a consistent rolling plan and reports violations with key/value targets', () => {
    assert.deepEqual(checkRules(PlanSchema.parse({ ...base, strategy: { kind: 'rolling' } })), []);
    const plan = PlanSchema.parse({
      ...base,
      strategy: { kind: 'rebuild', temporary: { myid: 9, host: 'c', dataDir: '/t' }, broken: [1], renumber: { 1: 3, 5: 4 } },
    });
    assert.deepEqual(checkRules(plan), [
      { path: ['strategy', 'renumber'], at: 'value', message: 'no new myid for server 2 (every current server needs one)' },
      { path: ['strategy', 'renumber', '5'], at: 'key', message: '5 is not a current server myid (the servers are 1 and 2)' },
    ]);
  });

  it("accepts the incident's rebuild plan as written", () => {
    assert.deepEqual(checkRules(loadOk(REBUILD)), []);
  });
});

describe('version rules', () => {
  it('a version the hazards cannot read is a plan error with its position', () => {
    const text = ROLLING.replace(/target:\n  version: "?[^"\n]+"?/, 'target:\n  version: "3.8.x"');
    assert.deepEqual(loadErrors(text).filter((e) => e.includes('target.version')).length, 1, loadErrors(text).join('\n'));
    assert.match(
      loadErrors(text).find((e) => e.includes('target.version'))!,
      /^plans\/test\.yaml:\d+:\d+: target\.version: expected a ZooKeeper version like "3\.4\.13"/,
    );
  });
  it('a refused version hazard is a plan error at target.version (3.4 → 3.5.5: no escape hatch for ZOOKEEPER-3056)', () => {
    const text = ROLLING.replace('cluster:\n', 'cluster:\n  version: "3.4.13"\n').replace(/target:\n  version: "?[^"\n]+"?/, 'target:\n  version: "3.5.5"');
    const errs = loadErrors(text);
    assert.ok(
      errs.some((e) => /target\.version: ZOOKEEPER-3056-no-escape-hatch: .*refuses this target/.test(e)),
      errs.join('\n'),
    );
  });
});
