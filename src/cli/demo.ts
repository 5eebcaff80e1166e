// `npm run demo` (an entry point of its own, beside main.ts): rehearse the Codis incident on the lab. Today (before the executor exists) it
// brings the lab up in the incident state, shows what it built, proves every host answers over
// SSH with strict host-key checking, and takes the lab down again (`-- --keep` leaves it up).
// Invariants: always tears down what it started unless --keep, also on failure.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPlanFile, formatPlanError } from '../plan/load.js';
import { SshPool } from '../remote/ssh.js';
import { sshTargets } from '../plan/helpers.js';
import { labSpecFromPlan } from '../lab/fromplan.js';
import { labDown, labStatus, labUp } from '../lab/lab.js';
import { table } from '../ui/table.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const planFile = path.relative(process.cwd(), path.join(root, 'plans', 'codis-incident.yaml'));
const keep = process.argv.includes('--keep');
const say = (s: string) => process.stdout.write(s + '\n');

async function main(): Promise<number> {
  const loaded = loadPlanFile(planFile);
  if (!loaded.ok) {
    loaded.errors.forEach((e) => say(formatPlanError(e)));
    return 2;
  }
  const plan = loaded.plan;
  const spec = labSpecFromPlan(plan, planFile);
  say(`== zkroll demo: the Codis incident (${planFile}) ==`);
  const up = await labUp(spec, (l) => say(`lab: ${l}`));
  try {
    say(`\nlab up in ${up.seconds.toFixed(1)} s: serving ${up.serving.join(', ')} (leader ${up.leader}), down ${up.down.join(', ')}`);
    const st = await labStatus(spec);
    say(
      table(
        ['myid', 'host', 'mode', 'zxid', 'znodes'],
        st.servers.map((s) => [String(s.myid), s.ip, s.srvr?.mode ?? 'DOWN', s.srvr?.zxid != null ? `0x${s.srvr.zxid.toString(16)}` : '-', String(s.srvr?.nodeCount ?? '-')]),
      ),
    );
    say(`proxies under /jodis/${spec.proxies?.product}: ${st.proxies.join(', ')}`);
    const pool = new SshPool();
    try {
      say('\nSSH to every host (strict host-key checking):');
      for (const t of sshTargets(plan, planFile)) {
        const host = await pool.get(t);
        const myidFile = path.posix.join(t.entry.node.dataDir, 'myid');
        const r = await host.exec(['sh', '-c', 'cat "$1" 2>/dev/null || echo "-"; readlink /proc/self/ns/mnt', 'sh', myidFile], { timeoutMs: 10000 });
        const [myid, ns] = r.stdout.trim().split('\n');
        say(`  ${t.label.padEnd(18)} myid file: ${myid?.padEnd(3)} mount namespace ${ns}`);
      }
    } finally {
      await pool.closeAll();
    }
    say('\nThe executor (issue 3) will run the recovery from here: `zkroll apply plans/codis-incident.yaml`.');
  } finally {
    if (keep) say(`\nlab left up (--keep): zkroll lab status ${planFile}; zkroll lab down ${planFile}`);
    else await labDown(spec.cluster, (l) => say(`lab: ${l}`));
  }
  return 0;
}

main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (e: unknown) => {
    process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`, () => process.exit(1));
  },
);
