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
import { fileURLToPath } from 'node:url';
import { findZkJvm, LIST_ZK_JVMS, parseZkJvms, RESOLVE_PATH, unresolvedZkJvms } from '../../src/zk/process.js';

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

describe('a JVM config resolved on the host', () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-cfg-')));
  const java = path.join(dir, 'java');
  const real = path.join(dir, 'zookeeper-3.7.1');
  const procs: ChildProcess[] = [];
  const fixture = fs
    .readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/realworld/jvm-started-without-config/cmdline.txt'), 'utf8')
    .trimEnd()
    .split('\n');
  const start = (args: string[], cwd = dir) => {
    const p = spawn(java, ['-c', 'sleep 60; :', ...args], { stdio: 'ignore', cwd });
    procs.push(p);
    return p;
  };
  const listing = () => parseZkJvms(spawnSync('sh', ['-c', LIST_ZK_JVMS], { encoding: 'utf8' }).stdout);
  const resolve = (p: string) => spawnSync('sh', ['-c', RESOLVE_PATH, 'sh', p], { encoding: 'utf8' }).stdout.replace(/\n$/, '');
  const visible = async (p: ChildProcess, text: string) => {
    for (let i = 0; i < 200; i++) {
      if (fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(text)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`process ${p.pid} never showed ${text}`);
  };
  let plain: ChildProcess;
  let relative: ChildProcess;
  let lost: ChildProcess;
  before(async () => {
    fs.copyFileSync('/bin/sh', java);
    fs.chmodSync(java, 0o755);
    fs.mkdirSync(path.join(real, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(real, 'conf'));
    fs.writeFileSync(path.join(real, 'conf/zoo.cfg'), 'tickTime=2000\n');
    fs.symlinkSync(real, path.join(dir, 'zookeeper')); // /opt/zookeeper -> zookeeper-3.7.1
    fs.mkdirSync(path.join(dir, 'etc'));
    fs.symlinkSync(path.join(real, 'conf'), path.join(dir, 'etc/conf')); // /etc/zookeeper/conf -> <home>/conf
    // the fixture's command line, /opt/zookeeper moved under the test directory (its first word is java itself)
    plain = start(fixture.slice(1).map((a) => a.replaceAll('/opt/zookeeper', path.join(dir, 'zookeeper'))));
    relative = start(['-cp', `${real}/lib/x.jar`, MAIN, 'conf/zoo.cfg'], real);
    lost = start(['-cp', `${dir}/lost/lib/x.jar`, MAIN, `${dir}/lost/conf/zoo.cfg`]);
    await visible(plain, `${dir}/zookeeper/bin/../conf/zoo.cfg`);
    await visible(relative, 'conf/zoo.cfg');
    await visible(lost, `${dir}/lost/conf/zoo.cfg`);
  });
  after(() => {
    for (const p of procs) p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists <home>/bin/../conf/zoo.cfg as the file it names', () => {
    const j = listing().find((x) => x.pid === String(plain.pid));
    assert.equal(j?.args.at(-1), `${dir}/zookeeper/bin/../conf/zoo.cfg`);
    assert.equal(j?.config, `${real}/conf/zoo.cfg`);
  });
  it('a plan path through a symlinked conf directory matches once resolved, not as written', () => {
    const planPath = `${dir}/etc/conf/zoo.cfg`;
    assert.equal(findZkJvm(listing(), planPath), undefined, 'as strings they differ');
    assert.equal(resolve(planPath), `${real}/conf/zoo.cfg`);
    assert.equal(findZkJvm(listing(), [planPath, resolve(planPath)])?.pid, String(plain.pid));
    assert.equal(resolve(`${dir}/nowhere/at/all`), '', 'nothing when the host cannot resolve it');
  });
  it("a relative config is resolved against the JVM's cwd", () => {
    const j = listing().find((x) => x.pid === String(relative.pid));
    assert.equal(j?.config, `${real}/conf/zoo.cfg`);
  });
  it('a config that cannot be resolved is reported as such', () => {
    const jvms = listing();
    const j = jvms.find((x) => x.pid === String(lost.pid));
    assert.equal(j?.config, null);
    assert.ok(unresolvedZkJvms(jvms).some((x) => x.pid === String(lost.pid)));
    assert.ok(!unresolvedZkJvms(jvms, `${real}`).some((x) => x.pid === String(lost.pid)), 'not from that home');
  });
});
