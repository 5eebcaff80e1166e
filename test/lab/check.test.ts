// The incident checks against the lab: the dead election listener reproduced in a running
// server (check names it while the ensemble serves; apply refuses to restart servers when a
// quorum of listeners is dead), zxid headroom near rollover, log rotation, data consistency.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labDir } from '../../src/lab/lab.js';
import { logConfigFiles } from '../../src/compile/logging.js';
import { ZkClient } from '../../src/zk/client.js';
import { fourLetterWord, probeSrvr } from '../../src/zk/fourlw.js';
import { readMonitor } from '../../src/zk/monitor.js';
import { outliers, verifyConsistency } from '../../src/zk/verify.js';
import { onHost } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const zkroll = path.join(root, 'bin', 'zkroll');
const incident = path.join(root, 'plans', 'codis-incident.yaml');
const rolling = path.join(root, 'plans', 'rolling-upgrade.yaml');
const upgrade34 = path.join(root, 'plans', 'upgrade-3.4-to-3.8.yaml');

function run(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [zkroll, ...args], { encoding: 'utf8', env, timeout: 120000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function labUp(plan: string, ...flags: string[]) {
  run(['lab', 'down', plan]);
  const r = run(['lab', 'up', plan, ...flags]);
  assert.equal(r.code, 0, r.out + r.err);
}

describe('check: the Codis incident', () => {
  after(() => run(['lab', 'down', incident]));
  it('names the dead election listeners of the real 3.4.6 servers (a malformed header, ZOOKEEPER-2186) while the ensemble still serves', async () => {
    labUp(incident, '--znodes', '50');
    const r = run(['check', incident]);
    assert.equal(r.code, 1, 'servers 6 and 8 are down, listeners are dead');
    assert.match(r.out, /client port\s+6 \(127\.0\.10\.6\)\s+FAIL\s+2181: not serving/);
    for (const id of [7, 9, 10]) {
      assert.match(
        r.out,
        new RegExp(
          `election listener\\s+${id} \\(127\\.0\\.10\\.${id}\\)\\s+FAIL\\s+DEAD election listener: connections to port 3888 are queued by the kernel`,
        ),
      );
      assert.match(r.out, new RegExp(`version\\s+${id} \\(127\\.0\\.10\\.${id}\\)\\s+OK\\s+runs 3\\.4\\.6, as the plan says`));
      assert.match(r.out, new RegExp(`client port\\s+${id} \\(127\\.0\\.10\\.${id}\\)\\s+OK\\s+2181: serving as (leader|follower)`));
    }
    // 6 and 8 were restarted after the scan: their own listeners are alive (thread "/<addr>:3888"), they just cannot be heard
    assert.match(r.out, /election listener\s+6 \(127\.0\.10\.6\)\s+OK\s+port 3888 listening and accepting, thread \/127\.0\.10\.6:3888/);
    // the ensemble still serves reads and writes, through server 9 too
    const zk = await ZkClient.connect('127.0.10.9:2181', 10000);
    try {
      await zk.create('/check-still-writable', 'yes');
      assert.equal((await zk.get('/check-still-writable')).data.toString(), 'yes');
    } finally {
      zk.close();
    }
    const json = JSON.parse(run(['check', incident, '--json']).out) as { findings: { check: string; server: string; status: string }[] };
    const dead = json.findings.filter((f) => f.check === 'election listener' && f.status === 'fail').map((f) => f.server);
    assert.deepEqual(dead, ['7 (127.0.10.7)', '9 (127.0.10.9)', '10 (127.0.10.10)']);
    const v = run(['verify', incident]);
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.out, /compared \d+ paths on 3 serving servers/);
    assert.match(v.out, /the data is the same on every server/);
    // a plan that states another version than the servers run: check and plan --live say so
    const file = path.join(os.tmpdir(), `zkroll-version-${process.pid}.yaml`);
    fs.writeFileSync(
      file,
      fs
        .readFileSync(incident, 'utf8')
        .replace('version: "3.4.6"', 'version: "3.4.5"')
        .replace(/releases: \.\.\//, `releases: ${path.dirname(incident)}/../`),
    );
    try {
      assert.match(run(['check', file]).out, /version\s+7 \(127\.0\.10\.7\)\s+FAIL\s+runs 3\.4\.6, but the plan says cluster\.version 3\.4\.5/);
      const live = run(['plan', file, '--live']);
      assert.equal(live.code, 2, live.out + live.err);
      assert.match(live.err, /server 7 \(127\.0\.10\.7\): runs ZooKeeper 3\.4\.6 \(srvr\), the plan says cluster\.version 3\.4\.5/);
    } finally {
      fs.rmSync(file);
    }
  });

  it('verify names the servers and paths that differ (servers of two different ensembles)', async () => {
    // a second lab beside the incident one: its servers hold a different tree
    labUp(rolling, '--znodes', '5');
    try {
      const r = await verifyConsistency(
        [
          { label: 'incident-7', host: '127.0.10.7', port: 2181 },
          { label: 'incident-10', host: '127.0.10.10', port: 2181 },
          { label: 'rolling-1', host: '127.0.20.1', port: 2181 },
        ],
        { skip: ['/zkroll/canary'] },
      );
      assert.deepEqual(r.unreachable, []);
      const extra = r.differences.find((d) => d.path === '/lab/data/n-000010');
      assert.ok(extra, 'a node only the incident servers have');
      assert.deepEqual(outliers(extra), ['rolling-1']);
      assert.equal(extra.values['rolling-1'], 'missing');
      assert.equal(
        r.differences.some((d) => d.path === '/lab/data/n-000001' && d.values['incident-7'] !== d.values['incident-10']),
        false,
        'same-ensemble servers agree',
      );
    } finally {
      run(['lab', 'down', rolling]);
    }
  });
});

describe('check: rolling plan', () => {
  after(() => run(['lab', 'down', rolling]));

  it('warns about zxid headroom near the counter rollover and logs without daily rotation', () => {
    labUp(rolling, '--znodes', '20', '--initial-zxid', '0xfffff000');
    // (the testing-only initialZxid makes the counter jump inside an epoch: the data-files check
    // rightly cannot tell that from a missing log, so only the two checks at issue are asserted)
    const r = run(['check', rolling]);
    const m =
      /zxid headroom\s+\d \(127\.0\.20\.\d\)\s+WARN\s+zxid 0x[0-9a-f]*fffff[0-9a-f]{3}: (\d+) transactions before the counter rolls over and forces an election/.exec(
        r.out,
      );
    assert.ok(m, r.out);
    assert.ok(Number(m[1]) < 4096 && Number(m[1]) > 3000);
    assert.match(r.out, /log rotation\s+1 \(127\.0\.20\.1\)\s+WARN\s+logs of \/opt\/zookeeper-3\.8\.0 are not rolled daily/);
  });

  it("a daily-rolled log4j.properties is not enough when the JVM logs to the console (a real 3.4 zkEnv.sh's INFO,CONSOLE)", () => {
    labUp(upgrade34, '--znodes', '5');
    try {
      const conf = path.join(labDir('upgrade-34-38'), 'hosts', '127.0.40.1', 'fs', 'opt__zookeeper-3.4.13', 'conf', 'log4j.properties');
      fs.writeFileSync(conf, (logConfigFiles('3.4.13', '/opt/zookeeper-3.4.13')[0] as { content: string }).content);
      const r = run(['check', upgrade34]);
      assert.match(
        r.out,
        /log rotation\s+1 \(127\.0\.40\.1\)\s+WARN\s+the server logs with zookeeper\.root\.logger=INFO,CONSOLE: everything goes to zookeeper\.out, never rotated, although \/opt\/zookeeper-3\.4\.13\/conf\/log4j\.properties rolls daily/,
      );
      // the 3.4.13 tarball's own log4j.properties: size-rolled, never daily
      assert.match(r.out, /log rotation\s+2 \(127\.0\.40\.2\)\s+WARN\s+logs of \/opt\/zookeeper-3\.4\.13 are not rolled daily/);
    } finally {
      run(['lab', 'down', upgrade34]);
    }
  });

  it('reads mntr from the AdminServer where the word is not whitelisted (the 3.5+ default); warns where neither answers', async () => {
    labUp(rolling, '--znodes', '5', '--whitelist', 'srvr');
    assert.match(await fourLetterWord('127.0.20.1', 2181, 'mntr'), /mntr is not executed because it is not in the whitelist/);
    const r = run(['check', rolling]);
    for (const id of [1, 2, 3])
      assert.match(
        r.out,
        new RegExp(`monitoring\\s+${id} \\(127\\.0\\.20\\.${id}\\)\\s+OK\\s+'mntr' is not whitelisted; the AdminServer on 8080 answers instead`),
      );
    const modes = await Promise.all([1, 2, 3].map(async (id) => [id, (await probeSrvr(`127.0.20.${id}`, 2181))?.mode] as const));
    const leader = modes.find(([, m]) => m === 'leader')![0];
    const m = await readMonitor(`127.0.20.${leader}`, 2181, 8080);
    assert.equal(m.via, 'admin');
    assert.equal(m.via && m.values.get('zk_synced_followers'), '2', 'the gates count synced followers through the AdminServer');
    // a plan that names the wrong AdminServer port: nothing answers mntr, and check says so
    const file = path.join(os.tmpdir(), `zkroll-adminport-${process.pid}.yaml`);
    fs.writeFileSync(file, fs.readFileSync(rolling, 'utf8').replace(/adminPort: 8080/, 'adminPort: 18080'));
    try {
      const w = run(['check', file]);
      assert.match(
        w.out,
        /monitoring\s+1 \(127\.0\.20\.1\)\s+WARN\s+cannot read monitor values \('mntr' is not in 4lw\.commands\.whitelist of 127\.0\.20\.1; AdminServer 127\.0\.20\.1:18080: connect ECONNREFUSED/,
      );
      assert.match(w.out, /Add mntr to 4lw\.commands\.whitelist or enable the AdminServer on port 18080/);
    } finally {
      fs.rmSync(file);
    }
  });

  it('apply refuses to restart servers while a quorum of election listeners is dead, and changes nothing', async () => {
    labUp(rolling, '--znodes', '20');
    // 3.8.0 has the fix of ZOOKEEPER-2186: the port scanner's header does not kill its listener
    const scan = run(['lab', 'kill-listener', rolling, '1', '--by', 'port-scan']);
    assert.equal(scan.code, 1, scan.out + scan.err);
    assert.match(scan.err, /server 1 \(127\.0\.20\.1\) survived the malformed election header: its release has the fix of ZOOKEEPER-2186/);
    // the agent kills it on any release (the default where the release has no such bug)
    assert.equal(run(['lab', 'kill-listener', rolling, '1']).code, 0);
    assert.equal(run(['lab', 'kill-listener', rolling, '2']).code, 0);
    const env = { ...process.env, ZKROLL_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-state-listener-')) };
    const r = run(['apply', rolling, '--yes'], env);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /refusing to restart servers: only 1 of 3 servers have a live election listener, fewer than a quorum \(2\)/);
    assert.match(r.err, /Dead listeners: 1 \(127\.0\.20\.1\), 2 \(127\.0\.20\.2\)/);
    assert.match(r.err, /Nothing was changed/);
    assert.equal(fs.existsSync(path.join(env.ZKROLL_STATE_DIR, 'rolling-demo', 'run.json')), false);
    assert.equal(
      fs.existsSync(path.join(labDir('rolling-demo'), 'hosts', '127.0.20.1', 'fs', 'opt__zookeeper-3.9.3', 'conf', 'zoo.cfg')),
      false,
      'no config written',
    );
    for (const h of ['127.0.20.1', '127.0.20.2', '127.0.20.3']) assert.ok(await probeSrvr(h, 2181), `${h} still serves`);
  });
});

/** Run a shell script inside a lab host's own filesystem view (its mount namespace). */

describe('check: snapshot and log continuity, free space (seed 004)', () => {
  after(() => run(['lab', 'down', rolling]));

  it('names a truncated snapshot, missing logs and a nearly full disk; apply refuses to restart such a server', async () => {
    labUp(rolling, '--znodes', '30');
    const ok = run(['check', rolling]);
    assert.match(ok.out, /data files\s+1 \(127\.0\.20\.1\)\s+OK\s+snapshot snapshot\.\S+ valid, logs continue to 0x/);
    // server 1: its only snapshot truncated (a full disk while snapshotting)
    onHost(
      'rolling-demo',
      '127.0.20.1',
      'cd /data/zookeeper/data/version-2 && for f in snapshot.*; do mv "$f" /tmp/zkroll-test-snap.$$; head -c 100 /tmp/zkroll-test-snap.$$ > "$f"; rm /tmp/zkroll-test-snap.$$; done',
    );
    // server 2: its transaction log gone (moved away) while it runs
    onHost('rolling-demo', '127.0.20.2', 'cd /data/zookeeper/datalog/version-2 && mkdir -p ../moved && mv log.* ../moved/');
    // server 3: its data on a small disk (a 72 MiB tmpfs holding a 64 MiB log)
    onHost(
      'rolling-demo',
      '127.0.20.3',
      'cp -a /data/zookeeper /tmp/zkroll-test-zk3 && mount -t tmpfs -o size=72m tmpfs /data/zookeeper && cp -a /tmp/zkroll-test-zk3/. /data/zookeeper/ && rm -rf /tmp/zkroll-test-zk3',
    );
    const r = run(['check', rolling]);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /data files\s+1 \(127\.0\.20\.1\)\s+FAIL\s+no valid snapshot \(snapshot\.\S+: (only 100 bytes|truncated[^)]*)\) but 1 transaction logs: a restart would replay them onto an empty tree/,
    );
    assert.match(
      r.out,
      /data files\s+2 \(127\.0\.20\.2\)\s+FAIL\s+the server has processed up to 0x[0-9a-f]+ but its files end at 0x[0-9a-f]+: transaction logs are missing/,
    );
    assert.match(r.out, /data files\s+3 \(127\.0\.20\.3\)\s+FAIL\s+.*\/data\/zookeeper\/data has \d+ MiB free, less than the 80 MiB/);
    const env = { ...process.env, ZKROLL_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-state-data-')) };
    const a = run(['apply', rolling, '--yes'], env);
    assert.equal(a.code, 1, a.out + a.err);
    assert.match(a.out, /refusing to start server \d \(127\.0\.20\.\d\): .*Nothing was done to it/);
    for (const h of ['127.0.20.1', '127.0.20.2', '127.0.20.3']) assert.ok(await probeSrvr(h, 2181), `${h} was not stopped`);
  });
});

describe('verify: production-like data (lab up --data-mb)', () => {
  after(() => run(['lab', 'down', rolling]));

  it('loads the bulk znodes on real 3.8.0 servers and compares their tree digests (hash) and walks them; a difference is found by the walk', async () => {
    labUp(rolling, '--znodes', '0', '--data-mb', '16');
    const zk = await ZkClient.connect('127.0.20.2:2181', 10000);
    try {
      const groups = await zk.getChildren('/lab/bulk');
      assert.equal(groups.length, 17, '16384 znodes in groups of 1000');
      assert.equal((await zk.getChildren('/lab/bulk/g-0016')).length, 384);
      const { data } = await zk.get('/lab/bulk/g-0007/n-0007123');
      assert.equal((JSON.parse(data.toString()) as { id: number }).id, 7123);
    } finally {
      zk.close();
    }
    const servers = [1, 2, 3].map((i) => ({ label: `server ${i}`, host: `127.0.20.${i}`, port: 2181 }));
    // 164 multi transactions of 100 creates: every 3.8.0 server logged its tree digest at a
    // shared zxid (every 128th); sessions since then moved the zxid on, so the walk decides
    const same = await verifyConsistency(servers, { adminPort: 8080 });
    assert.match(
      same.method,
      /^walk \(tree digests agree at zxid 0x[0-9a-f]+, before the servers' current zxid\)$|^tree digests agree at zxid 0x[0-9a-f]+$/,
      JSON.stringify(same),
    );
    assert.deepEqual(same.differences, []);
    assert.ok(same.paths > 16384, String(same.paths));
    // a server of another ensemble keeps no shared digest: the walk names what differs
    labUp(incident, '--znodes', '20');
    try {
      const mixed = await verifyConsistency([servers[0]!, { label: 'incident-7', host: '127.0.10.7', port: 2181 }], {
        skip: ['/zkroll/canary'],
        adminPort: 8080,
      });
      assert.equal(mixed.method, 'walk');
      const onlyHere = mixed.differences.find((d) => d.path === '/lab/bulk');
      assert.ok(onlyHere, JSON.stringify(mixed.differences.map((d) => d.path)));
      assert.equal(onlyHere.values['incident-7'], 'missing');
    } finally {
      run(['lab', 'down', incident]);
    }
  });
});
