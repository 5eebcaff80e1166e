// The executor's view of a host's ZooKeeper JVMs (src/exec/env.ts): read over SSH at most once
// per poll interval, shared by every check that asks within it, read again after a compiled
// command ran on the host. The SSH hosts are fakes that count listings; the probes are the real ones.
// Configs are compared as the host resolves them (readlink -f, answered by the fake from a table).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasProcess, runCommand, StepError, zkJvms, type RunEnv } from '../../src/exec/env.js';
import type { NodeRef } from '../../src/compile/types.js';
import type { SshHost } from '../../src/remote/ssh.js';
import { LIST_ZK_JVMS, RESOLVE_PATH } from '../../src/zk/process.js';
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
  /** What `readlink -f` answers for a path (nothing when absent); how often it was asked. */
  realpaths: Record<string, string>;
  resolves: number;
}

function fakeEnv(pollMs: number): { env: RunEnv; plan: Plan; hosts: Map<string, FakeHost> } {
  const plan = loadOk(ROLLING);
  plan.health.pollInterval = pollMs;
  const hosts = new Map<string, FakeHost>();
  const get = async (label: string) => {
    let h = hosts.get(label);
    if (h === undefined) hosts.set(label, (h = { listings: 0, commands: [], jvms: '', realpaths: {}, resolves: 0 }));
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
        if (argv[2] === RESOLVE_PATH) {
          fh.resolves++;
          const real = fh.realpaths[argv[4] ?? ''];
          return { code: 0, stdout: real === undefined ? '' : `${real}\n`, stderr: '', durationMs: 1, command: 'readlink' };
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
const jvmOf = (n: NodeRef) =>
  `--zkroll-jvm 42\n--zkroll-config ${n.config}\njava\n-cp\n${n.home}/lib/x.jar\norg.apache.zookeeper.server.quorum.QuorumPeerMain\n${n.config}\n`;

/** The command line of a server started with plain `zkServer.sh start` (test/fixtures/realworld/jvm-started-without-config). */
const cmdline = fs.readFileSync(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/realworld/jvm-started-without-config/cmdline.txt'),
  'utf8',
);
/** LIST_ZK_JVMS output for that JVM, its config resolved on the host to `resolved` ('' when it could not be). */
const listed = (pid: number, resolved: string) => `--zkroll-jvm ${pid}\n--zkroll-config ${resolved}\n${cmdline}`;

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

test('a server started as <home>/bin/../conf/zoo.cfg is found by its config resolved on the host', async () => {
  const { env, plan, hosts } = fakeEnv(60_000);
  // the plan names the config through a symlinked directory; the JVM through bin/..
  const n = { ...node(plan), config: '/etc/zookeeper/conf/zoo.cfg', home: '/opt/zookeeper' };
  await env.hosts(n.host);
  const h = hosts.get(n.host)!;
  h.realpaths = { '/etc/zookeeper/conf/zoo.cfg': '/opt/zookeeper-3.7.1/conf/zoo.cfg', '/opt/zookeeper': '/opt/zookeeper-3.7.1' };
  h.jvms = listed(4242, '/opt/zookeeper-3.7.1/conf/zoo.cfg');
  assert.equal(await hasProcess(env, n), true);
  assert.equal(await hasProcess(env, n, n.home), true, 'the classpath names the home as written');
  assert.equal(await hasProcess(env, { ...n, config: '/opt/zookeeper-3.7.1/conf/zoo.cfg.bak' }), false);
  assert.equal(h.listings, 1);
  assert.equal(h.resolves, 3, 'one readlink per path per run, whatever the number of checks');
  await hasProcess(env, n);
  assert.equal(h.resolves, 3);
});

test('a ZooKeeper JVM whose config cannot be resolved is never "not running"', async () => {
  const { env, plan, hosts } = fakeEnv(60_000);
  const n = node(plan);
  await hasProcess(env, n);
  const h = hosts.get(n.host)!;
  h.jvms = listed(4242, '');
  await runCommand(env, n.host, { argv: ['true'], timeoutMs: 1000, does: 'anything' });
  await assert.rejects(hasProcess(env, n), (e: unknown) => {
    assert.ok(e instanceof StepError);
    assert.match(e.message, /JVM 4242 runs with config "\/opt\/zookeeper\/bin\/\.\.\/conf\/zoo\.cfg", which could not be resolved/);
    return true;
  });
  // another JVM that does match answers for itself
  h.jvms = `${listed(4242, '')}${jvmOf(n)}`;
  await runCommand(env, n.host, { argv: ['true'], timeoutMs: 1000, does: 'anything' });
  assert.equal(await hasProcess(env, n), true);
  // with a home, only JVMs from that home are in question
  h.jvms = listed(4242, '');
  await runCommand(env, n.host, { argv: ['true'], timeoutMs: 1000, does: 'anything' });
  assert.equal(await hasProcess(env, n, '/opt/somewhere-else'), false);
});
