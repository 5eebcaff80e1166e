// zkroll's benchmark: what the tests only print, measured several times on the lab (real sshd
// and ZooKeeper servers on loopback addresses) and summarised as min / median / max.
//   npm run bench                 rolling plan, 3 runs
//   BENCH_RUNS=5 npm run bench    more runs
//   npm run bench -- --incident   also the Codis incident recovery (68 steps, once per run)
// Measures: lab up; SSH connect, exec round trip on one connection, 20 execs queued on one
// connection; srvr over TCP, mntr over TCP and through the AdminServer; the rolling apply
// (wall time, restart steps, elections); optionally the incident recovery. Needs root (the lab).
// Invariants: never asserts a time (a benchmark, not a test); leaves no lab behind.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatPlanError, loadPlanFile } from '../src/plan/load.js';
import type { Plan } from '../src/plan/schema.js';
import { sshTargets } from '../src/plan/helpers.js';
import { labSpecFromPlan } from '../src/lab/fromplan.js';
import { labDown, labUp } from '../src/lab/lab.js';
import { SshPool } from '../src/remote/ssh.js';
import { fourLetterWord, probeSrvr } from '../src/zk/fourlw.js';
import { adminCommand } from '../src/zk/admin.js';
import { table } from '../src/ui/table.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const zkroll = path.join(root, 'bin', 'zkroll');
const rolling = path.join(root, 'plans', 'rolling-upgrade.yaml');
const incident = path.join(root, 'plans', 'codis-incident.yaml');
const runs = Number(process.env['BENCH_RUNS'] ?? 3);
// the lab's own known_hosts and key only, as in the tests (no ~/.ssh/config)
process.env['ZKROLL_SSH_CONFIG'] = '';
const withIncident = process.argv.includes('--incident');

function load(file: string): Plan {
  const r = loadPlanFile(file);
  if (!r.ok) throw new Error(r.errors.map((e) => formatPlanError(e)).join('\n'));
  return r.plan;
}

const samples = new Map<string, number[]>();
function record(name: string, ms: number): void {
  samples.set(name, [...(samples.get(name) ?? []), ms]);
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
  steps: { id: string; durationMs: number; election: { ms: number } | null }[];
}

/** `zkroll apply <plan> --yes` in a fresh state directory; its report. */
function apply(plan: string, name: string): Report {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-bench-'));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [zkroll, 'apply', plan, '--yes'], { encoding: 'utf8', env: { ...process.env, ZKROLL_STATE_DIR: state, ZKROLL_SSH_CONFIG: '' }, timeout: 900000 });
  if (r.status !== 0) throw new Error(`bench: apply ${plan} exited ${r.status}:\n${(r.stdout + r.stderr).slice(-3000)}`);
  record(`${name}: apply --yes, wall`, performance.now() - t0);
  const cluster = load(plan).cluster.name;
  const report = JSON.parse(fs.readFileSync(path.join(state, cluster, 'report.json'), 'utf8')) as Report;
  for (const s of report.steps) {
    if (/restart/.test(s.id)) record(`${name}: restart step (stop, start, gates)`, s.durationMs);
    if (s.election) record(`${name}: election (leader lost → new leader)`, s.election.ms);
  }
  fs.rmSync(state, { recursive: true, force: true });
  return report;
}

async function up(planFile: string, name: string, znodes: number) {
  const plan = load(planFile);
  await labDown(plan.cluster.name, quiet);
  const spec = labSpecFromPlan(plan, planFile, { znodes });
  await timed(`${name}: lab up (${spec.servers.length} servers, ${znodes} znodes)`, () => labUp(spec, quiet));
  return plan;
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
  const pool = new SshPool();
  try {
    const h = await pool.get(target);
    for (let i = 0; i < 50; i++) await timed('ssh: exec `true` on one connection', () => h.exec(['true'], { timeoutMs: 10000 }));
    for (let i = 0; i < 5; i++) await timed('ssh: 20 execs at once on one connection (channel queue)', () => Promise.all(Array.from({ length: 20 }, () => h.exec(['true'], { timeoutMs: 30000 }))));
  } finally {
    await pool.closeAll();
  }
  const host = plan.servers[0]!.host;
  for (let i = 0; i < 50; i++) await timed('zk: srvr over TCP', () => probeSrvr(host, plan.cluster.ports.client));
  for (let i = 0; i < 50; i++) await timed('zk: mntr over TCP', () => fourLetterWord(host, plan.cluster.ports.client, 'mntr'));
  for (let i = 0; i < 50; i++) await timed('zk: monitor through the AdminServer', () => adminCommand(host, plan.cluster.adminPort, 'monitor'));
}

async function main(): Promise<void> {
  const t0 = Date.now();
  process.stderr.write(`bench: ${runs} run(s) of the rolling plan${withIncident ? ' and the incident recovery' : ''} on ${os.cpus().length} cores\n`);
  try {
    for (let i = 0; i < runs; i++) {
      await up(rolling, 'rolling', 50);
      if (i === 0) await probes(rolling);
      apply(rolling, 'rolling');
      await labDown(load(rolling).cluster.name, quiet);
      process.stderr.write(`bench: rolling run ${i + 1} done\n`);
      if (withIncident) {
        await up(incident, 'incident', 300);
        apply(incident, 'incident');
        await labDown(load(incident).cluster.name, quiet);
        process.stderr.write(`bench: incident run ${i + 1} done\n`);
      }
    }
  } finally {
    await labDown(load(rolling).cluster.name, quiet);
    if (withIncident) await labDown(load(incident).cluster.name, quiet);
  }
  const rows = [...samples.entries()].map(([name, xs]) => [name, String(xs.length), fmt(Math.min(...xs)), fmt(median(xs)), fmt(Math.max(...xs))]);
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
