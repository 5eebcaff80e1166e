// `lab clone`'s pure parts (src/lab/clone-map.ts, src/lab/clone-plan.ts): lab addresses and the
// overlap refusal, a source zoo.cfg mapped onto the lab (only host parts and host-bound keys
// change), the file choice of FileTxnLog.getLogFiles, the leader placement (FLE's total order:
// with equal votes the highest sid of the first quorum is the leader), the clone plan text and
// the printed report.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { chooseFiles, configAddresses, labAddresses, mapConfig, overlapping, placement } from '../../src/lab/clone-map.js';
import { clonePlanText } from '../../src/lab/clone-plan.js';
import { loadPlanText } from '../../src/plan/load.js';
import { LabError } from '../../src/lab/spec.js';
import type { CloneReport } from '../../src/lab/clone.js';
import { renderCloneReport } from '../../src/cli/lab.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('lab clone: addresses', () => {
  it('takes the first hosts of a loopback network, in order', () => {
    assert.deepEqual(labAddresses('127.0.30.0/24', 3), ['127.0.30.1', '127.0.30.2', '127.0.30.3']);
    assert.deepEqual(labAddresses('127.0.30.64/26', 2), ['127.0.30.65', '127.0.30.66']);
  });
  it('refuses networks outside 127.0.0.0/8, larger than /24, or too small', () => {
    assert.throws(() => labAddresses('10.0.30.0/24', 3), LabError);
    assert.throws(() => labAddresses('127.0.0.0/16', 3), /a \/24 or smaller/);
    assert.throws(() => labAddresses('127.0.30.0/30', 3), /room for 2 hosts; the plan needs 3/);
  });
  it('finds every address a source config names, and the overlap with the lab', () => {
    const cfg = [
      'clientPortAddress=10.1.0.7',
      'admin.serverAddress=10.1.0.7',
      'server.1=zk1.example:2888:3888',
      'server.2=127.0.30.2:2888:3888;127.0.30.2:2181',
      'server.3=[fe80::1]:2888:3888:observer',
    ].join('\n');
    assert.deepEqual(configAddresses(cfg), ['10.1.0.7', '10.1.0.7', 'zk1.example', '127.0.30.2', '127.0.30.2', 'fe80::1']);
    assert.deepEqual(overlapping(['127.0.30.1', '127.0.30.2'], configAddresses(cfg)), ['127.0.30.2']);
    assert.deepEqual(overlapping(['127.0.30.1'], ['127.0.20.1']), []);
  });
});

