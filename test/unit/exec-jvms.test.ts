// The executor's view of a host's ZooKeeper JVMs (src/exec/env.ts): read over SSH at most once
// per poll interval, shared by every check that asks within it, read again after a compiled
// command ran on the host. The SSH hosts are fakes that count listings; the probes are the real ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasProcess, runCommand, zkJvms, type RunEnv } from '../../src/exec/env.js';
import type { NodeRef } from '../../src/compile/types.js';
import type { SshHost } from '../../src/remote/ssh.js';
import { LIST_ZK_JVMS } from '../../src/zk/process.js';
import { liveProbes } from '../../src/exec/probes.js';
import { compile } from '../../src/compile/index.js';
import type { Plan } from '../../src/plan/schema.js';
import { loadOk, ROLLING } from './plan-fixtures.js';

interface FakeHost {
  listings: number;
  /** Exit code of the next listing. */
  listCode?: number;
  commands: string[][];
  /** What LIST_ZK_JVMS prints now. */
  jvms: string;
}

function fakeEnv(pollMs: number): { env: RunEnv; plan: Plan; hosts: Map<string, FakeHost> } {
  const plan = loadOk(ROLLING);
  plan.health.pollInterval = pollMs;
  const hosts = new Map<string, FakeHost>();
  const get = async (label: string) => {
    let h = hosts.get(label);
    if (h === undefined) hosts.set(label, (h = { listings: 0, commands: [], jvms: '' }));
    const fh = h;
    return {
      exec: async (argv: string[]) => {
        await new Promise((r) => setImmediate(r));
        if (argv[2] === LIST_ZK_JVMS) {
          fh.listings++;
          const code = fh.listCode ?? 0;
          delete fh.listCode;
          return { code, stdout: code === 0 ? fh.jvms : '', stderr: code === 0 ? '' : 'output lost', durationMs: 1, command: 'list' };
        }
        fh.commands.push(argv);
        return { code: 0, stdout: '', stderr: '', durationMs: 1, command: argv.join(' ') };
      },
    } as unknown as SshHost;
  };
  const settings = compile(plan).settings;
  const env: RunEnv = {
    settings,
    planFile: 'plans/test.yaml',
    runId: 'r1',
    hosts: get,
    probes: liveProbes(get, 1000),
    stopRequested: () => false,
    progress: () => undefined,
  };
  return { env, plan, hosts };
}

const node = (plan: Plan): NodeRef => {
  const s = plan.servers[0]!;
  return { host: s.host, myid: s.myid, home: s.home, config: s.config, dataDir: s.dataDir, dataLogDir: s.dataLogDir };
};
const jvmOf = (n: NodeRef) => `--zkroll-jvm 42\njava\n-cp\n${n.home}/lib/x.jar\norg.apache.zookeeper.server.quorum.QuorumPeerMain\n${n.config}\n`;

test('checks that ask within one poll interval share one listing', async () => {
  const { env, plan, hosts } = fakeEnv(60_000);
  const n = node(plan);
  const answers = await Promise.all([hasProcess(env, n), hasProcess(env, n, n.home), zkJvms(env, n.host)]);
  assert.deepEqual(answers.slice(0, 2), [false, false]);
  assert.equal(await hasProcess(env, n), false);
  assert.equal(hosts.get(n.host)!.listings, 1);
});

test('a compiled command on the host makes the next check list again; other hosts keep theirs', async () => {
  const { env, plan, hosts } = fakeEnv(60_000);
  const n = node(plan);
  const other = { ...n, host: plan.servers[1]!.host };
  assert.equal(await hasProcess(env, n), false);
  assert.equal(await hasProcess(env, other), false);
  hosts.get(n.host)!.jvms = jvmOf(n);
  assert.equal(await hasProcess(env, n), false, 'still the listing of this interval');
  await runCommand(env, n.host, { argv: ['zkServer.sh', 'start'], timeoutMs: 1000, does: 'start' });
  assert.equal(await hasProcess(env, n), true);
  assert.equal(await hasProcess(env, other), false);
  assert.equal(hosts.get(n.host)!.listings, 2);
  assert.equal(hosts.get(other.host)!.listings, 1);
});

test('the next poll (one interval later) lists again', async () => {
  const { env, plan, hosts } = fakeEnv(20);
  const n = node(plan);
  assert.equal(await hasProcess(env, n), false);
  hosts.get(n.host)!.jvms = jvmOf(n);
  const t0 = Date.now();
  while (!(await hasProcess(env, n))) assert.ok(Date.now() - t0 < 5000, 'a later poll sees the started JVM');
  assert.ok(Date.now() - t0 >= 20, 'not before the interval passed');
  assert.equal(hosts.get(n.host)!.listings, 2);
});

test('a listing that failed is unknown, never "not running", and is not kept', async () => {
  const { env, plan, hosts } = fakeEnv(60_000);
  const n = node(plan);
  await hasProcess(env, n);
  const h = hosts.get(n.host)!;
  h.jvms = jvmOf(n);
  await runCommand(env, n.host, { argv: ['zkServer.sh', 'start'], timeoutMs: 1000, does: 'start' });
  h.listCode = 255;
  await assert.rejects(hasProcess(env, n), /could not list the ZooKeeper processes on .*exit 255.*output lost/);
  assert.equal(await hasProcess(env, n), true, 'asked again, not the failure remembered');
  assert.equal(h.listings, 3);
});
