// Shared by the lab tests and the crash matrix (test/crash): the plans, the incident's hosts and
// new myids, running zkroll as a user would (bin/zkroll, a state dir of its own per test), a
// client that writes all through a run and remembers what was acknowledged, the incident's end
// state, and killing a run with SIGKILL when it reaches a step.
// Invariants: every check reads the servers themselves (four-letter words, the client, the
// hosts' files), never zkroll's own output.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZkClient, ZkError, ZNODEEXISTS } from '../../src/zk/client.js';
import { WireSession } from '../../src/zk/wire.js';
import { fourLetterWord, parseMntr, probeSrvr } from '../../src/zk/fourlw.js';
import { labDir } from '../../src/lab/lab.js';
import { compile } from '../../src/compile/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { readConfig } from '../../src/zk/gates.js';
import { membersDiffer } from '../../src/zk/dynconfig.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const zkroll = path.join(root, 'bin', 'zkroll');
export const incident = path.join(root, 'plans', 'codis-incident.yaml');
export const rolling = path.join(root, 'plans', 'rolling-upgrade.yaml');
export const upgrade34 = path.join(root, 'plans', 'upgrade-3.4-to-3.8.yaml');
export const observerPlan = path.join(root, 'plans', 'rolling-observer.yaml');
export const NEW_IDS = new Map([
  ['127.0.10.6', 2],
  ['127.0.10.8', 3],
  ['127.0.10.7', 4],
  ['127.0.10.9', 5],
  ['127.0.10.10', 6],
]);
export const INCIDENT_CONNECT = [...NEW_IDS.keys()].map((h) => `${h}:2181`).join(',');
/** The incident's old ensemble as its clients know it (7, 9 and 10 serve when the lab is up). */
export const OLD_INCIDENT_CONNECT = '127.0.10.7:2181,127.0.10.9:2181,127.0.10.10:2181';

export function stateEnv(tag: string): NodeJS.ProcessEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `zkroll-state-${tag}-`));
  return { ...process.env, ZKROLL_STATE_DIR: dir };
}

export function run(env: NodeJS.ProcessEnv, args: string[], input?: string) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [zkroll, ...args], { encoding: 'utf8', env, input: input ?? '', timeout: 400000 });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - t0 };
}

export function runAsync(env: NodeJS.ProcessEnv, args: string[], input?: string): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [zkroll, ...args], { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin!.end(input);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err, ms: Date.now() - t0 }));
  });
}

/**
 * A client that creates a new znode under /writer every `intervalMs` (ms; default 10: one write
 * in flight, so fewer when the servers answer slower) all through a run, and remembers each
 * write that was acknowledged (`stop` returns their paths). It speaks the wire protocol itself
 * (src/zk/wire.ts, no native client in this process: an abort inside a native client would end
 * the test process), one server of `connect` at a time, moving to the next on any error.
 */