describe('lab clone: the source zoo.cfg mapped onto the lab', () => {
  const lab = new Map([
    [1, '127.0.30.1'],
    [2, '127.0.30.2'],
    [3, '127.0.30.3'],
  ]);
  const labOf = (id: number) => lab.get(id);

  it('maps server hosts and host-bound keys, keeps ports, roles, comments, CRLF and every other line', () => {
    const src = [
      '# production zoo.cfg\r',
      'tickTime: 2000\r',
      'dataDir=/var/lib/zookeeper\r',
      'clientPortAddress = 10.1.0.1\r',
      'secureClientPortAddress=10.1.0.1\r',
      'server.1=zk1.prod:2888:3888;2181\r',
      'server.2=zk2.prod:2889:3889:participant;zk2.prod:2182\r',
      'server.3=[fe80::3]:2888:3888:observer\r',
      '4lw.commands.whitelist=srvr, mntr\r',
      '',
    ].join('\n');
    const out = mapConfig(src, '127.0.30.1', labOf, true);
    const lines = out.split('\n');
    assert.equal(lines[0], '# production zoo.cfg\r');
    assert.equal(lines[1], 'tickTime: 2000\r');
    assert.equal(lines[2], 'dataDir=/var/lib/zookeeper\r');
    assert.equal(lines[3], 'clientPortAddress = 127.0.30.1\r');
    assert.equal(lines[4], 'secureClientPortAddress=127.0.30.1\r');
    assert.equal(lines[5], 'server.1=127.0.30.1:2888:3888;127.0.30.1:2181\r');
    assert.equal(lines[6], 'server.2=127.0.30.2:2889:3889:participant;127.0.30.2:2182\r');
    assert.equal(lines[7], 'server.3=127.0.30.3:2888:3888:observer\r');
    assert.equal(lines[8], '4lw.commands.whitelist=srvr, mntr\r');
    // admin.serverAddress was missing: added (lab hosts share one kernel), clientPortAddress was not
    assert.match(out, /\r\nadmin\.serverAddress=127\.0\.30\.1\r\n$/);
    assert.equal(lines.filter((l) => l.startsWith('clientPortAddress')).length, 1, 'clientPortAddress was there: not added again');
  });

  it('a reconfig-managed zoo.cfg (no clientPort: it is in the dynamic file) gets no clientPortAddress, which would stop 3.5+', () => {
    const src = 'tickTime=2000\nreconfigEnabled=true\ndynamicConfigFile=/opt/zk/conf/zoo.cfg.dynamic.100000000\n';
    assert.equal(
      mapConfig(src, '127.0.30.1', labOf, true),
      `${src}# zkroll lab clone: bind to this lab host's own address (lab hosts share one kernel)\nadmin.serverAddress=127.0.30.1\n`,
    );
    assert.match(mapConfig('clientPort=2181\n', '127.0.30.1', labOf, true), /^clientPortAddress=127\.0\.30\.1$/m);
  });

  it('adds nothing to a dynamic file, and refuses a server the plan does not have', () => {
    assert.equal(mapConfig('server.2=h:1:2;2181\n', '127.0.30.2', labOf, false), 'server.2=127.0.30.2:1:2;127.0.30.2:2181\n');
    assert.throws(() => mapConfig('server.9=h:1:2\n', '127.0.30.1', labOf, true), /server\.9, which is not a server of the plan/);
  });
});

describe('lab clone: which files (FileSnap newest snapshot, FileTxnLog.getLogFiles)', () => {
  const snaps = ['snapshot.100000000', 'snapshot.100000050', 'currentEpoch', 'acceptedEpoch', 'snapshot.100000060.tmp', 'myid'];
  const logs = ['log.100000001', 'log.100000040', 'log.100000090', 'log.1000000a0', 'log.x'];

  it('takes the newest snapshot, the newest log starting at or before it, every later log and the epochs', () => {
    assert.deepEqual(chooseFiles(snaps, logs), {
      snapshot: 'snapshot.100000050',
      snapshotZxid: 0x100000050n,
      logs: ['log.100000040', 'log.100000090', 'log.1000000a0'],
      epochs: ['currentEpoch', 'acceptedEpoch'],
    });
  });
  it('on a retry takes the next older snapshot and the logs after it', () => {
    const c = chooseFiles(snaps, logs, 1);
    assert.equal(c.snapshot, 'snapshot.100000000');
    assert.deepEqual(c.logs, ['log.100000001', 'log.100000040', 'log.100000090', 'log.1000000a0']);
  });
  it('a snapshot older than every log takes every log; no snapshot is refused', () => {
    assert.deepEqual(chooseFiles(['snapshot.0'], ['log.100000001']).logs, ['log.100000001']);
    assert.throws(() => chooseFiles(['currentEpoch'], logs), /no snapshot/);
    assert.throws(() => chooseFiles(['snapshot.0'], logs, 1), /no snapshot older than snapshot\.0/);
  });
  it('reads the names of the fixtures (3.9.3 snappy snapshot, 3.4.6 log)', () => {
    const snappy = fs.readdirSync(path.join(root, 'test/fixtures/data-3.9.3-snappy'));
    const log346 = fs.readdirSync(path.join(root, 'test/fixtures/data-3.4.6-leader'));
    const c = chooseFiles(snappy, log346);
    assert.equal(c.snapshot, 'snapshot.3d.snappy');
    assert.equal(c.snapshotZxid, 0x3dn);
    assert.deepEqual(c.logs, ['log.100000001']);
  });
});

