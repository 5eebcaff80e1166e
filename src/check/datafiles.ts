// Snapshot and transaction-log continuity (RUNBOOK.md §4, seed 004): a server restarted on a
// dataDir whose newest snapshot is damaged, or whose logs do not continue from it, serves a
// different tree than its peers (3.4.6 replays logs onto an empty tree; a 3.8 server whose
// first log is missing starts silently with missing data). Pure parsers of the on-disk
// formats and the verdict; the bytes are read elsewhere.
// Invariants: never throws on damaged input (it reports it); zxids are BigInt; a snapshot is
// valid only when its ZKSN header, its "/" seal and its Adler32 checksum all hold.
//
// ZooKeeper facts used (apache/zookeeper, master 53a78e36 and the release-3.4.6/3.4.14 tags):
// - persistence/SnapStream.java: getStreamMode(fileName) takes the text after the last "." and
//   StreamMode.fromString compares it case-insensitively with "gz" / "snappy" (anything else is
//   the plain CHECKED stream); getInputStream wraps GZIPInputStream or org.xerial.snappy
//   SnappyInputStream in a CheckedInputStream(Adler32), so the checksum and the "/" seal
//   (sealStream / checkSealIntegrity) are over the DEcompressed bytes: a .gz snapshot is the
//   plain snapshot format inside gzip. isValidSnapshot only checks the gzip magic (GZIP_MAGIC)
//   or the snappy magic (SnappyCodec.getMagicHeader(), MAGIC_LEN bytes) for compressed files.
//   SnappyOutputStream's framing (snappy-java SnappyCodec): the 8-byte magic
//   {0x82,'S','N','A','P','P','Y',0}, two int32 versions, then blocks [int32 length][raw
//   snappy block]; each block is decompressed with snappyjs (raw Snappy) and checked like a plain
//   snapshot (test fixture: a snapshot written by a real 3.9.3 with the snappy method).
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
import { uncompress } from 'snappyjs';
import { hexZxid } from '../zk/zxid.js';

export const ZKSN = 0x5a4b534e;
export const ZKLG = 0x5a4b4c47;

/** Adler-32 as java.util.zip.Adler32 computes it, fed in pieces (a snapshot is never held whole). */
export class Adler32 {
  private a = 1;
  private b = 0;
  update(buf: Uint8Array, start = 0, end = buf.length): this {
    let a = this.a;
    let b = this.b;
    for (let i = start; i < end;) {
      const n = Math.min(3800, end - i);
      for (let k = 0; k < n; k++, i++) {
        a += buf[i]!;
        b += a;
      }
      a %= 65521;
      b %= 65521;
    }
    this.a = a;
    this.b = b;
    return this;
  }
  digest(): number {
    return ((this.b << 16) | this.a) >>> 0;
  }
}

/** Adler-32 as java.util.zip.Adler32 computes it. */
export function adler32(buf: Buffer, end = buf.length): number {
  return new Adler32().update(buf, 0, end).digest();
}

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

/** `unreadable`: zkroll cannot check it (a snappy snapshot), which is not the same as damaged. */
export type SnapshotVerdict = { ok: true } | { ok: false; why: string; unreadable?: true };

/** The snapshot check fed in pieces: only the first 4 and the last 13 bytes are kept. */
export class SnapshotChecker {
  private readonly sum = new Adler32();
  private head = Buffer.alloc(0);
  private tail = Buffer.alloc(0);
  private total = 0;
  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.head.length < 4) this.head = Buffer.concat([this.head, chunk.subarray(0, 4 - this.head.length)]);
    // everything but the last 13 bytes seen so far is checksummed now
    const joined = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    const cut = Math.max(0, joined.length - 13);
    this.sum.update(joined, 0, cut);
    this.tail = Buffer.from(joined.subarray(cut));
  }
  finish(): SnapshotVerdict {
    if (this.total < 16 + 13) return { ok: false, why: `only ${this.total} bytes` };
    if (this.head.readUInt32BE(0) !== ZKSN) return { ok: false, why: 'no ZKSN header' };
    if (this.tail.readInt32BE(8) !== 1 || this.tail[12] !== 0x2f) return { ok: false, why: 'truncated: the end-of-snapshot seal is missing' };
    const stored = this.tail.readBigUInt64BE(0);
    const actual = BigInt(this.sum.digest());
    if (stored !== actual) return { ok: false, why: `checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})` };
    return { ok: true };
  }
}

