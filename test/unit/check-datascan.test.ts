// The data scan (src/check/datascan.ts + java/ZkrollDataScan.java): the embedded class is the
// Java source as committed, the remote command runs the real scanner here exactly as on a host
// (sh, mktemp, the class on stdin, java -Xmx64m) and leaves nothing behind, a host without java
// is a clear error, the answer's line protocol is parsed strictly and held to 1 MiB, the scan
// reads only what the verdict needs, and a 200 MB snapshot or a 48 MiB log entry needs no more
// than the 64 MiB heap and answers in a few hundred bytes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readDataDirs } from '../../src/check/datadir.js';
import { continuity } from '../../src/check/datafiles.js';
import { DATASCAN_CLASS_BASE64, DATASCAN_SOURCE_SHA256 } from '../../src/check/datascan-class.js';
import { localDataRemote, scanLocally } from '../../src/check/datascan-local.js';
import { answerOf, DataScanError, dataScanArgv, dataScanClass, MAX_SCAN_OUTPUT_BYTES, parseDataScan } from '../../src/check/datascan.js';
import { Adler32, fixtures, readDir, repoRoot, rmDir, tempDir } from './check-datafixtures.js';

const data = readDir(path.join(fixtures, 'data'));
const snap = data['snapshot.0']!;
const log = data['log.100000001']!;

/** A directory with version-2 holding `files` ({name: bytes, or 'dir' for a directory}); removed by rmDir. */
function dataDir(files: Record<string, Buffer | 'dir'>): string {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'version-2'));
  for (const [name, bytes] of Object.entries(files)) {
    if (bytes === 'dir') fs.mkdirSync(path.join(dir, 'version-2', name));
    else fs.writeFileSync(path.join(dir, 'version-2', name), bytes);
  }
  return dir;
}

describe('the embedded scanner', () => {
  it('is built from java/ZkrollDataScan.java as it is now (after editing it, run npm run gen:datascan and commit both)', () => {
    const source = fs.readFileSync(path.join(repoRoot, 'java', 'ZkrollDataScan.java'));
    assert.equal(createHash('sha256').update(source).digest('hex'), DATASCAN_SOURCE_SHA256);
  });
  it('is one class file for Java 8 (major version 52), small enough to send with every check', () => {
    const c = Buffer.from(DATASCAN_CLASS_BASE64, 'base64');
    assert.equal(c.readUInt32BE(0), 0xcafebabe);
    assert.equal(c.readUInt16BE(6), 52);
    assert.ok(c.length < 32 * 1024, `${c.length} bytes`);
    assert.deepEqual(dataScanClass(), c);
  });
});

describe('the remote command', () => {
  it('runs the scanner under nice with a 64 MiB heap and no perf data file, on the two directories', () => {
    const argv = dataScanArgv(['/var/zk/data', '/var/zk/log']);
    assert.deepEqual([argv[0], argv[1], argv[3], argv[4], argv[5]], ['sh', '-c', 'zkroll-datascan', '/var/zk/data', '/var/zk/log']);
    assert.match(argv[2]!, /nice -n 10 "\$j" -Xmx64m -XX:\+UseSerialGC -XX:-UsePerfData -XX:ErrorFile="\$d\/hs_err_%p\.log" -cp "\$d" ZkrollDataScan "\$@"/);
    assert.match(argv[2]!, /trap 'rm -rf "\$d"' EXIT/);
  });
  it('copies its stdin into a temp dir of its own, answers, and removes the temp dir', async () => {
    const tmp = tempDir();
    const dir = dataDir({ 'snapshot.0': snap, 'log.100000001': log });
    try {
      const r = await localDataRemote({ ...process.env, TMPDIR: tmp }).exec(dataScanArgv([dir, dir]), dataScanClass());
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(fs.readdirSync(tmp), []);
      const scan = answerOf(r, 'localhost');
      assert.equal(continuity(scan.files).ok, true);
      assert.equal(scan.bytesRead, snap.length + log.length);
    } finally {
      rmDir(tmp);
      rmDir(dir);
    }
  });
  it('removes its temp dir when it is stopped (timeout -k sends TERM to the group)', async () => {
    const tmp = tempDir();
    // the newest snapshot is a FIFO nobody writes: the scanner blocks opening it
    const dir = dataDir({});
    assert.equal(spawnSync('mkfifo', [path.join(dir, 'version-2', 'snapshot.5')]).status, 0);
    try {
      const argv = dataScanArgv([dir, dir]);
      const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, TMPDIR: tmp }, detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
      child.stdin.end(dataScanClass());
      const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await until(() => fs.readdirSync(tmp).some((d) => fs.existsSync(path.join(tmp, d, 'ZkrollDataScan.class'))));
      await new Promise((r) => setTimeout(r, 150)); // the JVM starts and blocks in open()
      process.kill(-child.pid!, 'SIGTERM');
      assert.equal(await closed, 143);
      assert.deepEqual(fs.readdirSync(tmp), []);
    } finally {
      rmDir(tmp);
      rmDir(dir);
    }
  });
});

