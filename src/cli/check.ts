// `zkroll check <plan> [--json]` and `zkroll verify <plan> [--json]`: the incident checks as a
// report, and the data-consistency comparison. Exit 0 when nothing failed, 1 otherwise.
// Invariants: read-only; hosts that cannot be reached over SSH make their checks "unknown".
import { runChecks, type CheckHost, type Finding } from '../check/checks.js';
import { checkHost } from '../check/host.js';
import { allHosts, sshTargets } from '../plan/helpers.js';
import { SshPool } from '../remote/ssh.js';
import { table } from '../ui/table.js';
import { probeSrvr } from '../zk/fourlw.js';
import { outliers, verifyConsistency } from '../zk/verify.js';
import { EXIT, loadOrFail } from './common.js';

export async function cmdCheck(file: string, json: boolean, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  const pool = new SshPool();
  const targets = new Map(sshTargets(plan, file).map((t) => [t.host, t]));
  const hostFor = async (h: string): Promise<CheckHost | null> => {
    const t = targets.get(h);
    const ssh = t ? await pool.get(t).catch(() => null) : null;
    return ssh ? checkHost(ssh) : null;
  };
  let findings: Finding[];
  try {
    findings = await runChecks(plan, hostFor, (ms) => new Promise((r) => setTimeout(r, ms)));
  } finally {
    await pool.closeAll();
  }
  const failed = findings.filter((f) => f.status === 'fail').length;
  if (json) out(JSON.stringify({ cluster: plan.cluster.name, failed, findings }, null, 2));
  else {
    out(
      table(
        ['check', 'server', 'status', 'what it means'],
        findings.map((f) => [f.check, f.server, f.status.toUpperCase(), f.detail]),
      ),
    );
    const warn = findings.filter((f) => f.status === 'warn').length;
    out(`\n${failed} failed, ${warn} warnings, ${findings.length - failed - warn} ok or unknown`);
  }
  return failed > 0 ? EXIT.failed : EXIT.ok;
}

export async function cmdVerify(file: string, json: boolean, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  const port = plan.cluster.ports.client;
  const hosts = allHosts(plan);
  const serving = (
    await Promise.all(hosts.map(async (h) => ((await probeSrvr(h.host, port, 2000, { adminPort: plan.cluster.adminPort }).catch(() => null)) ? h : null)))
  ).filter((h) => h !== null);
  const r = await verifyConsistency(
    serving.map((h) => ({ label: h.host, host: h.host, port })),
    { skip: [plan.health.canaryPath], adminPort: plan.cluster.adminPort },
  );
  const bad = r.differences.length > 0 || r.unreachable.length > 0 || Object.values(r.digestMismatches).some((n) => n > 0);
  if (json) out(JSON.stringify(r, null, 2));
  else {
    out(
      `compared ${r.paths} paths on ${r.servers.length} serving servers (${r.servers.join(', ') || 'none'}) by ${r.method}${r.unreachable.length ? `; could not read ${r.unreachable.join(', ')}` : ''}`,
    );
    if (r.differences.length === 0) out('the data is the same on every server');
    else {
      out(`${r.differences.length} paths differ:`);
      out(
        table(
          ['path', 'differs on', ...r.servers],
          r.differences.map((d) => [d.path, outliers(d).join(', '), ...r.servers.map((s) => d.values[s] ?? '?')]),
        ),
      );
    }
    for (const [s, n] of Object.entries(r.digestMismatches)) if (n > 0) out(`${s} reports zk_digest_mismatches_count ${n}`);
  }
  return bad ? EXIT.failed : EXIT.ok;
}
