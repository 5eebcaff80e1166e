// The run's copy on its hosts: every target host keeps run.json (the RunFile with a sequence
// number) and a lock naming its owner in ~/.zkroll-runs/<cluster>/ of the SSH login user (the
// directory an SSH session starts in). This module holds the sh scripts that read and write
// them and the pure decisions made from what the hosts hold: the newest copy, the lock in
// force, whether a run may start or take over, and whether a lock found later means the run was
// taken over (fenced).
// Invariants: pure (no I/O, no clock: `now`-derived ages and process liveness are inputs);
// every path and token in a script is quoted with shq; a lock write is a compare-and-swap on
// the lock's owner token; run.json is written only while the lock names this process; files
// are replaced with temp file + fsync + rename (remote/sudofiles.ts) and never deleted.
import path from 'node:path';
import type { RunFile } from '../machine/store.js';
import { shq } from '../remote/quote.js';
import { tempPathFor } from '../remote/sftp.js';
import { sudoWriteScript } from '../remote/sudofiles.js';

/** The directory under the login user's home that holds zkroll's host state, per cluster. */
/**
 * The directory, in the SSH login user's home, of zkroll's copies on a host: not `.zkroll`, which
 * is the local state directory's name (`<plan dir>/.zkroll/`): a plan kept in the home of a
 * machine that is also a host (or a shared home) would make them one directory.
 */
export const HOST_STATE_DIR = '.zkroll-runs';
/** The lock's heartbeat is refreshed at least this often (ms) while a run is live. */
export const HEARTBEAT_MS = 10_000;
/** A lock whose newest heartbeat is younger than this (ms, by the hosts' clocks) may not be taken over. */
export const STALE_MS = 3 * HEARTBEAT_MS;
/** First word of a write script's stdout when the lock is not (or no longer) this process's. */
export const FENCED_MARK = 'ZKROLL-FENCED';
/** Exit code of a write script that refused to write (the lock is someone else's). */
export const FENCED_CODE = 3;
/** Exit code of the run.json script when the lock file is gone (the lock is written again first). */
export const NO_LOCK_CODE = 4;

/** Who holds a lock: a zkroll process on a machine with a state directory. */
export interface Owner {
  machine: string;
  pid: number;
  stateDir: string;
  /** Random hex naming this process's hold of the lock (the compare-and-swap key). */
  token: string;
}

export interface HostLock {
  format: 1;
  cluster: string;
  runId: string;
  owner: Owner;
  /** ISO time the owner took the lock (its clock). */
  since: string;
  /** ISO time of the owner's last write (its clock; ages are measured with the host's clock). */
  heartbeat: string;
  /** Sequence number of the newest run.json written with this lock. */
  seq: number;
  /** ISO time the owner ended and let go (null while it runs). */
  released: string | null;
  /** Whose lock this one took over, and that lock's last heartbeat. */
  tookFrom: { machine: string; pid: number; stateDir: string; heartbeat: string } | null;
}

/** What one host holds (`error` when it could not be read). */
export interface HostCopy {
  host: string;
  error: string | null;
  /** The SSH login user's home directory there (absolute). */
  home: string | null;
  run: RunFile | null;
  lock: HostLock | null;
  /** A lock file that is no lock zkroll wrote (empty while being created, or damaged). */
  lockUnreadable: boolean;
  /** Age of the lock file's last write (ms), by the host's own clock. */
  lockAgeMs: number | null;
}

/** Where this process runs, as a lock owner names it. */
export type Me = Omit<Owner, 'token'>;

export function hostStateDir(home: string, cluster: string): string {
  return path.posix.join(home, HOST_STATE_DIR, cluster);
}

/** Is this a path of zkroll's host state (run.json or lock)? For audits of a run's writes. */
export function isHostStatePath(p: string): boolean {
  return new RegExp(`/${HOST_STATE_DIR.replace('.', '\\.')}/[A-Za-z0-9][A-Za-z0-9._-]*/(run\\.json|lock)$`).test(p);
}

/** The newest run sequence number of a run file (0 for files written before sequence numbers). */
export function seqOf(run: RunFile | null | undefined): number {
  return typeof run?.seq === 'number' ? run.seq : 0;
}

export function isFinished(run: RunFile): boolean {
  const v = (run.snapshot as { value?: string } | null)?.value;
  return v === 'done' || v === 'aborted';
}

// ---------- scripts ----------

/**
 * A read-only script (relative to the login directory) printing `home <dir>`, `now <epoch s>`
 * and, for each of lock and run.json that exists, `file <name> <mtime epoch s> <base64>`.
 */
export function readScript(cluster: string): string {
  const d = shq(`${HOST_STATE_DIR}/${cluster}`);
  return [
    `d=${d}`,
    `printf 'home %s\\nnow %s\\n' "$(pwd -P)" "$(date +%s)"`,
    'for f in lock run.json; do',
    '  [ -f "$d/$f" ] || continue',
    `  printf 'file %s %s ' "$f" "$(stat -c %Y "$d/$f")"`,
    '  base64 -w0 < "$d/$f"',
    `  printf '\\n'`,
    'done',
  ].join('\n');
}