async function until(ok: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a host without java', () => {
  const bin = tempDir();
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  const scan = (env: NodeJS.ProcessEnv) => scanLocally('/nonexistent', '/nonexistent', env);

  it('is a clear error naming the host and what to set, never a verdict', async () => {
    await assert.rejects(scan({ PATH: bin }), (e: unknown) => {
      assert.ok(e instanceof DataScanError);
      assert.match(
        e.message,
        /^no java on localhost: the data check runs a small Java program with the host's JVM .*set JAVA_HOME .* or put java on its PATH \(none on PATH=/,
      );
      return true;
    });
  });
  it("says when JAVA_HOME has no java (ZooKeeper's bin/zkEnv.sh uses $JAVA_HOME/bin/java when it is set)", async () => {
    await assert.rejects(scan({ PATH: bin, JAVA_HOME: '/nonexistent-jdk' }), /no java on localhost: .*JAVA_HOME=\/nonexistent-jdk has no executable bin\/java/);
  });
  it('uses $JAVA_HOME/bin/java when it is set', async () => {
    const home = path.resolve(fs.realpathSync(spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim()), '../..');
    const r = await scanLocally('/nonexistent', '/nonexistent', { PATH: '/usr/bin:/bin', JAVA_HOME: home });
    assert.deepEqual(r.files, { snapshots: [], logs: [] });
  });
  it("with neither, uses a running ZooKeeper server's JVM (sudo resets PATH and JAVA_HOME)", async () => {
    // the tools the script needs, without java; and a JVM whose command line names a ZooKeeper server's main class
    const tools = tempDir();
    const classDir = tempDir();
    for (const c of ['sh', 'mktemp', 'cat', 'nice', 'rm', 'grep', 'readlink'])
      fs.symlinkSync(spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).stdout.trim(), path.join(tools, c));
    fs.writeFileSync(path.join(classDir, 'ZkrollDataScan.class'), dataScanClass());
    assert.equal(spawnSync('mkfifo', [path.join(classDir, 'snapshot.1')]).status, 0);
    const jvm = spawn(
      'java',
      ['-Dzkroll.test=org.apache.zookeeper.server.quorum.QuorumPeerMain', '-cp', classDir, 'ZkrollDataScan', '--files', path.join(classDir, 'snapshot.1')],
      {
        stdio: 'ignore',
      },
    );
    try {
      await until(() => fs.readFileSync(`/proc/${jvm.pid}/cmdline`, 'latin1').includes('QuorumPeerMain'));
      const r = await scanLocally('/nonexistent', '/nonexistent', { PATH: tools });
      assert.deepEqual(r.files, { snapshots: [], logs: [] });
    } finally {
      jvm.kill('SIGKILL');
      rmDir(tools);
      rmDir(classDir);
    }
  });
  it('a JVM older than Java 8, a timeout and a crash are errors saying so', () => {
    assert.throws(
      () => answerOf({ code: 1, stdout: '', stderr: 'Exception in thread "main" java.lang.UnsupportedClassVersionError: ZkrollDataScan' }, 'h1'),
      /the java on h1 is older than Java 8/,
    );
    assert.throws(() => answerOf({ code: 124, stdout: '', stderr: '' }, 'h1'), /the data scan on h1 did not finish in time/);
    assert.throws(
      () => answerOf({ code: 1, stdout: '', stderr: 'java.lang.OutOfMemoryError' }, 'h1'),
      /the data scan on h1 failed \(exit 1\): java\.lang\.OutOfMemoryError/,
    );
  });
});

