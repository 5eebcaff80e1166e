// Snapshot / transaction-log parsers and the continuity verdict. Real files captured from a lab
// server are in test/fixtures/data (a snapshot and the used prefix of a log); damaged variants
// are made from them here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { adler32, checkSnapshot, continuity, LogScanner, scanLog, SnapshotChecker, zxidOfName, type DataFiles } from '../../src/check/datafiles.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/data');
const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
const snapName = files.find((f) => f.startsWith('snapshot.'))!;
const logName = files.find((f) => f.startsWith('log.'))!;
const snap = fs.readFileSync(path.join(dir, snapName));
const log = fs.readFileSync(path.join(dir, logName));

describe('adler32', () => {
  it('matches the reference value', () => {
    assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
    assert.equal(adler32(Buffer.alloc(0)), 1);
  });
});

describe('checkSnapshot (a real 3.8 snapshot)', () => {
  it('accepts the real file', () => assert.deepEqual(checkSnapshot(snap), { ok: true }));
  it('rejects a truncated copy (a full disk during the snapshot)', () => {
    const v = checkSnapshot(snap.subarray(0, snap.length - 40));
    assert.equal(v.ok, false);
    assert.match((v as { why: string }).why, /truncated|checksum/);
  });
  it('rejects one flipped byte', () => {
    const bad = Buffer.from(snap);
    bad[Math.floor(bad.length / 2)]! ^= 0xff;
    assert.match((checkSnapshot(bad) as { why: string }).why, /checksum mismatch/);
  });
});

describe('scanLog (a real 3.8 transaction log)', () => {
  const s = scanLog(log);
  it('reads every transaction with contiguous zxids', () => {
    assert.ok(s.ok && s.txns > 10, JSON.stringify({ ...s, first: String(s.first), last: String(s.last) }));
    assert.equal(s.first, zxidOfName(logName, 'log'));
    assert.equal(s.last! - s.first! + 1n, BigInt(s.txns));
  });
  it('stops at a torn last entry, as ZooKeeper does', () => {
    const torn = scanLog(log.subarray(0, log.length - 30));
    assert.ok(torn.txns < s.txns && torn.txns > 0);
  });
});

