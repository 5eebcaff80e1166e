// Lab tests: real OpenSSH sshd per loopback host, real ZooKeeper releases (the upstream tarballs).
// `zkroll lab up` on the incident plan → SSH with strict host-key checking to every host (ssh2
// and the OpenSSH client) → identical paths, per-host contents → 7, 9, 10 serve with one leader,
// 6 and 8 are down → the proxies' ephemeral nodes exist → `lab up` again changes nothing →
// `lab down` leaves no process behind, twice. Plus refusals that change nothing.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPlanFile } from '../../src/plan/load.js';
import { sshTargets } from '../../src/plan/helpers.js';
import { SshPool, SshHost } from '../../src/remote/ssh.js';
import { RemoteError } from '../../src/remote/errors.js';
import { fourLetterWord, parseMntr, probeSrvr } from '../../src/zk/fourlw.js';
import { ZkClient } from '../../src/zk/client.js';
import { labDir, readState } from '../../src/lab/lab.js';
import { pidsInNamespace, isAlive } from '../../src/lab/procs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const zkroll = path.join(root, 'bin', 'zkroll');
const incident = path.join(root, 'plans', 'codis-incident.yaml');
const rolling = path.join(root, 'plans', 'rolling-upgrade.yaml');

function run(...args: string[]): { code: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [zkroll, ...args], { encoding: 'utf8', timeout: 240000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

function loaded(file: string) {
  const r = loadPlanFile(file);
  assert.ok(r.ok, 'plan loads');
  return r.plan;
}

describe('lab: the Codis incident', () => {
  const plan = loaded(incident);
  const dir = labDir(plan.cluster.name);
  let upMs = 0;

  before(() => {
    run('lab', 'down', incident);
    const r = run('lab', 'up', incident, '--znodes', '300');
    upMs = r.ms;
    assert.equal(r.code, 0, `lab up failed:\n${r.stdout}\n${r.stderr}`);
    process.stdout.write(`# lab up (incident, 5 servers, 300 znodes, 3 proxies): ${upMs} ms\n`);
  });

  after(() => {
    run('lab', 'down', incident);
  });

  it('answers SSH on every host with strict host-key checking (ssh2), each with its own files at the same paths', async () => {
    const pool = new SshPool();
    try {
      const namespaces = new Set<string>();
      for (const t of sshTargets(plan, incident)) {
        const h = await pool.get(t);
        const r = await h.exec(
          [
            'sh',
            '-c',
            'cat "$1/myid" 2>/dev/null || echo none; readlink /proc/self/ns/mnt; test -x "$2/bin/zkServer.sh" && echo has-install',
            'sh',
            t.entry.node.dataDir,
            t.entry.node.home,
          ],
          { timeoutMs: 10000 },
        );
        const [myid, ns, install] = r.stdout.trim().split('\n');
        assert.equal(myid, t.entry.role === 'server' ? String(t.entry.myid) : 'none', `${t.label}: its own dataDir/myid`);
        assert.equal(install, 'has-install', `${t.label}: install at ${t.entry.node.home}`);
        namespaces.add(ns ?? '');
      }
      assert.equal(namespaces.size, 6, 'six hosts, six filesystem views');
      // The same absolute path does not exist on this machine itself.
      assert.equal(fs.existsSync('/data/zookeeper/data/myid'), false);
    } finally {
      await pool.closeAll();
    }
  });

  it('is reachable with the OpenSSH client and StrictHostKeyChecking=yes', () => {
    const t = sshTargets(plan, incident)[1]!;
    const out = execFileSync(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${t.knownHostsFile}`,
        '-i',
        t.identityFile!,
        '-p',
        String(t.port),
        `${t.user}@${t.host}`,
        'cat /data/zookeeper/data/myid',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(out.trim(), '7');
  });

  it('refuses a host whose key is not in known_hosts, naming host and fingerprint', async () => {
    const t = sshTargets(plan, incident)[0]!;
    const empty = path.join(os.tmpdir(), `zkroll-empty-kh-${process.pid}`);
    fs.writeFileSync(empty, '');
    try {
      await assert.rejects(SshHost.connect({ ...t, knownHostsFile: empty }), (e: unknown) => {
        assert.ok(e instanceof RemoteError);
        assert.equal(e.kind, 'hostkey-unknown');
        assert.match(e.message, /127\.0\.10\.6/);
        assert.match(e.message, /SHA256:[A-Za-z0-9+/]{43}/);
        return true;
      });
    } finally {
      fs.rmSync(empty);
    }
  });

  it('serves on 7, 9, 10 (one leader, two followers) of a 5-server config; 6 and 8 are down', async () => {
    const modes = new Map<number, string>();
    for (const s of plan.servers) modes.set(s.myid, (await probeSrvr(s.host, plan.cluster.ports.client))?.mode ?? 'down');
    assert.equal(modes.get(6), 'down');
    assert.equal(modes.get(8), 'down');
    const serving = [7, 9, 10].map((id) => modes.get(id));
    assert.equal(serving.filter((m) => m === 'leader').length, 1, `modes: ${JSON.stringify([...modes])}`);
    assert.equal(serving.filter((m) => m === 'follower').length, 2);
    const leader = plan.servers.find((s) => modes.get(s.myid) === 'leader')!;
    const mntr = parseMntr(await fourLetterWord(leader.host, plan.cluster.ports.client, 'mntr'));
    assert.equal(mntr.get('zk_synced_followers'), '2');
    // (3.4's `conf` lists no server lines: the leader's zoo.cfg is read from its host)
    const conf = fs.readFileSync(path.join(dir, 'hosts', leader.host, 'fs', 'opt__zookeeper-3.4.6', 'conf', 'zoo.cfg'), 'utf8');
    for (const id of [6, 7, 8, 9, 10]) assert.match(conf, new RegExp(`^server\\.${id}=`, 'm'), `config lists server ${id}`);
    // the real 3.4.6 release, not a label
    for (const id of [7, 9, 10])
      assert.match(await fourLetterWord(`127.0.10.${id}`, 2181, 'srvr'), /^Zookeeper version: 3\.4\.6-1569965, built on 02\/20\/2014/);
    // 6 and 8 were restarted after their neighbours' listeners died: they run, LOOKING, and cannot rejoin
    for (const id of [6, 8]) assert.match(await fourLetterWord(`127.0.10.${id}`, 2181, 'srvr'), /not currently serving requests/);
  });

  it("holds the loaded data and the proxies' ephemeral nodes", async () => {
    const zk = await ZkClient.connect('127.0.10.7:2181,127.0.10.9:2181,127.0.10.10:2181', 10000);
    try {
      assert.equal((await zk.getChildren('/lab/data')).length, 300);
      const proxies = await zk.getChildren('/jodis/codis-demo');
      assert.equal(proxies.length, 3);
      for (const p of proxies) {
        const st = await zk.exists(`/jodis/codis-demo/${p}`);
        assert.ok(st && String(st.ephemeralOwner) !== '0', `${p} is ephemeral`);
      }
    } finally {
      zk.close();
    }
  });

  it('lab status reports it; lab up again changes nothing', () => {
    const st = run('lab', 'status', incident);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /127\.0\.10\.10/);
    assert.match(st.stdout, /3 registered/);
    const before = readState(dir);
    const again = run('lab', 'up', incident);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already up/);
    assert.deepEqual(readState(dir), before);
  });

  it("zkroll plan --live resolves the leader and diffs against the hosts' real zoo.cfg", async () => {
    // whoever won the lab's election: zkroll must find it, as the test does, at run time
    const modes = await Promise.all([7, 9, 10].map(async (id) => [id, (await probeSrvr(`127.0.10.${id}`, 2181))?.mode] as const));
    const leader = modes.find(([, m]) => m === 'leader')![0];
    const followers = modes.filter(([id]) => id !== leader).map(([id]) => id);
    const r = run('plan', incident, '--live');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`Live: leader is server ${leader}; serving followers ${followers.join(', ')}; not serving 6, 8.`), r.stdout.slice(0, 200));
    // the temporary server's zoo.cfg starts from a real member's file: its address follows the host
    assert.match(r.stdout, /\+clientPortAddress=127\.0\.10\.1\n/);
    assert.match(r.stdout, /\+admin\.serverAddress=127\.0\.10\.1\n/);
    // the operator's keys come along (the lab's comment line), the old ensemble's lines do not;
    // a 3.4 config gets no whitelist line (3.4 answers every word; only the split-window
    // reader's own zoo.cfg, written by its compiled command, has one)
    assert.match(r.stdout, /\+maxClientCnxns=0\n\s+\+# lab only/);
    assert.doesNotMatch(r.stdout, /^\s+\+4lw\.commands\.whitelist/m);
    assert.doesNotMatch(r.stdout, /\+server\.10=/);
  });

  it('zkroll plan --live refuses a plan that does not match the cluster, naming every difference', () => {
    const text = fs
      .readFileSync(incident, 'utf8')
      .replace('broken: [6, 8]', 'broken: [6, 9]')
      .replace('down: [6, 8]', 'down: [6, 9]')
      .replace('host: 127.0.10.7', 'host: 127.0.10.X')
      .replace('host: 127.0.10.9', 'host: 127.0.10.7')
      .replace('host: 127.0.10.X', 'host: 127.0.10.9');
    const file = path.join(path.dirname(incident), `.live-mismatch-${process.pid}.yaml`);
    fs.writeFileSync(file, text);
    try {
      const r = run('plan', file, '--live');
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stderr, /the plan does not match the cluster/);
      assert.match(r.stderr, /server 7 \(127\.0\.10\.9\): myid on disk is 9, the plan says 7/);
      assert.match(r.stderr, /server 8 \(127\.0\.10\.8\): not serving, but the plan counts it as serving/);
      assert.equal(r.stdout, '');
    } finally {
      fs.rmSync(file);
    }
  });

  it('lab down ends every process and removes what it made; twice is fine', () => {
    const st = readState(dir)!;
    const r = run('lab', 'down', incident);
    assert.equal(r.code, 0, r.stderr);
    for (const h of st.hosts) {
      assert.equal(isAlive(h.sshPid), false, `sshd of ${h.ip}`);
      assert.deepEqual(pidsInNamespace(h.ns), [], `processes left on ${h.ip}`);
    }
    assert.equal(st.proxiesPid !== null && isAlive(st.proxiesPid), false, 'proxies process');
    assert.equal(fs.existsSync(dir), false);
    for (const d of st.createdDirs) assert.equal(fs.existsSync(d), false, `${d} removed`);
    const again = run('lab', 'down', incident);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /nothing to do/);
  });
});

describe('lab: refusals change nothing', () => {
  it('refuses a non-loopback host', () => {
    const text = fs.readFileSync(rolling, 'utf8').replace('127.0.20.3', '10.1.2.3');
    const file = path.join(os.tmpdir(), `zkroll-nonloop-${process.pid}.yaml`);
    fs.writeFileSync(file, text);
    try {
      const r = run('lab', 'up', file);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /10\.1\.2\.3 is not a loopback address/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(fs.existsSync(labDir('rolling-demo')), false);
    } finally {
      fs.rmSync(file);
    }
  });

  it('refuses a version with no tarball before anything starts, naming the files it looked for', () => {
    const dist = path.resolve(path.dirname(rolling), '../../shared/zookeeper/dist');
    const text = fs
      .readFileSync(rolling, 'utf8')
      .replace('version: "3.9.3"', 'version: "3.9.9"')
      .replace(/releases: \S+/, `releases: ${dist}`);
    const file = path.join(os.tmpdir(), `zkroll-notarball-${process.pid}.yaml`);
    fs.writeFileSync(file, text);
    try {
      const r = run('lab', 'up', file);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /no tarball for ZooKeeper 3\.9\.9: looked for /);
      // $ZKROLL_RELEASES first (when set), then the plan's lab.releases, every upstream name
      const looked = [...(process.env['ZKROLL_RELEASES'] ? [path.resolve(process.env['ZKROLL_RELEASES'])] : []), dist].flatMap((d) =>
        ['apache-zookeeper-3.9.9-bin.tar.gz', 'zookeeper-3.9.9.tar.gz', 'zookeeper-3.9.9-bin.tar.gz'].map((n) => path.join(d, n)),
      );
      assert.ok(r.stderr.includes(`looked for ${looked.join(', ')}.`), r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(fs.existsSync(labDir('rolling-demo')), false, 'nothing started');
    } finally {
      fs.rmSync(file);
    }
  });

  it('names a port clash and the fix', async () => {
    const srv = net.createServer();
    await new Promise<void>((res) => srv.listen(2181, '127.0.20.2', res));
    try {
      const r = run('lab', 'up', rolling);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /already in use: .*127\.0\.20\.2:2181/);
      assert.equal(fs.existsSync(labDir('rolling-demo')), false);
    } finally {
      srv.close();
    }
  });
});

describe('lab: the rolling plan', () => {
  after(() => {
    run('lab', 'down', rolling);
  });
  it('brings 3 servers up with one leader', async () => {
    const r = run('lab', 'up', rolling, '--znodes', '50');
    assert.equal(r.code, 0, r.stderr);
    process.stdout.write(`# lab up (rolling, 3 servers, 50 znodes): ${r.ms} ms\n`);
    const modes = await Promise.all(['127.0.20.1', '127.0.20.2', '127.0.20.3'].map(async (h) => (await probeSrvr(h, 2181))?.mode));
    assert.deepEqual([...modes].sort(), ['follower', 'follower', 'leader']);
  });

  it('reaches a host through a jump host (plan ssh.jumpHost), with strict host keys on both hops', () => {
    const withJump = (jump: string) => {
      const file = path.join(path.dirname(rolling), `.jump-${process.pid}-${jump.replace(/\W/g, '_')}.yaml`);
      fs.writeFileSync(
        file,
        fs
          .readFileSync(rolling, 'utf8')
          .replace('  - myid: 3\n    host: 127.0.20.3\n', `  - myid: 3\n    host: 127.0.20.3\n    ssh: { jumpHost: "${jump}" }\n`),
      );
      return file;
    };
    const good = withJump('root@127.0.20.1:2222');
    const bad = withJump('root@127.0.20.9:2222');
    try {
      const r = run('plan', good, '--live');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Live: leader is server \d/);
      const b = run('plan', bad, '--live');
      assert.notEqual(b.code, 0);
      assert.match(b.stderr, /via jump host root@127\.0\.20\.9:2222/);
      assert.doesNotMatch(b.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      fs.rmSync(good);
      fs.rmSync(bad);
    }
  });
});
