// `npm run demo` (an entry point of its own, beside main.ts): rehearse the Codis incident on
// the lab. Lab up in the incident state → `zkroll apply plans/codis-incident.yaml --yes` (the
// real CLI, as an operator runs it) → end-state check → a short summary → lab down
// (`npm run demo -- --keep` leaves the lab up). The run's report.html is drawn again with a
// lane per lab client (the writer and the Java clients of two releases: their outages and
// errors; the run itself knows nothing of the lab's clients).
// Invariants: always tears down what it started unless --keep, also on failure; exits non-zero
// when the recovery or the end-state check fails.
import { hexZxid } from '../zk/zxid.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../compile/index.js';
import { loadPlanFile, formatPlanError } from '../plan/load.js';
import { labSpecFromPlan } from '../lab/fromplan.js';
import { labClients, labDown, labUp } from '../lab/lab.js';
import { writeReportHtml } from '../report/write.js';
import { fourLetterWord, probeSrvr } from '../zk/fourlw.js';
import { readMonitor } from '../zk/monitor.js';
import { ZkClient } from '../zk/client.js';
import { table } from '../ui/table.js';
import { shellEvent } from '../remote/ssh.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const planFile = path.relative(process.cwd(), path.join(root, 'plans', 'codis-incident.yaml'));
const keep = process.argv.includes('--keep');
const say = (s: string) => process.stdout.write(s + '\n');