const TOKEN = /^[0-9a-f]{8,64}$/;
const holds = (t: string, file: string) => `grep -qF ${shq(`"token":"${t}"`)} ${file}`;
const fencedOut = (file: string) =>
  `{ printf '${FENCED_MARK} %s %s ' "$(stat -c %Y ${file} 2>/dev/null || echo 0)" "$(date +%s)"; base64 -w0 < ${file} 2>/dev/null; printf '\\n'; exit ${FENCED_CODE}; }`;

/** Exit code when the host's mutex could not be had within MUTEX_WAIT_S (another writer hangs). */
export const MUTEX_CODE = 5;
const MUTEX_WAIT_S = 10;

/**
 * Hold an exclusive flock(1) on `<dir>/.mutex` for the rest of the script (the file descriptor
 * closes when it exits), so a check of the lock and the write after it are one step for every
 * zkroll writing on this host: two machines, or hosts that share one home (NFS, the lab), never
 * both pass the check. A host without flock (util-linux) goes without, as before.
 */
function mutex(dir: string): string {
  return `if command -v flock >/dev/null 2>&1; then exec 9>${shq(`${dir}/.mutex`)} && flock -x -w ${MUTEX_WAIT_S} 9 || exit ${MUTEX_CODE}; fi`;
}

/**
 * Write the lock (stdin) in `dir` if it is free or held by one of `accept` (tokens; `mine`
 * first), creating it with noclobber when absent; `untokened`: a lock file without a token may
 * be replaced. Otherwise prints FENCED_MARK, the file's mtime, the host's time and the lock in
 * base64, and exits FENCED_CODE.
 */
export function lockWriteScript(dir: string, mine: string, accept: readonly string[], untokened: boolean): string {
  const l = shq(`${dir}/lock`);
  const tokens = [mine, ...accept.filter((t) => t !== mine)].filter((t) => TOKEN.test(t));
  const ok = [`( set -C; : > ${l} ) 2>/dev/null`, ...tokens.map((t) => holds(t, l)), ...(untokened ? [`! grep -qF '"token":' ${l}`] : [])];
  return [
    'umask 077',
    `mkdir -p ${shq(dir)} || exit 1`,
    mutex(dir),
    `if ${ok.join(' || ')}; then :; else ${fencedOut(l)}; fi`,
    sudoWriteScript(`${dir}/lock`, tempPathFor(`${dir}/lock`), 0o600),
  ].join('\n');
}

/** Write run.json (stdin) in `dir` only while the lock there holds `mine` (else as lockWriteScript). */
export function runWriteScript(dir: string, mine: string): string {
  const l = shq(`${dir}/lock`);
  if (!TOKEN.test(mine)) throw new Error(`not a lock token: ${mine}`);
  return [
    'umask 077',
    `[ -e ${l} ] || exit ${NO_LOCK_CODE}`,
    mutex(dir),
    `${holds(mine, l)} || ${fencedOut(l)}`,
    sudoWriteScript(`${dir}/run.json`, tempPathFor(`${dir}/run.json`), 0o600),
  ].join('\n');
}

// ---------- parsing ----------

function parseJson<T>(text: string, ok: (v: Record<string, unknown>) => boolean): T | null {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && ok(v as Record<string, unknown>) ? (v as T) : null;
  } catch {
    return null;
  }
}

export function parseLock(text: string): HostLock | null {
  return parseJson<HostLock>(text, (v) => {
    const o = v['owner'] as Record<string, unknown> | undefined;
    return typeof v['seq'] === 'number' && typeof v['runId'] === 'string' && typeof o?.['token'] === 'string' && typeof o['machine'] === 'string';
  });
}

function parseRun(text: string): RunFile | null {
  return parseJson<RunFile>(text, (v) => typeof v['runId'] === 'string' && typeof v['planHash'] === 'string' && 'snapshot' in v);
}

const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

/** What readScript printed, as a HostCopy. */
export function parseRead(host: string, stdout: string): HostCopy {
  const out: HostCopy = { host, error: null, home: null, run: null, lock: null, lockUnreadable: false, lockAgeMs: null };
  let now: number | null = null;
  for (const line of stdout.split('\n')) {
    const [kind, a, b, c] = line.split(' ');
    if (kind === 'home' && a?.startsWith('/')) out.home = line.slice(5);
    else if (kind === 'now' && /^\d+$/.test(a ?? '')) now = Number(a);
    else if (kind === 'file' && a === 'run.json') out.run = parseRun(b64(c));
    else if (kind === 'file' && a === 'lock') {
      out.lock = parseLock(b64(c));
      out.lockUnreadable = out.lock === null;
      out.lockAgeMs = now !== null && /^\d+$/.test(b ?? '') ? Math.max(0, (now - Number(b)) * 1000) : null;
    }
  }
  if (out.home === null) out.error = `unexpected answer to the state read: ${JSON.stringify(stdout.slice(0, 200))}`;
  return out;
}

/** The lock a write script found instead of its own (null: that was not a fenced answer). */
export function parseFenced(stdout: string): { lock: HostLock | null; ageMs: number } | null {
  const m = new RegExp(`^${FENCED_MARK} (\\d+) (\\d+) (\\S*)`).exec(stdout.trim());
  if (!m) return null;
  return { lock: parseLock(b64(m[3])), ageMs: Math.max(0, (Number(m[2]) - Number(m[1])) * 1000) };
}
