// The scanner (java/ZkrollDataScan.java) against a reference model: the TypeScript checks the
// data check ran before the scan moved onto the hosts (SnapshotChecker, SnappySnapshotChecker
// and LogScanner of src/check/datafiles.ts before it), kept here whole-buffer and only as the
// specification. Every captured data file and thousands of damaged variants (truncated at
// many offsets, bytes flipped in headers, entries, checksums and seals; gzip and snappy
// variants, the snappy ones decoded by snappyjs, an implementation independent of the
// scanner's) are judged by both: they must agree. One JVM judges them all (--files mode).
// Where they may differ, and why: the text of a gzip or Snappy decoder's own error (the
// category must agree), and damage in a snappy block that snappyjs tolerates (it neither
// checks a block's stated length nor writes past it), which only the snapshot's own checksum
// catches in the model: both must still refuse the snapshot.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { localDataRemote } from '../../src/check/datascan-local.js';
import { dataScanArgv, dataScanClass } from '../../src/check/datascan.js';
import { adler32, fixtures, readDir, rmDir, snappyjs, SNAPPY_MAGIC, snappyOf, snapshotOf, tempDir } from './check-datafixtures.js';

const ZKSN = 0x5a4b534e;
const ZKLG = 0x5a4b4c47;
const MAX_ENTRY_BYTES = 64 * 1024 * 1024;
const MAX_SNAPPY_BLOCK = 4 * 1024 * 1024;
const hex = (z: bigint | null) => (z === null ? '-' : z.toString(16));

/** A plain snapshot: ZKSN, the Adler32 of all but the last 13 bytes, the "/" seal. */
function modelPlain(buf: Buffer): string {
  if (buf.length < 16 + 13) return `short ${buf.length}`;
  if (buf.readUInt32BE(0) !== ZKSN) return 'magic';
  const tail = buf.subarray(buf.length - 13);
  if (tail.readInt32BE(8) !== 1 || tail[12] !== 0x2f) return 'seal';
  const stored = tail.readBigUInt64BE(0);
  const actual = BigInt(adler32(buf.subarray(0, buf.length - 13)));
  return stored === actual ? 'ok' : `checksum ${stored.toString(16)} ${actual.toString(16)}`;
}

function modelGzip(buf: Buffer): string {
  let inner: Buffer;
  try {
    inner = zlib.gunzipSync(buf);
  } catch {
    return 'gzip *';
  }
  return modelPlain(inner);
}

function modelSnappy(buf: Buffer): string {
  if (buf.length < 16) return `snappy-header ${buf.length}`;
  if (!buf.subarray(0, 8).equals(SNAPPY_MAGIC)) return 'snappy-header -';
  const parts: Uint8Array[] = [];
  let off = 16;
  while (buf.length - off >= 4) {
    const len = buf.readInt32BE(off);
    if (len <= 0 || len > MAX_SNAPPY_BLOCK) return `snappy-length ${len} ${off}`;
    if (buf.length - off < 4 + len) break;
    try {
      parts.push(snappyjs.uncompress(buf.subarray(off + 4, off + 4 + len), MAX_SNAPPY_BLOCK));
    } catch {
      return `snappy-block ${off} *`;
    }
    off += 4 + len;
  }
  if (off < buf.length) return `snappy-cut ${buf.length - off}`;
  return modelPlain(Buffer.concat(parts));
}

function modelLog(buf: Buffer): string {
  if (buf.length < 16) return `noheader ${buf.length} -`;
  if (buf.readUInt32BE(0) !== ZKLG) return `noheader ${buf.length} ${buf.readUInt32BE(0).toString(16).padStart(8, '0')}`;
  let [off, first, last, txns] = [16, null as bigint | null, null as bigint | null, 0];
  while (buf.length - off >= 12) {
    const crc = buf.readBigUInt64BE(off);
    const len = buf.readInt32BE(off + 8);
    if ((len === 0 && crc === 0n) || len < 20 || len > MAX_ENTRY_BYTES) break;
    if (buf.length - off < 12 + len + 1 || buf[off + 12 + len] !== 0x42) break; // torn: where ZooKeeper stops reading
    const body = buf.subarray(off + 12, off + 12 + len);
    if (BigInt(adler32(body)) !== crc) return `crc ${hex(first)} ${hex(last)} ${txns} ${off}`;
    first ??= body.readBigUInt64BE(12);
    last = body.readBigUInt64BE(12);
    txns++;
    off += 12 + len + 1;
  }
  return `ok ${hex(first)} ${hex(last)} ${txns}`;
}

type Kind = 'plain' | 'gz' | 'snappy' | 'log';
/** File names by kind (`.0` becomes each variant's own number). */
const NAMES: Record<Kind, string> = { plain: 'snapshot.0', gz: 'snapshot.0.gz', snappy: 'snapshot.0.snappy', log: 'log.0' };
const MODELS: Record<Kind, (b: Buffer) => string> = { plain: modelPlain, gz: modelGzip, snappy: modelSnappy, log: modelLog };

const TRAILING = Buffer.from('trailing garbage');

/** `max` positions to cut or flip at (every one for small files): the first and last bytes, and an even spread. */
function positions(length: number, max: number): number[] {
  if (length <= max) return Array.from({ length }, (_, i) => i);
  const edge = Math.floor(max / 4);
  const ends = Array.from({ length: edge }, (_, i) => [i, length - 1 - i]).flat();
  const spread = Array.from({ length: max - ends.length }, (_, i) => Math.floor(((i + 0.5) * length) / (max - ends.length)));
  return [...new Set([...ends, ...spread])].sort((a, b) => a - b);
}