/** SnappyCodec.MAGIC_HEADER of snappy-java: what SnapStream.isValidSnappyStream compares. */
export const SNAPPY_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** The largest uncompressed block snappy-java writes (its default block size is 32 KiB). */
const MAX_SNAPPY_BLOCK = 4 * 1024 * 1024;

/**
 * A `.snappy` snapshot (ZooKeeper 3.6+ with zookeeper.snapshot.compression.method=snappy, read
 * by SnapStream through snappy-java's SnappyInputStream): the 8-byte magic, two int32 versions,
 * then blocks of [int32 length][raw Snappy block]. Each block is decompressed (snappyjs) as it
 * arrives and fed to the plain snapshot check, so the Adler32 and "/" seal are verified on the
 * decompressed bytes, as SnapStream does. Only one block is held at a time.
 */
export class SnappySnapshotChecker {
  private readonly inner = new SnapshotChecker();
  private buf: Buffer = Buffer.alloc(0);
  private header = false;
  private bad: string | undefined;
  private total = 0;

  push(chunk: Buffer): void {
    if (this.bad !== undefined) return;
    this.total += chunk.length;
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    if (!this.header) {
      if (this.buf.length < SNAPPY_MAGIC.length + 8) return;
      if (!this.buf.subarray(0, SNAPPY_MAGIC.length).equals(SNAPPY_MAGIC)) {
        this.bad = 'no snappy header (ZooKeeper skips it as invalid)';
        return;
      }
      this.header = true;
      this.buf = this.buf.subarray(SNAPPY_MAGIC.length + 8);
    }
    while (this.buf.length >= 4) {
      const len = this.buf.readInt32BE(0);
      if (len <= 0 || len > MAX_SNAPPY_BLOCK) {
        this.bad = `a damaged snappy block length (${len}) at byte ${this.total - this.buf.length}`;
        return;
      }
      if (this.buf.length < 4 + len) return;
      try {
        this.inner.push(uncompress(this.buf.subarray(4, 4 + len), MAX_SNAPPY_BLOCK));
      } catch (e) {
        this.bad = `a damaged snappy block at byte ${this.total - this.buf.length} (${e instanceof Error ? e.message : String(e)})`;
        return;
      }
      this.buf = this.buf.subarray(4 + len);
    }
  }

  finish(): SnapshotVerdict {
    if (this.bad !== undefined) return { ok: false, why: this.bad };
    if (!this.header) return { ok: false, why: `only ${this.total} bytes: no snappy header (ZooKeeper skips it as invalid)` };
    if (this.buf.length > 0) return { ok: false, why: `truncated: the last snappy block is cut (${this.buf.length} bytes of it)` };
    return this.inner.finish();
  }
}

/** Check a snapshot file: ZKSN header, the trailing checksum + "/" seal, Adler32 over the rest. */
export function checkSnapshot(buf: Buffer): SnapshotVerdict {
  const c = new SnapshotChecker();
  c.push(buf);
  return c.finish();
}

export interface LogScan {
  ok: boolean;
  why?: string;
  /** On a missing header: how many bytes the file had (at least 16 when the magic was wrong). */
  bytes?: number;
  first: bigint | null;
  last: bigint | null;
  txns: number;
}

/**
 * A transaction log fed in pieces: header, then [crc][len][txn][0x42] entries until zeros or
 * EOF. Only the entry being read is kept; `done` turns true at the preallocated zeros (or a
 * damaged or torn entry), so the caller can stop decompressing the rest (a preallocated log is
 * 64 MiB, mostly zeros).
 */
/** The longest log entry a scan waits for (a 64 MiB log cannot hold a longer one whole). */
export const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

export class LogScanner {
  done = false;
  private bad: string | undefined;
  private headerSeen = false;
  private parts: Buffer[] = [];
  private have = 0;
  private first: bigint | null = null;
  private last: bigint | null = null;
  private txns = 0;
  private seen = 0;
  /** Bytes of the file consumed so far (the offset of the next entry). */
  private offset = 0;
  /** Why a whole entry cannot be read (a CRC failure), when one cannot. */
  private corrupt: string | undefined;

