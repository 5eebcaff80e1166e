// The run survives the operator's machine (lab, rolling plan): zkroll on "machine A" (state dir
// A, ZKROLL_MACHINE_ID=laptop-a) is killed mid-run; "machine B" (another state dir and machine
// id) sees the run from the hosts' copies, cannot apply or resume it, cannot take it over while
// A's heartbeat is fresh, then takes it over and finishes it. Then fencing: A waits at a prompt
// (alive, heartbeating), B's take-over is refused; A is frozen (SIGSTOP) until its heartbeat is
// stale, B takes over and finishes; A, woken, learns it was taken over and runs nothing more.
// The lab's hosts log in as this machine's root: their ~/.zkroll is this machine's, one file for
// all three hosts (removed before and after).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { HOST_STATE_DIR, STALE_MS } from '../../src/run/hostlock.js';
import { fourLetterWord, probeSrvr } from '../../src/zk/fourlw.js';
import { ZkClient } from '../../src/zk/client.js';
import { labDown, labUp, rolling, run, runAsync, spawnApply, stateEnv, zkroll } from './helpers.js';

const HOSTS = ['127.0.20.1', '127.0.20.2', '127.0.20.3'];
const HOST_STATE = path.join(os.userInfo().homedir, HOST_STATE_DIR, 'rolling-demo');

function machine(id: string, tag: string): NodeJS.ProcessEnv {
  return { ...stateEnv(tag), ZKROLL_MACHINE_ID: id };
}

const localRun = (env: NodeJS.ProcessEnv) => path.join(env['ZKROLL_STATE_DIR']!, 'rolling-demo', 'run.json');

