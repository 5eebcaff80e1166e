// Helpers for the data check's tests: where the captured data files are, how damaged and
// synthetic variants are made (Adler32, ZooKeeper's snapshot and log framing, snappy-java's
// block framing), and the real scanner (java/ZkrollDataScan.java, run here exactly as on a
// host: src/check/datascan-local.ts) judging files given as bytes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { LogScan, SnapshotVerdict } from '../../src/check/datafiles.js';
import { scanFilesLocally } from '../../src/check/datascan-local.js';
import type { DataScan } from '../../src/check/datascan.js';

/** snappyjs (pure-JS raw Snappy): an implementation independent of the scanner's, for making and reading blocks. */
export const snappyjs = createRequire(import.meta.url)('snappyjs') as {
  compress(b: Uint8Array): Uint8Array;
  uncompress(b: Uint8Array, maxLength?: number): Uint8Array;
};

/** The repository's root (tests run from dist/test/unit). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixtures = path.join(repoRoot, 'test/fixtures');

/** The files of a fixture directory: {file name: bytes}. */
export function readDir(dir: string): Record<string, Buffer> {
  return Object.fromEntries(fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n))]));
}

/** Adler-32 as java.util.zip.Adler32 computes it, fed in pieces. */
export class Adler32 {
  private a = 1;
  private b = 0;
  update(buf: Uint8Array): this {
    let { a, b } = this;
    for (let i = 0; i < buf.length;) {
      const end = Math.min(buf.length, i + 3800);
      for (; i < end; i++) {
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
  /** As if `n` zero bytes were fed (a sparse file's hole): `a` stays, `b` grows by `a` per byte. */
  zeros(n: number): this {
    this.b = (this.b + (n % 65521) * this.a) % 65521;
    return this;
  }
  digest(): number {
    return ((this.b << 16) | this.a) >>> 0;
  }
}

export const adler32 = (buf: Uint8Array): number => new Adler32().update(buf).digest();

/** A plain snapshot around `body`: the ZKSN magic, the body, its Adler32 as a long and the "/" seal. */
export function snapshotOf(body: Buffer): Buffer {
  const head = Buffer.concat([Buffer.from('ZKSN'), body]);
  const tail = Buffer.alloc(13);
  tail.writeBigUInt64BE(BigInt(adler32(head)), 0);
  tail.writeInt32BE(1, 8);
  tail[12] = 0x2f;
  return Buffer.concat([head, tail]);
}

/** snappy-java's SnappyCodec magic: what SnapStream.isValidSnappyStream compares. */
export const SNAPPY_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** `plain` as snappy-java's SnappyOutputStream writes it: magic, two versions, [int32 length][raw Snappy block] of 32 KiB pieces. */
export function snappyOf(plain: Buffer, block = 32 * 1024): Buffer {
  const parts = [SNAPPY_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])];
  for (let i = 0; i < plain.length; i += block) {
    const c = Buffer.from(snappyjs.compress(plain.subarray(i, i + block)));
    const len = Buffer.alloc(4);
    len.writeInt32BE(c.length);
    parts.push(len, c);
  }
  return Buffer.concat(parts);
}

/** The byte offset of a log's entry `n` (0: the first, right after the 16-byte header). */
export function entryOffset(log: Buffer, n: number): number {
  let off = 16;
  for (let i = 0; i < n; i++) off += 12 + log.readInt32BE(off + 8) + 1;
  return off;
}

/** A copy of a log with every zxid moved by `delta` (each entry's Adler32 recomputed). */
export function renumber(log: Buffer, delta: bigint): Buffer {
  const out = Buffer.from(log);
  let off = 16;
  while (off + 12 <= out.length) {
    const len = out.readInt32BE(off + 8);
    if (len < 20 || off + 12 + len + 1 > out.length) break;
    const body = out.subarray(off + 12, off + 12 + len);
    body.writeBigUInt64BE(body.readBigUInt64BE(12) + delta, 12);
    out.writeBigUInt64BE(BigInt(adler32(body)), off);
    off += 12 + len + 1;
  }
  return out;
}

/** Where temp directories go: /dev/shm when there is one (creating thousands of files on a disk is slow), else the OS's. */
const tempRoot = ((): string => {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
})();

/** A temp directory (removed by the caller with rmDir). */
export function tempDir(prefix = 'zkroll-test-'): string {
  return fs.mkdtempSync(path.join(tempRoot, prefix));
}

export function rmDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * The scanner's answer on files given as [name, bytes] (each judged whole, in order; each in a
 * directory of its own, so names may repeat); `chunk`: the most bytes one read asks for.
 */
export async function judgeFiles(files: [string, Buffer][], chunk?: number): Promise<DataScan> {
  const dir = tempDir();
  try {
    const paths = files.map(([name, bytes], i) => {
      fs.mkdirSync(path.join(dir, String(i)));
      fs.writeFileSync(path.join(dir, String(i), name), bytes);
      return path.join(dir, String(i), name);
    });
    return await scanFilesLocally(paths, chunk);
  } finally {
    rmDir(dir);
  }
}

/** The scanner's verdict on one snapshot (named `name`: its compression is in the name). */
export async function snapshotVerdict(bytes: Buffer, name = 'snapshot.0'): Promise<SnapshotVerdict> {
  return (await judgeFiles([[name, bytes]])).files.snapshots[0]!.verdict;
}

/** The scanner's scan of one log, every entry read. */
export async function logScan(bytes: Buffer, name = 'log.1'): Promise<LogScan> {
  return (await judgeFiles([[name, bytes]])).files.logs[0]!.scan;
}

/** The scanner's scans of several logs at once (one JVM). */
export async function logScans(logs: Buffer[]): Promise<LogScan[]> {
  return (await judgeFiles(logs.map((b) => ['log.1', b]))).files.logs.map((l) => l.scan);
}