function zkroll(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'zkroll'), ...args], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  const loaded = loadPlanFile(planFile);
  if (!loaded.ok) {
    loaded.errors.forEach((e) => say(formatPlanError(e)));
    return 2;
  }
  const plan = loaded.plan;
  const spec = labSpecFromPlan(plan, planFile);
  const totals = compile(plan).totals;
  say(`== zkroll demo: rehearse the Codis incident (${planFile}) ==\n`);
  const up = await labUp(spec, (l) => say(`lab: ${l}`));
  try {
    const versions = await Promise.all(
      plan.servers.map(
        async (s) => (await fourLetterWord(s.host, plan.cluster.ports.client, 'srvr').catch(() => '')).match(/^Zookeeper version: ([^,\n]+)/m)?.[1],
      ),
    );
    say(
      `lab up in ${up.seconds.toFixed(1)} s: a 5-server config of real ZooKeeper ${[...new Set(versions.filter(Boolean))].join(', ') || plan.cluster.version}, serving ${up.serving.join(', ')} (leader ${up.leader}), down ${up.down.join(', ')}${spec.deadListeners ? `; election listeners killed by ${spec.deadListeners === 'port-scan' ? 'a malformed header (ZOOKEEPER-2186)' : 'the agent'}` : ''}\n`,
    );
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-demo-state-'));
    const t0 = Date.now();
    const code = await zkroll(['apply', planFile, '--yes'], { ...process.env, ZKROLL_STATE_DIR: stateDir });
    const seconds = (Date.now() - t0) / 1000;
    const runDir = path.join(stateDir, plan.cluster.name);
    const clients = labClients(spec.cluster);
    const drawn = writeReportHtml(runDir, { cluster: plan.cluster.name, clients });
    say(
      drawn
        ? `\ndemo: could not draw report.html: ${drawn.message}`
        : `\npicture of the run, with the outages of ${clients.map((c) => c.name).join(', ') || 'no client'}: ${path.join(runDir, 'report.html')}`,
    );
    if (code !== 0) {
      say(`\ndemo: zkroll apply exited ${code}; run state and report in ${stateDir}`);
      return 1;
    }
    say('\n== end state ==');
    const hosts = plan.servers.map((s) => s.host);
    const rows = await Promise.all(
      hosts.map(async (h) => {
        const srvr = await probeSrvr(h, plan.cluster.ports.client, 2000, { adminPort: plan.cluster.adminPort }).catch(() => null);
        const version = srvr
          ? ((await fourLetterWord(h, plan.cluster.ports.client, 'srvr').catch(() => '')).match(/^Zookeeper version: ([^,\n]+)/m)?.[1] ?? '-')
          : '-';
        const conf = srvr ? await fourLetterWord(h, plan.cluster.ports.client, 'conf').catch(() => '') : '';
        const myid = /^serverId=(\d+)$/m.exec(conf)?.[1] ?? '-';
        return { h, srvr, myid, version };
      }),
    );
    say(
      table(
        ['host', 'myid', 'mode', 'version', 'zxid', 'znodes'],
        rows.map((r) => [r.h, r.myid, r.srvr?.mode ?? 'DOWN', r.version, hexZxid(r.srvr?.zxid), String(r.srvr?.nodeCount ?? '-')]),
      ),
    );
    const leader = rows.find((r) => r.srvr?.mode === 'leader');
    const monitor = leader ? await readMonitor(leader.h, plan.cluster.ports.client, plan.cluster.adminPort) : null;
    const synced = monitor?.via ? monitor.values.get('zk_synced_followers') : undefined;
    const zk = await ZkClient.connect(hosts.map((h) => `${h}:${plan.cluster.ports.client}`).join(','), 10000);
    let data = 0;
    let proxies = 0;
    try {
      data = (await zk.getChildren('/lab/data')).length;
      for (const c of await zk.getChildren('/jodis/codis-demo'))
        if (String((await zk.exists(`/jodis/codis-demo/${c}`))?.ephemeralOwner ?? '0') !== '0') proxies++;
    } finally {
      zk.close();
    }
    const onTarget = rows.every((r) => r.srvr?.version === plan.target.version);
    const ok =
      onTarget &&
      leader !== undefined &&
      synced === String(hosts.length - 1) &&
      rows.filter((r) => r.srvr?.mode === 'follower').length === hosts.length - 1 &&
      data === spec.znodes &&
      proxies >= 1;
    say(
      `\nleader ${leader?.myid ?? 'none'} (${leader?.h ?? '-'}) with ${synced ?? '?'} synced followers; ${data} of ${spec.znodes} data znodes; ${proxies} proxies registered as ephemeral nodes again`,
    );
    const report = JSON.parse(fs.readFileSync(path.join(stateDir, plan.cluster.name, 'report.json'), 'utf8')) as {
      steps: { n: number; election: { from: number; to: number | null; ms: number } | null; notes: string[]; id: string }[];
    };
    const elections = report.steps.filter((x) => x.election).map((x) => `${x.election!.from}→${x.election!.to} in ${x.election!.ms} ms`);
    say(`leader elections the run caused: ${elections.join(', ') || 'none measured'}`);
    const split = report.steps.find((x) => x.id === 'old/split-window');
    if (split) say(`split window: ${split.notes.join('; ')}`);
    const audit = fs
      .readFileSync(path.join(stateDir, plan.cluster.name, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { command: string; durationMs: number });
    const logins = audit.filter((a) => ['started', 'restarted'].includes(shellEvent(a.command) ?? ''));
    const commands = audit
      .filter((a) => shellEvent(a.command) === null && !a.command.startsWith('sftp '))
      .map((a) => a.durationMs)
      .sort((a, b) => a - b);
    say(
      `remote commands: ${commands.length}, median ${commands[Math.floor(commands.length / 2)] ?? '-'} ms, through ${logins.length} logins (one remote shell per host; a login took ${Math.min(...logins.map((l) => l.durationMs))}–${Math.max(...logins.map((l) => l.durationMs))} ms${spec.loginDelayMs > 0 ? `, the lab's startup files sleep ${spec.loginDelayMs} ms` : ''})`,
    );
    say(
      `recovery: ${totals.steps} steps (${totals.starts} starts, ${totals.stops} stops, ${totals.restarts} restarts in ${totals.rounds} rounds) in ${seconds.toFixed(1)} s; report: ${path.join(stateDir, plan.cluster.name, 'report.json')}`,
    );
    say(ok ? '\ndemo: the incident recovery succeeded' : '\ndemo: the end state is NOT what the recovery promises');
    return ok ? 0 : 1;
  } finally {
    if (keep) say(`\nlab left up (--keep): zkroll lab status ${planFile}; zkroll lab down ${planFile}`);
    else await labDown(spec.cluster, (l) => say(`lab: ${l}`));
  }
}

main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (e: unknown) => {
    process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`, () => process.exit(1));
  },
);