/** Resolves once A's run.json says step `index` (0-based) or later is running. */
async function untilRunning(env: NodeJS.ProcessEnv, child: ChildProcess, index: number): Promise<void> {
  const deadline = Date.now() + 300000;
  for (;;) {
    try {
      const r = JSON.parse(fs.readFileSync(localRun(env), 'utf8')) as { snapshot: { value: string; context: { index: number } } };
      if (r.snapshot.value === 'running' && r.snapshot.context.index >= index) return;
    } catch {
      // not written yet / being replaced
    }
    assert.equal(child.exitCode, null, `zkroll ended before step ${index + 1}`);
    assert.ok(Date.now() < deadline, `step ${index + 1} not reached in 300 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface StatusJson {
  runId: string;
  source: string;
  state: string;
  index: number;
  lock: { machine: string; pid: number; heartbeatAgeMs: number | null; released: string | null; thisMachine: boolean } | null;
}

function hostStatus(env: NodeJS.ProcessEnv): StatusJson {
  const r = run(env, ['status', rolling, '--hosts', '--json']);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as StatusJson;
}

/** Resolves once the hosts' lock heartbeat is older than the take-over bound (read with status). */
async function untilStale(env: NodeJS.ProcessEnv): Promise<void> {
  const deadline = Date.now() + 3 * STALE_MS;
  for (;;) {
    const age = hostStatus(env).lock?.heartbeatAgeMs ?? 0;
    if (age > STALE_MS + 1000) return;
    assert.ok(Date.now() < deadline, `the heartbeat never went stale (${age} ms)`);
    await new Promise((r) => setTimeout(r, Math.min(5000, STALE_MS + 1500 - age)));
  }
}

async function assertUpgraded(znodes: number): Promise<void> {
  for (const h of HOSTS) assert.match(await fourLetterWord(h, 2181, 'srvr'), /^Zookeeper version: 3\.9\.3-/, h);
  const modes = await Promise.all(HOSTS.map(async (h) => (await probeSrvr(h, 2181))?.mode));
  assert.deepEqual([...modes].sort(), ['follower', 'follower', 'leader']);
  const zk = await ZkClient.connect(HOSTS.map((h) => `${h}:2181`).join(','), 10000);
  try {
    assert.equal((await zk.getChildren('/lab/data')).length, znodes);
  } finally {
    zk.close();
  }
}

describe('take-over: the run survives the machine that started it', () => {
  after(() => {
    labDown(rolling);
    fs.rmSync(HOST_STATE, { recursive: true, force: true });
  });

  it('A killed mid-run: B sees it from the hosts, is refused apply and resume, takes it over once stale, and finishes', async () => {
    labUp(rolling, '--znodes', '50');
    fs.rmSync(HOST_STATE, { recursive: true, force: true });
    const A = machine('laptop-a', 'takeover-a');
    const B = machine('laptop-b', 'takeover-b');
    const a = spawnApply(A, ['apply', rolling, '--yes']);
    await untilRunning(A, a, 3);
    a.kill('SIGKILL');
    await new Promise((r) => a.once('exit', r));
    const runId = (JSON.parse(fs.readFileSync(localRun(A), 'utf8')) as { runId: string }).runId;

    const st = run(B, ['status', rolling]);
    assert.equal(st.code, 0, st.err);
    assert.match(st.out, new RegExp(`run ${runId} of rolling-demo .*: running \\[read from the hosts: copy \\d+\\]`));
    assert.match(st.out, new RegExp(`lock on the hosts: held by zkroll pid ${a.pid} on machine laptop-a \\(state dir [^)]*takeover-a`));
    assert.match(st.out, /continue with: zkroll resume \S+ --take-over/);
    const sj = hostStatus(B);
    assert.equal(sj.source, 'hosts');
    // the hosts get each state before the next step starts (the fence waits for the write): a kill
    // right after A saved step 4's start locally can leave them one transition behind, never more
    assert.ok(sj.index >= 2, `the hosts' copy is at step ${sj.index + 1}`);

    for (const args of [
      ['apply', rolling, '--yes'],
      ['resume', rolling, '--yes'],
    ]) {
      const r = run(B, args);
      assert.equal(r.code, 1, `${args[0]}: ${r.out}${r.err}`);
      assert.match(
        r.err,
        new RegExp(`another zkroll holds the run of rolling-demo on its hosts: zkroll pid ${a.pid} on machine laptop-a .*last heartbeat \\S+ \\(\\d+ s ago`),
      );
      assert.match(r.err, /Nothing was changed/);
      assert.equal(fs.existsSync(localRun(B)), false, `${args[0]} left no run on B`);
    }
    const before = hostStatus(B).lock!.heartbeatAgeMs!;
    const t0 = Date.now();
    const early = run(B, ['resume', rolling, '--yes', '--take-over']);
    if (before + (Date.now() - t0) < STALE_MS - 2000) {
      assert.equal(early.code, 1, early.out);
      assert.match(early.err, new RegExp(`fresher than ${STALE_MS / 1000} s: it may still be running, and a take-over is refused`));
    }

    await untilStale(B);
    const t = await runAsync(B, ['resume', rolling, '--yes', '--take-over']);
    assert.equal(t.code, 0, `${t.out}\n${t.err}`);
    assert.match(t.out, new RegExp(`took over the lock of zkroll pid ${a.pid} on machine laptop-a .*last heartbeat \\S+ \\(\\d+ s ago`));
    assert.match(t.out, new RegExp(`continuing from the hosts' copy \\d+ of run ${runId}`));
    assert.match(t.out, new RegExp(`run ${runId} done`));
    await assertUpgraded(50);

    const done = hostStatus(B);
    assert.equal(done.state, 'done');
    assert.equal(done.lock?.machine, 'laptop-b');
    assert.ok(done.lock?.released, 'B released the lock at the end');
    const lock = JSON.parse(fs.readFileSync(path.join(HOST_STATE, 'lock'), 'utf8')) as { tookFrom: { machine: string; pid: number } };
    assert.deepEqual([lock.tookFrom.machine, lock.tookFrom.pid], ['laptop-a', a.pid]);
    // A comes back: its own state is older than the hosts'; resuming it is refused
    const back = run(A, ['resume', rolling, '--yes']);
    assert.equal(back.code, 1, back.out);
    assert.match(back.err, new RegExp(`the hosts hold a newer state of run ${runId}`));
  });

  it('fencing: B cannot take over a live A; once A is frozen past the bound B takes over, and A, woken, stops', async () => {
    labUp(rolling, '--znodes', '20');
    fs.rmSync(HOST_STATE, { recursive: true, force: true });
    const A = machine('laptop-a', 'fence-a');
    const B = machine('laptop-b', 'fence-b');
    const a = spawn(process.execPath, [zkroll, 'apply', rolling, '--guided'], { env: A, stdio: ['pipe', 'pipe', 'pipe'] });
    let aOut = '';
    a.stdout!.on('data', (d: Buffer) => (aOut += d.toString()));
    a.stderr!.on('data', (d: Buffer) => (aOut += d.toString()));
    const exited = new Promise<number | null>((r) => a.once('exit', (c) => r(c)));
    a.stdin!.write('y\n');
    const deadline = Date.now() + 120000;
    while (!/run step 2\?/.test(aOut)) {
      assert.ok(Date.now() < deadline && a.exitCode === null, `A never asked about step 2:\n${aOut}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // A waits for its answer, alive: its heartbeat keeps the lock
    const live = run(B, ['resume', rolling, '--yes', '--take-over']);
    assert.equal(live.code, 1, live.out);
    assert.match(live.err, /on machine laptop-a [\s\S]*fresher than \d+ s/);

    a.kill('SIGSTOP');
    const audit = path.join(A['ZKROLL_STATE_DIR']!, 'rolling-demo', 'audit.jsonl');
    const auditBefore = fs.readFileSync(audit, 'utf8').trim().split('\n').length;
    await untilStale(B);
    const t = await runAsync(B, ['resume', rolling, '--yes', '--take-over']);
    assert.equal(t.code, 0, `${t.out}\n${t.err}`);
    assert.match(t.out, /took over the lock of zkroll pid \d+ on machine laptop-a/);
    await assertUpgraded(20);

    a.kill('SIGCONT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60000).unref())]);
    assert.equal(code, 1, `A's end:\n${aOut}`);
    assert.match(aOut, /the run was taken over by zkroll pid \d+ on machine laptop-b .*This zkroll stops here .*runs nothing more on rolling-demo/s);
    // after it woke, A ran no command of the plan: only its reads and refused writes of the host state
    const late = fs
      .readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .slice(auditBefore)
      .map((l) => JSON.parse(l) as { command: string; purpose?: string; code: number | null });
    for (const r of late)
      assert.ok(
        r.purpose === 'read' || r.purpose?.startsWith(`write ${HOST_STATE}/`) || /^zkroll remote shell/.test(r.command),
        `A ran after being taken over: ${r.command}`,
      );
    assert.ok(
      // refused on the host (exit 3), or cut short when A stopped on the first refusal (no exit code)
      late.every((r) => !r.purpose?.startsWith('write') || r.code === 3 || r.code === null),
      `every write A tried was refused on the host:\n${late
        .filter((r) => r.purpose?.startsWith('write') && r.code !== 3 && r.code !== null)
        .map((r) => JSON.stringify(r).slice(0, 400))
        .join('\n')}`,
    );
    const st = hostStatus(B);
    assert.equal(st.state, 'done');
    assert.equal(st.lock?.machine, 'laptop-b');
  });
});
