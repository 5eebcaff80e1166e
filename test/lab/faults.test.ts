// Faults on the hosts during the incident recovery, each ending in a clear failed state that
// `resume` finishes once the cause is gone: the SSH connections cut during the seed copy (the
// sshd sessions killed on the hosts), a host unreachable for a while (its sshd stopped with
// SIGSTOP and its sessions cut: connections hang, as behind a dead link), and a second `apply` or
// `resume` while a run goes on (refused by the lock, nothing done). A client writes all through;
// the end state and every acknowledged write are checked from the servers.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { probeSrvr } from '../../src/zk/fourlw.js';
import {
  assertIncidentEndState,
  assertNoWriteLost,
  incident,
  INCIDENT_CONNECT,
  incidentRunState,
  labDown,
  labUp,
  OLD_INCIDENT_CONNECT,
  onHost,
  rolling,
  run,
  seedCopyInFlight,
  spawnApply,
  sshdPid,
  startWriter,
  stateEnv,
  tree,
} from './helpers.js';

/** Cut every SSH connection to `ip`: kill its sshd's per-connection processes (SIGKILL). */
function cutSessions(ip: string): void {
  spawnSync('pkill', ['-KILL', '-P', String(sshdPid('codis-incident', ip))]);
}

async function until(what: string, child: ChildProcess, f: () => boolean, ms = 300000): Promise<void> {
  const by = Date.now() + ms;
  while (!f()) {
    if (child.exitCode !== null) throw new Error(`zkroll ended (${child.exitCode}) before ${what}`);
    if (Date.now() > by) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, out })));
}

describe('faults on the hosts', () => {
  let stopped: number | null = null;
  after(() => {
    if (stopped !== null) process.kill(stopped, 'SIGCONT');
    labDown(incident);
  });

  it('an SSH connection cut mid-copy, a host unreachable for a while, a second apply: each a clear failed state or refusal, and resume finishes', async () => {
    labUp(incident, '--znodes', '300');
    const before = await tree(OLD_INCIDENT_CONNECT, '/lab');
    const env = stateEnv('faults');
    const writer = startWriter(OLD_INCIDENT_CONNECT, 50);

    // 1. the SSH connections cut while the seed copy streams: the step fails, naming the copy
    const a = spawnApply(env, ['apply', incident, '--yes']);
    const aEnd = exited(a);
    await until('the seed copy', a, seedCopyInFlight);
    for (const h of ['127.0.10.1', '127.0.10.7', '127.0.10.9', '127.0.10.10']) cutSessions(h);
    const first = await aEnd;
    assert.equal(first.code, 1, first.out);
    assert.match(first.out, /step 13 failed: .*(copy|connection|channel)/i);
    assert.match(first.out, /continue with: zkroll resume/);
    const failed = incidentRunState(env)!;
    assert.equal(failed.value, 'failed');
    assert.equal(failed.index, 12);

    // 2. a second apply and a second resume while the resumed run goes on: refused, nothing done
    const b = spawnApply(env, ['resume', incident, '--yes']);
    const bEnd = exited(b);
    await until('the resumed run', b, () => incidentRunState(env)?.value === 'running');
    for (const cmd of ['apply', 'resume']) {
      const second = run(env, [cmd, incident, '--yes']);
      assert.notEqual(second.code, 0, `${cmd} while a run goes on: ${second.out}`);
      assert.match(second.err + second.out, /another zkroll run holds the lock on this cluster: pid \d+/);
    }

    // 3. a host unreachable from the start of step 24 (its sshd stopped, its connections cut)
    await until('step 24', b, () => (incidentRunState(env)?.index ?? 0) >= 23);
    stopped = sshdPid('codis-incident', '127.0.10.7');
    process.kill(stopped, 'SIGSTOP');
    cutSessions('127.0.10.7');
    const second = await bEnd;
    assert.equal(second.code, 1, second.out);
    const st = incidentRunState(env)!;
    assert.equal(st.value, 'failed');
    assert.match(`${st.failure?.message}`, /127\.0\.10\.7/, 'the failure names the host');
    const status = run(env, ['status', incident]);
    assert.match(status.out, /failed/);
    assert.match(status.out, /127\.0\.10\.7/);

    // the host is back: resume finishes
    process.kill(stopped, 'SIGCONT');
    stopped = null;
    const last = run(env, ['resume', incident, '--yes']);
    const acked = await writer.stop();
    assert.equal(last.code, 0, `${last.out}\n${last.err}`);
    await assertIncidentEndState(before);
    await assertNoWriteLost(INCIDENT_CONNECT, acked);
    process.stdout.write(`# faults: ${acked.length} writes acknowledged, none lost; failures: ${failed.index + 1}, ${st.index + 1}: ${st.failure?.message}\n`);
  });
});

describe('a full dataDir disk', () => {
  after(() => labDown(rolling));

  it('refused before the restart, nothing done to the server; resume finishes once the disk has room', async () => {
    labUp(rolling, '--znodes', '30');
    // server 3's data on a small disk: a 72 MiB tmpfs holding its 64 MiB preallocated log
    onHost(
      'rolling-demo',
      '127.0.20.3',
      'cp -a /data/zookeeper /tmp/zkroll-test-zk3 && mount -t tmpfs -o size=72m tmpfs /data/zookeeper && cp -a /tmp/zkroll-test-zk3/. /data/zookeeper/ && rm -rf /tmp/zkroll-test-zk3',
    );
    const env = stateEnv('disk');
    const a = run(env, ['apply', rolling, '--yes']);
    assert.equal(a.code, 1, a.out + a.err);
    assert.match(
      a.out,
      /refusing to start server 3 \(127\.0\.20\.3\): .*\/data\/zookeeper\/data has \d+ MiB free, less than the 80 MiB.*Nothing was done to it/,
    );
    assert.ok(await probeSrvr('127.0.20.3', 2181), 'server 3 was not stopped');
    assert.match(run(env, ['status', rolling]).out, /failed/);
    // the operator grows the disk
    onHost('rolling-demo', '127.0.20.3', 'mount -o remount,size=256m /data/zookeeper');
    const r = run(env, ['resume', rolling, '--yes']);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    const modes = await Promise.all(['127.0.20.1', '127.0.20.2', '127.0.20.3'].map(async (h) => (await probeSrvr(h, 2181))?.mode));
    assert.deepEqual([...modes].sort(), ['follower', 'follower', 'leader']);
  });
});
