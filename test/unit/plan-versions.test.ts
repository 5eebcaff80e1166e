// ZooKeeper versions: parsing, ordering, the version of a srvr answer, and the version hazards
// (each fires for an affected pair and not for an unaffected one).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VERSION_HAZARDS, compareVersions, parseVersion, versionFromSrvr, versionHazards, type Hazard, type HazardStrategy } from '../../src/plan/versions.js';

const ids = (hs: Hazard[]) => hs.map((h) => h.id);
const run = (current: string | null, target: string, strategy: HazardStrategy = 'rolling') => versionHazards({ current, target, strategy });
const find = (hs: Hazard[], id: string) => {
  const h = hs.find((x) => x.id === id);
  assert.ok(h, `expected hazard ${id} in [${ids(hs).join(', ')}]`);
  return h;
};
const refusals = (hs: Hazard[]) => hs.filter((h) => h.level === 'refuse').map((h) => h.id);

describe('parseVersion', () => {
  it('reads x.y.z, x.y and suffixed versions', () => {
    assert.deepEqual(parseVersion('3.4.6'), { major: 3, minor: 4, patch: 6 });
    assert.deepEqual(parseVersion('3.8'), { major: 3, minor: 8, patch: 0 });
    assert.deepEqual(parseVersion('3.9.3-rc1'), { major: 3, minor: 9, patch: 3 });
    assert.deepEqual(parseVersion('3.8-rc1'), { major: 3, minor: 8, patch: 0 });
    assert.deepEqual(parseVersion('3.4.6.1'), { major: 3, minor: 4, patch: 6 });
    assert.deepEqual(parseVersion('3.4.13-6--1'), { major: 3, minor: 4, patch: 13 });
    assert.deepEqual(parseVersion(' 3.10.0 '), { major: 3, minor: 10, patch: 0 });
  });
  it('refuses what is not a version', () => {
    for (const s of ['', '3', 'v3.4.6', '3.4.6-', '3.8.x', 'latest', '3.x', '3.8.0-${mvngit.commit.id}', '3.4.6 3.4.7', '99999999999999999999.1']) {
      assert.equal(parseVersion(s), null, s);
    }
  });
});

describe('compareVersions', () => {
  it('orders on major.minor.patch, numerically', () => {
    const sorted = ['3.10.0', '3.4.13', '3.9.3', '3.4.6', '3.5.10', '3.5.9', '3.8'].sort(compareVersions);
    assert.deepEqual(sorted, ['3.4.6', '3.4.13', '3.5.9', '3.5.10', '3.8', '3.9.3', '3.10.0']);
    assert.equal(compareVersions('3.4.6', '3.4.13'), -1);
    assert.equal(compareVersions('3.9.3', '3.8.0'), 1);
  });
  it('ignores suffixes and a missing patch', () => {
    assert.equal(compareVersions('3.9.3-rc1', '3.9.3'), 0);
    assert.equal(compareVersions('3.8', '3.8.0'), 0);
    assert.equal(compareVersions({ major: 3, minor: 5, patch: 7 }, '3.5.7'), 0);
  });
  it('throws on a string that is not a version', () => {
    assert.throws(() => compareVersions('3.4.6', 'latest'), /not a ZooKeeper version: "latest"/);
  });
});

describe('versionFromSrvr', () => {
  it('reads the versions seen on this machine and upstream', () => {
    assert.equal(versionFromSrvr('Zookeeper version: 3.4.6-1569965, built on 02/20/2014 09:09 GMT'), '3.4.6');
    assert.equal(versionFromSrvr('Zookeeper version: 3.4.13-6--1, built on Sat, 26 Jan 2019 16:04:47 +0100'), '3.4.13');
    assert.equal(versionFromSrvr('Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2022-02-25 08:49 UTC'), '3.8.0');
    assert.equal(versionFromSrvr('Zookeeper version: 3.9.3-${mvngit.commit.id}, built on 2024-10-17 23:21 UTC'), '3.9.3');
    assert.equal(versionFromSrvr('Zookeeper version: 3.5.9-83df9301aa5c2a5d284a9940177808c01bc35cef, built on 01/06/2021 20:03 GMT'), '3.5.9');
  });
  it('takes the value without its label, and a whole srvr answer', () => {
    assert.equal(versionFromSrvr('3.4.6-1569965, built on 02/20/2014 09:09 GMT'), '3.4.6');
    assert.equal(versionFromSrvr('  zookeeper version:3.9.3-${mvngit.commit.id}, built on 2024-10-17 23:21 UTC\r'), '3.9.3');
    const answer = [
      'Zookeeper version: 3.4.13-6--1, built on Sat, 26 Jan 2019 16:04:47 +0100',
      'Latency min/avg/max: 0/0/12',
      'Received: 1402',
      'Sent: 1401',
      'Connections: 3',
      'Outstanding: 0',
      'Zxid: 0x500000a3c',
      'Mode: leader',
      'Node count: 512',
    ].join('\n');
    assert.equal(versionFromSrvr(answer), '3.4.13');
  });
  it('gives null when there is no version', () => {
    for (const s of [
      '',
      'Zookeeper version: ',
      'Zookeeper version: unknown',
      'This ZooKeeper instance is not currently serving requests',
      'Mode: leader',
      'Zookeeper version: 3.4.6.1',
    ]) {
      assert.equal(versionFromSrvr(s), null, s);
    }
  });
});

