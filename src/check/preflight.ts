// What must hold before a run changes anything: every host is reached (strict host-key
// checking), and for a new run the cluster matches the plan, and a rolling restart is refused
// when fewer than a quorum of servers have a live election listener (the Codis incident: a
// restarted server needs an election to rejoin, and none can succeed); a rebuild by reconfig
// needs its password file and an old ensemble that does not enable reconfig.
// Invariants: read-only; a refusal names what did not hold and says nothing was changed;
// warnings (a dead listener that still leaves a quorum) go to `warn`.
import { quorumOf } from '../compile/nodes.js';
import { readLive } from '../inspect/live.js';
import fs from 'node:fs';
import { reconfigEnabled } from '../compile/zoocfg.js';
import { OLD_RECONFIG_RISK } from '../compile/membership.js';
import { resolveLocalPath, sshTargets } from '../plan/helpers.js';
import type { Plan } from '../plan/schema.js';
import { RemoteError, type SshPool } from '../remote/ssh.js';
import { findZkJvm } from '../zk/process.js';
import { electionListener, zkJvmsOn } from './checks.js';
import { checkHost } from './host.js';

/** A run may not start; `badInput`: the plan is at fault (exit 2), else the cluster (exit 1). */
export class PreflightRefused extends Error {
  constructor(
    message: string,
    readonly badInput: boolean,
  ) {
    super(message);
  }
}

/** Throws PreflightRefused; `fresh`: a new run (a resumed one only needs its hosts). */
export async function preflight(plan: Plan, file: string, pool: SshPool, fresh: boolean, warn: (line: string) => void): Promise<void> {
  try {
    await Promise.all(sshTargets(plan, file).map((t) => pool.get(t)));
  } catch (e) {
    if (e instanceof RemoteError) throw new PreflightRefused(`${e.message}\nNothing was changed.`, false);
    throw e;
  }
  if (!fresh) return;
  const live = await readLive(plan, file, pool);
  if (live.mismatches.length > 0) {
    throw new PreflightRefused(
      `${file}: the plan does not match the cluster; nothing was changed:\n${live.mismatches.map((m) => `  - ${m}`).join('\n')}`,
      true,
    );
  }
  reconfigReady(plan, file, live.files);
  // a restart needs an election, and an election needs a quorum of live election listeners
  const targets = new Map(sshTargets(plan, file).map((t) => [t.host, t]));
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const findings = await Promise.all(
    plan.servers.map(async (s) => {
      const h = checkHost(await pool.get(targets.get(s.host)!));
      return electionListener(
        s.host,
        `${s.myid} (${s.host})`,
        h,
        plan.cluster.ports.election,
        live.servers.find((x) => x.myid === s.myid)?.srvr != null,
        sleep,
        findZkJvm(await zkJvmsOn(h), ''),
      );
    }),
  );
  const dead = findings.filter((f) => f.status === 'fail');
  const liveCount = plan.servers.length - dead.length;
  if (dead.length > 0 && plan.strategy.kind === 'rolling' && liveCount < quorumOf(plan.servers.length)) {
    throw new PreflightRefused(
      `${file}: refusing to restart servers: only ${liveCount} of ${plan.servers.length} servers have a live election listener, fewer than a quorum (${quorumOf(plan.servers.length)}). ` +
        `A restarted server needs an election to rejoin, and no election can succeed; the ensemble would lose a member it cannot get back (the Codis incident). ` +
        `Dead listeners: ${dead.map((f) => f.server).join(', ')}. Use the rebuild strategy (see plans/codis-incident.yaml). Nothing was changed.`,
      false,
    );
  }
  for (const f of dead) warn(`warning: server ${f.server}: ${f.detail}`);
}

/**
 * membership: reconfig, before anything changes (the access step checks again before the point
 * of no return): the password file can be read, and no old server's zoo.cfg enables reconfig —
 * once the old ensemble loses quorum, such servers would adopt the new ensemble's configuration
 * through leader election and overwrite their own data (docs/design-reconfig-and-clone.md R1).
 */
function reconfigReady(plan: Plan, file: string, files: Map<string, string>): void {
  const s = plan.strategy;
  if (s.kind !== 'rebuild' || s.membership !== 'reconfig') return;
  const pw = s.reconfig?.passwordFile;
  if (s.reconfig?.access === 'super' && pw !== undefined) {
    const at = resolveLocalPath(file, pw);
    try {
      fs.accessSync(at, fs.constants.R_OK);
    } catch (e) {
      throw new PreflightRefused(
        `${file}: strategy.reconfig.passwordFile ${at} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}): it holds the password whose digest the new servers have as superDigest. Nothing was changed.`,
        true,
      );
    }
  }
  const enabled = plan.servers.filter((x) => reconfigEnabled(files.get(`${x.host}\u0000${x.config}`) ?? ''));
  if (enabled.length > 0)
    throw new PreflightRefused(
      `${file}: old server${enabled.length === 1 ? '' : 's'} ${enabled.map((x) => `${x.myid} (${x.host}:${x.config})`).join(', ')} ${enabled.length === 1 ? 'has' : 'have'} reconfigEnabled=true: ${OLD_RECONFIG_RISK}. Nothing was changed.`,
      false,
    );
}