describe('lab clone: leader placement', () => {
  it('start order where at least q−1 voters have a lower sid, else only the leader has the data', () => {
    assert.deepEqual(placement([1, 2, 3], [], 3), {
      kind: 'start',
      first: [2, 3],
      rest: [1],
      why: 'every server has the data; 2, 3 start first: with equal (epoch, zxid) FLE elects the highest sid, 3',
    });
    assert.equal(placement([1, 2, 3], [], 1).kind, 'empty');
    assert.deepEqual(placement([1, 2, 3], [4], 1).first, [1, 2]);
    assert.deepEqual(placement([1, 2, 3], [4], 1).rest, [3, 4]);
    assert.equal(placement([1, 2, 3], [], 3, 'empty').kind, 'empty');
    assert.throws(() => placement([1, 2, 3], [4], 4), /not a voter/);
  });

  it('property: `first` is a quorum holding the leader, which FLE elects; observers start last', () => {
    const arb = fc
      .uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 9 })
      .chain((ids) => fc.record({ ids: fc.constant(ids), leaderAt: fc.nat(ids.length - 1), observers: fc.nat(2), prefer: fc.constantFrom('start', 'empty') }));
    fc.assert(
      fc.property(arb, ({ ids, leaderAt, observers, prefer }) => {
        const obs = ids.length > observers + 1 ? ids.slice(ids.length - observers) : [];
        const voters = ids.filter((i) => !obs.includes(i));
        const leader = voters[leaderAt % voters.length]!;
        const q = Math.floor(voters.length / 2) + 1;
        const p = placement(voters, obs, leader, prefer as 'start' | 'empty');
        assert.equal(p.first.length, q);
        assert.ok(p.first.includes(leader));
        assert.ok(p.first.every((i) => voters.includes(i)));
        assert.deepEqual(
          [...p.first, ...p.rest].sort((a, b) => a - b),
          [...ids].sort((a, b) => a - b),
        );
        assert.deepEqual(
          p.rest.slice(p.rest.length - obs.length),
          [...obs].sort((a, b) => a - b),
        );
        // with equal votes (start) the highest sid wins; without the leader `first` is q−1: no election
        if (p.kind === 'start') assert.equal(Math.max(...p.first), leader);
        if (prefer === 'start' && voters.filter((v) => v < leader).length >= q - 1) assert.equal(p.kind, 'start');
      }),
    );
  });
});

