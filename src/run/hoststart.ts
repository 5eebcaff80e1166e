// The start of a run against its hosts' copies (src/run/hostdecide.ts decides): read every
// host's copy and lock, refuse what conflicts with another zkroll's run, and for a take-over
// bring the newest copy into this machine's state directory (after the plan check a local
// resume makes), so the run goes on exactly as a local resume would.
// Invariants: nothing is written on a host here; a refusal changes nothing locally either; an
// older local run of another run id is archived (never deleted) before the fetched one replaces it.
import path from 'node:path';
import { archiveRun, isAlive, machineId, readRun, writeRun, type RunFile } from '../machine/store.js';
import { sshTargets } from '../plan/helpers.js';
import type { Plan } from '../plan/schema.js';
import { SshPool } from '../remote/ssh.js';
import { archiveReportFiles } from '../report/write.js';
import { decideStart, type StartMode } from './hostdecide.js';
import type { HostCopy, HostLock, Me } from './hostlock.js';
import { readHostCopies, type HostRef } from './hoststate.js';

/** This process as a lock owner (without its token). */
export function me(dir: string): Me {
  return { machine: machineId(), pid: process.pid, stateDir: path.resolve(dir) };
}

export interface HostStart {
  copies: HostCopy[];
  /** Sequence number of the run's first write. */
  seq: number;
  accept: string[];
  tookFrom: { lock: HostLock; ageMs: number | null } | null;
  /** The hosts' copy was brought here (take-over). */
  fetched: RunFile | null;
}

export interface HostStartRequest {
  mode: StartMode;
  dir: string;
  refs: readonly HostRef[];
  cluster: string;
  planFile: string;
  /** Throws (the driver's RunRefused) when a run file may not be resumed with this plan. */
  checkResumable: (run: RunFile) => void;
  refuse: (message: string) => Error;
  out: (line: string) => void;
}

/** Read the hosts and decide; throws `refuse(...)` when this run may not start here. */
export async function startOnHosts(r: HostStartRequest): Promise<HostStart> {
  const copies = await readHostCopies(r.refs, r.cluster);
  const local = readRun(r.dir);
  const self = me(r.dir);
  const d = decideStart({
    mode: r.mode,
    me: self,
    local,
    copies,
    ownerGone: (o) => o.machine === self.machine && !isAlive(o.pid),
    planFile: r.planFile,
    cluster: r.cluster,
  });
  if (d.kind === 'refuse') throw r.refuse(d.message);
  if (d.fetch) {
    r.checkResumable(d.fetch);
    if (local && local.runId !== d.fetch.runId) {
      const to = archiveRun(r.dir, local.runId);
      archiveReportFiles(r.dir, to);
      r.out(`this machine's older run ${local.runId} kept in ${to}`);
    }
    writeRun(r.dir, d.fetch);
  }
  return { copies, seq: d.seq, accept: d.accept, tookFrom: d.tookFrom, fetched: d.fetch };
}

/** Every host's copy of the plan's run, through a pool of its own (closed before it returns). */
export async function readPlanHosts(plan: Plan, planFile: string): Promise<HostCopy[]> {
  const pool = new SshPool();
  try {
    return await readHostCopies(
      sshTargets(plan, planFile).map((t) => ({ label: t.label, get: () => pool.get(t) })),
      plan.cluster.name,
    );
  } finally {
    await pool.closeAll();
  }
}
