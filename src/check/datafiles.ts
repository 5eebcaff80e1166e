// Snapshot and transaction-log continuity (RUNBOOK.md §4, seed 004): a server restarted on a
// dataDir whose newest snapshot is damaged, or whose logs do not continue from it, serves a
// different tree than its peers (3.4.6 replays logs onto an empty tree; a 3.8 server whose
// first log is missing starts silently with missing data). The data file names and the verdict
// on what the scanner found in them; the files themselves are read on the host by
// java/ZkrollDataScan.java (src/check/datascan.ts runs it and parses its answer).
// Invariants: pure; never throws on damaged data (it reports it); zxids are BigInt; a snapshot
// is valid only when its ZKSN header, its "/" seal and its Adler32 checksum all hold (checked by
// the scanner). A snapshot older than a valid one may be `skipped` and a log before the one that
// holds the valid snapshot's zxid + 1 may be `headerOnly`: continuity never looks further than
// that (datascan.ts refuses an answer that breaks this).
//
// ZooKeeper facts used (apache/zookeeper, master 53a78e36 and the release-3.4.6/3.4.14 tags):
// - persistence/SnapStream.java: getStreamMode(fileName) takes the text after the last "." and
//   StreamMode.fromString compares it case-insensitively with "gz" / "snappy" (anything else is
//   the plain CHECKED stream); the checksum and the "/" seal are over the DEcompressed bytes
//   (the scanner's header lists what it checks and how).
// - persistence/FileSnap.deserialize: snapshots are tried newest first (findNValidSnapshots);
//   one that fails to load is logged and the next older is tried; the first that loads is used
//   and older ones are not read.
// - persistence/Util.getZxidFromName: the zxid is the second "."-separated part, in hex.
// - persistence/FileTxnLog.FileTxnIterator: inStreamCreated reads the 16-byte FileHeader
//   (magic ZKLG, version, dbid) of every log it opens and throws on a wrong magic; a log
//   shorter than the header is an EOFException that stops the server. goToNextLog deletes an
//   empty newest log itself only from 3.9.3 (ZOOKEEPER-2332); earlier releases do not start.
// - persistence/FileTxnSnapLog.restore: no snapshot but logs is refused from 3.5 unless
//   zookeeper.snapshot.trust.empty (ZOOKEEPER-3056).
// - quorum/Learner.syncWithLeader: 3.4.6 always takes a snapshot at NEWLEADER; from 3.4.10
//   (ZOOKEEPER-2678) a follower synced by DIFF does not (snapshotNeeded = false) and logs the
//   diff instead; a 3.4 leader (Leader.lead -> ZooKeeperServer.loadData) takes none, a 3.5+
//   one does ("Make a clean snapshot").
import { hexZxid } from '../zk/zxid.js';

export type SnapshotCompression = 'none' | 'gzip' | 'snappy';

/**
 * A snapshot file name as ZooKeeper 3.6+ writes it: `snapshot.<zxid>`, or with `.gz` / `.snappy`
 * when zookeeper.snapshot.compression.method is set (SnapStream.StreamMode, matched
 * case-insensitively). Other names (a `.tmp` left by AtomicFileOutputStream, a `.bak` copy) are
 * not ours to judge and stay ignored, as before.
 */
export function snapshotName(name: string): { zxid: bigint; compression: SnapshotCompression } | null {
  const m = /^snapshot\.([0-9a-f]+)(?:\.(gz|snappy))?$/i.exec(name);
  if (!m) return null;
  const ext = m[2]?.toLowerCase();
  return { zxid: BigInt(`0x${m[1]}`), compression: ext === 'gz' ? 'gzip' : ext === 'snappy' ? 'snappy' : 'none' };
}

export function zxidOfName(name: string, prefix: 'snapshot' | 'log'): bigint | null {
  if (prefix === 'snapshot') return snapshotName(name)?.zxid ?? null;
  const m = /^log\.([0-9a-f]+)$/i.exec(name);
  return m ? BigInt(`0x${m[1]}`) : null;
}

/**
 * A snapshot's verdict. `skipped`: the scanner did not read it because a newer snapshot is valid
 * (ZooKeeper loads the newest valid one and never opens older ones); its why says so.
 */
export type SnapshotVerdict = { ok: true } | { ok: false; why: string; skipped?: true };

