// zkroll's benchmark: what the tests only print, measured several times on the lab (real sshd
// and ZooKeeper servers on loopback addresses) and summarised as min / median / max.
//   npm run bench                 rolling plan, 3 runs
//   BENCH_RUNS=5 npm run bench    more runs
//   npm run bench -- --incident   also the Codis incident recovery (68 steps, once per run)
//   BENCH_LOGIN_DELAY=0 npm run bench   lab hosts without the slow startup file (default 1000 ms)
//   BENCH_SEED_MIB=1024 (default)       with --incident: a ballast file of this size in each old
//                                       server's dataDir, so the seed copy streams that much
// Also: each real release (3.4.6, 3.4.13, 3.8.0, 3.9.3) started standalone 5 times, start to
// serving (bench/versions.ts), and the 3.4.13 → 3.8.0 upgrade (ZOOKEEPER-3056) once per run.
// Measures: lab up; SSH connect, the remote shell's start (the one login, whose startup file
// sleeps BENCH_LOGIN_DELAY ms on every lab host), a command's round trip in it, 20 at once, and
// a command on an exec channel of its own (a login each, ZKROLL_REMOTE_SHELL=off); srvr over
// TCP, mntr over TCP and through the AdminServer; the rolling apply (wall time, restart steps,
// elections, every remote command of the run from its audit log); optionally the incident
// recovery; for each apply, the servers' own start-to-serving time (an independent poller,
// bench/floor.ts) and the ratio of the wall time to it. Needs root (the lab).
// Invariants: never asserts a time (a benchmark, not a test); leaves no lab behind.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatPlanError, loadPlanFile } from '../src/plan/load.js';
import type { Plan } from '../src/plan/schema.js';
import { sshTargets } from '../src/plan/helpers.js';
import { labSpecFromPlan } from '../src/lab/fromplan.js';
import { labDir, labDown, labUp, readState } from '../src/lab/lab.js';
import { encodeRoot } from '../src/lab/spec.js';
import { shellEvent, SshHost, SshPool } from '../src/remote/ssh.js';
import { StartPoller } from './floor.js';
import { fourLetterWord, probeSrvr } from '../src/zk/fourlw.js';
import { adminCommand } from '../src/zk/admin.js';
import { table } from '../src/ui/table.js';
import { versionStarts } from './versions.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const zkroll = path.join(root, 'bin', 'zkroll');
const rolling = path.join(root, 'plans', 'rolling-upgrade.yaml');
const incident = path.join(root, 'plans', 'codis-incident.yaml');
const upgrade34 = path.join(root, 'plans', 'upgrade-3.4-to-3.8.yaml');
const runs = Number(process.env['BENCH_RUNS'] ?? 3);
// the lab's own known_hosts and key only, as in the tests (no ~/.ssh/config)
process.env['ZKROLL_SSH_CONFIG'] = '';
const withIncident = process.argv.includes('--incident');
const loginDelayMs = Number(process.env['BENCH_LOGIN_DELAY'] ?? 1000);
const seedMib = Number(process.env['BENCH_SEED_MIB'] ?? 1024);

function load(file: string): Plan {
  const r = loadPlanFile(file);
  if (!r.ok) throw new Error(r.errors.map((e) => formatPlanError(e)).join('\n'));
  return r.plan;
}

const samples = new Map<string, number[]>();
/** Rows whose samples are not milliseconds: a ratio (×) or a count. */
const units = new Map<string, 'x' | 'n'>();
function record(name: string, v: number, unit?: 'x' | 'n'): void {
  samples.set(name, [...(samples.get(name) ?? []), v]);
  if (unit !== undefined) units.set(name, unit);
}