describe('the answer (line protocol version 1)', () => {
  const good = [
    'zkroll-datascan 1',
    'free snap 1048576000 /var/zk/data',
    'free log 2048 /var/zk/log',
    'snap snapshot.300000002.gz 1200 checksum 1a2b 3c4d',
    'snap snapshot.200000001 900 ok',
    'snap snapshot.100000001 800 skipped',
    'log log.100000001 67108880 header',
    'log log.200000001 67108880 ok 200000001 200000005 5',
    'log log.200000006 0 noheader 0 -',
    'end 6 123456',
    '',
  ];
  const parse = (lines: string[]) => parseDataScan(lines.join('\n'), 'h1');

  it('becomes DataFiles with sizes, the free space and what was read', () => {
    const s = parse(good);
    assert.deepEqual(s.free, { snap: 1048576000, log: 2048 });
    assert.equal(s.bytesRead, 123456);
    assert.deepEqual(s.files.snapshots[0], {
      name: 'snapshot.300000002.gz',
      zxid: 0x300000002n,
      size: 1200,
      verdict: { ok: false, why: 'checksum mismatch (stored 1a2b, computed 3c4d)' },
    });
    assert.deepEqual(s.files.snapshots[2]!.verdict, { ok: false, why: 'not read: a newer snapshot is valid', skipped: true });
    assert.deepEqual(s.files.logs[1], {
      name: 'log.200000001',
      start: 0x200000001n,
      size: 67108880,
      scan: { ok: true, first: 0x200000001n, last: 0x200000005n, txns: 5 },
    });
    assert.equal(s.files.logs[0]!.scan.headerOnly, true);
    assert.equal(s.files.logs[2]!.scan.bytes, 0);
    const c = continuity(s.files);
    assert.equal(c.ok, false);
    assert.match(c.detail, /log\.200000006: empty \(0 bytes\)/);
  });
  it('undoes the escapes of free text', () => {
    const s = parseDataScan(['zkroll-datascan 1', 'snap snapshot.1.gz 9 gzip Not in GZIP format \\ caf\\u00e9', 'end 1 9', ''].join('\n'), 'h1', 'files');
    assert.equal((s.files.snapshots[0]!.verdict as { why: string }).why, 'not a readable gzip stream (Not in GZIP format \\ café); ZooKeeper cannot load it');
  });
  it('is refused when it is not in the protocol', () => {
    const broken: [string[], RegExp][] = [
      [[], /did not answer in its protocol \(version 1\): its answer is empty/],
      [['zkroll-datascan 2', ...good.slice(1)], /did not answer in its protocol/],
      [good.slice(0, -2).concat(''), /ended without its end line/],
      [good.slice(0, -1), /ended without its end line/],
      [[...good.slice(0, -2), 'end 5 1', ''], /line zkroll does not understand \(line 10\): "end 5 1"/],
      [[...good.slice(0, 4), 'snap snapshot.200000001 900 fine', ...good.slice(5)], /does not understand \(line 5\)/],
      [[...good.slice(0, 4), 'snap snapshot.300000002.gz 1 ok', ...good.slice(5)], /does not understand \(line 5\)/],
      [[...good.slice(0, 4), 'snap log.1 1 ok', ...good.slice(5)], /does not understand/],
      [[...good.slice(0, 7), 'log log.200000001 1 ok - 200000005 5', ...good.slice(8)], /does not understand \(line 8\)/],
      [[...good.slice(0, 7), 'log log.200000001 1 ok 1 2 0', ...good.slice(8)], /does not understand/],
      [[...good.slice(0, 2), 'free snap 1 /x', ...good.slice(3)], /does not understand \(line 3\)/],
      [[good[0]!, ...good.slice(2)], /did not say how much space is free on both directories/],
      [[...good.slice(0, -1), 'more', ''], /does not understand/],
      [
        [good[0]!, 'error /var/zk/data/version-2/snapshot.5: Permission denied', 'end 0 0', ''],
        /^could not read the data files on h1: \/var\/zk\/data\/version-2\/snapshot\.5: Permission denied$/,
      ],
    ];
    for (const [lines, re] of broken)
      assert.throws(
        () => parse(lines),
        (e: unknown) => e instanceof DataScanError && re.test(e.message),
        lines.join(' | '),
      );
  });
  it("is refused when it breaks the scanner's promises (what it skips must not matter)", () => {
    const newer = [...good.slice(0, 4), 'snap snapshot.200000001 900 magic', 'snap snapshot.100000001 800 skipped', ...good.slice(6)];
    assert.throws(() => parse(newer), /contradicts itself: snapshot\.100000001 was not read, yet no older snapshot is valid/);
    const late = [...good.slice(0, 7), 'log log.200000001 67108880 header', ...good.slice(8)];
    assert.throws(() => parse(late), /contradicts itself: only the header of log\.200000001 was read, yet its entries matter/);
  });
  it(`is refused beyond ${MAX_SCAN_OUTPUT_BYTES} bytes`, () => {
    const long = ['zkroll-datascan 1', ...Array.from({ length: 40000 }, (_, i) => `snap snapshot.${i.toString(16)} 1 magic`), 'end 40000 0', ''];
    assert.throws(() => parse(long), /answered 1\d{6} bytes, more than the 1048576 allowed: refused/);
  });
  it('a cut answer (the remote exec keeps the last 64 KiB) is refused, saying so', () => {
    const tail = 'x'.repeat(65536);
    assert.throws(() => parseDataScan(tail, 'h1'), /did not answer in its protocol .*\(cut\? a remote command brings back at most 64 KiB\)/);
  });
});