describe('the hazard table', () => {
  it('names a JIRA key or a URL as the source of every rule, and no id twice', () => {
    for (const r of VERSION_HAZARDS) assert.match(r.source, /^(ZOOKEEPER-\d+(, ZOOKEEPER-\d+)*|https:\/\/\S+)$/, r.id);
    assert.equal(new Set(VERSION_HAZARDS.map((r) => r.id)).size, VERSION_HAZARDS.length);
  });
});

describe('versionHazards on the lab versions', () => {
  it('3.4.6 → 3.4.13 rebuild: ZOOKEEPER-2186, not the 3.5 hazards, nothing refused', () => {
    const hs = run('3.4.6', '3.4.13', 'rebuild');
    const h = find(hs, 'ZOOKEEPER-2186');
    assert.equal(h.level, 'warn');
    assert.match(h.message, /3\.4\.6 has ZOOKEEPER-2186/);
    assert.match(h.message, /zkroll check/);
    assert.doesNotMatch(h.message, /target/);
    for (const id of ['ZOOKEEPER-3056', 'ZOOKEEPER-2693', 'ZOOKEEPER-3829', 'upgrade-path', 'downgrade']) assert.ok(!ids(hs).includes(id), id);
    assert.deepEqual(refusals(hs), []);
  });
  it('3.4.13 → 3.8.0 rolling: the empty-snapshot check (info), the whitelist and the skipped lines (warn)', () => {
    const hs = run('3.4.13', '3.8.0');
    const s = find(hs, 'ZOOKEEPER-3056');
    assert.equal(s.level, 'info');
    assert.match(s.message, /No snapshot found, but there are log entries/);
    assert.match(s.message, /snapshot\.trust\.empty=true/);
    assert.match(s.message, /removes it once that server has written a snapshot/);
    assert.doesNotMatch(s.message, /ZOOKEEPER-3781/, '3.8.0 has ZOOKEEPER-3781');
    const w = find(hs, 'ZOOKEEPER-2693');
    assert.equal(w.level, 'warn');
    assert.match(w.message, /mntr/);
    assert.match(w.message, /AdminServer/);
    assert.equal(find(hs, 'upgrade-path').level, 'warn');
    assert.ok(!ids(hs).includes('ZOOKEEPER-2186'));
    assert.deepEqual(refusals(hs), []);
  });
  it('3.8.0 → 3.9.3: ZOOKEEPER-4925 warns on a roll (zkroll makes the last restart a full sync) and refuses a rebuild', () => {
    const rolling = run('3.8.0', '3.9.3', 'rolling');
    assert.deepEqual(refusals(rolling), []);
    assert.deepEqual(ids(rolling), ['ZOOKEEPER-4925']);
    assert.match(rolling[0]!.message, /3\.9\.4/);
    assert.match(rolling[0]!.message, /version-2 to a dated backup before its start/);
    const rebuild = run('3.8.0', '3.9.3', 'rebuild');
    assert.deepEqual(refusals(rebuild), ['ZOOKEEPER-4925-rebuild']);
    assert.deepEqual(run('3.8.0', '3.9.4'), []);
    // a rebuild onto 3.7+ is told that reconfig could replace its rolling restarts; reconfig warns only on 3.9.3
    assert.deepEqual(ids(run('3.9.2', '3.9.2', 'rebuild')), ['reconfig-available']);
    assert.deepEqual(ids(run('3.8.0', '3.9.3', 'reconfig')), ['ZOOKEEPER-4925-reconfig']);
    assert.deepEqual(ids(run('3.8.0', '3.9.4', 'reconfig')), []);
    assert.deepEqual(refusals(run('3.8.0', '3.6.4', 'reconfig')), ['reconfig-needs-3.7']);
    assert.deepEqual(ids(run('3.4.6', '3.4.13', 'rebuild')).includes('reconfig-available'), false);
  });
});

