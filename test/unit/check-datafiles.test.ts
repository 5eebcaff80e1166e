// Snapshot / transaction-log verdicts and the continuity verdict. Real files captured from a lab
// server are in test/fixtures/data (a snapshot and the used prefix of a log); damaged variants
// are made from them here and judged by the real scanner (java/ZkrollDataScan.java, run here
// exactly as on a host), whose answers continuity() then decides on.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { continuity, zxidOfName, type DataFiles, type LogScan } from '../../src/check/datafiles.js';
import { scanFilesLocally } from '../../src/check/datascan-local.js';
import { adler32, entryOffset, fixtures, judgeFiles, logScan, logScans, rmDir, snapshotVerdict, tempDir } from './check-datafixtures.js';

const dir = path.join(fixtures, 'data');
const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
const snapName = files.find((f) => f.startsWith('snapshot.'))!;
const logName = files.find((f) => f.startsWith('log.'))!;
const snap = fs.readFileSync(path.join(dir, snapName));
const log = fs.readFileSync(path.join(dir, logName));
const why = (v: { ok: boolean; why?: string }) => (v.ok ? '' : (v.why ?? ''));

describe('adler32 (the tests’ own, for making fixtures)', () => {
  it('matches the reference value', () => {
    assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
    assert.equal(adler32(Buffer.alloc(0)), 1);
  });
});

describe('the scanner on a real 3.8 snapshot', () => {
  it('accepts the real file', async () => assert.deepEqual(await snapshotVerdict(snap), { ok: true }));
  it('rejects a truncated copy (a full disk during the snapshot)', async () => {
    const v = await snapshotVerdict(snap.subarray(0, snap.length - 40));
    assert.equal(v.ok, false);
    assert.match(why(v), /truncated|checksum/);
  });
  it('rejects one flipped byte', async () => {
    const bad = Buffer.from(snap);
    bad[Math.floor(bad.length / 2)]! ^= 0xff;
    assert.match(why(await snapshotVerdict(bad)), /^checksum mismatch \(stored [0-9a-f]+, computed [0-9a-f]+\)$/);
  });
  it('says why a snapshot is too short or not one', async () => {
    const scan = await judgeFiles([
      ['snapshot.1', snap.subarray(0, 20)],
      ['snapshot.2', Buffer.concat([Buffer.from('XXXX'), snap.subarray(4)])],
      ['snapshot.3', Buffer.concat([snap.subarray(0, snap.length - 1), Buffer.from('x')])],
    ]);
    assert.deepEqual(
      scan.files.snapshots.map((s) => why(s.verdict)),
      ['only 20 bytes', 'no ZKSN header', 'truncated: the end-of-snapshot seal is missing'],
    );
  });
});

describe('the scanner on a real 3.8 transaction log', () => {
  let s: LogScan;
  before(async () => {
    s = await logScan(log, logName);
  });
  it('reads every transaction with contiguous zxids', () => {
    assert.ok(s.ok && s.txns > 10, JSON.stringify({ ...s, first: String(s.first), last: String(s.last) }));
    assert.equal(s.first, zxidOfName(logName, 'log'));
    assert.equal(s.last! - s.first! + 1n, BigInt(s.txns));
  });
  it('stops at a torn last entry, as ZooKeeper does', async () => {
    const torn = await logScan(log.subarray(0, log.length - 30));
    assert.ok(torn.txns < s.txns && torn.txns > 0);
  });
});

describe('continuity', () => {
  const first = zxidOfName(logName, 'log')!;
  const snapZxid = first - 1n;
  let whole: LogScan;
  before(async () => {
    whole = await logScan(log, logName);
  });
  const base = (): DataFiles => ({
    snapshots: [{ name: `snapshot.${snapZxid.toString(16)}`, zxid: snapZxid, verdict: { ok: true } }],
    logs: [{ name: logName, start: first, scan: whole }],
  });

  it('a valid snapshot followed by contiguous logs is fine', () => {
    const c = continuity(base());
    assert.equal(c.ok, true, c.detail);
  });
  it('an empty data directory is fine (the server syncs from the leader)', () => {
    assert.equal(continuity({ snapshots: [], logs: [] }).ok, true);
  });
  it('no valid snapshot but logs: refused (replayed onto an empty tree)', () => {
    const f = base();
    f.snapshots[0]!.verdict = { ok: false, why: 'truncated: the end-of-snapshot seal is missing' };
    const c = continuity(f);
    assert.equal(c.ok, false);
    assert.match(c.detail, /no valid snapshot .* replay them onto an empty tree/);
  });
  it('older snapshots the scanner skipped and logs it read only the header of change nothing', () => {
    const f = base();
    f.snapshots.push({ name: 'snapshot.5', zxid: 5n, verdict: { ok: false, why: 'not read: a newer snapshot is valid', skipped: true } });
    f.logs.unshift({ name: 'log.6', start: 6n, scan: { ok: true, first: null, last: null, txns: 0, headerOnly: true } });
    assert.deepEqual(continuity(f), continuity(base()));
  });
  it('the first log after the snapshot missing: refused, naming the missing transactions', async () => {
    // the log file that held the first 5 transactions after the snapshot is gone: what is left
    // starts at the 6th (entries: [crc 8][len 4][txn len][0x42])
    const later = Buffer.concat([log.subarray(0, 16), log.subarray(entryOffset(log, 5))]);
    const scan = await logScan(later);
    assert.equal(scan.first, first + 5n);
    const f: DataFiles = {
      snapshots: [{ name: 'snapshot.100000000', zxid: first - 1n, verdict: { ok: true } }],
      logs: [{ name: `log.${(first + 5n).toString(16)}`, start: first + 5n, scan }],
    };
    const c = continuity(f);
    assert.equal(c.ok, false);
    assert.match(c.detail, new RegExp(`transactions 0x${first.toString(16)}\\.\\.0x${(first + 4n).toString(16)} are missing`));
  });
});