describe('lab clone: the clone plan', () => {
  const text = fs.readFileSync(path.join(root, 'plans/rolling-upgrade.yaml'), 'utf8');
  const edits = {
    name: 'rolling-demo-clone',
    version: '3.8.0',
    hosts: new Map([
      ['127.0.20.1', '127.0.30.1'],
      ['127.0.20.2', '127.0.30.2'],
      ['127.0.20.3', '127.0.30.3'],
    ]),
    identityFile: '/tmp/zkroll-lab/rolling-demo-clone/id_ed25519',
    knownHosts: '/tmp/zkroll-lab/rolling-demo-clone/known_hosts',
    planFile: path.join(root, 'plans/rolling-upgrade.yaml'),
    header: 'zkroll lab clone of rolling-upgrade.yaml',
  };

  it('changes only the hosts, name, ssh files and the releases path; every other byte (comments, alignment) is kept', () => {
    const out = clonePlanText(text, edits);
    const a = text.split('\n');
    const b = out.split('\n');
    assert.equal(b[0], '# zkroll lab clone of rolling-upgrade.yaml');
    assert.equal(b.length, a.length + 1);
    const changed = a.map((l, i) => [l, b[i + 1]!] as const).filter(([x, y]) => x !== y);
    assert.deepEqual(
      changed.map(([, y]) => y.trim()),
      [
        "name: rolling-demo-clone        # names zkroll's state directory and the lab directory",
        'identityFile: /tmp/zkroll-lab/rolling-demo-clone/id_ed25519    # generated by the lab',
        'knownHosts: /tmp/zkroll-lab/rolling-demo-clone/known_hosts     # written by the lab; checked strictly',
        'host: 127.0.30.1',
        'host: 127.0.30.2',
        'host: 127.0.30.3',
        `releases: ${path.resolve(root, '../shared/zookeeper/dist')}   # upstream tarballs ($ZKROLL_RELEASES is searched first)`,
      ],
    );
    const r = loadPlanText(out, 'clone.yaml');
    assert.ok(r.ok);
    assert.equal(r.plan.cluster.name, 'rolling-demo-clone');
    assert.deepEqual(
      r.plan.servers.map((s) => s.host),
      ['127.0.30.1', '127.0.30.2', '127.0.30.3'],
    );
  });

  it('with per-host ssh overrides and sudo: removes them through the Document (comments kept)', () => {
    const withSudo = text
      .replace('  port: 2222 ', '  sudo: true\n  port: 2222 ')
      .replace('    host: 127.0.20.2\n', '    host: 127.0.20.2\n    ssh: { port: 2223 }\n');
    const out = clonePlanText(withSudo, edits);
    assert.match(out, /^# zkroll lab clone of rolling-upgrade.yaml\n/);
    assert.match(out, /# the install every server moves to/);
    const r = loadPlanText(out, 'clone.yaml');
    assert.ok(r.ok);
    assert.equal(r.plan.ssh.sudo, false);
    assert.equal(r.plan.servers[1]!.ssh, undefined);
    assert.equal(r.plan.servers[1]!.host, '127.0.30.2');
  });
});

describe('lab clone: the report', () => {
  const report: CloneReport = {
    cluster: 'prod-clone',
    planOut: 'prod.clone.yaml',
    hosts: [['10.0.0.1', '127.0.30.1']],
    leader: 1,
    version: '3.8.0',
    files: [
      { name: 'snapshot.100000050', bytes: 1000, sha256: 'a'.repeat(64) },
      { name: 'log.100000040', bytes: 67108880, sha256: 'b'.repeat(64), changed: 'c'.repeat(64) },
    ],
    streamBytes: 2 * 1048576,
    copyMs: 1000,
    snapshotZxid: 0x100000050n,
    lastZxid: 0x100000099n,
    sourceZxid: { before: 0x100000099n, after: 0x10000009an },
    skippedSnapshots: ['snapshot.100000060 (Adler32 mismatch)'],
    placement: placement([1, 2, 3], [], 1),
    servers: [{ myid: 1, sourceMode: 'leader', cloneMode: 'leader', observer: false }],
    digest: { zxid: 0x100000080n, same: false },
    commands: [],
    phases: { read: 500, stream: 1000, checksums: 2000, scan: 100, lab: 3000 },
    seconds: 7.2,
  };

  it('names every file with size and sha256, a log the source still writes, the zxids, the placement and a differing digest', () => {
    const text = renderCloneReport(report).join('\n');
    assert.match(text, /snapshot\.100000050 +1000 +a{64}\n/);
    assert.match(text, /log\.100000040 +67108880 +b{64} \(source now c{12}…: still written to\)/);
    assert.match(text, /2\.00 MiB through the stream in 1\.0 s \(2\.00 MiB\/s\)/);
    assert.match(text, /snapshot zxid 0x100000050, last zxid in the copy 0x100000099; the source leader was at 0x100000099 before the copy, 0x10000009a after/);
    assert.match(text, /passed over: snapshot\.100000060 \(Adler32 mismatch\)/);
    assert.match(text, /placement: leader only has data: fewer than 1 voters have a sid below 1/);
    assert.match(text, /tree digest at zxid 0x100000080: DIFFERENT/);
    assert.match(text, /time: read 0\.5 s, stream 1\.0 s, checksums 2\.0 s, scan 0\.1 s, lab 3\.0 s/);
  });
});
