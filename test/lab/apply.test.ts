// Executor lab tests against real sshd + ZooKeeper: the incident recovery end to end
// (unattended), the same recovery killed with SIGKILL at three steps and resumed, the rolling
// plan guided (answers on stdin), and a server that fails to start → failed → fix → resume.
import { dataScanArgv } from '../../src/check/datascan.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ZkClient } from '../../src/zk/client.js';
import { fourLetterWord, probeSrvr } from '../../src/zk/fourlw.js';
import { labDir } from '../../src/lab/lab.js';
import { compile, type Step } from '../../src/compile/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { shellCommand } from '../../src/remote/quote.js';
import { shellEvent } from '../../src/remote/ssh.js';
import { loginCount } from '../../src/lab/sshd.js';
import { isHostStatePath } from '../../src/run/hostlock.js';

import {
  assertIncidentEndState,
  assertNoWriteLost,
  incident,
  INCIDENT_CONNECT,
  killAtStep,
  labDown,
  labUp,
  NEW_IDS,
  observerPlan,
  readerRunning,
  rolling,
  run,
  runAsync,
  spawnApply,
  startWriter,
  stateEnv,
  tree,
  upgrade34,
} from './helpers.js';

describe('apply: the Codis incident, unattended', () => {
  after(() => labDown(incident));
  it('recovers to 5 servers, myids 2..6 on the original hosts, same data, proxies back', async () => {
    labUp(incident, '--znodes', '300');
    const before = await tree('127.0.10.7:2181,127.0.10.9:2181,127.0.10.10:2181', '/lab');
    assert.equal(before.size, 302, '/lab, /lab/data and 300 znodes');
    const oldLeader = (await Promise.all([7, 9, 10].map(async (id) => ((await probeSrvr(`127.0.10.${id}`, 2181))?.mode === 'leader' ? id : null)))).find(
      (x) => x !== null,
    );
    const env = stateEnv('e2e');
    const hosts = [...NEW_IDS.keys(), '127.0.10.1'];
    const logins = () => hosts.map((h) => loginCount(labDir('codis-incident'), h));
    const loginsBefore = logins();
    // a client of the old ensemble keeps writing all through the recovery (the split window)
    const writer = startWriter('127.0.10.7:2181,127.0.10.9:2181,127.0.10.10:2181');
    const r = await runAsync(env, ['apply', incident, '--yes']);
    const acked = await writer.stop();
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    // the login shell ran once per host for the whole run (zkroll's remote shell), not per
    // command; the seed copy streams on exec channels of their own (one per data directory on
    // each side: the remote shell cannot stream), a login each on the seed and the temporary server
    const seedHost = `127.0.10.${oldLeader}`;
    assert.deepEqual(
      logins().map((n, i) => n - loginsBefore[i]!),
      hosts.map((h) => (h === seedHost || h === '127.0.10.1' ? 3 : 1)),
      `logins per host (${hosts.join(', ')})`,
    );
    process.stdout.write(`# apply codis-incident (68 steps) unattended: ${r.ms} ms, ${acked.length} writes acknowledged during the run\n`);
    await assertIncidentEndState(before);
    await assertNoWriteLost(INCIDENT_CONNECT, acked);
    // real releases on both sides: every server now reports the target's version string
    for (const h of NEW_IDS.keys()) assert.match(await fourLetterWord(h, 2181, 'srvr'), /^Zookeeper version: 3\.4\.13-/, h);
    assert.match(r.out, /carried \d+ new and \d+ changed nodes to the new ensemble/);
    // the 3.4.13 servers log through log4j's daily ROLLINGFILE under <home>/logs (zkroll's
    // zookeeper-env.sh block overrides zkEnv.sh's INFO,CONSOLE), and check says so
    const logs = path.join(labDir('codis-incident'), 'hosts', '127.0.10.7', 'fs', 'opt__zookeeper-3.4.13', 'logs');
    assert.ok(
      fs.readdirSync(logs).some((f) => f.endsWith('.log') && /\[myid:4\] - INFO/.test(fs.readFileSync(path.join(logs, f), 'utf8'))),
      `server 4 logs in ${logs}: ${fs.readdirSync(logs).join(', ')}`,
    );
    const check = run(env, ['check', incident]);
    for (const id of [6, 7, 8, 9, 10])
      assert.match(check.out, new RegExp(`log rotation\\s+${id} \\(127\\.0\\.10\\.${id}\\)\\s+OK\\s+logs of /opt/zookeeper-3\\.4\\.13 roll daily`), check.out);
    // the persistent copies of the proxies' ephemeral nodes: reported, then cleaned on request
    // (reported right after the last restart: the proxies may still be re-registering; `copies`
    // below runs after assertIncidentEndState saw all three back)
    assert.match(r.out, /persistent copies of ephemeral nodes: 3, [0-3] shadowed by their re-registered owners/);
    const copies = run(env, ['copies', incident]);
    assert.equal(copies.code, 0, copies.err);
    assert.equal((copies.out.match(/shadowed \(owner is back\)/g) ?? []).length, 3, copies.out);
    const clean = run(env, ['copies', incident, '--clean']);
    assert.match(clean.out, /removed 3 shadowed copies; their paths and data are kept in (\S+)/);
    const savedFile = /kept in (\S+)/.exec(clean.out)![1]!;
    assert.equal((JSON.parse(fs.readFileSync(savedFile, 'utf8')) as unknown[]).length, 3);
    const zkc = await ZkClient.connect(INCIDENT_CONNECT, 10000);
    try {
      assert.deepEqual(
        (await zkc.getChildren('/jodis/codis-demo')).filter((c) => c.endsWith('.zkroll-persisted')),
        [],
      );
    } finally {
      zkc.close();
    }
    const dir = path.join(env['ZKROLL_STATE_DIR']!, 'codis-incident');
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as {
      state: string;
      steps: { status: string; durationMs: number; election: { from: number; to: number | null; ms: number } | null }[];
      seed: { myid: number };
    };
    // every leader restart (4 rounds) caused an election, measured from losing to regaining a leader
    const elections = report.steps.map((s) => s.election).filter((e) => e !== null);
    assert.ok(elections.length >= 4, `elections: ${JSON.stringify(elections)}`);
    for (const e of elections) assert.ok(e.to !== null && e.to !== e.from && e.ms > 0 && e.ms < 60000, JSON.stringify(e));
    assert.match(r.out, /leader elections caused by the run: \d+, \d+–\d+ ms/);
    process.stdout.write(`# elections: ${elections.map((e) => `${e.from}->${e.to} ${e.ms} ms`).join(', ')}\n`);
    assert.equal(report.state, 'done');
    assert.equal(report.steps.length, 68);
    assert.ok(report.steps.every((s) => s.status === 'done'));
    assert.equal(report.seed.myid, oldLeader, 'seeded from the old leader, found at run time');
    const audit = fs
      .readFileSync(path.join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    assert.ok(audit.length > 60);
    assert.ok(audit.some((a) => /zkServer\.sh start/.test(a.command) && a.code === 0));
    const runId = (JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { runId: string }).runId;
    const loaded = loadPlanFile(incident);
    assert.ok(loaded.ok);
    const compiledPlan = compile(loaded.plan);
    // one truth: every changing command of the run is a compiled one, byte for byte
    const checked = auditMatchesPlan(audit, compiledPlan.steps, runId);
    process.stdout.write(`# audit vs plan: ${checked.compiled} compiled commands, ${checked.writes} file writes, ${checked.reads} reads\n`);
    assert.ok(checked.compiled >= 40, `compiled commands audited: ${checked.compiled}`);
    // the seed copy ran exactly the compiled commands of the seed it resolved to, on their hosts
    const seedStep = compiledPlan.steps.find((s) => s.action === 'copy-seed-data')!;
    const compiled = seedStep.byMember!.find((m) => m.myid === oldLeader)!.commands;
    assert.equal(compiled.length, 4);
    for (const c of compiled) {
      const line = shellCommand(c.argv.map((a) => a.replaceAll('@RUN@', runId)));
      assert.ok(
        audit.some((a) => a.host.endsWith(`(${c.host})`) && a.command === line && (c.okCodes ?? [0]).includes(a.code ?? -1)),
        `audited on ${c.host}: ${line}`,
      );
    }
    // the split-window readers were started and stopped by their compiled commands
    const split = compiledPlan.steps.find((s) => s.action === 'split-window')!;
    for (const m of split.byMember!) {
      for (const c of m.commands)
        assert.ok(
          audit.some((a) => a.host.endsWith(`(${m.host})`) && a.command === shellCommand(c.argv.map((x) => x.replaceAll('@RUN@', runId))) && a.code === 0),
          `reader command on ${m.host}: ${c.does}`,
        );
    }
    assert.ok(!audit.some((a) => /zkroll-seed-|\.tgz/.test(a.command)), 'no archive in /tmp any more');
    assert.equal(audit.filter((a) => /^zkroll remote shell: started/.test(a.command)).length, hosts.length, 'one remote shell per host');
    assert.ok(!audit.some((a) => /^zkroll remote shell: (restarted|unavailable|could not)/.test(a.command)), 'no shell had to be replaced');
    assert.ok(!fs.readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').includes('PRIVATE KEY'), 'no secrets in the audit log');
    // nothing deleted: the broken servers' old data is in dated backups
    const backups = fs.readdirSync(path.join(labDir('codis-incident'), 'hosts', '127.0.10.6', 'fs', 'data__zookeeper', 'data'));
    assert.ok(
      backups.some((b) => b.startsWith('version-2.zkroll-backup-')),
      `backups: ${backups}`,
    );
  });
});

interface AuditRecord {
  host: string;
  command: string;
  code: number | null;
  purpose?: string;
}

/** Commands no read may run (a read mislabelled as one would hide a change). */
const CHANGING = /\b(mv|rm|kill|cp|tar -x|zkServer\.sh|systemctl|mkdir|tee|truncate|chmod|chown|ln)\b|>\s*[^&/]/;

/**
 * Every audited remote command is a compiled one (argv for argv, @RUN@ replaced, on the host of
 * its step or member), a write of a compiled file (or its backup), a read, or the remote shell's
 * own start. Returns the counts of each kind.
 */
function auditMatchesPlan(audit: AuditRecord[], steps: Step[], runId: string): { compiled: number; writes: number; reads: number } {
  const hostOf = (label: string) => /\(([^)]+)\)$/.exec(label)?.[1] ?? label;
  const line = (argv: string[]) => shellCommand(argv.map((a) => a.replaceAll('@RUN@', runId)));
  const commands = new Set<string>();
  const files = new Set<string>();
  for (const s of steps) {
    const own = s.target.kind === 'node' ? s.target.node.host : '';
    for (const c of s.commands) commands.add(`${c.host ?? own}\u0000${line(c.argv)}`);
    for (const m of s.byMember ?? []) for (const c of m.commands) commands.add(`${c.host ?? m.host}\u0000${line(c.argv)}`);
    for (const f of s.files) {
      files.add(`${own}\u0000${f.path}`);
      files.add(`${own}\u0000${f.path}.zkroll-backup-${runId}`);
    }
  }
  const n = { compiled: 0, writes: 0, reads: 0 };
  for (const a of audit) {
    const h = hostOf(a.host);
    if (shellEvent(a.command) !== null) continue;
    if (a.purpose === 'read') {
      // the data scan (src/check/datascan.ts) writes only its class file into a mktemp dir of its own, removed on exit
      if (a.command.startsWith(`${line(dataScanArgv([]))} `)) {
        n.reads++;
        continue;
      }
      assert.doesNotMatch(a.command, CHANGING, `a read on ${h} that looks like a change: ${a.command}`);
      n.reads++;
    } else if (a.purpose?.startsWith('write ')) {
      const target = a.purpose.slice('write '.length);
      // zkroll's own copy of the run and its lock on the host (src/run/hostlock.ts)
      if (isHostStatePath(target)) continue;
      assert.ok(files.has(`${h}\u0000${target}`), `a write on ${h} of ${target}, which no compiled step writes (${a.command})`);
      n.writes++;
    } else {
      assert.ok(commands.has(`${h}\u0000${a.command}`), `a command on ${h} that is in no compiled step:\n${a.command}`);
      n.compiled++;
    }
  }
  return n;
}

describe('apply: killed with SIGKILL at three steps, then resumed', () => {
  after(() => labDown(incident));
  it('reaches the same end state', async () => {
    labUp(incident, '--znodes', '300');
    const before = await tree('127.0.10.7:2181,127.0.10.9:2181,127.0.10.10:2181', '/lab');
    const env = stateEnv('kill');
    // during the seed copy, during the split-window carry-over, during the last leader restart
    const a = spawnApply(env, ['apply', incident, '--yes']);
    await killAtStep(env, a, 12, 300);
    const locked = run(env, ['status', incident]);
    assert.match(locked.out, /running/);
    const b = spawnApply(env, ['resume', incident, '--yes']);
    // killed while its readers run: they outlive it, and the resumed step must cope
    await killAtStep(env, b, 22, 0, readerRunning);
    assert.ok(readerRunning(), 'a reader of the killed attempt is still running');
    const c = spawnApply(env, ['resume', incident, '--yes']);
    await killAtStep(env, c, 66, 800);
    const r = run(env, ['resume', incident, '--yes']);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    await assertIncidentEndState(before);
    const st = run(env, ['status', incident]);
    assert.match(st.out, /: done/);
    assert.match(st.out, /68 of 68 steps done/);
  });
});

describe('apply: rolling plan', () => {
  after(() => labDown(rolling));

  it('guided: asks per step, "round" answers the rest of the round, and finishes', async () => {
    // servers that answer only `srvr` (the 3.5+ default): the gates read mntr from the AdminServer
    labUp(rolling, '--znodes', '50', '--whitelist', 'srvr');
    const env = stateEnv('guided');
    const rollingConnect = '127.0.20.1:2181,127.0.20.2:2181,127.0.20.3:2181';
    const writer = startWriter(rollingConnect);
    const r = await runAsync(env, ['apply', rolling, '--guided'], 'y\ny\nyes\nround\ny\n');
    const acked = await writer.stop();
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    await assertNoWriteLost(rollingConnect, acked);
    for (const h of ['127.0.20.1', '127.0.20.2', '127.0.20.3']) assert.match(await fourLetterWord(h, 2181, 'srvr'), /^Zookeeper version: 3\.9\.3-/, h);
    const asked = r.out.match(/run step \d+\?/g) ?? [];
    assert.deepEqual(asked, ['run step 1?', 'run step 2?', 'run step 3?', 'run step 4?', 'run step 7?']);
    assert.match(r.out, /\$ \/opt\/zookeeper-3\.8\.0\/bin\/zkServer\.sh stop/, 'shows the commands before asking');
    const modes = await Promise.all(['127.0.20.1', '127.0.20.2', '127.0.20.3'].map(async (h) => (await probeSrvr(h, 2181))?.mode));
    assert.deepEqual([...modes].sort(), ['follower', 'follower', 'leader']);
    // the real 3.9.3 release logs through logback (it ships no log4j) with zkroll's
    // daily-rolled logback.xml: the running server writes under <home>/logs
    const target = path.join(labDir('rolling-demo'), 'hosts', '127.0.20.1', 'fs', 'opt__zookeeper-3.9.3');
    assert.deepEqual(
      fs
        .readdirSync(path.join(target, 'lib'))
        .filter((j) => /log4j|logback/.test(j))
        .map((j) => j.replace(/-[\d.]+\.jar$/, '.jar'))
        .sort(),
      ['logback-classic.jar', 'logback-core.jar'],
    );
    assert.match(fs.readFileSync(path.join(target, 'conf', 'logback.xml'), 'utf8'), /written by zkroll[\s\S]*TimeBasedRollingPolicy/);
    const logs = fs.readdirSync(path.join(target, 'logs')).filter((f) => f.endsWith('.log'));
    assert.ok(
      logs.some((f) => /\[myid:1\] - INFO/.test(fs.readFileSync(path.join(target, 'logs', f), 'utf8'))),
      `server 1 logs in ${target}/logs: ${logs.join(', ')}`,
    );
    const check = run(env, ['check', rolling]);
    for (const id of [1, 2, 3])
      assert.match(check.out, new RegExp(`log rotation\\s+${id} \\(127\\.0\\.20\\.${id}\\)\\s+OK\\s+logs of /opt/zookeeper-3\\.9\\.3 roll daily`));
  });

  it('a service that still starts the old install (a systemd unit not repointed) is caught, not passed as upgraded', async () => {
    labUp(rolling, '--znodes', '5');
    const env = stateEnv('old-install');
    const plan = path.join(env['ZKROLL_STATE_DIR']!, 'rolling.yaml');
    fs.writeFileSync(plan, fs.readFileSync(rolling, 'utf8').replace(/startDeadline: \S+/, 'startDeadline: 5s'));
    // the target's start script on 127.0.20.1 starts the old install instead, as such a unit would
    const script = path.join(labDir('rolling-demo'), 'hosts', '127.0.20.1', 'fs', 'opt__zookeeper-3.9.3', 'bin', 'zkServer.sh');
    fs.renameSync(script, `${script}.real`);
    fs.writeFileSync(script, '#!/bin/sh\nexec /opt/zookeeper-3.8.0/bin/zkServer.sh "$1" /opt/zookeeper-3.8.0/conf/zoo.cfg\n', { mode: 0o755 });
    const r = run(env, ['apply', plan, '--yes']);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /step 4 failed: gate did not hold within \d+s: no ZooKeeper process with \/opt\/zookeeper-3\.9\.3\/conf\/zoo\.cfg on 127\.0\.20\.1/);
    // the server does serve (on the old install): without the gate the step would have passed
    assert.ok(await probeSrvr('127.0.20.1', 2181));
    // the gate timed out: a clear failed state; the unit repointed, resume finishes on 3.9.3
    assert.match(run(env, ['status', plan]).out, /failed[\s\S]*next: step 4/);
    fs.renameSync(`${script}.real`, script);
    const resumed = run(env, ['resume', plan, '--yes']);
    assert.equal(resumed.code, 0, `${resumed.out}\n${resumed.err}`);
    for (const h of ['127.0.20.1', '127.0.20.2', '127.0.20.3']) assert.match(await fourLetterWord(h, 2181, 'srvr'), /^Zookeeper version: 3\.9\.3-/, h);
  });

  it('a server that fails to start: failed state, the plan cannot change under the run, fix, resume', async () => {
    labUp(rolling, '--znodes', '50');
    const env = stateEnv('fail');
    const plan = path.join(env['ZKROLL_STATE_DIR']!, 'rolling.yaml');
    fs.writeFileSync(plan, fs.readFileSync(rolling, 'utf8'));
    // break the target install of the first follower: its JVM refuses to start
    const javaEnv = path.join(labDir('rolling-demo'), 'hosts', '127.0.20.1', 'fs', 'opt__zookeeper-3.9.3', 'conf', 'java.env');
    const good = fs.readFileSync(javaEnv, 'utf8');
    fs.writeFileSync(javaEnv, 'JVMFLAGS="-XX:+ThisFlagDoesNotExist"\n');
    const first = run(env, ['apply', plan, '--yes']);
    assert.equal(first.code, 1, first.out);
    assert.match(
      first.out,
      /step 4 failed: on 127\.0\.20\.1: `\/opt\/zookeeper-3\.9\.3\/bin\/zkServer\.sh start \/opt\/zookeeper-3\.9\.3\/conf\/zoo\.cfg` exited with 1/,
    );
    assert.match(first.out, /FAILED TO START/, "the command's own output is shown");
    // and the server's own words: the JVM's refusal is only in the file zkServer.sh sends its output to
    assert.match(first.out, /the server's own log \(\/opt\/zookeeper-3\.9\.3\/logs\):\n\s*==> \/opt\/zookeeper-3\.9\.3\/logs\/zookeeper-\S+\.out <==/);
    assert.match(first.out, /Unrecognized VM option 'ThisFlagDoesNotExist'/);
    assert.match(first.out, /continue with: zkroll resume/);
    const st = run(env, ['status', plan]);
    assert.match(st.out, /failed/);
    assert.match(st.out, /next: step 4/);
    // quorum held throughout: the other two still serve
    assert.ok(await probeSrvr('127.0.20.2', 2181));
    assert.ok(await probeSrvr('127.0.20.3', 2181));
    fs.writeFileSync(plan, fs.readFileSync(plan, 'utf8').replace('gateDeadline: 2m', 'gateDeadline: 3m'));
    const edited = run(env, ['resume', plan, '--yes']);
    assert.equal(edited.code, 2);
    assert.match(edited.err, /changed since run .* started; resuming with an edited plan is refused/);
    assert.match(edited.err, /health\.gateDeadline: 120000 → 180000/);
    fs.writeFileSync(plan, fs.readFileSync(plan, 'utf8').replace('gateDeadline: 3m', 'gateDeadline: 2m'));
    fs.writeFileSync(javaEnv, good);
    const resumed = run(env, ['resume', plan, '--yes']);
    assert.equal(resumed.code, 0, `${resumed.out}\n${resumed.err}`);
    const modes = await Promise.all(['127.0.20.1', '127.0.20.2', '127.0.20.3'].map(async (h) => (await probeSrvr(h, 2181))?.mode));
    assert.deepEqual([...modes].sort(), ['follower', 'follower', 'leader']);
  });
});

describe('apply: 3.4.13 → 3.8.0 across ZOOKEEPER-3056', () => {
  after(() => labDown(upgrade34));
  it('starts the 3.4 dataDirs without a snapshot on 3.8.0 (snapshot.trust.empty for the first start, removed after), no write lost', async () => {
    labUp(upgrade34, '--znodes', '100');
    const hosts = ['127.0.40.1', '127.0.40.2', '127.0.40.3'];
    const connect = hosts.map((h) => `${h}:2181`).join(',');
    const snapshots = (h: string) =>
      fs.readdirSync(path.join(labDir('upgrade-34-38'), 'hosts', h, 'fs', 'data__zookeeper', 'data', 'version-2')).filter((f) => f.startsWith('snapshot.'));
    // the trap is there: a real 3.4.13 server with transaction logs and no snapshot (3.4 leaders
    // of a fresh ensemble never write one), which 3.8.0 would refuse to start on
    assert.ok(
      hosts.some((h) => snapshots(h).length === 0),
      `a server without a snapshot: ${hosts.map((h) => `${h}: ${snapshots(h).join(',') || 'none'}`).join('; ')}`,
    );
    const before = await tree(connect, '/lab');
    assert.equal(before.size, 102, '/lab, /lab/data and 100 znodes');
    const env = stateEnv('upgrade34');
    const plan = run(env, ['plan', upgrade34]);
    assert.equal(plan.code, 0, plan.err);
    assert.match(plan.out, /\+snapshot\.trust\.empty=true/, 'the plan shows the key in the diff');
    assert.match(plan.out, /ZOOKEEPER-3056/);
    assert.match(plan.out, /-snapshot\.trust\.empty=true/, 'and its removal');
    const writer = startWriter(connect);
    const r = await runAsync(env, ['apply', upgrade34, '--yes']);
    const acked = await writer.stop();
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    process.stdout.write(`# apply upgrade-3.4-to-3.8 unattended: ${r.ms} ms, ${acked.length} writes acknowledged during the run\n`);
    await assertNoWriteLost(connect, acked);
    // the data from before the run too (ZOOKEEPER-3644: a wrong escape hatch starts on an empty tree)
    assert.deepEqual(await tree(connect, '/lab'), before, 'the data tree is identical to before the upgrade');
    for (const h of hosts) {
      assert.match(await fourLetterWord(h, 2181, 'srvr'), /^Zookeeper version: 3\.8\.0-/, h);
      assert.ok(snapshots(h).length > 0, `${h} has written a snapshot`);
      const cfg = path.join(labDir('upgrade-34-38'), 'hosts', h, 'fs', 'opt__zookeeper-3.8.0', 'conf');
      assert.doesNotMatch(fs.readFileSync(path.join(cfg, 'zoo.cfg'), 'utf8'), /snapshot\.trust\.empty/, `${h}: the key is gone again`);
      const backups = fs.readdirSync(cfg).filter((f) => f.startsWith('zoo.cfg.zkroll-backup-'));
      assert.ok(
        backups.some((b) => /snapshot\.trust\.empty=true/.test(fs.readFileSync(path.join(cfg, b), 'utf8'))),
        `${h}: the first start ran with it (${backups.join(', ')})`,
      );
    }
    const modes = await Promise.all(hosts.map(async (h) => (await probeSrvr(h, 2181))?.mode));
    assert.deepEqual([...modes].sort(), ['follower', 'follower', 'leader']);
  });
});

describe('apply: an observer, and zoo.cfg files as operators write them', () => {
  after(() => labDown(observerPlan));
  it('keeps every zoo.cfg byte for byte (CRLF, comments, key: value), restarts the observer first and leaves it an observer', async () => {
    labUp(observerPlan, '--znodes', '50');
    const hosts = ['127.0.60.1', '127.0.60.2', '127.0.60.3', '127.0.60.4'];
    const conf = (h: string, home: string) => path.join(labDir('rolling-observer'), 'hosts', h, 'fs', `opt__${home}`, 'conf', 'zoo.cfg');
    const before = new Map(hosts.map((h) => [h, fs.readFileSync(conf(h, 'zookeeper-3.8.0'), 'utf8')]));
    for (const text of before.values()) assert.match(text, /\r\ntickTime: 2000\r\n[\s\S]*server\.4=127\.0\.60\.4:2888:3888:observer\r\n$/);
    assert.equal((await probeSrvr('127.0.60.4', 2181))?.mode, 'observer');
    const env = stateEnv('observer');
    // a plan that takes the observer for a participant is refused before anything changes
    const wrong = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-roles-')), 'rolling-observer.yaml');
    fs.writeFileSync(wrong, fs.readFileSync(observerPlan, 'utf8').replace(/^\s+role: observer.*\n/m, ''));
    const live = run(env, ['plan', wrong, '--live']);
    assert.equal(live.code, 2, live.out + live.err);
    assert.match(live.err, /its zoo\.cfg makes server 4 an observer, the plan says role: participant/);
    assert.match(live.err, /server 4 \(127\.0\.60\.4\): serves as observer \(srvr\), the plan says role: participant/);
    const r = await runAsync(env, ['apply', observerPlan, '--yes']);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    process.stdout.write(`# apply rolling-observer unattended: ${r.ms} ms\n`);
    for (const h of hosts) {
      assert.equal(fs.readFileSync(conf(h, 'zookeeper-3.9.3'), 'utf8'), before.get(h), `${h}: the target zoo.cfg is the operator's file, byte for byte`);
      assert.equal(fs.readFileSync(conf(h, 'zookeeper-3.8.0'), 'utf8'), before.get(h), `${h}: the old install's file is untouched`);
      assert.match(await fourLetterWord(h, 2181, 'srvr'), /^Zookeeper version: 3\.9\.3-/, h);
    }
    const modes = await Promise.all(hosts.map(async (h) => (await probeSrvr(h, 2181))?.mode));
    assert.equal(modes[3], 'observer', 'the observer is still an observer');
    assert.deepEqual(modes.slice(0, 3).sort(), ['follower', 'follower', 'leader']);
    const dir = path.join(env['ZKROLL_STATE_DIR']!, 'rolling-observer');
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as { slotOrders: Record<string, number[]> };
    assert.equal(report.slotOrders['upgrade']![0], 4, `the observer restarts first: ${JSON.stringify(report.slotOrders)}`);
    const audit = fs
      .readFileSync(path.join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    const loaded = loadPlanFile(observerPlan);
    assert.ok(loaded.ok);
    const runId = (JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { runId: string }).runId;
    const checked = auditMatchesPlan(audit, compile(loaded.plan).steps, runId);
    assert.ok(checked.compiled >= 12, JSON.stringify(checked));
  });
});
