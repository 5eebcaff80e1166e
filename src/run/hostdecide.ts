// The decisions made from the run's copies on its hosts (src/run/hostlock.ts): which copy is
// the newest, which lock is in force and how old its heartbeat is, whether `apply`, `resume`
// or `resume --take-over` may start here, and whether a lock found during the run means it was
// taken over (fencing).
// Invariants: pure; the newest copy is the one with the highest sequence number (copies of
// hosts that missed writes are older, never mixed in); a live lock of another owner (another
// machine, or another state directory) refuses apply and resume; a take-over needs
// --take-over and a heartbeat older than STALE_MS, or an owner on this machine whose process
// is gone; every refusal names the owner, its machine and its last heartbeat.
import type { RunFile } from '../machine/store.js';
import { isFinished, seqOf, STALE_MS, type HostCopy, type HostLock, type Me, type Owner } from './hostlock.js';

/** The same run holder: one machine and one state directory (the process may differ). */
export function sameOwner(a: Pick<Owner, 'machine' | 'stateDir'>, b: Pick<Owner, 'machine' | 'stateDir'>): boolean {
  return a.machine === b.machine && a.stateDir === b.stateDir;
}

/** The copy with the highest sequence number, and the hosts that hold it; null when none has one. */
export function newestCopy(copies: readonly HostCopy[]): { run: RunFile; hosts: string[] } | null {
  let best: RunFile | null = null;
  for (const c of copies) if (c.run && (best === null || seqOf(c.run) > seqOf(best))) best = c.run;
  if (best === null) return null;
  const seq = seqOf(best);
  return { run: best, hosts: copies.filter((c) => c.run && seqOf(c.run) === seq && c.run.runId === best.runId).map((c) => c.host) };
}

/** The lock in force (highest seq) and the age of its freshest heartbeat among the hosts (ms). */
export function lockInForce(copies: readonly HostCopy[]): { lock: HostLock; ageMs: number | null } | null {
  let best: HostLock | null = null;
  for (const c of copies)
    if (c.lock && (best === null || c.lock.seq > best.seq || (c.lock.seq === best.seq && c.lock.heartbeat > best.heartbeat))) best = c.lock;
  if (best === null) return null;
  const token = best.owner.token;
  const ages = copies.filter((c) => c.lock?.owner.token === token && c.lockAgeMs !== null).map((c) => c.lockAgeMs!);
  return { lock: best, ageMs: ages.length ? Math.min(...ages) : null };
}

const secs = (ms: number | null) => (ms === null ? 'age unknown' : `${Math.round(ms / 1000)} s ago by the hosts' clocks`);

/** "zkroll pid 41 on machine m (state dir d), run r since t; last heartbeat h (12 s ago …)". */
export function describeLock(l: { lock: HostLock; ageMs: number | null }): string {
  const { owner } = l.lock;
  return (
    `zkroll pid ${owner.pid} on machine ${owner.machine} (state dir ${owner.stateDir}), run ${l.lock.runId} since ${l.lock.since}; ` +
    `last heartbeat ${l.lock.heartbeat} (${secs(l.ageMs)})${l.lock.released ? `, released ${l.lock.released}` : ''}`
  );
}

export type StartMode = 'apply' | 'resume' | 'take-over';

export interface StartInput {
  mode: StartMode;
  me: Me;
  /** The run.json of this machine's state directory. */
  local: RunFile | null;
  copies: readonly HostCopy[];
  /** The owner runs on this machine and its process is gone. */
  ownerGone: (o: Owner) => boolean;
  planFile: string;
  cluster: string;
}

export type StartDecision =
  | { kind: 'refuse'; message: string }
  | {
      kind: 'go';
      /** The newer copy from the hosts to continue (take-over), or null: the local state. */
      fetch: RunFile | null;
      /** The lock taken over (printed), or null. */
      tookFrom: { lock: HostLock; ageMs: number | null } | null;
      /** Lock tokens on the hosts this run may replace. */
      accept: string[];
      /** The sequence number of this run's first write (above every copy and lock seen). */
      seq: number;
    };

const refuse = (message: string): StartDecision => ({ kind: 'refuse', message });