  /** The first `n` buffered bytes as one Buffer (null while fewer are buffered); consumes nothing. */
  private peek(n: number): Buffer | null {
    if (this.have < n) return null;
    if (this.parts[0]!.length < n) this.parts = [Buffer.concat(this.parts, this.have)];
    return this.parts[0]!.subarray(0, n);
  }

  private consume(n: number): void {
    this.have -= n;
    this.offset += n;
    while (n > 0) {
      const p = this.parts[0]!;
      if (p.length <= n) {
        n -= p.length;
        this.parts.shift();
      } else {
        this.parts[0] = p.subarray(n);
        n = 0;
      }
    }
  }

  push(chunk: Buffer): void {
    if (this.done || chunk.length === 0) return;
    this.parts.push(chunk);
    this.have += chunk.length;
    this.seen += chunk.length;
    if (!this.headerSeen) {
      const h = this.peek(16);
      if (h === null) return;
      if (h.readUInt32BE(0) !== ZKLG) {
        this.bad = `no ZKLG header (its magic is 0x${h.readUInt32BE(0).toString(16).padStart(8, '0')}): not a transaction log`;
        this.stop();
        return;
      }
      this.headerSeen = true;
      this.consume(16);
    }
    for (;;) {
      const hdr = this.peek(12);
      if (hdr === null) return;
      const crc = hdr.readBigUInt64BE(0);
      const len = hdr.readInt32BE(8);
      if ((len === 0 && crc === 0n) || len < 20) return this.stop(); // preallocated space: the end
      if (len > MAX_ENTRY_BYTES) return this.stop(); // a damaged length: read no further (and buffer nothing more)
      const entry = this.peek(12 + len + 1);
      if (entry === null) return; // the rest of the entry comes later (or never: a torn last entry is ignored, as ZooKeeper does)
      const body = entry.subarray(12, 12 + len);
      // no end-of-record byte: a torn last entry, where ZooKeeper's reading ends (Util.readTxnBytes);
      // a whole entry whose CRC fails makes FileTxnIterator.next throw "CRC check failed": the
      // server does not start
      if (entry[12 + len] !== 0x42) return this.stop();
      if (BigInt(adler32(body)) !== crc) {
        this.corrupt = `entry ${this.txns + 1} (at byte ${this.offset}) fails its CRC check: ZooKeeper stops loading with "CRC check failed"`;
        return this.stop();
      }
      const zxid = body.readBigUInt64BE(12);
      this.first ??= zxid;
      this.last = zxid;
      this.txns++;
      this.consume(12 + len + 1);
    }
  }

  private stop(): void {
    this.done = true;
    this.parts = [];
    this.have = 0;
  }

  finish(): LogScan {
    if (!this.headerSeen) {
      const why =
        this.bad ??
        (this.seen === 0
          ? 'empty (0 bytes): no ZKLG header; the disk filled or the server died while the log was created'
          : `no ZKLG header: only ${this.seen} bytes, shorter than the 16-byte file header`);
      return { ok: false, why, bytes: this.seen, first: null, last: null, txns: 0 };
    }
    if (this.corrupt !== undefined) return { ok: false, why: this.corrupt, first: this.first, last: this.last, txns: this.txns };
    return { ok: true, first: this.first, last: this.last, txns: this.txns };
  }
}

/** Read a transaction log: header, then [crc][len][txn][0x42] entries until zeros or EOF. */
export function scanLog(buf: Buffer): LogScan {
  const s = new LogScanner();
  s.push(buf);
  return s.finish();
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
  // a snapshot zkroll cannot check (snappy) but ZooKeeper would load before the valid one
  const unchecked = snaps.filter((s) => !s.verdict.ok && s.verdict.unreadable === true && (valid === undefined || s.zxid > valid.zxid));
  if (unchecked.length > 0) {
    const names = unchecked.map((s) => s.name).join(', ');
    return {
      ok: false,
      detail: `cannot read snappy snapshots; ${names} (zookeeper.snapshot.compression.method=snappy) ${unchecked.length === 1 ? 'is' : 'are'} newer than any snapshot zkroll can verify, and ZooKeeper would load ${unchecked.length === 1 ? 'it' : 'the newest'} first: its checksum and seal are unverified. Check it with the server's bin/zkSnapShotToolkit.sh, or switch zookeeper.snapshot.compression.method to gz (or unset it) and let the server write a new snapshot before the upgrade`,
      snapshotZxid: null,
      lastZxid: null,
    };
  }
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