describe('versionHazards: ZOOKEEPER-3829/3830/3842', () => {
  it('refuses a rebuild onto an affected 3.5 or 3.6 release, naming the fixed ones', () => {
    for (const t of ['3.6.0', '3.6.1', '3.5.5', '3.5.8']) {
      const h = find(run('3.5.9', t, 'rebuild'), 'ZOOKEEPER-3829');
      assert.equal(h.level, 'refuse', t);
      assert.match(h.message, /3\.5\.9, 3\.6\.2, 3\.7\.0/);
    }
  });
  it('does not fire for a fixed target, nor for a rolling upgrade', () => {
    for (const t of ['3.5.9', '3.5.10', '3.6.2', '3.6.4', '3.7.0', '3.8.0']) assert.ok(!ids(run('3.5.9', t, 'rebuild')).includes('ZOOKEEPER-3829'), t);
    assert.ok(!ids(run('3.5.9', '3.6.1', 'rolling')).includes('ZOOKEEPER-3829'));
  });
  it('is judged on the target alone, so also without cluster.version', () => {
    const hs = run(null, '3.6.1', 'rebuild');
    assert.deepEqual(ids(hs), ['ZOOKEEPER-3829', 'current-version-unknown', 'end-of-life']);
  });
});

describe('versionHazards: the 3.4 → 3.5+ empty-snapshot check', () => {
  it('refuses 3.5.3–3.5.5 (no escape hatch) and 3.5.6 (ZOOKEEPER-3644 loses data)', () => {
    for (const t of ['3.5.3', '3.5.4', '3.5.5']) {
      const hs = run('3.4.14', t);
      assert.equal(find(hs, 'ZOOKEEPER-3056-no-escape-hatch').level, 'refuse', t);
      assert.ok(!ids(hs).includes('ZOOKEEPER-3056'), t);
    }
    const hs = run('3.4.14', '3.5.6');
    assert.equal(find(hs, 'ZOOKEEPER-3644').level, 'refuse');
    assert.match(find(hs, 'ZOOKEEPER-3644').message, /3\.5\.7/);
    assert.ok(!ids(hs).includes('ZOOKEEPER-3056'));
  });
  it('notes the missing follower snapshot (ZOOKEEPER-3781) on 3.5.7–3.5.9 and 3.6.0–3.6.3 only', () => {
    assert.match(find(run('3.4.14', '3.5.7'), 'ZOOKEEPER-3056').message, /ZOOKEEPER-3781/);
    assert.match(find(run('3.4.14', '3.6.3'), 'ZOOKEEPER-3056').message, /ZOOKEEPER-3781/);
    assert.doesNotMatch(find(run('3.4.14', '3.5.10'), 'ZOOKEEPER-3056').message, /ZOOKEEPER-3781/);
    assert.doesNotMatch(find(run('3.4.14', '3.6.4'), 'ZOOKEEPER-3056').message, /ZOOKEEPER-3781/);
  });
  it('applies from the 3.5 alphas before 3.5.3 too, and not from 3.5.3 on', () => {
    assert.deepEqual(
      ids(run('3.5.2', '3.5.9')).filter((id) => id.startsWith('ZOOKEEPER-3056') || id === 'ZOOKEEPER-2693'),
      ['ZOOKEEPER-2693', 'ZOOKEEPER-3056'],
    );
    assert.deepEqual(ids(run('3.5.5', '3.5.9')), ['end-of-life']);
    assert.ok(!ids(run('3.4.14', '3.4.14')).some((id) => id.startsWith('ZOOKEEPER-3056')));
  });
});

describe('versionHazards: ZOOKEEPER-2186', () => {
  it('fires for a current release before 3.4.7 and for 3.5.0, not for 3.4.7 or 3.5.1', () => {
    assert.ok(ids(run('3.4.6', '3.4.14')).includes('ZOOKEEPER-2186'));
    assert.ok(ids(run('3.5.0', '3.5.9')).includes('ZOOKEEPER-2186'));
    assert.ok(!ids(run('3.4.7', '3.4.14')).includes('ZOOKEEPER-2186'));
    assert.ok(!ids(run('3.5.1', '3.5.9')).includes('ZOOKEEPER-2186'));
  });
  it('fires for an affected target on its own, with cluster.version or without', () => {
    const down = run('3.4.13', '3.4.6');
    assert.match(find(down, 'ZOOKEEPER-2186').message, /^The target 3\.4\.6 has ZOOKEEPER-2186/);
    assert.equal(find(down, 'downgrade').level, 'warn');
    assert.deepEqual(ids(run(null, '3.4.6')), ['current-version-unknown', 'ZOOKEEPER-2186', 'end-of-life']);
  });
});

