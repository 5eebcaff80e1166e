// Where a run lives between invocations: <plan dir>/.zkroll/<cluster>/ holds run.json (format
// version, plan hash, the plan itself, the run id and the machine's persisted snapshot), a
// lock file, the audit log (JSON lines) and the run report.
// Invariants: run.json is replaced atomically (temp file, fsync, rename) after every machine
// transition, each write with the next sequence number (the same as its copies on the hosts,
// src/run/hoststate.ts); the lock is taken with O_EXCL and names its owner (machineId());
// resuming with an edited plan is refused with the differences named.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const FORMAT = 1;

/**
 * The run id of a moment (default now): its UTC time to the second, e.g. 20261121T213000Z. The
 * one clock of run ids and of the dated names derived from them (backups, saved copies).
 */
export function runIdNow(at: Date = new Date()): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export interface RunFile {
  format: number;
  planHash: string;
  plan: unknown;
  runId: string;
  startedAt: string;
  snapshot: unknown;
  /** Sequence number of this write (grows with every write of every run of the cluster; absent in older files: 0). */
  seq?: number;
}

/**
 * The name of this machine in locks: $ZKROLL_MACHINE_ID when set (tests and operations only: it
 * stands in for another machine's hostname), else the hostname.
 */
export function machineId(): string {
  return process.env['ZKROLL_MACHINE_ID'] || os.hostname();
}

export function stateDir(planFile: string, cluster: string): string {
  return process.env['ZKROLL_STATE_DIR']
    ? path.join(process.env['ZKROLL_STATE_DIR'], cluster)
    : path.join(path.dirname(path.resolve(planFile)), '.zkroll', cluster);
}

export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function planHash(plan: unknown): string {
  return crypto.createHash('sha256').update(canonical(plan)).digest('hex').slice(0, 16);
}

/** Dotted paths where two plans differ (for "the plan changed since the run started"). */
export function planDiff(a: unknown, b: unknown, at = ''): string[] {
  if (canonical(a) === canonical(b)) return [];
  const isObj = (x: unknown) => x !== null && typeof x === 'object';
  if (!isObj(a) || !isObj(b) || Array.isArray(a) !== Array.isArray(b)) return [`${at || '(plan)'}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`];
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  const out: string[] = [];
  for (const k of keys) {
    const p = Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
    out.push(...planDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], p));
  }
  return out;
}

export function readRun(dir: string): RunFile | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunFile;
  } catch {
    return null;
  }
}

export function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function writeRun(dir: string, run: RunFile): void {
  writeAtomic(path.join(dir, 'run.json'), JSON.stringify(run));
}

/** Move a finished run aside (never delete it) so a new one can start. */
export function archiveRun(dir: string, runId: string): string {
  const to = path.join(dir, `run-${runId}`);
  fs.mkdirSync(to, { recursive: true });
  for (const f of ['run.json', 'audit.jsonl', 'report.json']) if (fs.existsSync(path.join(dir, f))) fs.renameSync(path.join(dir, f), path.join(to, f));
  return to;
}

export class LockHeld extends Error {}

/** Take the cluster's lock; a lock left by a dead process on this machine is taken over. */
export function takeLock(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'lock');
  const me = JSON.stringify({ pid: process.pid, host: machineId(), since: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, me, { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === me) fs.rmSync(file);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner: { pid?: number; host?: string; since?: string } = {};
      try {
        owner = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof owner;
      } catch {
        // unreadable lock: treat as stale
      }
      const alive = owner.host === machineId() && owner.pid !== undefined && isAlive(owner.pid);
      if (alive || (owner.host !== undefined && owner.host !== machineId())) {
        throw new LockHeld(
          `another zkroll run holds the lock on this cluster: pid ${owner.pid} on ${owner.host} since ${owner.since} (${file}). Wait for it, or remove the file if that process is gone.`,
        );
      }
      fs.renameSync(file, `${file}.stale-${Date.now()}`);
    }
  }
  throw new LockHeld(`could not take the lock ${file}`);
}

/** Is process `pid` of this machine alive? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
