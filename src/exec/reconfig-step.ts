// Runs the steps of membership: reconfig: one incremental reconfig as a compare-and-set on the
// committed configuration, and the access check that precedes the point of no return. Talks to
// the leader through an injected ZooKeeper session (probes.session), so the unit tests use fakes.
// Invariants: a reconfig is sent only when /zookeeper/config (read after a sync) lists exactly
// the step's `from` members, with the version just read (BADVERSION otherwise: nothing changes);
// a configuration that already lists `to` means the step is done (a resumed run sends nothing);
// anything else stops the run with both configurations named. The password is read at run time
// (RunEnv.readSecret) and never written anywhere.
// Sources (release-3.9.3): PrepRequestProcessor.java L400–548 (the order of the checks: disabled,
// in progress, version, arguments, quorum, ACL), zookeeperReconfig.md ("Security").
import type { NodeRef, ReconfigOp, Step } from '../compile/types.js';
import { adminCommand } from '../zk/admin.js';
import { ZkError } from '../zk/client.js';
import { membersDiffer, parseDynamicConfig, type DynamicConfig } from '../zk/dynconfig.js';
import { CONFIG_NODE, configOf, ensembleView } from '../zk/gates.js';
import { zkErrorText, type WireSession } from '../zk/wire.js';
import { readText, StepError, type RunEnv } from './env.js';
import { reconfigEnabled } from '../compile/zoocfg.js';
import { OLD_RECONFIG_RISK, reconfigChange } from '../compile/membership.js';
import type { StepOutcome } from './run-step.js';

const NEWCONFIGNOQUORUM = -13;
const RECONFIGINPROGRESS = -14;
const BADVERSION = -103;
const NOAUTH = -102;
const RECONFIGDISABLED = -123;

/** Why a refused reconfig stops the run, with what to fix; null when it is worth trying again. */
function refusal(rc: number | null, op: ReconfigOp): string | null {
  switch (rc) {
    case NOAUTH:
      return op.auth.access === 'super'
        ? `the servers refused the reconfig (${zkErrorText(rc)}): ${op.auth.user} is not a superuser. Start the servers with -Dzookeeper.DigestAuthenticationProvider.superDigest=<the digest of the password in ${op.auth.passwordFile}> (zookeeperAdmin.md)`
        : `the servers refused the reconfig (${zkErrorText(rc)}): they do not run with -Dzookeeper.skipACL=yes`;
    case RECONFIGDISABLED:
      return `the leader has reconfigEnabled=false (${zkErrorText(rc)}): its zoo.cfg must say reconfigEnabled=true`;
    case -6:
      return `the server runs standalone (${zkErrorText(rc)}): reconfig needs an ensemble`;
    case -8:
      return `the leader refused the change's arguments (${zkErrorText(rc)})`;
    case -115:
      return `the server refused the credentials (${zkErrorText(rc)})`;
    default:
      return null;
  }
}

/** The leader among `members` and a session on it, authenticated as the step's auth says. */
async function leaderSession(env: RunEnv, op: ReconfigOp): Promise<{ leader: NodeRef; session: WireSession }> {
  const v = await ensembleView(op.members, env.settings.clientPort, env.probes.srvr);
  const leader = op.members.find((m) => m.myid === v.leader);
  if (!leader) throw new ZkError(`no single leader among servers ${op.members.map((m) => m.myid).join(', ')}`, null);
  return { leader, session: await sessionOn(env, op, leader) };
}

/** A session on `node`, authenticated as the step's auth says. */
async function sessionOn(env: RunEnv, op: ReconfigOp, node: NodeRef): Promise<WireSession> {
  const session = await env.probes.session(node.host, env.settings.clientPort, 10000);
  try {
    if (op.auth.access === 'super') {
      if (op.auth.passwordFile === undefined) throw new StepError('access: super needs strategy.reconfig.passwordFile');
      if (!env.readSecret) throw new StepError('this run cannot read secret files (no readSecret)');
      const password = await env.readSecret(op.auth.passwordFile);
      await audited(env, node.host, `zk addauth digest ${op.auth.user}:****`, 'read', () =>
        session.addAuth('digest', Buffer.from(`${op.auth.user}:${password}`, 'utf8')),
      );
    }
  } catch (e) {
    await session.close();
    throw e;
  }
  return session;
}

async function committed(session: WireSession): Promise<DynamicConfig> {
  const cfg = await configOf(session);
  if (cfg.version === null) throw new StepError(`${CONFIG_NODE} has no version line: is reconfigEnabled=true on every member?`);
  return cfg;
}