describe('what the scan reads (a restart stays cheap on GB data)', () => {
  it('snapshots newest first until a valid one; older ones are not even opened', async () => {
    // an older "snapshot" that is a directory: opening it would be an error
    const dir = dataDir({ 'snapshot.200000000': Buffer.from('garbage'), 'snapshot.100000000': snap, 'snapshot.5': 'dir', 'log.100000001': log });
    try {
      const s = await scanLocally(dir, dir);
      assert.deepEqual(
        s.files.snapshots.map((f) => [f.name, f.verdict.ok ? 'ok' : f.verdict.skipped === true ? 'skipped' : 'bad']),
        [
          ['snapshot.200000000', 'bad'],
          ['snapshot.100000000', 'ok'],
          ['snapshot.5', 'skipped'],
        ],
      );
      const c = continuity(s.files);
      assert.equal(c.ok, true, c.detail);
      assert.match(c.detail, /newer damaged snapshot ignored: snapshot\.200000000 \(only 7 bytes\)/);
    } finally {
      rmDir(dir);
    }
  });
  it('a file it cannot read is an error, not a verdict', async () => {
    const dir = dataDir({ 'snapshot.200000000': 'dir', 'log.100000001': log });
    try {
      await assert.rejects(scanLocally(dir, dir), /could not read the data files on localhost: .*snapshot\.200000000: .*Is a directory/);
    } finally {
      rmDir(dir);
    }
  });
  it("only the headers of logs before the one that holds the snapshot's zxid + 1; every entry after it", async () => {
    // log.1: a good header, then a whole entry whose CRC fails: only a full scan would see it
    const old = Buffer.from(log);
    old[16 + 12 + 5] = old[16 + 12 + 5]! ^ 0xff;
    const dir = dataDir({ 'snapshot.100000000': snap, 'log.1': old, 'log.100000001': log });
    const bare = dataDir({ 'log.1': old, 'log.100000001': log });
    try {
      const s = await scanLocally(dir, dir);
      assert.deepEqual(s.files.logs[0]!.scan, { ok: true, first: null, last: null, txns: 0, headerOnly: true });
      assert.equal(s.files.logs[1]!.scan.txns, 34);
      assert.equal(continuity(s.files).ok, true);
      // no snapshot: every log is read whole, and the damaged entry refuses the start
      const b = await scanLocally(bare, bare);
      assert.match(b.files.logs[0]!.scan.why!, /entry 1 \(at byte 16\) fails its CRC check/);
      assert.equal(continuity(b.files).ok, false);
    } finally {
      rmDir(dir);
      rmDir(bare);
    }
  });
  it('a directory that cannot be listed is an error; a missing one holds nothing (the free space of its parent counts)', async () => {
    const dir = tempDir();
    try {
      fs.writeFileSync(path.join(dir, 'version-2'), 'not a directory');
      await assert.rejects(scanLocally(dir, dir), /could not read the data files on localhost: .*version-2: cannot be listed/);
      const s = await scanLocally(path.join(dir, 'missing/data'), path.join(dir, 'missing/log'));
      assert.deepEqual(s.files, { snapshots: [], logs: [] });
      assert.ok(s.free!.snap > 0 && s.free!.log > 0);
    } finally {
      rmDir(dir);
    }
  });
  it('an answer that would pass its limit (1 MiB) is refused on the host already', async () => {
    const dir = dataDir({});
    try {
      // 40 empty logs with 250-digit names: about 11 KB of lines, against a limit of 10000 bytes (--max-output, as 1 MiB would be)
      for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, 'version-2', `log.${i.toString(16).padStart(250, '0')}`), '');
      const r = await localDataRemote().exec(dataScanArgv(['--max-output', '10000', dir, dir]), dataScanClass());
      assert.ok(r.stdout.length < 10000);
      assert.throws(
        () => answerOf(r, 'localhost'),
        /could not read the data files on localhost: the answer would be longer than 1 MiB: too many data files in version-2/,
      );
      const all = await localDataRemote().exec(dataScanArgv(['--max-output', '20000', dir, dir]), dataScanClass());
      assert.equal(answerOf(all, 'localhost').files.logs.length, 40);
    } finally {
      rmDir(dir);
    }
  });
});

