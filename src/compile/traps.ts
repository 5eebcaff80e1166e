// Version traps the compiled steps take care of. ZOOKEEPER-3056: a 3.4 server whose dataDir has
// transaction logs but no snapshot (a 3.4 leader since the ensemble's first write, a follower
// that synced by diff) makes 3.5+ refuse to start ("No snapshot found, but there are log
// entries. Something is broken!", FileTxnSnapLog.restore). `snapshot.trust.empty=true` lets it
// start; the server then writes a snapshot at once, after which the key is not needed and is
// removed again (checked on the real 3.4.13 → 3.8.0: ../shared/zookeeper/README.md).
// Pure. Invariants: the key is set only for a move from before 3.5.3 to 3.5.7+ and only in the
// target zoo.cfg; it is removed only after the server's dataDir holds a snapshot (a step
// precondition), and only on targets with ZOOKEEPER-3781 (else that step could block the run).
// The retired temporary server of a rebuild keeps its (stopped) config as it was.
import { lacks3781, parseVersion, trustEmptyNeeded } from '../plan/versions.js';
import type { Plan } from '../plan/schema.js';
import type { StepList } from './builder.js';
import { describeNode, serverLines } from './nodes.js';
import type { NodeRef } from './types.js';

export const TRUST_EMPTY = 'snapshot.trust.empty';

/** Does this plan move servers from before 3.5.3 to 3.5.7+ (ZOOKEEPER-3056)? False when the current version is not stated. */
export function needsTrustEmpty(plan: Plan): boolean {
  return trustEmptyNeeded(plan.cluster.version, plan.target.version);
}

/**
 * Can zkroll remove the key again? Only where followers write a snapshot under it when they join
 * (ZOOKEEPER-3781, fixed in 3.5.10, 3.6.4, 3.7.0); elsewhere a follower synced by DIFF may have
 * none for a long time, and a step waiting for it would block the run.
 */
function canDropTrustEmpty(plan: Plan): boolean {
  const t = parseVersion(plan.target.version);
  return t !== null && !lacks3781(t);
}

/** The keys a first target zoo.cfg sets ({} when no trap applies). */
export function firstStartKeys(plan: Plan): { set?: { key: string; value: string }[] } {
  return needsTrustEmpty(plan) ? { set: [{ key: TRUST_EMPTY, value: 'true' }] } : {};
}

/** Why the first target zoo.cfg has the key (appended to the step's reason). */
export function trustEmptyReason(plan: Plan): string {
  return `; ${TRUST_EMPTY}=true for its first start on the 3.5+ install (ZOOKEEPER-3056: a 3.4 dataDir with transaction logs but no snapshot would not start), ${canDropTrustEmpty(plan) ? 'removed once the server has written a snapshot' : `left in place: ${plan.target.version} lacks ZOOKEEPER-3781, remove it yourself once every dataDir holds a snapshot`}`;
}

/** Steps that remove the key from every member's zoo.cfg, each once its server has written a snapshot. */
export function dropTrustEmpty(b: StepList, members: NodeRef[]): void {
  if (!needsTrustEmpty(b.plan) || !canDropTrustEmpty(b.plan)) return;
  const h = b.plan.health;
  const reconfig = b.plan.strategy.kind === 'rebuild' && b.plan.strategy.membership === 'reconfig';
  b.phase = `Remove ${TRUST_EMPTY} (ZOOKEEPER-3056)`;
  for (const m of members) {
    b.add({
      id: `trust-empty/${m.myid}`,
      phase: b.phase,
      action: 'write-config',
      title: `Remove ${TRUST_EMPTY} from the zoo.cfg of ${describeNode(m)}`,
      reason: `the server has written a snapshot, so it no longer needs ${TRUST_EMPTY} to start; left in place it would let a later start trust a dataDir whose snapshot was lost. Takes effect at its next start (no restart now)`,
      target: { kind: 'node', node: m },
      commands: [],
      // under membership: reconfig ZooKeeper owns the server lines (it rewrote zoo.cfg): only the key changes
      files: [
        {
          kind: 'zoo.cfg',
          path: m.config,
          base: m.config,
          servers: serverLines(b.plan, members),
          node: m,
          mode: 0o644,
          unset: [TRUST_EMPTY],
          ...(reconfig ? { keysOnly: true } : {}),
        },
      ],
      gates: [],
      before: [{ kind: 'snapshot', node: m, deadlineMs: h.gateDeadline }],
    });
  }
}
