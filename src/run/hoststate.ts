// Keeping the run's copy and lock on its hosts (layout, scripts and decisions: hostlock.ts,
// hostdecide.ts): read every host's copy, and HostSync, the writer a run holds: it takes the
// lock (compare-and-swap), writes run.json and the lock (heartbeat) on every host after each
// persisted transition and every HEARTBEAT_MS, confirms before each step that the lock is still
// this run's (fencing), and lets go of it at the end.
// Invariants: all through SshHost.exec on the remote shell (audited: `read`, `write <path>`);
// writes to one host never overlap and carry the newest state (older pending ones are dropped);
// a host that cannot be written is warned about (once per outage) and retried, never fails the
// run; once another owner's lock is found, nothing more is written anywhere.
import crypto from 'node:crypto';
import type { RunFile } from '../machine/store.js';
import type { SshHost } from '../remote/ssh.js';
import { isTakenOver } from './hostdecide.js';
import {
  FENCED_CODE,
  HEARTBEAT_MS,
  hostStateDir,
  lockWriteScript,
  NO_LOCK_CODE,
  parseFenced,
  parseRead,
  readScript,
  runWriteScript,
  type HostCopy,
  type HostLock,
  type Owner,
} from './hostlock.js';

/** What the host state needs of a host. */
export type StateHost = Pick<SshHost, 'exec' | 'execBytes'>;
export interface HostRef {
  label: string;
  get: () => Promise<StateHost>;
}

/** Deadline (ms) of one read or write of the host state. */
const STATE_OP_MS = 20_000;
const READ_CAP = 64 * 1024 * 1024;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