const hex = (v: bigint | null) => (v === null ? '?' : `0x${v.toString(16)}`);

/** One attempt: done (sent now, or found committed), or a reason to try again (a thrown ZkError). */
async function attempt(env: RunEnv, op: ReconfigOp, out: StepOutcome): Promise<void> {
  const { leader, session } = await leaderSession(env, op);
  try {
    const cfg = await committed(session);
    if (membersDiffer(cfg, op.to) === null) {
      const note = `the committed configuration (version ${hex(cfg.version)}) already lists ${op.to.map((m) => m.myid).join(', ')}: nothing sent`;
      env.progress(note);
      out.notes.push(note);
      return;
    }
    const unexpected = membersDiffer(cfg, op.from);
    if (unexpected !== null)
      throw new StepError(
        `the committed configuration (version ${hex(cfg.version)}) is neither the one this step starts from nor its result: ${unexpected}. Someone else changed the membership; compare ${CONFIG_NODE} with the plan before resuming`,
      );
    const t0 = Date.now();
    const r = await audited(env, leader.host, `zk reconfig ${reconfigChange(op)} -v ${hex(cfg.version)}`, undefined, () =>
      session.reconfig({
        joining: op.joining.length > 0 ? op.joining.join(',') : null,
        leaving: op.leaving.length > 0 ? op.leaving.join(',') : null,
        fromConfig: cfg.version!,
      }),
    );
    const after = membersDiffer(parseDynamicConfig(r.config), op.to);
    if (after !== null) throw new StepError(`the leader committed a configuration other than the planned one: ${after}`);
    env.progress(`reconfig on leader ${leader.myid}: version ${hex(cfg.version)} → ${hex(r.version)} in ${Date.now() - t0} ms`);
    out.notes.push(`reconfig committed on leader ${leader.myid}: version ${hex(cfg.version)} → ${hex(r.version)}`);
  } finally {
    await session.close();
  }
}

/**
 * Send the step's reconfig (see the module header). NEWCONFIGNOQUORUM (a joiner still syncing)
 * and RECONFIGINPROGRESS are retried every poll interval until the gate deadline; BADVERSION and a
 * lost connection re-read the configuration (the change may have committed). Throws StepError
 * naming the fix for a refusal (NOAUTH, RECONFIGDISABLED, …) or when the deadline passes.
 */
export async function runReconfig(step: Step, env: RunEnv, out: StepOutcome): Promise<void> {
  const op = step.reconfig;
  if (!op) throw new StepError(`step ${step.id}: no reconfig`);
  const deadline = Date.now() + env.settings.gateDeadlineMs;
  let tries = 0;
  for (;;) {
    tries++;
    try {
      await attempt(env, op, out);
      if (tries > 1) out.notes.push(`${tries} attempts`);
      return;
    } catch (e) {
      if (!(e instanceof ZkError)) throw e;
      const stop = refusal(e.rc, op);
      if (stop !== null) throw new StepError(stop);
      const again = e.rc === null || [NEWCONFIGNOQUORUM, RECONFIGINPROGRESS, BADVERSION, -4, -112].includes(e.rc);
      if (!again || Date.now() >= deadline || env.stopRequested())
        throw new StepError(`the reconfig did not commit within ${Math.round(env.settings.gateDeadlineMs / 1000)} s (${tries} attempts): ${e.message}`);
      env.progress(`reconfig not committed yet (${e.message}); trying again`);
      // each attempt is a session, an auth and (when sent) an error transaction: back off to 2 s
      await new Promise((r) => setTimeout(r, Math.min(2000, env.settings.pollIntervalMs * 2 ** Math.min(tries - 1, 4))));
    }
  }
}

/**
 * Prove, changing nothing, that zkroll may reconfigure `step.reconfig.members`: a super session
 * (whoAmI lists scheme super, 3.7+) or zookeeper.skipACL=yes in the leader's system properties
 * (AdminServer), and reconfigEnabled on the leader: a reconfig with a version that cannot match
 * must answer BADVERSION (the version check comes before any other, after RECONFIGDISABLED;
 * PrepRequestProcessor.java L400–430). Costs one error transaction. Throws StepError with the fix.
 */
