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
    assert.deepEqual(mountRoots(['/opt/zk-3.4.6/conf/zoo.cfg', '/opt/zk-3.4.6', '/data/zookeeper/data', '/data/zookeeper/datalog', '/zk']), ['/data/zookeeper', '/opt/zk-3.4.6', '/zk']);
  });

  it('refuses paths that would hide system directories', () => {
    assert.throws(() => mountRoots(['/usr/local/zookeeper']), (e: unknown) => e instanceof LabError && /\/usr\/local/.test(e.message));
    assert.throws(() => mountRoots(['/etc/zookeeper/zoo.cfg']), LabError);
    assert.throws(() => mountRoots(['/']), LabError);
  });

  it('maps a host path into the host directory', () => {
    assert.equal(backingPath('/lab/hosts/127.0.0.2', ['/data/zookeeper', '/opt/zk'], '/data/zookeeper/data/myid'), '/lab/hosts/127.0.0.2/fs/data__zookeeper/data/myid');
    assert.throws(() => backingPath('/lab/h', ['/opt/zk'], '/srv/x'), LabError);
  });

  it('builds six hosts for the incident plan, each with both installs, 6 and 8 down', () => {
    const s = spec('codis-incident.yaml');
    assert.deepEqual(s.hosts.map((h) => h.ip), ['127.0.10.6', '127.0.10.7', '127.0.10.8', '127.0.10.9', '127.0.10.10', '127.0.10.1']);
    assert.deepEqual(s.down, [6, 8]);
    assert.deepEqual(s.hosts[0]?.installs.map((i) => i.home), ['/opt/zookeeper-3.4.6', '/opt/zookeeper-3.4.13']);
    assert.deepEqual(s.hosts[5]?.installs.map((i) => i.home), ['/opt/zookeeper-3.4.13'], 'the spare host gets only the target install');
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

  it('renders a zoo.cfg bound to the host address that lists every server', () => {
    const s = spec('codis-incident.yaml');
    const cfg = renderLabZooCfg(s, s.servers[1]!);
    assert.match(cfg, /^clientPortAddress=127\.0\.10\.7$/m);
    assert.match(cfg, /^dataLogDir=\/data\/zookeeper\/datalog$/m);
    for (const id of [6, 7, 8, 9, 10]) assert.match(cfg, new RegExp(`^server\\.${id}=127\\.0\\.10\\.${id}:2888:3888$`, 'm'));
  });
});
