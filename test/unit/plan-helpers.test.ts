// effectiveSsh, allHosts, resolveLocalPath.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { allHosts, effectiveSsh, resolveLocalPath } from '../../src/plan/load.js';
import { REBUILD, ROLLING, loadOk } from './plan-fixtures.js';

describe('effectiveSsh', () => {
  it('merges the per-host override over the plan-wide defaults', () => {
    const plan = loadOk(ROLLING);
    const [s1, s2] = plan.servers;
    assert.ok(s1 && s2);
    assert.deepEqual(effectiveSsh(plan, s1), {
      user: 'admin',
      port: 2200,
      identityFile: 'keys/zk1',
      knownHosts: '~/.ssh/known_hosts',
      jumpHost: 'jump@bastion.example.com:2222',
      sudo: true,
      connectTimeout: 2500,
    });
    assert.deepEqual(effectiveSsh(plan, s2), {
      user: 'ops',
      port: 2200,
      knownHosts: '~/.ssh/known_hosts',
      jumpHost: 'jump@bastion.example.com:2222',
      sudo: true,
      connectTimeout: 2500,
    });
  });
});

describe('allHosts', () => {
  it('lists the servers, then the temporary server of a rebuild', () => {
    const hosts = allHosts(loadOk(REBUILD)).map((h) => `${h.role}:${h.myid}@${h.host}`);
    assert.deepEqual(hosts, [
      'server:6@127.0.10.6',
      'server:7@127.0.10.7',
      'server:8@127.0.10.8',
      'server:9@127.0.10.9',
      'server:10@127.0.10.10',
      'temporary:1@127.0.10.1',
    ]);
    assert.deepEqual(
      allHosts(loadOk(ROLLING)).map((h) => h.role),
      ['server', 'server', 'server'],
    );
  });
});

describe('resolveLocalPath', () => {
  it("expands ~/ and resolves relative paths against the plan file's directory", () => {
    assert.equal(resolveLocalPath('plans/x.yaml', '~/.ssh/id_ed25519'), path.join(os.homedir(), '.ssh/id_ed25519'));
    assert.equal(resolveLocalPath('plans/x.yaml', '~'), os.homedir());
    assert.equal(resolveLocalPath('/etc/zkroll/plan.yaml', 'keys/zk1'), '/etc/zkroll/keys/zk1');
    assert.equal(resolveLocalPath('plans/x.yaml', '../keys/a'), path.resolve('keys/a'));
    assert.equal(resolveLocalPath('plans/x.yaml', '/abs/key'), '/abs/key');
  });
});