/** The file, cut at `max` offsets (fewer for large files), and with a byte flipped there (all bits, or the lowest). */
function damaged(buf: Buffer, max: number): Buffer[] {
  const out = [buf, Buffer.concat([buf, Buffer.alloc(4096)]), Buffer.concat([buf, TRAILING])];
  positions(buf.length, Math.min(max, Math.max(40, Math.floor(1e6 / buf.length)))).forEach((at, i) => {
    const b = Buffer.from(buf);
    b[at] = b[at]! ^ (i % 2 === 0 ? 0xff : 0x01);
    out.push(buf.subarray(0, at), b);
  });
  return out;
}

/** Every variant the scanner and the model judge: [kind, bytes]. */
function variants(): [Kind, Buffer][] {
  const data = readDir(path.join(fixtures, 'data'));
  const plain = data['snapshot.0']!;
  const real = fs.readFileSync(path.join(fixtures, 'data-3.9.3-snappy/snapshot.3d.snappy'));
  const big = Buffer.from(modelSnappyPlain(real));
  const logs = [
    data['log.100000001']!,
    fs.readFileSync(path.join(fixtures, 'data-3.4.6-leader/log.100000001')),
    ...['datadir-empty-tail-log', 'datadir-logs-without-snapshot'].flatMap((d) =>
      Object.values(readDir(path.join(fixtures, 'realworld', d, 'data/version-2'))),
    ),
  ].filter((l, i, all) => all.findIndex((o) => o.equals(l)) === i);
  const gz = fs.readFileSync(path.join(fixtures, 'realworld/datadir-compressed-snapshot/data/version-2/snapshot.0.gz'));
  const tag = (kind: Kind, bufs: Buffer[]): [Kind, Buffer][] => bufs.map((b) => [kind, b]);
  return [
    ...tag('plain', [...damaged(plain, 600), ...damaged(big, 300), snapshotOf(Buffer.alloc(0)), snapshotOf(Buffer.alloc(100_000, 7))]),
    ...tag('gz', [...damaged(gz, 300), ...damaged(zlib.gzipSync(big), 200), ...damaged(plain, 40).map((b) => zlib.gzipSync(b)), plain]),
    ...tag('snappy', [...damaged(real, 400), ...damaged(snappyOf(plain, 100), 300), ...damaged(plain, 40).map((b) => snappyOf(b)), plain]),
    ...tag('log', [...logs.flatMap((l) => damaged(l, 400)), Buffer.concat([logs[0]!, Buffer.alloc(1 << 16)])]),
  ];
}

/** The plain snapshot inside a snappy file (snappyjs, block by block). */
function modelSnappyPlain(buf: Buffer): Buffer {
  const parts: Uint8Array[] = [];
  for (let off = 16; off < buf.length; off += 4 + buf.readInt32BE(off)) parts.push(snappyjs.uncompress(buf.subarray(off + 4, off + 4 + buf.readInt32BE(off))));
  return Buffer.concat(parts);
}

/** The facts of one line of the scanner's --files answer: everything after `<kind> <name> <size> `. */
function facts(line: string): string {
  return line.split(' ').slice(3).join(' ');
}

/** Do the scanner (`java`) and the model agree, as far as they must (see the header)? */
function agree(kind: Kind, bytes: Buffer, java: string, model: string): boolean {
  if (java === model) return true;
  const category = (s: string) => s.split(' ')[0]!;
  // node's zlib refuses bytes after the gzip member; GZIPInputStream, which ZooKeeper reads
  // .gz snapshots with, ignores them: the scanner judges as ZooKeeper does
  if (model === 'gzip *' && java === 'ok') return bytes.subarray(-TRAILING.length).equals(TRAILING);
  if (model === 'gzip *') return category(java) === 'gzip';
  if (model.startsWith('snappy-block ')) return java.startsWith(`${model.slice(0, -1)}`);
  // snappyjs tolerated a damaged block the scanner refuses: both refuse the snapshot
  return kind === 'snappy' && category(java) === 'snappy-block' && model !== 'ok';
}

describe('the scanner agrees with the reference model on every fixture and damaged variant', () => {
  it('judges thousands of variants (plain, gzip, snappy snapshots and logs) as the model does', async () => {
    const all = variants();
    const dir = tempDir();
    try {
      const paths = all.map(([kind, bytes], i) => {
        const name = NAMES[kind].replace('.0', `.${i.toString(16)}`);
        fs.writeFileSync(path.join(dir, name), bytes);
        return path.join(dir, name);
      });
      const r = await localDataRemote().exec(dataScanArgv(['--files', ...paths]), dataScanClass());
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n').filter((l) => /^(snap|log) /.test(l));
      assert.equal(lines.length, all.length);
      const disagree = all.flatMap(([kind, bytes], i) => {
        const [java, model] = [facts(lines[i]!), MODELS[kind](bytes)];
        return agree(kind, bytes, java, model) ? [] : [`${kind} #${i} (${bytes.length} bytes): scanner "${java}", model "${model}"`];
      });
      assert.deepEqual(disagree.slice(0, 10), []);
      // every verdict of the protocol is exercised
      const seen = new Set(lines.map((l) => `${l.split(' ')[0]} ${facts(l).split(' ')[0]}`));
      for (const k of ['ok', 'short', 'magic', 'seal', 'checksum', 'gzip', 'snappy-header', 'snappy-length', 'snappy-block', 'snappy-cut'])
        assert.ok(seen.has(`snap ${k}`), `snap ${k}: ${[...seen].join(', ')}`);
      for (const k of ['ok', 'crc', 'noheader']) assert.ok(seen.has(`log ${k}`), `log ${k}: ${[...seen].join(', ')}`);
    } finally {
      rmDir(dir);
    }
  });
});