describe('continuity', () => {
  const first = zxidOfName(logName, 'log')!;
  const snapZxid = first - 1n;
  const base = (): DataFiles => ({
    snapshots: [{ name: `snapshot.${snapZxid.toString(16)}`, zxid: snapZxid, verdict: { ok: true } }],
    logs: [{ name: logName, start: first, scan: scanLog(log) }],
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
  it('the first log after the snapshot missing: refused, naming the missing transactions', () => {
    // the log file that held the first 5 transactions after the snapshot is gone: what is left
    // starts at the 6th (entries: [crc 8][len 4][txn len][0x42])
    let off = 16;
    for (let i = 0; i < 5; i++) off += 12 + log.readInt32BE(off + 8) + 1;
    const later = Buffer.concat([log.subarray(0, 16), log.subarray(off)]);
    const scan = scanLog(later);
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
  const dir346 = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/data-3.4.6-leader');
  const log346 = fs.readFileSync(path.join(dir346, 'log.100000001'));
  const scan = scanLog(log346);
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
  it('a log with a damaged header is refused when there is no snapshot', () => {
    const bad = scanLog(Buffer.concat([Buffer.from('XXXX'), log346.subarray(4)]));
    const c = continuity({ snapshots: [], logs: [{ name: 'log.100000001', start: 0x100000001n, scan: bad }] });
    assert.equal(c.ok, false);
    assert.match(c.detail, /log\.100000001: no ZKLG header/);
  });
  it('logs that begin later in an epoch, with no snapshot, are refused: the start is missing', () => {
    let off = 16;
    for (let i = 0; i < 5; i++) off += 12 + log346.readInt32BE(off + 8) + 1;
    const later = scanLog(Buffer.concat([log346.subarray(0, 16), log346.subarray(off)]));
    assert.equal(later.first, 0x100000006n);
    const c = continuity({ snapshots: [], logs: [{ name: 'log.100000006', start: 0x100000006n, scan: later }] });
    assert.equal(c.ok, false);
    assert.match(c.detail, /begins at 0x100000006, not at the ensemble's first transaction/);
  });
  it('a gap between two logs is still refused without a snapshot', () => {
    let off = 16;
    for (let i = 0; i < 10; i++) off += 12 + log346.readInt32BE(off + 8) + 1;
    const head = scanLog(Buffer.concat([log346.subarray(0, off), Buffer.alloc(16)]));
    let off2 = off;
    for (let i = 0; i < 3; i++) off2 += 12 + log346.readInt32BE(off2 + 8) + 1;
    const tail = scanLog(Buffer.concat([log346.subarray(0, 16), log346.subarray(off2)]));
    const c = continuity({
      snapshots: [],
      logs: [
        { name: 'log.100000001', start: 0x100000001n, scan: head },
        { name: `log.${tail.first!.toString(16)}`, start: tail.first!, scan: tail },
      ],
    });
    assert.equal(c.ok, false);
    assert.match(c.detail, /transactions 0x10000000b\.\.0x10000000d are missing/);
  });
  it('damaged snapshots and logs are still refused (corruption, not a 3.4 leader)', () => {
    const c = continuity({
      snapshots: [{ name: 'snapshot.0', zxid: 0n, verdict: { ok: false, why: 'no ZKSN header' } }],
      logs: [{ name: 'log.100000001', start: 0x100000001n, scan }],
    });
    assert.equal(c.ok, false);
  });
});

describe('the data check fed in pieces (a 64 MiB log is never held whole)', () => {
  const pieces = (buf: Buffer, size: number) => Array.from({ length: Math.ceil(buf.length / size) }, (_, i) => buf.subarray(i * size, (i + 1) * size));
  const leader = fs.readFileSync(path.join(dir, '../data-3.4.6-leader/log.100000001'));
  const damaged = Buffer.from(snap);
  damaged[40] = damaged[40]! ^ 0xff;
  const preallocated = Buffer.concat([log, Buffer.alloc(1 << 20)]);

  for (const size of [1, 7, 13, 4096, 65536]) {
    it(`gives the whole-buffer verdicts in pieces of ${size} bytes`, () => {
      for (const s of [snap, damaged, snap.subarray(0, snap.length - 5), snap.subarray(0, 20)]) {
        const c = new SnapshotChecker();
        for (const p of pieces(s, size)) c.push(p);
        assert.deepEqual(c.finish(), checkSnapshot(s));
      }
      for (const l of [log, leader, preallocated, log.subarray(0, log.length - 3), Buffer.from('not a log at all')]) {
        const c = new LogScanner();
        for (const p of pieces(l, size)) c.push(p);
        assert.deepEqual(c.finish(), scanLog(l));
      }
    });
  }

  it('is done at the preallocated zeros: the caller stops decompressing there', () => {
    const c = new LogScanner();
    let fed = 0;
    for (const p of pieces(preallocated, 4096)) {
      if (c.done) break;
      c.push(p);
      fed += p.length;
    }
    assert.ok(c.done);
    assert.ok(fed < log.length + 8192, `fed ${fed} of ${preallocated.length} bytes`);
    assert.equal(c.finish().txns, scanLog(log).txns);
  });

  it('stops at a damaged entry length instead of waiting for it', () => {
    const bad = Buffer.from(log);
    bad.writeInt32BE(0x7fffffff, 16 + 8);
    const c = new LogScanner();
    c.push(bad);
    assert.ok(c.done);
    assert.deepEqual(c.finish(), { ok: true, first: null, last: null, txns: 0 });
  });
});

describe('a log without a whole header (FileTxnLog reads the 16-byte FileHeader of every log)', () => {
  it('says empty, short or wrong magic, with the byte count', () => {
    assert.deepEqual(new LogScanner().finish(), {
      ok: false,
      why: 'empty (0 bytes): no ZKLG header; the disk filled or the server died while the log was created',
      bytes: 0,
      first: null,
      last: null,
      txns: 0,
    });
    const short = scanLog(log.subarray(0, 15));
    assert.equal(short.ok, false);
    assert.equal(short.bytes, 15);
    assert.match(short.why!, /only 15 bytes, shorter than the 16-byte file header/);
    assert.match(scanLog(Buffer.from('not a log at all')).why!, /^no ZKLG header \(its magic is 0x6e6f7420\)/);
  });
  it('is refused even after a valid snapshot (it used to pass)', () => {
    const first = zxidOfName(logName, 'log')!;
    const c = continuity({
      snapshots: [{ name: 'snapshot.0', zxid: first - 1n, verdict: { ok: true } }],
      logs: [
        { name: logName, start: first, scan: scanLog(log) },
        { name: 'log.ffffffff', start: 0xffffffffn, scan: scanLog(Buffer.alloc(0)) },
      ],
    });
    assert.equal(c.ok, false);
    assert.match(c.detail, /log\.ffffffff: empty \(0 bytes\).*move log\.ffffffff out of version-2/);
  });
});

describe('a whole log entry with a bad CRC, and a torn last entry', () => {
  it('refuses the bad CRC (FileTxnIterator.next throws "CRC check failed"), names the entry and its offset', () => {
    const bad = Buffer.from(log);
    const len = bad.readInt32BE(16 + 8);
    bad[16 + 12 + 5] = bad[16 + 12 + 5]! ^ 0xff; // inside the first entry's body; its end byte is intact
    assert.equal(bad[16 + 12 + len], 0x42);
    const r = scanLog(bad);
    assert.equal(r.ok, false);
    assert.match(r.why ?? '', /entry 1 \(at byte 16\) fails its CRC check/);
  });
  it('ends quietly at a torn last entry (no end-of-record byte), as ZooKeeper does', () => {
    const whole = scanLog(log);
    const len = log.readInt32BE(16 + 8);
    const torn = Buffer.from(log);
    torn[16 + 12 + len] = 0; // the first entry's end byte
    assert.deepEqual(scanLog(torn), { ok: true, first: null, last: null, txns: 0 });
    assert.ok(whole.txns > 1);
  });
});
