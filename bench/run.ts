// zkroll's benchmark: what the tests only print, measured several times on the lab (real sshd
// and ZooKeeper servers on loopback addresses) and summarised as min / median / max.
//   npm run bench                 rolling plan, 3 runs
//   BENCH_RUNS=5 npm run bench    more runs
//   npm run bench -- --incident   also the Codis incident recovery (68 steps, once per run)
//   npm run bench -- --reconfig   also the seed procedure by membership, side by side: reconfig
//                                 onto 3.9.3 and 3.8.0, restart (static) onto 3.8.0 (membership.ts)
//   npm run bench -- --reconfig --only   just that (no version starts, no rolling plans)
//   BENCH_LOGIN_DELAY=0 npm run bench   lab hosts without the slow startup file (default 1000 ms)
//   BENCH_DATA_MB=1024 (default)        with --incident: the lab is loaded with this many MiB of
//                                       znodes (lab up --data-mb: 1024 znodes per MiB), so the
//                                       seed copy, the data checks, the split window and verify
//                                       work on production-size data
// With --incident, on that data: zkroll's peak memory; the seed copy's throughput against a
// plain `cat` of the same files between the same hosts (two ssh clients piped); `zkroll verify`
// of the whole tree on the 5 servers; the wall time against the servers' own start-to-serving
// time (floor.ts); and the same recovery run with fixed waits as a playbook does it (every gate
// polls every 5 s: the first poll comes as the server has just been started, which never serves
// yet, so it is "sleep 5 s, then poll every 5 s"), each printed next to its goal.
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
import { compile } from '../src/compile/index.js';
import { runPlan } from '../src/run/driver.js';
import { shellEvent, SshHost, SshPool } from '../src/remote/ssh.js';
import { StartPoller } from './floor.js';
import { fourLetterWord, probeSrvr } from '../src/zk/fourlw.js';
import { adminCommand } from '../src/zk/admin.js';
import { table } from '../src/ui/table.js';
import { versionStarts } from './versions.js';
import { membershipVariants, newLeaders, type Variant } from './membership.js';
import { startWriter } from '../test/lab/helpers.js';
import { ZkClient } from '../src/zk/client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const zkroll = path.join(root, 'bin', 'zkroll');
const rolling = path.join(root, 'plans', 'rolling-upgrade.yaml');
const incident = path.join(root, 'plans', 'codis-incident.yaml');
const upgrade34 = path.join(root, 'plans', 'upgrade-3.4-to-3.8.yaml');
const runs = Number(process.env['BENCH_RUNS'] ?? 3);
// the lab's own known_hosts and key only, as in the tests (no ~/.ssh/config)
process.env['ZKROLL_SSH_CONFIG'] = '';
const withIncident = process.argv.includes('--incident');
const withReconfig = process.argv.includes('--reconfig');
const only = process.argv.includes('--only');
const reconfigPlan = path.join(root, 'plans', 'codis-incident-reconfig.yaml');
const loginDelayMs = Number(process.env['BENCH_LOGIN_DELAY'] ?? 1000);
const dataMb = Number(process.env['BENCH_DATA_MB'] ?? 1024);

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
  record(`${name}: new leaders in the run (elections and hand-offs, states.jsonl)`, newLeaders(path.join(dir, 'states.jsonl')), 'n');
  record(`${name}: logins (remote shells started)`, shells.length, 'n');
  fs.rmSync(state, { recursive: true, force: true });
  return report;
}

async function up(planFile: string, name: string, znodes: number, mb = 0) {
  const plan = load(planFile);
  await labDown(plan.cluster.name, quiet);
  const spec = labSpecFromPlan(plan, planFile, { znodes, loginDelayMs, dataMb: mb });
  const data = mb > 0 ? `${znodes} znodes and ${mb} MiB more` : `${znodes} znodes`;
  await timed(`${name}: lab up (${spec.servers.length} servers, ${data})`, () => labUp(spec, quiet));
  return plan;
}

/** The old ensemble's leader now (the seed the copy will stream from). */
async function leaderOf(plan: Plan): Promise<Plan['servers'][number]> {
  for (const s of plan.servers) {
    const r = await probeSrvr(s.host, plan.cluster.ports.client, 1000);
    if (r?.mode === 'leader') return s;
  }
  throw new Error('bench: the old ensemble has no leader');
}

/**
 * The baseline of the seed copy: a plain `cat` of the seed's version-2 files (dataDir and
 * dataLogDir) on the leader, piped by two OpenSSH clients into a file beside the temporary
 * server's dataDir (removed after), between the same hosts. MiB/s.
 */