/** May this run start here, from what the hosts hold? */
export function decideStart(i: StartInput): StartDecision {
  const unreadable = i.copies.find((c) => c.lockUnreadable && (c.lockAgeMs === null || c.lockAgeMs < STALE_MS));
  if (unreadable)
    return refuse(
      `the lock file of ${i.cluster} on ${unreadable.host} is not a zkroll lock (empty while another zkroll takes it, or damaged; ${secs(unreadable.lockAgeMs)}). Nothing was changed; try again in ${STALE_MS / 1000} s.`,
    );
  const inForce = lockInForce(i.copies);
  const newest = newestCopy(i.copies);
  const foreign = inForce && !inForce.lock.released && !sameOwner(inForce.lock.owner, i.me) ? inForce : null;
  const hostsNewer = newest !== null && seqOf(newest.run) > seqOf(i.local);
  const held = foreign ? `another zkroll holds the run of ${i.cluster} on its hosts: ${describeLock(foreign)}. Nothing was changed.` : '';
  const takeOver = `zkroll resume ${i.planFile} --take-over`;
  let fetch: RunFile | null = null;
  let tookFrom: typeof foreign = null;
  if (i.mode === 'apply') {
    if (foreign) return refuse(`${held}\nLet it finish, or if that zkroll is gone, continue its run here with: ${takeOver}`);
    if (newest && hostsNewer && !isFinished(newest.run))
      return refuse(
        `run ${newest.run.runId} of ${i.cluster} is not finished on its hosts (${valueOf(newest.run)}, copy ${seqOf(newest.run)} on ${newest.hosts.join(', ')}${inForce ? `; last held by ${describeLock(inForce)}` : ''}). Nothing was changed. Continue it here with: ${takeOver}`,
      );
  } else if (i.mode === 'resume') {
    if (foreign) return refuse(`${held}\nIf that zkroll is gone (its machine lost), take the run over here with: ${takeOver}`);
    if (newest && hostsNewer)
      return refuse(
        `the hosts hold a newer state of run ${newest.run.runId} of ${i.cluster} than this machine (copy ${seqOf(newest.run)} on ${newest.hosts.join(', ')}; here: ${i.local ? `copy ${seqOf(i.local)}` : 'none'})${inForce ? `, last held by ${describeLock(inForce)}` : ''}. Nothing was changed. Continue from it with: ${takeOver}`,
      );
  } else {
    if (foreign && !i.ownerGone(foreign.lock.owner) && (foreign.ageMs === null || foreign.ageMs < STALE_MS))
      return refuse(
        `${held}\nIts heartbeat is fresher than ${STALE_MS / 1000} s: it may still be running, and a take-over is refused. If that zkroll is really gone, try again once its last heartbeat is ${STALE_MS / 1000} s old.`,
      );
    tookFrom = foreign;
    if (newest && hostsNewer) {
      if (isFinished(newest.run))
        return refuse(
          `run ${newest.run.runId} of ${i.cluster} is ${valueOf(newest.run)} on its hosts: nothing to resume. Start a new run with: zkroll apply ${i.planFile}`,
        );
      fetch = newest.run;
    } else if (!i.local) {
      const unread = i.copies.filter((c) => c.error).length;
      return refuse(
        `no run of ${i.cluster} to take over: none here and none on its hosts${unread ? ` (${unread} of ${i.copies.length} could not be read)` : ''}. Start one with: zkroll apply ${i.planFile}`,
      );
    }
  }
  const seqs = [seqOf(i.local), ...i.copies.map((c) => Math.max(seqOf(c.run), c.lock?.seq ?? 0))];
  const accept = i.copies.flatMap((c) => (c.lock ? [c.lock.owner.token] : []));
  return { kind: 'go', fetch, tookFrom, accept: [...new Set(accept)], seq: Math.max(...seqs) + 1 };
}

function valueOf(run: RunFile): string {
  return String((run.snapshot as { value?: string } | null)?.value ?? 'not started');
}

/**
 * Does a lock found on a host during the run (instead of this run's own) mean someone took the
 * run over? Yes for another owner's lock written since this run started (seq >= startSeq) and for
 * a lock file being created right now; no for a leftover (older, or this machine and state dir's).
 */
export function isTakenOver(found: { lock: HostLock | null; ageMs: number }, me: Me, startSeq: number): boolean {
  if (found.lock === null) return found.ageMs < STALE_MS;
  if (sameOwner(found.lock.owner, me)) return false;
  return found.lock.seq >= startSeq;
}
