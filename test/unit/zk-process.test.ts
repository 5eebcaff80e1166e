// LIST_ZK_JVMS + findZkJvm against real processes on this machine: a stand-in "java" (a copy of sh, so its
// process name is java) with a ZooKeeper-like command line, run by the same script zkroll runs
// over SSH. The classpath is longer than 4096 bytes, as a 3.5+ tarball's is (procps-ng 3.3's
// `pgrep -f` reads no more than that).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findZkJvm, LIST_ZK_JVMS, parseZkJvms } from '../../src/zk/process.js';

const MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';

describe('finding a ZooKeeper JVM', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-jvm-'));
  const java = path.join(dir, 'java');
  const procs: ChildProcess[] = [];
  const classpath = (home: string) => Array.from({ length: 60 }, (_, i) => `${home}/bin/../lib/some-long-dependency-name-${i}-1.2.3.jar`).join(':');
  const start = (home: string, config: string) => {
    const p = spawn(java, ['-c', 'sleep 60; :', '-Dzookeeper.log.dir=x', '-cp', classpath(home), MAIN, config], { stdio: 'ignore' });
    procs.push(p);
    return p;
  };
  const find = (config: string, home?: string) => {
    const r = spawnSync('sh', ['-c', LIST_ZK_JVMS], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const jvm = findZkJvm(parseZkJvms(r.stdout), config, home);
    return jvm ? Number(jvm.pid) : null;
  };
  /** Wait until a process's command line carries `text` (it has exec'd). */
  const visible = async (p: ChildProcess, text: string) => {
    for (let i = 0; i < 200; i++) {
      if (fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(text)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`process ${p.pid} never showed ${text}`);
  };
  let old: ChildProcess;
  let neu: ChildProcess;
  before(async () => {
    fs.copyFileSync('/bin/sh', java);
    fs.chmodSync(java, 0o755);
    old = start('/opt/zookeeper-3.4.6', '/opt/zookeeper-3.4.6/conf/zoo.cfg');
    neu = start('/opt/zookeeper-3.8.4', '/etc/zookeeper/zoo.cfg');
    await visible(old, '/opt/zookeeper-3.4.6/conf/zoo.cfg');
    await visible(neu, '/etc/zookeeper/zoo.cfg');
  });
  after(() => {
    for (const p of procs) p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds a server by its config on a command line longer than 4096 bytes', () => {
    assert.ok(fs.readFileSync(`/proc/${old.pid}/cmdline`).length > 4096);
    assert.equal(find('/opt/zookeeper-3.4.6/conf/zoo.cfg'), old.pid);
    assert.equal(find('/etc/zookeeper/zoo.cfg'), neu.pid);
  });
  it('matches the config exactly, as the last argument', () => {
    assert.equal(find('/opt/zookeeper-3.4.6/conf/zoo'), null);
    assert.equal(find('/opt/zookeeper-3.4.6/conf/zoo.cfg.bak'), null);
    assert.equal(find('/opt/zookeeper-3.8.4/conf/zoo.cfg'), null);
  });
  it('with a home, only a JVM with that install on its classpath counts', () => {
    assert.equal(find('/etc/zookeeper/zoo.cfg', '/opt/zookeeper-3.8.4'), neu.pid);
    assert.equal(find('/etc/zookeeper/zoo.cfg', '/opt/zookeeper-3.4.6'), null);
  });
  it('an empty config finds any ZooKeeper server; other JVMs and non-JVMs never count', async () => {
    // any: other ZooKeeper servers of this machine may be listed first
    const listed = parseZkJvms(spawnSync('sh', ['-c', LIST_ZK_JVMS], { encoding: 'utf8' }).stdout).map((j) => Number(j.pid));
    assert.ok(listed.includes(old.pid!) && listed.includes(neu.pid!), `listed: ${listed.join(', ')}`);
    assert.ok(listed.includes(find('') ?? -1));
    const other = spawn(java, ['-c', 'sleep 60; :', 'org.example.NotZooKeeper', '/opt/x/zoo.cfg'], { stdio: 'ignore' });
    const shell = spawn('sh', ['-c', 'sleep 60; :', MAIN, '/opt/y/zoo.cfg'], { stdio: 'ignore' });
    procs.push(other, shell);
    await visible(other, '/opt/x/zoo.cfg');
    await visible(shell, '/opt/y/zoo.cfg');
    assert.equal(find('/opt/x/zoo.cfg'), null);
    assert.equal(find('/opt/y/zoo.cfg'), null);
  });
});
