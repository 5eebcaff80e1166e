// `zkroll plan <plan> [--format text|markdown|json] [--live]`: compile the plan and render the
// steps for review. Without --live it touches no network (configs are the plan's picture of
// them); with --live it reads the hosts' real zoo.cfg and myid over SSH and every server's
// srvr, and refuses a plan that does not match the cluster.
// Invariants: renders the very steps apply will run; refusals exit 2 with the reason.
import { plannedFiles, simulateWrites, FileRefused } from '../compile/files.js';
import { readLive } from '../inspect/live.js';
import { hazardLine, planHazards } from '../plan/versions.js';
import { SshPool } from '../remote/ssh.js';
import { renderPlan, type Format } from '../ui/plan-render.js';
import { CliError, compileOrFail, EXIT, loadOrFail } from './common.js';

export async function cmdPlan(file: string, o: { format: string; live?: boolean }, out: (s: string) => void): Promise<number> {
  if (!['text', 'markdown', 'json'].includes(o.format)) throw new CliError(`--format must be text, markdown or json, not ${o.format}`, EXIT.badInput);
  const plan = loadOrFail(file);
  const compiled = compileOrFail(plan, file);
  let initial: Map<string, string>;
  let header = '';
  if (o.live) {
    const pool = new SshPool();
    try {
      const live = await readLive(plan, file, pool);
      if (live.mismatches.length > 0) {
        throw new CliError(`${file}: the plan does not match the cluster:\n${live.mismatches.map((m) => `  - ${m}`).join('\n')}`, EXIT.badInput);
      }
      initial = live.files;
      const followers = live.servers.filter((s) => s.srvr && s.srvr.mode !== 'leader').map((s) => s.myid);
      header = `Live: leader is server ${live.leader}; serving followers ${followers.join(', ') || 'none'}; not serving ${
        live.servers
          .filter((s) => !s.srvr)
          .map((s) => s.myid)
          .join(', ') || 'none'
      }.\n\n`;
    } finally {
      await pool.closeAll();
    }
  } else {
    initial = plannedFiles(plan);
  }
  let files;
  try {
    files = simulateWrites(compiled, initial, o.live === true);
  } catch (e) {
    if (e instanceof FileRefused) throw new CliError(`${file}: ${e.message}`, EXIT.badInput);
    throw e;
  }
  const hazards = planHazards(plan);
  if (o.format === 'json') {
    out(JSON.stringify({ ...compiled, hazards, files: Object.fromEntries(files) }, null, 2));
    return 0;
  }
  const notes =
    hazards.length > 0
      ? `Version hazards (${plan.cluster.version ?? 'current version unknown'} → ${plan.target.version}):\n${hazards.map((h) => `  - ${hazardLine(h)}`).join('\n')}\n\n`
      : '';
  out(header + notes + renderPlan(compiled, files, o.format as Format).trimEnd());
  return 0;
}
