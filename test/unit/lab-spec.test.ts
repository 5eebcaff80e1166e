// Pure parts of the lab: loopback check, mount roots, backing paths, the lab zoo.cfg and the
// plan → lab translation of the example plans.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPlanFile } from '../../src/plan/load.js';
import { labSpecFromPlan } from '../../src/lab/fromplan.js';
import { renderLabZooCfg } from '../../src/lab/install.js';
import { backingPath, isLoopbackV4, LabError, mountRoots } from '../../src/lab/spec.js';
import { findTarball, tarballNames } from '../../src/lab/releases.js';
import { hasListenerBug } from '../../src/lab/lab.js';

const plans = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../plans');

function spec(name: string) {
  const file = path.join(plans, name);
  const r = loadPlanFile(file);
  assert.ok(r.ok);
  return labSpecFromPlan(r.plan, file);
}

describe('lab spec', () => {
  it('accepts only IPv4 loopback addresses', () => {
    for (const ok of ['127.0.0.1', '127.0.10.6', '127.255.255.254']) assert.equal(isLoopbackV4(ok), true, ok);
    for (const bad of ['10.0.0.1', '128.0.0.1', '127.0.0.256', 'localhost', '::1', '127.0.0']) assert.equal(isLoopbackV4(bad), false, bad);
  });

  it('mounts the first two path components, folding nested ones', () => {
    assert.deepEqual(mountRoots(['/opt/zk-3.4.6/conf/zoo.cfg', '/opt/zk-3.4.6', '/data/zookeeper/data', '/data/zookeeper/datalog', '/zk']), [
      '/data/zookeeper',
      '/opt/zk-3.4.6',
      '/zk',
    ]);
  });

  it('refuses paths that would hide system directories', () => {
    assert.throws(
      () => mountRoots(['/usr/local/zookeeper']),
      (e: unknown) => e instanceof LabError && /\/usr\/local/.test(e.message),
    );
    assert.throws(() => mountRoots(['/etc/zookeeper/zoo.cfg']), LabError);
    assert.throws(() => mountRoots(['/']), LabError);
  });

  it('maps a host path into the host directory', () => {
    assert.equal(
      backingPath('/lab/hosts/127.0.0.2', ['/data/zookeeper', '/opt/zk'], '/data/zookeeper/data/myid'),
      '/lab/hosts/127.0.0.2/fs/data__zookeeper/data/myid',
    );
    assert.throws(() => backingPath('/lab/h', ['/opt/zk'], '/srv/x'), LabError);
  });

  it('builds six hosts for the incident plan, each with both installs, 6 and 8 down', () => {
    const s = spec('codis-incident.yaml');
    assert.deepEqual(s.hosts[0]?.installs, [
      { home: '/opt/zookeeper-3.4.6', version: '3.4.6' },
      { home: '/opt/zookeeper-3.4.13', version: '3.4.13' },
    ]);
    assert.equal(s.currentVersion, '3.4.6');
    assert.equal(s.deadListeners, 'port-scan');
    assert.equal(s.whitelist, null, 'a 3.4 config has no whitelist line');
    assert.deepEqual(
      s.hosts.map((h) => h.ip),
      ['127.0.10.6', '127.0.10.7', '127.0.10.8', '127.0.10.9', '127.0.10.10', '127.0.10.1'],
    );
    assert.deepEqual(s.down, [6, 8]);
    assert.deepEqual(
      s.hosts[0]?.installs.map((i) => i.home),
      ['/opt/zookeeper-3.4.6', '/opt/zookeeper-3.4.13'],
    );
    assert.deepEqual(
      s.hosts[5]?.installs.map((i) => i.home),
      ['/opt/zookeeper-3.4.13'],
      'the spare host gets only the target install',
    );
    assert.deepEqual(s.proxies, { product: 'codis-demo', count: 3 });
    assert.match(s.knownHostsFile, /^\/tmp\/zkroll-lab\/codis-incident\/known_hosts$/);
  });

  it('applies overrides from the command line', () => {
    const file = path.join(plans, 'codis-incident.yaml');
    const r = loadPlanFile(file);
    assert.ok(r.ok);
    const s = labSpecFromPlan(r.plan, file, { down: [], znodes: 7, proxies: 0 });
    assert.deepEqual(s.down, []);
    assert.equal(s.znodes, 7);
    assert.equal(s.proxies, null);
    assert.throws(() => labSpecFromPlan(r.plan, file, { down: [42] }), /no server has myid 42/);
  });

  it("finds each version's tarball: $ZKROLL_RELEASES first, then lab.releases (relative to the plan); lab.installs wins", () => {
    const file = path.join(plans, 'codis-incident.yaml');
    const r = loadPlanFile(file);
    assert.ok(r.ok);
    const s = labSpecFromPlan(r.plan, file, {}, { ZKROLL_RELEASES: '/srv/tarballs' });
    assert.deepEqual(s.releases.dirs, ['/srv/tarballs', path.resolve(plans, '../../shared/zookeeper/dist')]);
    const have = new Set([
      '/srv/tarballs/zookeeper-3.4.6.tar.gz',
      path.resolve(plans, '../../shared/zookeeper/dist/zookeeper-3.4.6.tar.gz'),
      path.resolve(plans, '../../shared/zookeeper/dist/zookeeper-3.4.13.tar.gz'),
    ]);
    const exists = (p: string) => have.has(p);
    assert.equal(findTarball('3.4.6', s.releases, exists), '/srv/tarballs/zookeeper-3.4.6.tar.gz');
    assert.equal(findTarball('3.4.13', s.releases, exists), path.resolve(plans, '../../shared/zookeeper/dist/zookeeper-3.4.13.tar.gz'));
    assert.equal(
      findTarball('3.4.6', { dirs: s.releases.dirs, installs: { '3.4.6': '/mine/zk.tgz' } }, () => true),
      '/mine/zk.tgz',
    );
  });

  it('refuses a version with no tarball, naming every file it looked for', () => {
    assert.deepEqual(tarballNames('3.8.0'), ['apache-zookeeper-3.8.0-bin.tar.gz', 'zookeeper-3.8.0.tar.gz', 'zookeeper-3.8.0-bin.tar.gz']);
    assert.throws(
      () => findTarball('3.5.9', { dirs: ['/a', '/b'], installs: {} }, () => false),
      (e: unknown) =>
        e instanceof LabError &&
        e.message.includes(
          'no tarball for ZooKeeper 3.5.9: looked for /a/apache-zookeeper-3.5.9-bin.tar.gz, /a/zookeeper-3.5.9.tar.gz, /a/zookeeper-3.5.9-bin.tar.gz, /b/apache-zookeeper-3.5.9-bin.tar.gz',
        ),
    );
    assert.throws(() => findTarball('3.5.9', { dirs: [], installs: {} }, () => false), /names no releases directory. Set lab\.releases/);
    assert.throws(
      () => findTarball('3.4.6', { dirs: [], installs: { '3.4.6': '/x/zk.tgz' } }, () => false),
      /\/x\/zk\.tgz \(lab\.installs\["3\.4\.6"\] in the plan\) does not exist/,
    );
  });

  it('needs the plan to say which version runs today', () => {
    const file = path.join(plans, 'rolling-upgrade.yaml');
    const r = loadPlanFile(file);
    assert.ok(r.ok);
    const { version: _v, ...cluster } = r.plan.cluster;
    assert.throws(() => labSpecFromPlan({ ...r.plan, cluster }, file), /does not say which ZooKeeper version runs today: set cluster\.version/);
  });

  it('refuses the port-scan fault on a release with the fix, before anything starts', () => {
    const file = path.join(plans, 'rolling-upgrade.yaml');
    const r = loadPlanFile(file);
    assert.ok(r.ok);
    assert.throws(
      () => labSpecFromPlan(r.plan, file, { deadListeners: 'port-scan' }),
      /port-scan kills election listeners only on releases before 3\.4\.7 \(ZOOKEEPER-2186\); 3\.8\.0 has the fix. Use deadListeners: agent/,
    );
    assert.equal(labSpecFromPlan(r.plan, file, { deadListeners: 'agent' }).deadListeners, 'agent');
  });

  it('knows which releases lose their election listener to a malformed header (ZOOKEEPER-2186, fixed in 3.4.7)', () => {
    assert.equal(hasListenerBug('3.4.6'), true);
    assert.equal(hasListenerBug('3.4.7'), false);
    assert.equal(hasListenerBug('3.4.13'), false);
    assert.equal(hasListenerBug('3.8.0'), false);
  });

  it('renders a zoo.cfg bound to the host address that lists every server', () => {
    const s = spec('codis-incident.yaml');
    const cfg = renderLabZooCfg(s, s.servers[1]!);
    assert.match(cfg, /^clientPortAddress=127\.0\.10\.7$/m);
    assert.match(cfg, /^dataLogDir=\/data\/zookeeper\/datalog$/m);
    for (const id of [6, 7, 8, 9, 10]) assert.match(cfg, new RegExp(`^server\\.${id}=127\\.0\\.10\\.${id}:2888:3888$`, 'm'));
  });
});