async function catBaseline(plan: Plan, name: string): Promise<void> {
  const from = await leaderOf(plan);
  const to = plan.strategy.kind === 'rebuild' ? plan.strategy.temporary : null;
  if (to === null) return;
  const lab = readState(labDir(plan.cluster.name))!;
  const ssh = (ip: string) => {
    const port = lab.hosts.find((h) => h.ip === ip)!.sshPort;
    return `ssh -p ${port} -i ${plan.ssh.identityFile} -o UserKnownHostsFile=${plan.ssh.knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes ${plan.ssh.user}@${ip}`;
  };
  const sink = `${to.dataDir}.zkroll-bench-cat`;
  const pipeline = `${ssh(from.host)} 'cat ${from.dataDir}/version-2/* ${from.dataLogDir}/version-2/*' | ${ssh(to.host)} 'cat > ${sink}; stat -c %s ${sink}; rm -f ${sink}'`;
  const t0 = performance.now();
  const r = await spawnAsync(['/bin/sh', '-c', pipeline], process.env, true);
  const secs = (performance.now() - t0) / 1000;
  const bytes = Number(/^(\d+)$/m.exec(r.out)?.[1] ?? NaN);
  if (r.code !== 0 || !Number.isFinite(bytes)) throw new Error(`bench: cat baseline failed (${r.code}): ${r.out.slice(-500)}`);
  record(`${name}: plain cat of the seed's files, host to host, MiB/s`, bytes / 1048576 / secs, 'n');
}

/** `zkroll verify` of the whole tree on every serving server, timed. */
async function verifyTimed(planFile: string, name: string): Promise<void> {
  const t0 = performance.now();
  const r = await spawnAsync([zkroll, 'verify', planFile], { ...process.env, ZKROLL_SSH_CONFIG: '' });
  const ms = performance.now() - t0;
  const m = /compared (\d+) paths on (\d+) serving servers .* by (.+?)(;|$)/m.exec(r.out);
  if (r.code !== 0 || !m) throw new Error(`bench: verify exited ${r.code}: ${r.out.slice(-1000)}`);
  record(`${name}: verify, ${m[1]} znodes on ${m[2]} servers (${m[3]})`, ms);
}

/**
 * The same recovery with fixed waits: compiled as zkroll compiles it, with every gate polling
 * every 5 s, run in this process through the run driver (its own state dir), wall time and
 * servers' own start-to-serving time recorded like apply().
 */