async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await f();
  record(name, performance.now() - t0);
  return r;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (ms: number) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`);
const quiet = () => undefined;

interface Report {
  state: string;
  steps: { id: string; durationMs: number; election: { ms: number } | null; notes: string[] }[];
}

function spawnAsync(args: string[], env: NodeJS.ProcessEnv, asIs = false): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = asIs
      ? spawn(args[0]!, args.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 900000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** `zkroll apply <plan> --yes` in a fresh state directory, with the servers' own start times polled beside it. */
async function apply(plan: string, name: string): Promise<Report> {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-bench-'));
  const p = load(plan);
  const lab = readState(labDir(p.cluster.name));
  if (lab === null) throw new Error(`bench: the lab of ${plan} is not up`);
  const poller = new StartPoller(new Map(lab.hosts.map((h) => [h.ns, h.ip])), p.cluster.ports.client);
  poller.start();
  const t0 = performance.now();
  // GNU time reports zkroll's peak resident memory (kB) on its last stderr line
  const r = await spawnAsync(
    ['/usr/bin/time', '-f', 'zkroll-max-rss-kb=%M', process.execPath, zkroll, 'apply', plan, '--yes'],
    { ...process.env, ZKROLL_STATE_DIR: state, ZKROLL_SSH_CONFIG: '' },
    true,
  );
  const wall = performance.now() - t0;
  const rss = /zkroll-max-rss-kb=(\d+)/.exec(r.out)?.[1];
  if (rss !== undefined) record(`${name}: zkroll's peak resident memory (MiB)`, Number(rss) / 1024, 'n');
  const starts = await poller.stop();
  if (r.code !== 0) throw new Error(`bench: apply ${plan} exited ${r.code}:\n${r.out.slice(-3000)}`);
  record(`${name}: apply --yes, wall`, wall);
  const floor = starts.reduce((s, x) => s + x.ms, 0);
  record(`${name}: servers' own start-to-serving, summed (${starts.length} starts)`, floor);
  record(`${name}: wall / servers' own start-to-serving`, wall / floor, 'x');
  const dir = path.join(state, p.cluster.name);
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as Report;
  for (const s of report.steps) {
    if (s.id === 'seed/copy') {
      const copied = s.notes.map((n) => /: (\d+) bytes in ([\d.]+) s$/.exec(n)).filter((m) => m !== null);
      const bytes = copied.reduce((a, m) => a + Number(m[1]), 0);
      const secs = copied.reduce((a, m) => a + Number(m[2]), 0);
      record(`${name}: seed copy, MiB streamed`, bytes / 1048576, 'n');
      if (secs > 0) record(`${name}: seed copy, MiB/s`, bytes / 1048576 / secs, 'n');
    }
    if (/restart/.test(s.id)) record(`${name}: restart step (stop, start, gates)`, s.durationMs);
    if (s.election) record(`${name}: election (leader lost → new leader)`, s.election.ms);
  }
  const audit = fs
    .readFileSync(path.join(dir, 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { command: string; durationMs: number });
  const shells = audit.filter((a) => ['started', 'restarted'].includes(shellEvent(a.command) ?? ''));
  for (const a of audit)
    if (shellEvent(a.command) === null && !a.command.startsWith('sftp ')) record(`${name}: remote command in the run (audit log)`, a.durationMs);
  for (const a of shells) record(`${name}: remote shell start (the one login per host)`, a.durationMs);
  record(`${name}: logins (remote shells started)`, shells.length, 'n');
  fs.rmSync(state, { recursive: true, force: true });
  return report;
}

async function up(planFile: string, name: string, znodes: number) {
  const plan = load(planFile);
  await labDown(plan.cluster.name, quiet);
  const spec = labSpecFromPlan(plan, planFile, { znodes, loginDelayMs });
  await timed(`${name}: lab up (${spec.servers.length} servers, ${znodes} znodes)`, () => labUp(spec, quiet));
  return plan;
}

/** A file of `mib` MiB in version-2 of each serving old server's dataDir (ZooKeeper ignores it; the seed copy streams it). */
function ballast(plan: Plan, mib: number): void {
  const lab = readState(labDir(plan.cluster.name))!;
  for (const s of plan.servers.filter((x) => !plan.lab.down.includes(x.myid))) {
    const dir = path.join(
      labDir(plan.cluster.name),
      'hosts',
      s.host,
      'fs',
      encodeRoot(lab.roots.find((r) => s.dataDir.startsWith(r))!),
      s.dataDir.slice(lab.roots.find((r) => s.dataDir.startsWith(r))!.length),
      'version-2',
    );
    const fd = fs.openSync(path.join(dir, 'zkroll-bench-ballast'), 'w');
    const chunk = Buffer.alloc(1048576, 0x5a);
    for (let i = 0; i < mib; i++) fs.writeSync(fd, chunk);
    fs.closeSync(fd);
  }
}