describe('versionHazards: downgrades', () => {
  it('refuses going back below 3.5', () => {
    const hs = run('3.8.0', '3.4.13');
    assert.equal(find(hs, 'downgrade-to-3.4').level, 'refuse');
    assert.match(find(hs, 'downgrade-to-3.4').message, /Unsupported Txn/);
    assert.ok(!ids(hs).includes('downgrade'));
    assert.ok(!ids(hs).includes('ZOOKEEPER-3056'));
  });
  it('warns on any other downgrade, and says nothing of an upgrade', () => {
    assert.equal(find(run('3.9.3', '3.8.0'), 'downgrade').level, 'warn');
    assert.equal(find(run('3.4.13', '3.4.6', 'rebuild'), 'downgrade').level, 'warn');
    for (const [c, t] of [
      ['3.8.0', '3.9.3'],
      ['3.4.6', '3.4.13'],
      ['3.9.3', '3.9.3'],
    ] as const) {
      assert.ok(!ids(run(c, t)).some((id) => id.startsWith('downgrade')), `${c} → ${t}`);
    }
  });
});

describe('versionHazards: upgrade paths and end of life', () => {
  it('warns when a release line is skipped', () => {
    for (const [c, t] of [
      ['3.4.14', '3.6.4'],
      ['3.5.9', '3.7.2'],
      ['3.6.4', '3.9.3'],
      ['3.4.6', '3.9.4'],
    ] as const) {
      assert.equal(find(run(c, t), 'upgrade-path').level, 'warn', `${c} → ${t}`);
    }
  });
  it('is quiet on the documented paths', () => {
    for (const [c, t] of [
      ['3.4.14', '3.5.10'],
      ['3.5.9', '3.6.4'],
      ['3.6.4', '3.7.2'],
      ['3.6.4', '3.8.0'],
      ['3.7.2', '3.9.3'],
      ['3.8.0', '3.9.3'],
      ['3.4.6', '3.4.13'],
    ] as const) {
      assert.ok(!ids(run(c, t)).includes('upgrade-path'), `${c} → ${t}`);
    }
  });
  it('notes an end-of-life target line', () => {
    for (const t of ['3.4.13', '3.5.10', '3.6.4', '3.7.2']) assert.equal(find(run(t, t), 'end-of-life').level, 'info', t);
    for (const t of ['3.8.0', '3.9.3']) assert.ok(!ids(run(t, t)).includes('end-of-life'), t);
  });
});

describe('versionHazards without cluster.version', () => {
  it('judges none of the hazards that need it, and says so once', () => {
    const hs = run(null, '3.8.0');
    assert.deepEqual(ids(hs), ['current-version-unknown']);
    assert.equal(hs[0]!.level, 'warn');
    assert.match(hs[0]!.message, /cluster\.version is not set/);
    assert.match(hs[0]!.message, /srvr at run time/);
  });
});

describe('versionHazards, over every pair', () => {
  const versions = ['3.4.6', '3.4.13', '3.5.0', '3.5.5', '3.5.6', '3.5.9', '3.6.1', '3.6.4', '3.7.2', '3.8.0', '3.9.3', '3.9.4'];
  it('lists refusals, then warnings, then information, each id once, each with a message', () => {
    const rank = { refuse: 0, warn: 1, info: 2 };
    for (const c of [null, ...versions]) {
      for (const t of versions) {
        for (const strategy of ['rolling', 'rebuild'] as const) {
          const hs = run(c, t, strategy);
          const where = `${c} → ${t} ${strategy}`;
          assert.deepEqual(
            hs.map((h) => rank[h.level]),
            hs.map((h) => rank[h.level]).sort((a, b) => a - b),
            where,
          );
          assert.equal(new Set(ids(hs)).size, hs.length, where);
          for (const h of hs) assert.ok(h.message.length > 40 && !h.message.includes('undefined') && !h.message.includes('p.'), `${where}: ${h.id}`);
        }
      }
    }
  });
  it('throws on a version it cannot read', () => {
    assert.throws(() => run('3.4.6', 'latest'), /not a ZooKeeper version/);
  });
});

describe('sameVersion', () => {
  it('compares numbers: a line matches its releases, a build suffix is ignored, 3.4.6 is not 3.4.60', async () => {
    const { sameVersion } = await import('../../src/plan/versions.js');
    assert.equal(sameVersion('3.4.6', '3.4.6'), true);
    assert.equal(sameVersion('3.4', '3.4.13'), true);
    assert.equal(sameVersion('3.4.6-1569965', '3.4.6'), true);
    assert.equal(sameVersion('3.4.6', '3.4.6-1569965, built on 02/20/2014 09:09 GMT'), true);
    assert.equal(sameVersion('3.4.6', '3.4.60'), false);
    assert.equal(sameVersion('3.4.6', '3.4'), false);
    assert.equal(sameVersion('3.4.6', ''), false);
  });
});