export function startWriter(connect: string, intervalMs = 10): { stop: () => Promise<string[]> } {
  const servers = connect.split(',').map((hp) => ({ host: hp.slice(0, hp.lastIndexOf(':')), port: Number(hp.slice(hp.lastIndexOf(':') + 1)) }));
  const acked: string[] = [];
  let running = true;
  let s: WireSession | null = null;
  let next = 0;
  const open = async (): Promise<WireSession> => {
    const srv = servers[next++ % servers.length]!;
    const w = await WireSession.connect(srv.host, srv.port, 2000, 10000);
    await w.create('/writer', Buffer.alloc(0)).catch((e: unknown) => {
      if (!(e instanceof ZkError && e.rc === ZNODEEXISTS)) throw e;
    });
    return w;
  };
  const loop = (async () => {
    let i = 0;
    let due = Date.now();
    while (running) {
      try {
        s ??= await open();
        const p = `/writer/w-${String(i).padStart(6, '0')}`;
        await s.create(p, Buffer.from(`write ${i}`));
        acked.push(p);
        i++;
      } catch {
        i++; // not acknowledged: it may or may not exist, it is not counted
        await (s as WireSession | null)?.close().catch(() => undefined);
        s = null;
        await new Promise((r) => setTimeout(r, 50));
      }
      // a steady rate: the next write is due `intervalMs` after the last was due, not after it ended
      due = Math.max(due + intervalMs, Date.now() - intervalMs);
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await (s as WireSession | null)?.close().catch(() => undefined);
      return acked;
    },
  };
}

/** Every acknowledged write of `startWriter` is in the ensemble at `connect`. */
export async function assertNoWriteLost(connect: string, acked: string[]): Promise<void> {
  const zk = await ZkClient.connect(connect, 10000);
  try {
    const present = new Set(await zk.getChildren('/writer'));
    const lost = acked.filter((p) => !present.has(p.slice('/writer/'.length)));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged writes lost`);
    assert.ok(acked.length > 20, `the writer wrote throughout (${acked.length} acknowledged)`);
  } finally {
    zk.close();
  }
}

export function labUp(plan: string, ...flags: string[]): void {
  spawnSync(process.execPath, [zkroll, 'lab', 'down', plan], { encoding: 'utf8' });
  const r = spawnSync(process.execPath, [zkroll, 'lab', 'up', plan, ...flags], { encoding: 'utf8' });
  assert.equal(r.status, 0, `lab up: ${r.stdout}${r.stderr}`);
}

export function labDown(plan: string): void {
  spawnSync(process.execPath, [zkroll, 'lab', 'down', plan], { encoding: 'utf8' });
}

/** Every persistent path and its data under `base` (what must survive the recovery). */
export async function tree(connect: string, base: string): Promise<Map<string, string>> {
  const zk = await ZkClient.connect(connect, 15000);
  const out = new Map<string, string>();
  try {
    const walk = async (p: string) => {
      const { data, stat } = await zk.get(p);
      if (String(stat.ephemeralOwner) === '0') out.set(p, data.toString('base64'));
      for (const c of await zk.getChildren(p)) await walk(`${p}/${c}`);
    };
    await walk(base);
  } finally {
    zk.close();
  }
  return out;
}

export async function assertIncidentEndState(before: Map<string, string>): Promise<void> {
  const modes = new Map<string, string>();
  for (const h of NEW_IDS.keys()) modes.set(h, (await probeSrvr(h, 2181))?.mode ?? 'down');
  const leaders = [...modes.entries()].filter(([, m]) => m === 'leader');
  assert.equal(leaders.length, 1, `modes ${JSON.stringify([...modes])}`);
  assert.equal([...modes.values()].filter((m) => m === 'follower').length, 4);
  assert.equal(await probeSrvr('127.0.10.1', 2181), null, 'the temporary server is retired');
  const mntr = parseMntr(await fourLetterWord(leaders[0]![0], 2181, 'mntr'));
  assert.equal(mntr.get('zk_synced_followers'), '4');
  // 3.4's `conf` lists no server lines (3.5+ do): the ensemble is read from each host's zoo.cfg
  for (const [h, id] of NEW_IDS) {
    const cfg = fs.readFileSync(path.join(labDir('codis-incident'), 'hosts', h, 'fs', 'opt__zookeeper-3.4.13', 'conf', 'zoo.cfg'), 'utf8');
    for (const [h2, id2] of NEW_IDS)
      assert.match(cfg, new RegExp(`^server\\.${id2}=${h2.replaceAll('.', '\\.')}:2888:3888$`, 'm'), `server.${id2} in the zoo.cfg of ${h}`);
    assert.doesNotMatch(cfg, /^server\.1=/m, `server.1 removed from the zoo.cfg of ${h}`);
    // every server answers on its own host and client port with its new myid
    const c = await fourLetterWord(h, 2181, 'conf');
    assert.match(c, new RegExp(`^serverId=${id}$`, 'm'), `${h} runs as myid ${id}`);
  }
  const now = await tree(INCIDENT_CONNECT, '/lab');
  assert.equal(now.size, before.size);
  assert.deepEqual(now, before, 'the data tree is identical to before the recovery');
  const zk = await ZkClient.connect(INCIDENT_CONNECT, 10000);
  try {
    const deadline = Date.now() + 30000;
    let eph = 0;
    while (Date.now() < deadline) {
      eph = 0;
      for (const c of await zk.getChildren('/jodis/codis-demo')) {
        const st = await zk.exists(`/jodis/codis-demo/${c}`);
        if (st && String(st.ephemeralOwner) !== '0') eph++;
      }
      if (eph >= 3) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(eph >= 3, `proxies registered again (${eph} ephemeral nodes)`);
  } finally {
    zk.close();
  }
}

export function spawnApply(env: NodeJS.ProcessEnv, args: string[]): ChildProcess {
  return spawn(process.execPath, [zkroll, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Where the incident run (or `cluster`'s) of this state dir stands (its run.json), or null before it is written (or while it is replaced). */
export function incidentRunState(
  env: NodeJS.ProcessEnv,
  cluster = 'codis-incident',
): { value: string; index: number; failure: { message: string; output: string } | null } | null {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(env['ZKROLL_STATE_DIR']!, cluster, 'run.json'), 'utf8')) as {
      snapshot: { value: string; context: { index: number; failure: { message: string; output: string } | null } };
    };
    return { value: r.snapshot.value, index: r.snapshot.context.index, failure: r.snapshot.context.failure };
  } catch {
    return null;
  }
}

/** Is the seed copy unpacking into the temporary server's data directories right now (of the incident's lab, or `cluster`'s)? */
export function seedCopyInFlight(cluster = 'codis-incident', temporary = '127.0.10.1'): boolean {
  const fsRoot = path.join(labDir(cluster), 'hosts', temporary, 'fs');
  return ['data__zookeeper/data', 'data__zookeeper/datalog'].some((d) => fs.existsSync(path.join(fsRoot, d, 'version-2.zkroll-incoming')));
}

/** Is a split-window reader (a standalone ZooKeeper on a copy of old data) running? */
export function readerRunning(): boolean {
  return spawnSync('pgrep', ['-f', 'zkroll-split-.*zoo.cfg']).status === 0;
}

export async function killAtStep(
  env: NodeJS.ProcessEnv,
  child: ChildProcess,
  index: number,
  delayMs: number,
  until?: () => boolean,
  cluster = 'codis-incident',
): Promise<void> {
  const deadline = Date.now() + 300000;
  for (;;) {
    const st = incidentRunState(env, cluster);
    if (st?.value === 'running' && st.index >= index) break;
    if (child.exitCode !== null) throw new Error(`apply ended (${child.exitCode}) before step ${index + 1}`);
    if (Date.now() > deadline) throw new Error(`apply did not reach step ${index + 1} within 300 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, delayMs));
  if (until) {
    const by = Date.now() + 30000;
    while (!until()) {
      if (child.exitCode !== null || Date.now() > by) throw new Error(`the condition to kill at step ${index + 1} never held`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

/** The pid of the lab's sshd for `ip` (it holds the host's mount namespace). */
export function sshdPid(cluster: string, ip: string): number {
  const st = JSON.parse(fs.readFileSync(path.join(labDir(cluster), 'state.json'), 'utf8')) as { hosts: { ip: string; sshPid: number }[] };
  const pid = st.hosts.find((h) => h.ip === ip)?.sshPid;
  assert.ok(pid !== undefined && pid > 0, `the lab host ${ip} of ${cluster} has an sshd`);
  return pid;
}

/** Run `script` with sh as root in the lab host's mount namespace (the host's own files); its stdout. */
export function onHost(cluster: string, ip: string, script: string): string {
  const r = spawnSync('nsenter', [`--mount=/proc/${sshdPid(cluster, ip)}/ns/mnt`, '--', 'sh', '-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** The incident recovery by reconfig (plans/codis-incident-reconfig.yaml, 3.8.0 → 3.9.3) on its lab at 127.0.40.x. */
export const reconfigPlan = path.join(root, 'plans', 'codis-incident-reconfig.yaml');
export const RECONFIG_CLUSTER = 'codis-reconfig';
/** Its new servers: host → new myid. */
export const RECONFIG_NEW = new Map([
  ['127.0.40.6', 2],
  ['127.0.40.8', 3],
  ['127.0.40.7', 4],
  ['127.0.40.9', 5],
  ['127.0.40.10', 6],
]);
export const RECONFIG_OLD_CONNECT = ['127.0.40.7', '127.0.40.9', '127.0.40.10'].map((h) => `${h}:2181`).join(',');
export const RECONFIG_CONNECT = [...RECONFIG_NEW.keys()].map((h) => `${h}:2181`).join(',');

/** The compiled steps of a plan file (it must load). */
export function compiledPlan(file: string) {
  const r = loadPlanFile(file);
  assert.ok(r.ok, `${file} loads`);
  return compile(r.plan);
}

/** srvr's mode of each host ('down' when it does not serve). */
export async function modesOf(hosts: string[]): Promise<Map<string, string>> {
  return new Map(await Promise.all(hosts.map(async (h) => [h, (await probeSrvr(h, 2181))?.mode ?? 'down'] as [string, string])));
}

/**
 * The end state of the reconfig recovery, from the servers: one leader and 4 followers on 3.9.3,
 * the temporary server stopped, every member's /zookeeper/config the plan's final one, zoo.cfg
 * pointing at ZooKeeper's own dynamic file (no static server lines), the myids, and the tree
 * under /lab as `before`.
 */
export async function assertReconfigEndState(before: Map<string, string>, file = reconfigPlan, cluster = RECONFIG_CLUSTER): Promise<void> {
  const m = await modesOf([...RECONFIG_NEW.keys()]);
  assert.deepEqual([...m.values()].sort(), ['follower', 'follower', 'follower', 'follower', 'leader'], JSON.stringify([...m]));
  assert.equal(await probeSrvr('127.0.40.1', 2181), null, 'the temporary server is stopped');
  for (const h of RECONFIG_NEW.keys()) assert.match((await probeSrvr(h, 2181))!.version, /^3\.9\.3/, h);
  const expect = compiledPlan(file)
    .steps.at(-1)!
    .gates.find((g) => g.kind === 'config');
  assert.ok(expect?.kind === 'config');
  for (const h of RECONFIG_NEW.keys()) assert.equal(membersDiffer(await readConfig(h, 2181), expect.expect), null, h);
  for (const [h, id] of RECONFIG_NEW) {
    const cfg = onHost(cluster, h, 'cat /opt/zookeeper-3.9.3/conf/zoo.cfg');
    assert.match(cfg, /^dynamicConfigFile=\/opt\/zookeeper-3\.9\.3\/conf\/zoo\.cfg\.dynamic\.[0-9a-f]+$/m, h);
    assert.doesNotMatch(cfg, /^server\./m, h);
    assert.equal(onHost(cluster, h, 'cat /data/zookeeper/data/myid').trim(), String(id));
  }
  assert.deepEqual(await tree(RECONFIG_CONNECT, '/lab'), before, 'the data tree is as before the recovery');
}