describe('large data with the 64 MiB heap', () => {
  it('a 200 MB snapshot is checked on the host and answered in a few hundred bytes', async (t) => {
    // a sparse file: ZKSN, 200 MB of zeros (a hole: no disk, the kernel's zero pages), checksum, seal
    const size = 200 * 1000 * 1000;
    const dir = dataDir({});
    const file = path.join(dir, 'version-2', 'snapshot.100000000');
    try {
      const fd = fs.openSync(file, 'w');
      const zeros = size - 4 - 13;
      const tail = Buffer.alloc(13);
      tail.writeBigUInt64BE(BigInt(new Adler32().update(Buffer.from('ZKSN')).zeros(zeros).digest()));
      tail.writeInt32BE(1, 8);
      tail[12] = 0x2f;
      fs.writeSync(fd, Buffer.from('ZKSN'), 0, 4, 0);
      fs.writeSync(fd, tail, 0, 13, size - 13);
      fs.closeSync(fd);
      fs.writeFileSync(path.join(dir, 'version-2', 'log.100000001'), log);
      const t0 = Date.now();
      const r = await readDataDirs(localDataRemote(), dir, dir);
      t.diagnostic(`200 MB snapshot: ${Date.now() - t0} ms, ${r.scan!.outputBytes} bytes of answer, ${r.scan!.bytesRead} bytes read`);
      assert.equal(r.ok, true, r.detail);
      assert.equal(r.snapshotZxid, 0x100000000n);
      assert.ok(r.scan!.outputBytes < 1000, `${r.scan!.outputBytes} bytes`);
      assert.ok(r.scan!.bytesRead >= size);
    } finally {
      rmDir(dir);
    }
  });
  it('a 48 MiB log entry is streamed through its checksum (it could not be held in the heap)', async () => {
    const len = 48 * 1024 * 1024;
    const dir = dataDir({});
    const file = path.join(dir, 'version-2', 'log.100000001');
    try {
      // header; one entry: [crc][len][clientId 8, cxid 4, zxid 8, zeros][0x42]; then preallocated zeros
      const head = Buffer.alloc(16 + 12 + 20);
      head.writeUInt32BE(0x5a4b4c47, 0);
      head.writeInt32BE(2, 4);
      head.writeInt32BE(len, 16 + 8);
      head.writeBigUInt64BE(0x100000001n, 16 + 12 + 12);
      head.writeBigUInt64BE(
        BigInt(
          new Adler32()
            .update(head.subarray(28))
            .zeros(len - 20)
            .digest(),
        ),
        16,
      );
      const fd = fs.openSync(file, 'w');
      fs.writeSync(fd, head, 0, head.length, 0);
      fs.writeSync(fd, Buffer.from([0x42]), 0, 1, 16 + 12 + len);
      fs.ftruncateSync(fd, 16 + 12 + len + 1 + 4096);
      fs.closeSync(fd);
      const s = await scanLocally(dir, dir);
      assert.deepEqual(s.files.logs[0]!.scan, { ok: true, first: 0x100000001n, last: 0x100000001n, txns: 1 });
    } finally {
      rmDir(dir);
    }
  });
});
