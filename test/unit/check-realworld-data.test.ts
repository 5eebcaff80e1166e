// Real-world data directories (test/fixtures/realworld/datadir-*, see its README): each folder
// is read from disk and judged as readDataDirs judges a host's: the real scanner
// (java/ZkrollDataScan.java) run on a directory of the files, exactly as on a host
// (src/check/datascan-local.ts), then continuity(); with variants of the same kind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { snapshotName, zxidOfName } from '../../src/check/datafiles.js';
import { verdictOfFiles as verdict } from '../../src/check/datascan-local.js';
import { entryOffset, fixtures, judgeFiles, readDir, renumber, SNAPPY_MAGIC } from './check-datafixtures.js';

/** A fixture's version-2 directory: {file name: bytes}. */
const version2 = (folder: string): Record<string, Buffer> => readDir(path.join(fixtures, 'realworld', folder, 'data/version-2'));

describe('compressed snapshot names (SnapStream.getStreamMode)', () => {
  it('recognises snapshot.<zxid>, .gz and .snappy, in any case of the extension', () => {
    assert.deepEqual(snapshotName('snapshot.1a'), { zxid: 0x1an, compression: 'none' });
    assert.deepEqual(snapshotName('snapshot.100000000.gz'), { zxid: 0x100000000n, compression: 'gzip' });
    assert.deepEqual(snapshotName('snapshot.100000000.GZ'), { zxid: 0x100000000n, compression: 'gzip' });
    assert.deepEqual(snapshotName('snapshot.2f.snappy'), { zxid: 0x2fn, compression: 'snappy' });
    assert.equal(zxidOfName('snapshot.0.gz', 'snapshot'), 0n);
    assert.equal(zxidOfName('snapshot.2f.snappy', 'snapshot'), 0x2fn);
  });
  it('ignores other names as before', () => {
    for (const n of ['snapshot.1a.tmp', 'snapshot.gz', 'snapshot.1a.gz.1', 'log.1.gz', 'acceptedEpoch']) assert.equal(snapshotName(n), null, n);
    assert.equal(zxidOfName('log.100000001.gz', 'log'), null);
    assert.equal(zxidOfName('log.100000001', 'log'), 0x100000001n);
  });
});

describe('realworld datadir-compressed-snapshot (snapshot.0.gz, 3.6+ compression.method=gz)', () => {
  const files = version2('datadir-compressed-snapshot');
  const inner = zlib.gunzipSync(files['snapshot.0.gz']!);

  it('is healthy: the .gz snapshot is read and checked', async () => {
    const c = await verdict(files);
    assert.equal(c.ok, true, c.detail);
    assert.equal(c.snapshotZxid, 0n);
    assert.match(c.detail, /^snapshot snapshot\.0\.gz valid, logs continue to 0x/);
  });
  it('the same snapshot uncompressed gives the same verdict', async () => {
    const plain = await verdict({ 'snapshot.0': inner, 'log.100000001': files['log.100000001']! });
    const gz = await verdict(files);
    assert.equal(plain.lastZxid, gz.lastZxid);
    assert.equal(plain.ok, true);
  });
  it('a truncated .gz snapshot is damaged, not passed', async () => {
    const gz = files['snapshot.0.gz']!;
    const c = await verdict({ ...files, 'snapshot.0.gz': gz.subarray(0, gz.length - 20) });
    assert.equal(c.ok, false);
    assert.match(c.detail, /snapshot\.0\.gz: not a readable gzip stream/);
  });
  it('a .gz name over an uncompressed snapshot is damaged (ZooKeeper checks the gzip magic)', async () => {
    const c = await verdict({ ...files, 'snapshot.0.gz': inner });
    assert.equal(c.ok, false);
    assert.match(c.detail, /snapshot\.0\.gz: not a readable gzip stream/);
  });
  it('a flipped byte inside the compressed snapshot fails its Adler32 checksum', async () => {
    const bad = Buffer.from(inner);
    bad[Math.floor(bad.length / 2)]! ^= 0xff;
    const c = await verdict({ ...files, 'snapshot.0.gz': zlib.gzipSync(bad) });
    assert.equal(c.ok, false);
    assert.match(c.detail, /snapshot\.0\.gz: checksum mismatch/);
  });
  it('a damaged newer .gz snapshot is ignored for an older valid one, as ZooKeeper does', async () => {
    const c = await verdict({ ...files, 'snapshot.100000005.gz': Buffer.from('garbage') });
    assert.equal(c.ok, true, c.detail);
    assert.match(c.detail, /newer damaged snapshot ignored: snapshot\.100000005\.gz/);
  });
});

