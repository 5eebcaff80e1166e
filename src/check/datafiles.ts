// Snapshot and transaction-log continuity (RUNBOOK.md §4, seed 004): a server restarted on a
// dataDir whose newest snapshot is damaged, or whose logs do not continue from it, serves a
// different tree than its peers (3.4.6 replays logs onto an empty tree; a 3.8 server whose
// first log is missing starts silently with missing data). Pure parsers of the on-disk
// formats and the verdict; the bytes are read elsewhere.
// Invariants: never throws on damaged input (it reports it); zxids are BigInt; a snapshot is
// valid only when its ZKSN header, its "/" seal and its Adler32 checksum all hold.
import { hexZxid } from '../zk/zxid.js';

export const ZKSN = 0x5a4b534e;
export const ZKLG = 0x5a4b4c47;

/** Adler-32 as java.util.zip.Adler32 computes it. */
export function adler32(buf: Buffer, end = buf.length): number {
  let a = 1;
  let b = 0;
  const MOD = 65521;
  for (let i = 0; i < end;) {
    const n = Math.min(3800, end - i);
    for (let k = 0; k < n; k++, i++) {
      a += buf[i]!;
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}

export function zxidOfName(name: string, prefix: 'snapshot' | 'log'): bigint | null {
  const m = new RegExp(`^${prefix}\\.([0-9a-f]+)$`, 'i').exec(name);
  return m ? BigInt(`0x${m[1]}`) : null;
}

export type SnapshotVerdict = { ok: true } | { ok: false; why: string };

/** Check a snapshot file: ZKSN header, the trailing checksum + "/" seal, Adler32 over the rest. */
export function checkSnapshot(buf: Buffer): SnapshotVerdict {
  if (buf.length < 16 + 13) return { ok: false, why: `only ${buf.length} bytes` };
  if (buf.readUInt32BE(0) !== ZKSN) return { ok: false, why: 'no ZKSN header' };
  const tail = buf.length - 13;
  if (buf.readInt32BE(tail + 8) !== 1 || buf[tail + 12] !== 0x2f) return { ok: false, why: 'truncated: the end-of-snapshot seal is missing' };
  const stored = buf.readBigUInt64BE(tail);
  const actual = BigInt(adler32(buf, tail));
  if (stored !== actual) return { ok: false, why: `checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})` };
  return { ok: true };
}

export interface LogScan {
  ok: boolean;
  why?: string;
  first: bigint | null;
  last: bigint | null;
  txns: number;
}

/** Read a transaction log: header, then [crc][len][txn][0x42] entries until zeros or EOF. */
export function scanLog(buf: Buffer): LogScan {
  if (buf.length < 16 || buf.readUInt32BE(0) !== ZKLG) return { ok: false, why: 'no ZKLG header', first: null, last: null, txns: 0 };
  let off = 16;
  let first: bigint | null = null;
  let last: bigint | null = null;
  let txns = 0;
  while (off + 12 <= buf.length) {
    const crc = buf.readBigUInt64BE(off);
    const len = buf.readInt32BE(off + 8);
    if (len === 0 && crc === 0n) break; // preallocated space: the end
    if (len < 20 || off + 12 + len + 1 > buf.length) break; // a torn last entry is ignored, as ZooKeeper does
    const body = buf.subarray(off + 12, off + 12 + len);
    if (BigInt(adler32(body)) !== crc || buf[off + 12 + len] !== 0x42) break;
    const zxid = body.readBigUInt64BE(12);
    first ??= zxid;
    last = zxid;
    txns++;
    off += 12 + len + 1;
  }
  return { ok: true, first, last, txns };
}

export interface DataFiles {
  snapshots: { name: string; zxid: bigint; verdict: SnapshotVerdict }[];
  logs: { name: string; start: bigint; scan: LogScan }[];
}

export interface Continuity {
  ok: boolean;
  /** What a DBA needs to know. */
  detail: string;
  snapshotZxid: bigint | null;
  lastZxid: bigint | null;
}

const hex = (z: bigint | null) => hexZxid(z);
const epoch = (z: bigint) => z >> 32n;

/** The first gap between consecutive logs (provable only inside one epoch), or null. */
function logGap(scanned: DataFiles['logs']): Omit<Continuity, 'snapshotZxid'> | null {
  for (let i = 1; i < scanned.length; i++) {
    const prev = scanned[i - 1]!.scan.last!;
    const next = scanned[i]!.scan.first!;
    if (next > prev + 1n && epoch(next) === epoch(prev)) {
      return {
        ok: false,
        detail: `transactions ${hex(prev + 1n)}..${hex(next - 1n)} are missing between ${scanned[i - 1]!.name} and ${scanned[i]!.name}`,
        lastZxid: prev,
      };
    }
  }
  return null;
}

/** The first transaction an ensemble ever logs: epoch 1, counter 1 (a fresh ensemble's first leader takes epoch 1). */
export const FIRST_ZXID = 0x100000001n;

/**
 * No snapshot file at all, only logs: complete only when they begin with the ensemble's first
 * transaction (0x100000001: nothing came before it) and continue without a gap. This is a 3.4
 * server that never wrote a snapshot: a leader since the ensemble's first write, or a follower
 * that synced by diff (3.4 writes a snapshot only after a SNAP sync or snapCount transactions).
 * Logs that begin at the first transaction of a later epoch are refused: every restart or
 * election opens a new log there, so what came before may have been deleted (a cleanup job).
 * A damaged log header is refused (ZooKeeper would not start on it). 3.5+ refuse to start on
 * such a dataDir without snapshot.trust.empty (ZOOKEEPER-3056).
 */
function logsFromTheStart(logs: DataFiles['logs']): Continuity {
  const damaged = logs.filter((l) => !l.scan.ok);
  if (damaged.length > 0)
    return {
      ok: false,
      detail: `no snapshot, and ${damaged.map((l) => `${l.name}: ${l.scan.why}`).join('; ')}: ZooKeeper cannot replay it`,
      snapshotZxid: null,
      lastZxid: null,
    };
  const scanned = logs.filter((l) => l.scan.txns > 0);
  const first = scanned[0]?.scan.first ?? null;
  if (first === null)
    return {
      ok: true,
      detail: `no snapshot and ${logs.length} transaction log${logs.length === 1 ? '' : 's'} with no transaction: the server will take the full data from the leader`,
      snapshotZxid: null,
      lastZxid: null,
    };
  if (first !== FIRST_ZXID) {
    return {
      ok: false,
      detail: `no snapshot, and the first transaction log ${scanned[0]!.name} begins at ${hex(first)}, not at the ensemble's first transaction ${hex(FIRST_ZXID)}: the transactions before it may have been deleted; a restart would serve a tree without them. Compare with its peers; if this ensemble really logged nothing before ${hex(first)}, move the dataDir's version-2 aside so the server takes the full data from the leader`,
      snapshotZxid: null,
      lastZxid: null,
    };
  }
  const gap = logGap(scanned);
  if (gap !== null) return { ...gap, snapshotZxid: null };
  const lastZxid = scanned.at(-1)!.scan.last;
  return {
    ok: true,
    detail: `no snapshot; logs complete from the ensemble's first transaction ${hex(first)} to ${hex(lastZxid)} (a 3.5+ server needs snapshot.trust.empty=true to start on this: ZOOKEEPER-3056)`,
    snapshotZxid: null,
    lastZxid,
  };
}

/**
 * The verdict for one server's data: the newest valid snapshot, then logs that continue from
 * it without a gap to the last transaction. An empty data directory is fine (the server will
 * take the data from the leader).
 */
export function continuity(f: DataFiles): Continuity {
  const snaps = [...f.snapshots].sort((a, b) => (a.zxid < b.zxid ? 1 : -1));
  const logs = [...f.logs].sort((a, b) => (a.start < b.start ? -1 : 1));
  if (snaps.length === 0 && logs.length === 0)
    return { ok: true, detail: 'no data yet: the server will take the full data from the leader', snapshotZxid: null, lastZxid: null };
  const valid = snaps.find((s) => s.verdict.ok);
  if (snaps.length === 0) return logsFromTheStart(logs);
  const damaged = snaps.filter((s) => s !== valid && snaps.indexOf(s) < (valid ? snaps.indexOf(valid) : snaps.length));
  if (!valid) {
    const why = snaps.map((s) => `${s.name}: ${(s.verdict as { why: string }).why}`).join('; ');
    return {
      ok: false,
      detail: `no valid snapshot${why ? ` (${why})` : ''} but ${logs.length} transaction logs: a restart would replay them onto an empty tree and serve different data than its peers`,
      snapshotZxid: null,
      lastZxid: null,
    };
  }
  // the log that holds valid.zxid + 1: the last one starting at or before it, then every later one
  const need = valid.zxid + 1n;
  const startIdx = logs.reduce((idx, l, i) => (l.start <= need ? i : idx), -1);
  const relevant = startIdx >= 0 ? logs.slice(startIdx) : logs;
  const scanned = relevant.filter((l) => l.scan.txns > 0);
  const firstAfter = scanned[0];
  // a gap is provable only inside one epoch: a new epoch may start anywhere after the last
  // transaction of the previous one (a leader can also start its counter elsewhere)
  if (firstAfter && firstAfter.scan.first !== null && firstAfter.scan.first > need && epoch(firstAfter.scan.first) === epoch(need)) {
    return {
      ok: false,
      detail: `transactions ${hex(need)}..${hex(firstAfter.scan.first - 1n)} are missing: the snapshot ${valid.name} is followed by ${firstAfter.name}; a restart would serve a tree without them`,
      snapshotZxid: valid.zxid,
      lastZxid: null,
    };
  }
  const gap = logGap(scanned);
  if (gap !== null) return { ...gap, snapshotZxid: valid.zxid };
  const lastZxid = scanned.at(-1)?.scan.last ?? valid.zxid;
  const note =
    damaged.length > 0
      ? `; newer damaged snapshot${damaged.length > 1 ? 's' : ''} ignored: ${damaged.map((d) => `${d.name} (${(d.verdict as { why: string }).why})`).join(', ')}`
      : '';
  return { ok: true, detail: `snapshot ${valid.name} valid, logs continue to ${hex(lastZxid)}${note}`, snapshotZxid: valid.zxid, lastZxid };
}