async function readOne(ref: HostRef, cluster: string): Promise<HostCopy> {
  try {
    const h = await ref.get();
    const r = await h.execBytes({ script: readScript(cluster) }, { timeoutMs: STATE_OP_MS, maxStdoutBytes: READ_CAP, purpose: 'read' });
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.trim()}`);
    return parseRead(ref.label, r.stdout.toString('utf8'));
  } catch (e) {
    return { host: ref.label, error: message(e), home: null, run: null, lock: null, lockUnreadable: false, lockAgeMs: null };
  }
}

/** Every host's copy of the run and lock of `cluster` (read at once; an unreachable host has `error`). */
export function readHostCopies(refs: readonly HostRef[], cluster: string): Promise<HostCopy[]> {
  return Promise.all(refs.map((r) => readOne(r, cluster)));
}

/** A lock token for a new hold of the lock. */
export function newToken(): string {
  return crypto.randomBytes(12).toString('hex');
}

/** The run was taken over: `lock` is the new holder's. */
export class TakenOver extends Error {
  constructor(readonly lock: HostLock | null) {
    super(
      lock
        ? `the run was taken over by zkroll pid ${lock.owner.pid} on machine ${lock.owner.machine} (state dir ${lock.owner.stateDir}) at ${lock.since}`
        : 'the run was taken over: another zkroll is writing its lock on the hosts',
    );
  }
}

interface Slot {
  ref: HostRef;
  home: string | null;
  up: boolean;
  /** Sequence number of the last run.json written there. */
  runSeq: number;
  busy: Promise<void> | null;
  again: boolean;
  accept: string[];
  untokened: boolean;
}

export interface HostSyncOptions {
  refs: readonly HostRef[];
  /** What the start read (homes and the tokens seen), by host label. */
  copies: readonly HostCopy[];
  cluster: string;
  owner: Owner;
  runId: string;
  /** The sequence number of this run's first write. */
  startSeq: number;
  /** Lock tokens this run may replace. */
  accept: readonly string[];
  tookFrom: HostLock['tookFrom'];
  warn: (line: string) => void;
}

/** The writer of one run's host state (see the module header). */
export class HostSync {
  private readonly slots: Slot[];
  private readonly since = new Date().toISOString();
  private latest: { seq: number; text: string } | null = null;
  private released: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lost: TakenOver | null = null;
  /** Called once when another owner's lock is found. */
  onTakenOver: (e: TakenOver) => void = () => undefined;

  constructor(private readonly o: HostSyncOptions) {
    this.slots = o.refs.map((ref) => ({
      ref,
      home: o.copies.find((c) => c.host === ref.label)?.home ?? null,
      up: true,
      runSeq: 0,
      busy: null,
      again: false,
      accept: [...o.accept],
      untokened: false,
    }));
  }

  /** Set when the run was taken over by someone else. */
  get takenOver(): TakenOver | null {
    return this.lost;
  }

  /** Take the lock on every host; throws TakenOver, or Error when no host could be written. */
  async acquire(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.pump(s)));
    if (this.lost) throw this.lost;
    if (!this.slots.some((s) => s.up)) throw new Error(`zkroll could not write its lock on any host of ${this.o.cluster}`);
    this.timer = setInterval(() => this.slots.forEach((s) => void this.pump(s)), HEARTBEAT_MS);
    this.timer.unref();
  }

  /**
   * A start that lost: another zkroll holds the lock on some host. Let go of the locks this run
   * took on the others (each written as released, only where it still holds this run's token),
   * so that neither start leaves the cluster locked by a run that never ran. A host that cannot
   * be reached keeps this run's lock; its heartbeat ages past STALE_MS.
   */
  async abandon(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.released = new Date().toISOString();
    const text = this.lockText();
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.home === null) return;
        const dir = hostStateDir(s.home, this.o.cluster);
        try {
          const host = await s.ref.get();
          await host.exec(
            { script: lockWriteScript(dir, this.o.owner.token, [], false) },
            { timeoutMs: STATE_OP_MS, stdin: text, raw: true, purpose: `write ${dir}/lock` },
          );
        } catch {
          // unreachable: it keeps the unreleased lock (see above)
        }
      }),
    );
  }

  /** Write this state (serialized now) to every host, in the background. */
  save(run: RunFile): void {
    if (this.lost || this.released) return;
    this.latest = { seq: run.seq ?? 0, text: JSON.stringify(run) };
    for (const s of this.slots) void this.pump(s);
  }

  /** Before a step: refresh the lock on every host that is up and confirm it is still this run's. */
  async fence(): Promise<void> {
    const up = this.slots.filter((s) => s.up);
    for (const s of this.slots) if (!s.up) void this.pump(s);
    await Promise.all(up.map((s) => this.pump(s)));
    if (this.lost) throw this.lost;
  }

  /** The run ended: write its last state and release the lock on every host that is up. */
  async close(run: RunFile): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.lost || this.released) return;
    this.save(run);
    this.released = new Date().toISOString();
    await Promise.all(this.slots.filter((s) => s.up).map((s) => this.pump(s)));
  }

  private pump(s: Slot): Promise<void> {
    s.again = true;
    if (!s.busy) s.busy = this.drain(s);
    return s.busy;
  }

  private async drain(s: Slot): Promise<void> {
    try {
      while (s.again && !this.lost) {
        s.again = false;
        await this.writeOnce(s);
        // a host that is down is tried again by the next heartbeat or save, not in a loop here: a
        // heartbeat landing during every failed attempt (a connect that takes its whole timeout)
        // would keep this loop, and the fence that waits for it, going forever
        if (!s.up) break;
      }
    } finally {
      s.busy = null;
    }
  }

  private async writeOnce(s: Slot): Promise<void> {
    try {
      const host = await s.ref.get();
      if (s.home === null) s.home = (await readOne({ label: s.ref.label, get: () => Promise.resolve(host) }, this.o.cluster)).home;
      if (s.home === null) throw new Error('could not find the login directory');
      const dir = hostStateDir(s.home, this.o.cluster);
      await this.writeLock(host, dir, s);
      const latest = this.latest;
      if (latest && latest.seq > s.runSeq && (await this.writeRun(host, dir, s, latest.text))) s.runSeq = latest.seq;
      if (!s.up) this.o.warn(`host state: ${s.ref.label} written again (copy ${s.runSeq})`);
      s.up = true;
    } catch (e) {
      if (e instanceof TakenOver) return this.lose(e);
      if (s.up)
        this.o.warn(`host state: could not write the run's copy on ${s.ref.label} (${message(e)}); it keeps copy ${s.runSeq || 'none'}, the run goes on`);
      s.up = false;
    }
  }

  private lockText(): string {
    const lock: HostLock = {
      format: 1,
      cluster: this.o.cluster,
      runId: this.o.runId,
      owner: this.o.owner,
      since: this.since,
      heartbeat: new Date().toISOString(),
      seq: this.latest?.seq ?? this.o.startSeq,
      released: this.released,
      tookFrom: this.o.tookFrom,
    };
    return JSON.stringify(lock);
  }

  /** Compare-and-swap the lock; a leftover lock (older, or this machine and dir's) is replaced. */
  private async writeLock(host: StateHost, dir: string, s: Slot): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const script = lockWriteScript(dir, this.o.owner.token, s.accept, s.untokened);
      const r = await host.exec({ script }, { timeoutMs: STATE_OP_MS, stdin: this.lockText(), raw: true, purpose: `write ${dir}/lock` });
      if (r.code === 0) return;
      const found = r.code === FENCED_CODE ? parseFenced(r.stdout) : null;
      if (!found) throw new Error(`writing ${dir}/lock: exit ${r.code}: ${r.stderr.trim()}`);
      if (isTakenOver(found, this.o.owner, this.o.startSeq)) throw new TakenOver(found.lock);
      if (found.lock) s.accept.push(found.lock.owner.token);
      else s.untokened = true;
    }
    throw new Error(`writing ${dir}/lock: the lock kept changing`);
  }

  /** Write run.json; false when the lock was gone (it is written again first, next round). */
  private async writeRun(host: StateHost, dir: string, s: Slot, text: string): Promise<boolean> {
    const r = await host.exec(
      { script: runWriteScript(dir, this.o.owner.token) },
      { timeoutMs: STATE_OP_MS, stdin: text, raw: true, purpose: `write ${dir}/run.json` },
    );
    if (r.code === 0) return true;
    if (r.code === NO_LOCK_CODE) {
      s.again = true;
      return false;
    }
    const found = r.code === FENCED_CODE ? parseFenced(r.stdout) : null;
    if (found && isTakenOver(found, this.o.owner, this.o.startSeq)) throw new TakenOver(found.lock);
    // a leftover lock replaced our own between the two writes: the next round takes it back
    if (found) {
      s.again = true;
      return false;
    }
    throw new Error(`writing ${dir}/run.json: exit ${r.code}: ${r.stderr.trim()}`);
  }

  private lose(e: TakenOver): void {
    if (this.lost) return;
    this.lost = e;
    if (this.timer) clearInterval(this.timer);
    this.onTakenOver(e);
  }
}
