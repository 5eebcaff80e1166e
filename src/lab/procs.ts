// Local process helpers for the lab: starting its detached processes, liveness, mount-namespace
// membership, orderly kill, port probes and polling with a deadline. Invariants: only signals
// pids it is given or finds in a namespace the lab recorded; waits are polls against a
// deadline, never fixed sleeps.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { LabError } from './spec.js';
export { tcpOpen } from '../zk/fourlw.js';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** The mount namespace id of a process ("mnt:[4026532177]"), or null if it is gone. */
export function mountNs(pid: number): string | null {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

/** Every live pid whose mount namespace is `ns`. */
export function pidsInNamespace(ns: string): number[] {
  const out: number[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const pid = Number(ent);
    if (pid === process.pid) continue;
    if (mountNs(pid) === ns && isAlive(pid)) out.push(pid);
  }
  return out;
}

/** Pids whose command line contains `needle` (used to find lab sshds after a lost state file). */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent) || Number(ent) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${ent}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(needle)) out.push(Number(ent));
    } catch {
      // process ended while we looked
    }
  }
  return out;
}

export async function pollUntil<T>(
  what: string,
  deadlineMs: number,
  intervalMs: number,
  probe: () => Promise<T | null | undefined> | T | null | undefined,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() >= end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** SIGTERM the pids, wait up to `graceMs`, then SIGKILL what is left. Returns the pids killed hard. */
export async function killAll(pids: number[], graceMs = 5000): Promise<number[]> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const end = Date.now() + graceMs;
  while (Date.now() < end && pids.some(isAlive)) await new Promise((r) => setTimeout(r, 50));
  const left = pids.filter(isAlive);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const endKill = Date.now() + 2000;
  while (Date.now() < endKill && left.some(isAlive)) await new Promise((r) => setTimeout(r, 20));
  return left;
}

/** True when host:port can be bound right now (nothing else listens there). */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Start a lab process: `node <script> <args>`, detached (it outlives us), stdout and stderr
 * appended to `logFile`. Returns its pid; throws naming `what` when it could not be started.
 */
export function spawnDetached(script: string, args: string[], logFile: string, what: string): number {
  return spawnDetachedCommand(process.execPath, [script, ...args], logFile, what);
}

/** Start a lab process running `command <args>` (for example `java`), as spawnDetached does. */
export function spawnDetachedCommand(command: string, args: string[], logFile: string, what: string): number {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log] });
  child.on('error', () => {}); // a command that cannot run has no pid: reported below
  fs.closeSync(log);
  child.unref();
  if (child.pid === undefined) throw new LabError(`lab: could not start ${what}`);
  return child.pid;
}