// A real 3.4.6 leader's dataDir from the lab (3.4 leaders of a fresh ensemble and followers that
// synced by diff never write a snapshot): only log.100000001, the used prefix kept.
describe('continuity without any snapshot (a real 3.4.6 leader)', () => {
  const log346 = fs.readFileSync(path.join(fixtures, 'data-3.4.6-leader', 'log.100000001'));
  let scan: LogScan;
  before(async () => {
    scan = await logScan(log346, 'log.100000001');
  });
  it('reads the 3.4.6 log format', () => {
    assert.equal(scan.first, 0x100000001n);
    assert.ok(scan.txns > 100, String(scan.txns));
  });
  it('logs that begin at the first transaction of an epoch are complete (nothing came before them)', () => {
    const c = continuity({ snapshots: [], logs: [{ name: 'log.100000001', start: 0x100000001n, scan }] });
    assert.equal(c.ok, true, c.detail);
    assert.equal(c.lastZxid, scan.last);
    assert.match(c.detail, /no snapshot; logs complete from the ensemble's first transaction 0x100000001 .*ZOOKEEPER-3056/);
  });
  it('logs that begin at the first transaction of a later epoch are refused (earlier logs and snapshots may have been deleted)', () => {
    // the same transactions renumbered into epoch 3: what a dataDir keeps after a cleanup job
    // removed its snapshots and older logs (every restart opens a log at <epoch>00000001)
    const later = { ...scan, first: 0x300000001n, last: scan.last! - 0x100000001n + 0x300000001n };
    const c = continuity({ snapshots: [], logs: [{ name: 'log.300000001', start: 0x300000001n, scan: later }] });
    assert.equal(c.ok, false);
    assert.match(c.detail, /begins at 0x300000001, not at the ensemble's first transaction 0x100000001/);
  });
  it('a log with a damaged header, one that begins late, and a gap between two logs are refused', async () => {
    const off = entryOffset(log346, 10);
    const off2 = entryOffset(log346, 13);
    const [bad, late, head, tail] = await logScans([
      Buffer.concat([Buffer.from('XXXX'), log346.subarray(4)]),
      Buffer.concat([log346.subarray(0, 16), log346.subarray(entryOffset(log346, 5))]),
      Buffer.concat([log346.subarray(0, off), Buffer.alloc(16)]),
      Buffer.concat([log346.subarray(0, 16), log346.subarray(off2)]),
    ]);
    const damaged = continuity({ snapshots: [], logs: [{ name: 'log.100000001', start: 0x100000001n, scan: bad! }] });
    assert.equal(damaged.ok, false);
    assert.match(damaged.detail, /log\.100000001: no ZKLG header/);

    assert.equal(late!.first, 0x100000006n);
    const c = continuity({ snapshots: [], logs: [{ name: 'log.100000006', start: 0x100000006n, scan: late! }] });
    assert.equal(c.ok, false);
    assert.match(c.detail, /begins at 0x100000006, not at the ensemble's first transaction/);

    const gap = continuity({
      snapshots: [],
      logs: [
        { name: 'log.100000001', start: 0x100000001n, scan: head! },
        { name: `log.${tail!.first!.toString(16)}`, start: tail!.first!, scan: tail! },
      ],
    });
    assert.equal(gap.ok, false);
    assert.match(gap.detail, /transactions 0x10000000b\.\.0x10000000d are missing/);
  });
  it('damaged snapshots and logs are still refused (corruption, not a 3.4 leader)', () => {
    const c = continuity({
      snapshots: [{ name: 'snapshot.0', zxid: 0n, verdict: { ok: false, why: 'no ZKSN header' } }],
      logs: [{ name: 'log.100000001', start: 0x100000001n, scan }],
    });
    assert.equal(c.ok, false);
  });
});

describe('the scanner reads in pieces of any size (a 64 MiB log is never held whole)', () => {
  const leader = fs.readFileSync(path.join(fixtures, 'data-3.4.6-leader/log.100000001'));
  const damaged = Buffer.from(snap);
  damaged[40] = damaged[40]! ^ 0xff;
  const preallocated = Buffer.concat([log, Buffer.alloc(1 << 20)]);
  const set: [string, Buffer][] = [
    ...[snap, damaged, snap.subarray(0, snap.length - 5), snap.subarray(0, 20)].map((b): [string, Buffer] => ['snapshot.0', b]),
    ...[log, leader, preallocated, log.subarray(0, log.length - 3), Buffer.from('not a log at all')].map((b): [string, Buffer] => ['log.1', b]),
  ];
  let whole: string;
  before(async () => {
    whole = JSON.stringify((await judgeFiles(set)).files, (_, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v));
  });

  for (const size of [1, 7, 13, 4096]) {
    it(`gives the same verdicts reading ${size} bytes at a time`, async () => {
      const scan = await judgeFiles(set, size);
      assert.equal(
        JSON.stringify(scan.files, (_, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v)),
        whole,
      );
    });
  }

  it('stops at the preallocated zeros: a 1 GiB log (sparse) is read only up to its data', async () => {
    const scan = await judgeFiles([['log.1', log]]);
    const dirPath = tempDir();
    try {
      const p = path.join(dirPath, 'log.100000001');
      fs.writeFileSync(p, log);
      fs.truncateSync(p, 1 << 30);
      const t0 = Date.now();
      const big = await scanFilesLocally([p]);
      assert.deepEqual(big.files.logs[0]!.scan, scan.files.logs[0]!.scan);
      assert.ok(big.bytesRead <= log.length + 65536, `read ${big.bytesRead} bytes`);
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      rmDir(dirPath);
    }
  });

  it('stops at a damaged entry length instead of waiting for it', async () => {
    const bad = Buffer.from(log);
    bad.writeInt32BE(0x7fffffff, 16 + 8);
    assert.deepEqual(await logScan(bad), { ok: true, first: null, last: null, txns: 0 });
  });
});

describe('a log without a whole header (FileTxnLog reads the 16-byte FileHeader of every log)', () => {
  it('says empty, short or wrong magic, with the byte count', async () => {
    const [empty, short, wrong] = await logScans([Buffer.alloc(0), log.subarray(0, 15), Buffer.from('not a log at all')]);
    assert.deepEqual(empty, {
      ok: false,
      why: 'empty (0 bytes): no ZKLG header; the disk filled or the server died while the log was created',
      bytes: 0,
      first: null,
      last: null,
      txns: 0,
    });
    assert.equal(short!.ok, false);
    assert.equal(short!.bytes, 15);
    assert.match(short!.why!, /only 15 bytes, shorter than the 16-byte file header/);
    assert.match(wrong!.why!, /^no ZKLG header \(its magic is 0x6e6f7420\)/);
  });
  it('is refused even after a valid snapshot (it used to pass)', async () => {
    const first = zxidOfName(logName, 'log')!;
    const [whole, empty] = await logScans([log, Buffer.alloc(0)]);
    const c = continuity({
      snapshots: [{ name: 'snapshot.0', zxid: first - 1n, verdict: { ok: true } }],
      logs: [
        { name: logName, start: first, scan: whole! },
        { name: 'log.ffffffff', start: 0xffffffffn, scan: empty! },
      ],
    });
    assert.equal(c.ok, false);
    assert.match(c.detail, /log\.ffffffff: empty \(0 bytes\).*move log\.ffffffff out of version-2/);
  });
});

describe('a whole log entry with a bad CRC, and a torn last entry', () => {
  it('refuses the bad CRC (FileTxnIterator.next throws "CRC check failed"), names the entry and its offset', async () => {
    const bad = Buffer.from(log);
    const len = bad.readInt32BE(16 + 8);
    bad[16 + 12 + 5] = bad[16 + 12 + 5]! ^ 0xff; // inside the first entry's body; its end byte is intact
    assert.equal(bad[16 + 12 + len], 0x42);
    const third = Buffer.from(log);
    const at = entryOffset(log, 2);
    third[at + 12 + 5] = third[at + 12 + 5]! ^ 0xff;
    const [r, r3] = await logScans([bad, third]);
    assert.equal(r!.ok, false);
    assert.match(r!.why ?? '', /entry 1 \(at byte 16\) fails its CRC check/);
    assert.equal(r3!.ok, false);
    assert.equal(r3!.why, `entry 3 (at byte ${at}) fails its CRC check: ZooKeeper stops loading with "CRC check failed"`);
    assert.equal(r3!.txns, 2);
  });
  it('ends quietly at a torn last entry (no end-of-record byte), as ZooKeeper does', async () => {
    const len = log.readInt32BE(16 + 8);
    const torn = Buffer.from(log);
    torn[16 + 12 + len] = 0; // the first entry's end byte
    const [whole, t] = await logScans([log, torn]);
    assert.deepEqual(t, { ok: true, first: null, last: null, txns: 0 });
    assert.ok(whole!.txns > 1);
  });
});