async function probes(planFile: string): Promise<void> {
  const plan = load(planFile);
  const [target] = sshTargets(plan, planFile);
  if (!target) return;
  for (let i = 0; i < 5; i++) {
    const pool = new SshPool();
    await timed('ssh: connect (handshake, key auth, strict host key)', () => pool.get(target));
    await pool.closeAll();
  }
  const login = `${loginDelayMs} ms startup file`;
  for (let i = 0; i < 5; i++) {
    const pool = new SshPool();
    const h = await pool.get(target);
    await timed(`ssh: remote shell start (the login, ${login})`, () => h.exec(['true'], { timeoutMs: 10000 }));
    await pool.closeAll();
  }
  const pool = new SshPool();
  try {
    const h = await pool.get(target);
    await h.exec(['true'], { timeoutMs: 10000 });
    for (let i = 0; i < 200; i++) await timed(`ssh: remote command \`true\` (one remote shell, ${login})`, () => h.exec(['true'], { timeoutMs: 10000 }));
    for (let i = 0; i < 5; i++)
      await timed('ssh: 20 commands at once in one remote shell', () => Promise.all(Array.from({ length: 20 }, () => h.exec(['true'], { timeoutMs: 30000 }))));
  } finally {
    await pool.closeAll();
  }
  const own = await SshHost.connect(target, { remoteShell: false });
  try {
    for (let i = 0; i < 5; i++)
      await timed(`ssh: \`true\` on an exec channel of its own (a login each, ${login})`, () => own.exec(['true'], { timeoutMs: 10000 }));
  } finally {
    await own.close();
  }
  const host = plan.servers[0]!.host;
  for (let i = 0; i < 50; i++) await timed('zk: srvr over TCP', () => probeSrvr(host, plan.cluster.ports.client));
  for (let i = 0; i < 50; i++) await timed('zk: mntr over TCP', () => fourLetterWord(host, plan.cluster.ports.client, 'mntr'));
  for (let i = 0; i < 50; i++) await timed('zk: monitor through the AdminServer', () => adminCommand(host, plan.cluster.adminPort, 'monitor'));
}

async function main(): Promise<void> {
  const t0 = Date.now();
  process.stderr.write(
    `bench: ${runs} run(s) of the rolling plan${withIncident ? ' and the incident recovery' : ''} on ${os.cpus().length} cores; lab logins cost ${loginDelayMs} ms more\n`,
  );
  try {
    const sources = labSpecFromPlan(load(rolling), rolling).releases;
    await versionStarts(['3.4.6', '3.4.13', '3.8.0', '3.9.3'], sources, 5, (n, ms) => record(n, ms));
    process.stderr.write('bench: start-to-serving per version done\n');
    for (let i = 0; i < runs; i++) {
      await up(upgrade34, 'upgrade 3.4.13 → 3.8.0', 50);
      await apply(upgrade34, 'upgrade 3.4.13 → 3.8.0');
      await labDown(load(upgrade34).cluster.name, quiet);
      await up(rolling, 'rolling', 50);
      if (i === 0) await probes(rolling);
      await apply(rolling, 'rolling');
      await labDown(load(rolling).cluster.name, quiet);
      process.stderr.write(`bench: rolling run ${i + 1} done\n`);
      if (withIncident) {
        await up(incident, 'incident', 300);
        if (seedMib > 0) ballast(load(incident), seedMib);
        await apply(incident, 'incident');
        await labDown(load(incident).cluster.name, quiet);
        process.stderr.write(`bench: incident run ${i + 1} done\n`);
      }
    }
  } finally {
    await labDown(load(rolling).cluster.name, quiet);
    await labDown(load(upgrade34).cluster.name, quiet);
    if (withIncident) await labDown(load(incident).cluster.name, quiet);
  }
  const show = (name: string, v: number): string =>
    units.get(name) === 'x' ? `${v.toFixed(2)}×` : units.get(name) === 'n' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : fmt(v);
  const rows = [...samples.entries()].map(([name, xs]) => [
    name,
    String(xs.length),
    show(name, Math.min(...xs)),
    show(name, median(xs)),
    show(name, Math.max(...xs)),
  ]);
  process.stdout.write(`${table(['what', 'n', 'min', 'median', 'max'], rows, [1, 2, 3, 4])}\n`);
  process.stdout.write(`\nbench: ${((Date.now() - t0) / 1000).toFixed(0)} s in all; node ${process.version}\n`);
}

if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`bench: BENCH_RUNS must be a whole number of runs, not ${process.env['BENCH_RUNS']}\n`);
  process.exitCode = 2;
} else {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