describe('snappy snapshots (compression.method=snappy): read and checked like plain ones', () => {
  // written by a real ZooKeeper 3.9.3 (snappy-java's SnappyOutputStream), 60 znodes of ~2 KB
  const real = fs.readFileSync(path.join(fixtures, 'data-3.9.3-snappy/snapshot.3d.snappy'));
  const files = version2('datadir-compressed-snapshot');
  const log = files['log.100000001']!;

  it('a real 3.9.3 snappy snapshot passes, read in pieces of any size', async () => {
    for (const size of [1, 7, 4096, real.length]) {
      const scan = await judgeFiles([['snapshot.3d.snappy', real]], size);
      assert.deepEqual(scan.files.snapshots[0]!.verdict, { ok: true }, `pieces of ${size}`);
    }
  });
  it('a damaged block, a cut file, a bad checksum inside are refused', async () => {
    const flipped = Buffer.from(real);
    flipped[40] = flipped[40]! ^ 0xff;
    const garbage = Buffer.concat([SNAPPY_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), Buffer.alloc(64, 7)]);
    const scan = await judgeFiles([flipped, real.subarray(0, real.length - 10), garbage].map((b) => ['snapshot.3d.snappy', b]));
    const [a, b, c] = scan.files.snapshots.map((s) => s.verdict);
    assert.equal(a!.ok, false);
    assert.match((b as { why: string }).why, /truncated|cut/);
    assert.equal(c!.ok, false);
  });
  it('in a dataDir: the newest snappy snapshot is what the data check verifies', async () => {
    const c = await verdict({ 'snapshot.3d.snappy': real });
    assert.equal(c.ok, true, c.detail);
    assert.equal(c.snapshotZxid, 0x3dn);
  });
  it('a .snappy file without the snappy magic is damaged (isValidSnappyStream fails)', async () => {
    const c = await verdict({ 'snapshot.0.snappy': zlib.gunzipSync(files['snapshot.0.gz']!), 'log.100000001': log });
    assert.equal(c.ok, false);
    assert.match(c.detail, /snapshot\.0\.snappy: no snappy header/);
  });
});

describe('realworld datadir-empty-tail-log (a 0-byte newest log)', () => {
  const files = version2('datadir-empty-tail-log');
  const log = files['log.100000001']!;

  it('is refused, naming the file and what to do', async () => {
    assert.equal(files['log.100000023']!.length, 0);
    const c = await verdict(files);
    assert.equal(c.ok, false);
    assert.match(c.detail, /log\.100000023: empty \(0 bytes\): no ZKLG header/);
    assert.match(c.detail, /move log\.100000023 out of version-2 into a backup directory/);
    assert.match(c.detail, /ZOOKEEPER-2332/);
    assert.equal(c.snapshotZxid, 0n);
  });
  it('a log shorter than its 16-byte header is refused', async () => {
    const c = await verdict({ ...files, 'log.100000023': log.subarray(0, 10) });
    assert.equal(c.ok, false);
    assert.match(c.detail, /log\.100000023: no ZKLG header: only 10 bytes, shorter than the 16-byte file header/);
    assert.match(c.detail, /move log\.100000023 out of version-2/);
  });
  it('a log with a wrong magic is refused, without advice to drop it', async () => {
    const c = await verdict({ ...files, 'log.100000023': Buffer.concat([Buffer.from('XXXX'), log.subarray(4)]) });
    assert.equal(c.ok, false);
    assert.match(c.detail, /log\.100000023: no ZKLG header \(its magic is 0x58585858\)/);
    assert.match(c.detail, /restore it from a backup/);
  });
  it('an empty log in the middle is refused too', async () => {
    const c = await verdict({ ...files, 'log.100000000': Buffer.alloc(0), 'log.100000023': renumber(log, 0x22n) });
    assert.equal(c.ok, false);
    assert.match(c.detail, /log\.100000000: empty \(0 bytes\)/);
  });
  it('without the empty log the same directory is healthy', async () => {
    const rest = { ...files };
    delete rest['log.100000023'];
    const c = await verdict(rest);
    assert.equal(c.ok, true, c.detail);
  });
  it('an empty log with no snapshot is refused as well', async () => {
    const c = await verdict({ 'log.100000001': log, 'log.100000023': Buffer.alloc(0) });
    assert.equal(c.ok, false);
    assert.match(c.detail, /^no snapshot, and log\.100000023: empty/);
  });
});

describe('realworld datadir-logs-without-snapshot (a 3.4 dataDir: log.100000001, no snapshot)', () => {
  const files = version2('datadir-logs-without-snapshot');
  const log = files['log.100000001']!;

  it('is healthy: nothing precedes the first transaction of the first epoch', async () => {
    const c = await verdict(files);
    assert.equal(c.ok, true, c.detail);
    assert.equal(c.snapshotZxid, null);
    assert.ok(c.lastZxid !== null && c.lastZxid > 0x100000001n);
    assert.match(c.detail, /^no snapshot; logs complete from the ensemble's first transaction 0x100000001 .*snapshot\.trust\.empty=true.*ZOOKEEPER-3056/);
  });
  it('later logs of later epochs continuing it are healthy too', async () => {
    const c = await verdict({ ...files, 'log.200000001': renumber(log, 0x100000000n) });
    assert.equal(c.ok, true, c.detail);
    assert.equal(c.lastZxid! >> 32n, 2n);
  });
  it('a log from the first transaction of a later epoch alone is refused: earlier epochs may have been deleted', async () => {
    const c = await verdict({ 'log.200000001': renumber(log, 0x100000000n) });
    assert.equal(c.ok, false);
    assert.match(c.detail, /begins at 0x200000001, not at the ensemble's first transaction 0x100000001/);
    assert.match(c.detail, /first transaction of epoch 2, complete only if the ensemble wrote nothing in earlier epochs/);
  });
  it('a log that begins after the first transaction is refused', async () => {
    const c = await verdict({ 'log.100000004': Buffer.concat([log.subarray(0, 16), log.subarray(entryOffset(log, 3))]) });
    assert.equal(c.ok, false);
    assert.match(c.detail, /begins at 0x100000004/);
  });
});