export async function checkReconfigAccess(step: Step, env: RunEnv, out: StepOutcome): Promise<void> {
  const op = step.reconfig;
  if (!op) throw new StepError(`step ${step.id}: no reconfig`);
  await oldEnsembleStatic(env, op);
  // superDigest and skipACL are per JVM, and whichever member leads checks the ACL: every member
  for (const m of op.members) await proveAccess(env, op, m);
  const { leader, session } = await leaderSession(env, op).catch((e: unknown) => {
    throw new StepError(`could not open an authenticated session on the mini-ensemble's leader: ${e instanceof Error ? e.message : String(e)}`);
  });
  try {
    const cfg = await committed(session);
    const absent = Math.max(0, ...cfg.servers.keys()) + 1;
    try {
      // answered BADVERSION, it changes nothing (an error transaction): audited as a read
      await audited(env, leader.host, `zk reconfig -remove ${absent} -v ${hex(cfg.version! + 1n)} (a probe: BADVERSION expected)`, 'read', () =>
        session.reconfig({ leaving: String(absent), fromConfig: cfg.version! + 1n }),
      );
      throw new StepError(`the leader accepted a reconfig with a version that cannot match (${hex(cfg.version! + 1n)}): check ${CONFIG_NODE} by hand`);
    } catch (e) {
      if (!(e instanceof ZkError) || e.rc !== BADVERSION) throw e instanceof ZkError ? new StepError(refusal(e.rc, op) ?? e.message) : e;
    }
    out.notes.push(
      `server ${leader.myid} leads; ${op.auth.access === 'super' ? `${op.auth.user} is a superuser` : 'skipACL is set'}; reconfig is enabled (version ${hex(cfg.version)})`,
    );
  } finally {
    await session.close();
  }
}

/**
 * The old ensemble's servers must not run with reconfigEnabled=true: once it loses quorum they
 * go LOOKING, dial the election ports the new servers now hold, adopt the new ensemble's
 * higher-versioned configuration (FastLeaderElection, release-3.9.3 L305–318), follow its
 * leader and rewrite their data — the data the split window carries over.
 */
async function oldEnsembleStatic(env: RunEnv, op: ReconfigOp): Promise<void> {
  for (const o of op.oldEnsemble ?? []) {
    const text = await readText(env, o.host, o.config);
    if (text !== undefined && reconfigEnabled(text))
      throw new StepError(`old server ${o.myid} (${o.host}:${o.config}) has reconfigEnabled=true: ${OLD_RECONFIG_RISK}`);
  }
}

/** `node` accepts zkroll as a superuser (whoAmI lists scheme super) or runs with zookeeper.skipACL=yes. */
async function proveAccess(env: RunEnv, op: ReconfigOp, node: NodeRef): Promise<void> {
  if (op.auth.access === 'skipACL') {
    const props = await adminCommand(node.host, env.settings.adminPort, 'system_properties', 3000);
    // ZooKeeperServer: skipACL = "yes".equals(System.getProperty("zookeeper.skipACL", "no")), case and all
    if (!/"zookeeper\.skipACL"\s*:\s*"yes"/.test(props))
      throw new StepError(`server ${node.myid} does not run with -Dzookeeper.skipACL=yes (AdminServer system_properties; the value is case-sensitive)`);
    return;
  }
  const session = await sessionOn(env, op, node).catch((e: unknown) => {
    throw new StepError(`could not open an authenticated session on server ${node.myid}: ${e instanceof Error ? e.message : String(e)}`);
  });
  try {
    const ids = await session.whoAmI();
    if (!ids.some((x) => x.authScheme === 'super'))
      throw new StepError(
        `${op.auth.user} is not a superuser on server ${node.myid}: whoAmI lists ${ids.map((x) => `${x.authScheme}:${x.user}`).join(', ') || 'nothing'}. The password in ${op.auth.passwordFile} must be the one whose digest the servers have in -Dzookeeper.DigestAuthenticationProvider.superDigest (zookeeperAdmin.md)`,
      );
  } finally {
    await session.close();
  }
}

/** Run one ZooKeeper operation and put it in the audit log (its rc as the code: 0, or the ZooKeeper error). */
async function audited<T>(env: RunEnv, host: string, command: string, purpose: string | undefined, op: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const rec = (code: number | null, stderrTail: string) =>
    env.audit?.({ host, command, code, durationMs: Date.now() - t0, stdoutTail: '', stderrTail, ...(purpose !== undefined ? { purpose } : {}) });
  try {
    const r = await op();
    rec(0, '');
    return r;
  } catch (e) {
    rec(e instanceof ZkError ? e.rc : null, e instanceof Error ? e.message : String(e));
    throw e;
  }
}