/** What a transaction log holds, as the scanner read it. */
export interface LogScan {
  ok: boolean;
  why?: string;
  /** On a missing header: how many bytes the file had (at least 16 when the magic was wrong). */
  bytes?: number;
  first: bigint | null;
  last: bigint | null;
  txns: number;
  /**
   * Only the 16-byte header was read (it holds): the log begins before the one that holds the
   * valid snapshot's zxid + 1, so its entries do not matter and `first`/`last`/`txns` are unknown.
   */
  headerOnly?: true;
}

/** One server's data files and what the scanner found in each; `size`: the file's length in bytes, when known. */
export interface DataFiles {
  snapshots: { name: string; zxid: bigint; verdict: SnapshotVerdict; size?: number }[];
  logs: { name: string; start: bigint; scan: LogScan; size?: number }[];
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
 * Logs ZooKeeper cannot open: FileTxnLog's iterator reads the 16-byte FileHeader of each log
 * and stops the server on a wrong magic or an EOFException (a 0-byte newest log is deleted
 * by the server itself only from 3.9.3, ZOOKEEPER-2332). A log without a whole header holds
 * no transaction, so moving it aside loses nothing; zkroll never deletes or moves it itself.
 */
function unreadableLogs(logs: DataFiles['logs'], hasSnapshot: boolean): Continuity | null {
  const bad = logs.filter((l) => !l.scan.ok);
  if (bad.length === 0) return null;
  const advice = (l: DataFiles['logs'][number]) =>
    (l.scan.bytes ?? 16) < 16
      ? `it holds no transaction: move ${l.name} out of version-2 into a backup directory (a name such as ${l.name}.bak inside version-2 is still read as a log) and run the check again${l === logs.at(-1) && l.scan.bytes === 0 ? ' (ZooKeeper 3.9.3+ deletes an empty newest log itself, ZOOKEEPER-2332; earlier releases stop with an EOFException reading its header)' : ''}`
      : `${l.name} is not a transaction log ZooKeeper can read: restore it from a backup, or, if the peers hold the data, move the dataDir's version-2 aside so the server takes the full data from the leader`;
  return {
    ok: false,
    detail: `${hasSnapshot ? '' : 'no snapshot, and '}${bad.map((l) => `${l.name}: ${l.scan.why}`).join('; ')}: ZooKeeper cannot load ${bad.length === 1 ? 'it' : 'them'}${bad.every((l) => l.scan.bytes !== undefined) ? " (FileTxnLog reads every log's 16-byte header)" : ''} and the server would not start; ${bad.map(advice).join('; ')}`,
    snapshotZxid: null,
    lastZxid: null,
  };
}

/**
 * No snapshot file at all, only logs: complete only when they begin with the ensemble's first
 * transaction (0x100000001: the first leader takes epoch 1, and nothing comes before its first
 * transaction) and continue without a gap. Which servers have logs and no snapshot (sources in
 * the module header): a 3.4 leader since the ensemble's first write (3.4's Leader.lead takes no
 * snapshot), or, from 3.4.10 (ZOOKEEPER-2678), a follower that synced by DIFF; both write one
 * only after snapCount transactions. 3.5+ servers take a snapshot when they lead, and refuse
 * to start on logs without one unless snapshot.trust.empty (ZOOKEEPER-3056).
 * Logs that begin at the first transaction of a LATER epoch (log.200000001) are refused: such
 * a dataDir is complete only if the ensemble wrote nothing in the epochs before, which this
 * server's files cannot show, while every restart or election opens a log exactly there, so a
 * cleanup job that deleted the snapshots and older logs leaves the same picture. Only the
 * peers can tell; a wrong "complete" would serve a tree without those transactions.
 * A damaged log header is refused (ZooKeeper would not start on it).
 */
function logsFromTheStart(logs: DataFiles['logs']): Continuity {
  const unreadable = unreadableLogs(logs, false);
  if (unreadable !== null) return unreadable;
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
      detail: `no snapshot, and the first transaction log ${scanned[0]!.name} begins at ${hex(first)}, not at the ensemble's first transaction ${hex(FIRST_ZXID)}: the transactions before it may have been deleted${(first & 0xffffffffn) === 1n ? ` (it is the first transaction of epoch ${epoch(first)}, complete only if the ensemble wrote nothing in earlier epochs, which this server's files cannot show)` : ''}; a restart would serve a tree without them. Compare with its peers; if this ensemble really logged nothing before ${hex(first)}, move the dataDir's version-2 aside so the server takes the full data from the leader`,
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
  const unreadable = unreadableLogs(logs, true);
  if (unreadable !== null) return { ...unreadable, snapshotZxid: valid?.zxid ?? null };
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
