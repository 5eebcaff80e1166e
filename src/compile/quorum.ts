// Quorum bookkeeping while steps are compiled: which configuration serves, which voters run,
// and the proof, per step, that no step leaves fewer live voters than a quorum of the serving
// configuration (unless the step says so and must be confirmed), and that consecutive serving
// configurations differ by exactly one voter. Pure.
// Invariants: the serving configuration of the new ensemble only changes when a round's last
// slot (the leader) restarts; a forming ensemble is not checked until it first reaches quorum.
import { quorumOf } from './nodes.js';
import type { Membership, QuorumView } from './types.js';
import { Refusal } from './types.js';

interface OldEnsemble {
  config: number[];
  running: Set<number>;
  state: 'serving' | 'ended';
}

interface NewEnsemble {
  serving: number[];
  next?: number[];
  running: Set<number>;
  state: 'forming' | 'serving';
}

const sorted = (xs: Iterable<number>) => [...xs].sort((a, b) => a - b);

export class QuorumModel {
  old?: OldEnsemble;
  neu?: NewEnsemble;

  startOld(config: number[], running: number[]): void {
    this.old = { config: sorted(config), running: new Set(running), state: 'serving' };
    if (running.length < quorumOf(config.length)) {
      throw new Refusal(
        `the current ensemble would not be serving: only ${running.length} of ${config.length} servers (${sorted(running).join(', ')}) run, quorum is ${quorumOf(config.length)}`,
      );
    }
  }

  /** Returns true when this stop ends the old ensemble (drops it below quorum). */
  stopOld(id: number): boolean {
    const o = this.old;
    if (!o) throw new Error('no old ensemble');
    o.running.delete(id);
    if (o.state === 'serving' && o.running.size < quorumOf(o.config.length)) {
      o.state = 'ended';
      return true;
    }
    return false;
  }

  formNew(config: number[]): void {
    this.neu = { serving: sorted(config), running: new Set(), state: 'forming' };
  }

  startNew(id: number): void {
    const n = this.need();
    n.running.add(id);
    if (n.state === 'forming' && this.liveOf(n.serving) >= quorumOf(n.serving.length)) n.state = 'serving';
  }

  stopNew(id: number): void {
    this.need().running.delete(id);
  }

  /**
   * A round rolls `next` (its voters) in; it must differ from the serving configuration by at
   * most one voter (none: the round adds or retires an observer, which does not vote).
   */
  beginRound(next: number[]): void {
    const n = this.need();
    oneVoter(n.serving, next);
    n.next = sorted(next);
  }

  /**
   * An incremental reconfig from the serving configuration C to `next` (C'), committed at once
   * (no restart). ZooKeeper commits it only with a quorum of both: C acks the proposal, and C'
   * must already be connected and synced (Leader.isQuorumSynced, else NEWCONFIGNOQUORUM), and
   * until activation every proposal needs both (zookeeperReconfig.md "Progress guarantees";
   * Leader.propose at release-3.9.3). So the step needs live(C) ≥ q(C) and live(C') ≥ q(C'),
   * where a started joiner counts as live; one voter at a time is zkroll's policy.
   * Throws Refusal when a round is in flight or either quorum would be missing.
   */
  reconfigure(next: number[]): void {
    const n = this.need();
    if (n.next) throw new Refusal(`a reconfig while configuration [${n.next.join(', ')}] is still being rolled in`);
    oneVoter(n.serving, next);
    for (const [label, config] of [
      ['committed', n.serving],
      ['new', sorted(next)],
    ] as const) {
      const live = this.liveOf(config);
      if (live < quorumOf(config.length))
        throw new Refusal(
          `reconfig [${n.serving.join(', ')}] → [${sorted(next).join(', ')}]: only ${live} of the ${label} configuration's ${config.length} voters would be running and synced, below its quorum of ${quorumOf(config.length)} (ZooKeeper answers NEWCONFIGNOQUORUM or cannot commit)`,
        );
    }
    n.serving = sorted(next);
  }

  /** The leader restarted with the round's configuration: it now serves. */
  endRound(): void {
    const n = this.need();
    if (n.next) n.serving = n.next;
    delete n.next;
  }

  private need(): NewEnsemble {
    if (!this.neu) throw new Error('no new ensemble');
    return this.neu;
  }

  private liveOf(config: number[]): number {
    return config.filter((id) => this.neu?.running.has(id)).length;
  }

  /** Snapshot after a step; `down` is the id a restart takes down while it runs (new ensemble). */
  membership(down?: number): Membership {
    const m: Membership = {};
    if (this.old) {
      const live = this.old.config.filter((id) => this.old!.running.has(id));
      m.old = { config: [...this.old.config], live, minLive: live.length, quorum: quorumOf(this.old.config.length), state: this.old.state };
    }
    if (this.neu) {
      const n = this.neu;
      const live = n.serving.filter((id) => n.running.has(id));
      const minLive = down !== undefined && n.serving.includes(down) ? live.length - 1 : live.length;
      const v: QuorumView = { config: [...n.serving], live, minLive, quorum: quorumOf(n.serving.length), state: n.state };
      if (n.next) v.next = [...n.next];
      m.new = v;
    }
    return m;
  }
}

/** `a` → `b` must change at most one voter: old and new majorities overlap (Refusal otherwise). */
function oneVoter(a: number[], b: number[]): void {
  const x = new Set(a);
  const y = new Set(b);
  const diff = [...x].filter((v) => !y.has(v)).length + [...y].filter((v) => !x.has(v)).length;
  if (diff > 1) {
    throw new Refusal(
      `configuration [${sorted(a).join(', ')}] → [${sorted(b).join(', ')}] changes ${diff} voters at once; old and new majorities must overlap, so membership changes one voter at a time`,
    );
  }
}

/**
 * The proof for one step: every configuration that served before the step still has a quorum
 * of live voters during and after it, unless the step ends that ensemble on purpose
 * (`endsOld`) — such a step must carry a confirmation.
 */
export function checkStep(title: string, before: Membership, after: Membership, endsOld: boolean): void {
  for (const which of ['old', 'new'] as const) {
    const b = before[which];
    const a = after[which];
    if (!b || !a || b.state !== 'serving') continue;
    if (which === 'old' && endsOld) continue;
    if (a.minLive < a.quorum) {
      throw new Refusal(
        `"${title}" would leave ${a.minLive} live voter${a.minLive === 1 ? '' : 's'} of configuration [${a.config.join(', ')}], below its quorum of ${a.quorum}: the ensemble would stop serving`,
      );
    }
  }
}