async function playbook(planFile: string, name: string): Promise<void> {
  const plan = load(planFile);
  const compiled = compile(plan);
  compiled.settings.pollIntervalMs = 5000;
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-bench-'));
  process.env['ZKROLL_STATE_DIR'] = state;
  const lab = readState(labDir(plan.cluster.name))!;
  const poller = new StartPoller(new Map(lab.hosts.map((h) => [h.ns, h.ip])), plan.cluster.ports.client);
  poller.start();
  const t0 = performance.now();
  const progress = { start: quiet, update: quiet, succeed: quiet, fail: quiet, info: quiet, stop: quiet };
  let end: string;
  try {
    end = await runPlan(
      { plan, planFile, compiled, resume: false, stopRequested: () => false },
      { out: quiet, progress, ask: null, render: () => '', health: async () => '', warn: quiet },
    );
  } finally {
    delete process.env['ZKROLL_STATE_DIR'];
  }
  const wall = performance.now() - t0;
  const starts = await poller.stop();
  fs.rmSync(state, { recursive: true, force: true });
  if (end !== 'done') throw new Error(`bench: the fixed-waits run ended ${end}`);
  const floor = starts.reduce((s, x) => s + x.ms, 0);
  record(`${name}: fixed waits (sleep 5 s, poll every 5 s), wall`, wall);
  record(`${name}: fixed waits, wall / servers' own start-to-serving`, wall / floor, 'x');
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

/** The median of the row whose name starts with `prefix` (null when there is none). */
function medianOf(prefix: string): number | null {
  const row = [...samples.entries()].find(([n]) => n.startsWith(prefix));
  return row ? median(row[1]) : null;
}

/** The issue's goals for the incident on production-size data, each next to what was measured (medians). */
function goals(name: string): string {
  const ratio = medianOf(`${name}: wall / servers' own`);
  const copy = medianOf(`${name}: seed copy, MiB/s`);
  const cat = medianOf(`${name}: plain cat`);
  const rss = medianOf(`${name}: zkroll's peak resident memory`);
  const verify = medianOf(`${name}: verify,`);
  const baseline = medianOf(`${name}: fixed waits, wall /`);
  const row = (what: string, v: number | null, shown: (v: number) => string, goal: string, met: (v: number) => boolean) => [
    what,
    v === null ? 'not measured' : shown(v),
    goal,
    v === null ? '-' : met(v) ? 'met' : 'NOT met',
  ];
  const rows = [
    row(
      "wall / servers' own start-to-serving",
      ratio,
      (v) => `${v.toFixed(2)}×`,
      '≤ 1.3×',
      (v) => v <= 1.3,
    ),
    row(
      'seed copy / plain cat (throughput)',
      copy !== null && cat !== null ? copy / cat : null,
      (v) => `${(v * 100).toFixed(0)} %`,
      '≥ 80 %',
      (v) => v >= 0.8,
    ),
    row(
      "zkroll's peak resident memory",
      rss,
      (v) => `${(v * 1.048576).toFixed(0)} MB`,
      '≤ 200 MB',
      (v) => v * 1.048576 <= 200,
    ),
    row('verify of every znode on 5 servers', verify, fmt, '≤ 60 s', (v) => v <= 60000),
    row(
      'baseline: fixed waits, wall / floor',
      baseline,
      (v) => `${v.toFixed(2)}×`,
      '(playbook)',
      () => true,
    ),
  ];
  return `goals (${name}):\n${table(['what', 'measured', 'goal', ''], rows)}`;
}

/**
 * One membership variant (bench/membership.ts): lab up, a client creating a znode every 10 ms
 * on the old ensemble's hosts all through apply, then how many of its acknowledged writes the
 * new ensemble lacks.
 */
async function membershipRun(v: Variant): Promise<void> {
  const plan = await up(v.file, v.name, 300);
  const live = plan.servers.filter((s) => !plan.lab.down.includes(s.myid));
  const writer = startWriter(live.map((s) => `${s.host}:${plan.cluster.ports.client}`).join(','));
  try {
    await apply(v.file, v.name);
  } finally {
    const acked = await writer.stop();
    record(`${v.name}: writes acknowledged during the run`, acked.length, 'n');
    const zk = await ZkClient.connect(plan.servers.map((s) => `${s.host}:${plan.cluster.ports.client}`).join(','), 10000);
    const present = new Set(await zk.getChildren('/writer'));
    zk.close();
    record(`${v.name}: acknowledged writes lost`, acked.filter((p) => !present.has(p.slice('/writer/'.length))).length, 'n');
    await labDown(v.cluster, quiet);
  }
}

/** The memberships side by side: the compiled plan's counts, then the measured medians. */
function membershipTable(variants: Variant[]): string {
  const med = (name: string) => {
    const xs = samples.get(name);
    return xs === undefined ? '-' : String(Math.round(median(xs) * 10) / 10);
  };
  const rows = variants.map((v) => {
    const t = compile(load(v.file)).totals;
    const wall = samples.get(`${v.name}: apply --yes, wall`);
    return [
      v.name,
      String(t.steps),
      `${t.starts}/${t.stops}`,
      String(t.restarts),
      String(t.reconfigs),
      `${t.elections}${t.maybeElections ? ` (+${t.maybeElections})` : ''}`,
      med(`${v.name}: new leaders in the run (elections and hand-offs, states.jsonl)`),
      wall ? fmt(median(wall)) : '-',
      med(`${v.name}: writes acknowledged during the run`),
      med(`${v.name}: acknowledged writes lost`),
    ];
  });
  rows.push(['restart → 3.9.3', 'refused', '', '', '', '', '', '', '', '']);
  return `the seed procedure by membership (${runs} run${runs === 1 ? '' : 's'}, medians; restart → 3.9.3 is refused: ZOOKEEPER-4925-rebuild):\n${table(
    ['membership → target', 'steps', 'starts/stops', 'restarts', 'reconfigs', 'elections planned', 'new leaders measured', 'wall', 'acked writes', 'lost'],
    rows,
  )}`;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  process.stderr.write(
    `bench: ${runs} run(s) of the rolling plan${withIncident ? ' and the incident recovery' : ''} on ${os.cpus().length} cores; lab logins cost ${loginDelayMs} ms more\n`,
  );
  const variants = withReconfig ? membershipVariants(reconfigPlan) : [];
  try {
    const sources = labSpecFromPlan(load(rolling), rolling).releases;
    if (!only) await versionStarts(['3.4.6', '3.4.13', '3.8.0', '3.9.3'], sources, 5, (n, ms) => record(n, ms));
    process.stderr.write('bench: start-to-serving per version done\n');
    for (let i = 0; i < runs; i++) {
      if (withReconfig) {
        for (const v of variants) await membershipRun(v);
        process.stderr.write(`bench: membership run ${i + 1} done\n`);
      }
      if (only) continue;
      await up(upgrade34, 'upgrade 3.4.13 → 3.8.0', 50);
      await apply(upgrade34, 'upgrade 3.4.13 → 3.8.0');
      await labDown(load(upgrade34).cluster.name, quiet);
      await up(rolling, 'rolling', 50);
      if (i === 0) await probes(rolling);
      await apply(rolling, 'rolling');
      await labDown(load(rolling).cluster.name, quiet);
      process.stderr.write(`bench: rolling run ${i + 1} done\n`);
      if (withIncident) {
        const name = `incident, ${dataMb} MiB`;
        await up(incident, name, 300, dataMb);
        await catBaseline(load(incident), name);
        await apply(incident, name);
        await verifyTimed(incident, name);
        await up(incident, name, 300, dataMb);
        await playbook(incident, name);
        await labDown(load(incident).cluster.name, quiet);
        process.stderr.write(`bench: incident run ${i + 1} done\n`);
      }
    }
  } finally {
    await labDown(load(rolling).cluster.name, quiet);
    await labDown(load(upgrade34).cluster.name, quiet);
    if (withIncident) await labDown(load(incident).cluster.name, quiet);
    for (const v of variants) await labDown(v.cluster, quiet);
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
  if (withIncident) process.stdout.write(`\n${goals(`incident, ${dataMb} MiB`)}\n`);
  if (withReconfig) process.stdout.write(`\n${membershipTable(variants)}\n`);
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
