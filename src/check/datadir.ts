// Reads a server's data directories for the continuity check: lists version-2, fetches each
// snapshot and the logs that matter (gzip-compressed on the host, streamed back as the
// command's output: preallocated logs are mostly zeros), and the free space on both
// directories. Thin I/O over an injected remote.
// Invariants: read-only on the server; zkroll leaves no copy of a data file on it: the
// compressed stream exists only as the output of the command that made it (in the remote
// shell's private temp dir), removed as that command's answer is sent.
// Compressed snapshots (snapshot.<zxid>.gz / .snappy, ZooKeeper 3.6+ SnapStream): the file's
// own bytes arrive after the transport gunzip, so a .gz snapshot is gunzipped a second time
// (streamed, never held whole) before the checker sees the plain snapshot format; a .snappy one
// is only recognised (see datafiles.ts). dataFilesOf is the one code path from file bytes to
// DataFiles, used by readDataDirs (bytes over SSH) and verdictOfFiles (bytes in memory).
import { hexZxid } from '../zk/zxid.js';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { SshHost } from '../remote/ssh.js';
import {
  LogScanner,
  SnapshotChecker,
  SnappySnapshotChecker,
  continuity,
  snapshotName,
  zxidOfName,
  type Continuity,
  type DataFiles,
  type SnapshotVerdict,
} from './datafiles.js';

export interface DataRemote {
  exec(argv: string[]): Promise<{ code: number | null; stdout: string }>;
  /** Run argv; its whole stdout as bytes (throws when it is longer than `maxBytes`). */
  bytes(argv: string[], maxBytes: number): Promise<{ code: number | null; stdout: Buffer }>;
}

/** The DataRemote of an SSH connection; every command gets `timeoutMs`. */
export function sshDataRemote(h: Pick<SshHost, 'exec' | 'execBytes'>, timeoutMs: number): DataRemote {
  return {
    exec: (argv) => h.exec(argv, { timeoutMs, raw: true, purpose: 'read' }),
    bytes: async (argv, maxBytes) => {
      const r = await h.execBytes(argv, { timeoutMs, maxStdoutBytes: maxBytes, purpose: 'read' });
      if (r.stdoutTruncated) throw new Error(`${argv.join(' ')}: more than ${maxBytes} bytes of output`);
      return r;
    },
  };
}

/** The most compressed bytes one data file may bring back (a snapshot of several GB). */
export const MAX_GZ_BYTES = 1024 * 1024 * 1024;

/** A txn log file is preallocated in 64 MiB steps: a server needs room for the next one. */
export const MIN_FREE_KB = 64 * 1024 + 16 * 1024;

const CHUNK = 64 * 1024;

interface Sink {
  push(b: Buffer): void;
  readonly done?: boolean;
}

/** Feed `src` to `sink` until either ends; stops reading as soon as the sink is done (a log's preallocated zeros). */
async function feed(src: Readable, sink: Sink): Promise<void> {
  try {
    for await (const chunk of src) {
      sink.push(chunk as Buffer);
      if (sink.done === true) break;
    }
  } finally {
    src.destroy();
  }
}

/**
 * The file's bytes gunzipped once more (a `.gz` snapshot), streamed. A damaged gzip layer is
 * the snapshot's fault (its verdict); an error of `src` itself is the transport's (thrown).
 */
async function feedGunzipped(src: Readable, sink: Sink): Promise<string | null> {
  const inner = zlib.createGunzip({ chunkSize: CHUNK });
  let srcError: unknown;
  src.on('error', (e) => {
    srcError = e;
    inner.destroy(e);
  });
  src.pipe(inner);
  try {
    await feed(inner, sink);
    return null;
  } catch (e) {
    if (srcError !== undefined && e === srcError) throw e;
    return `not a readable gzip stream (${(e as Error).message}); ZooKeeper cannot load it`;
  } finally {
    src.destroy();
  }
}

/** The verdict on one snapshot file, by its name's compression. */
async function checkSnapshotFile(compression: 'none' | 'gzip' | 'snappy', src: Readable): Promise<SnapshotVerdict> {
  if (compression === 'snappy') {
    const c = new SnappySnapshotChecker();
    await feed(src, c);
    return c.finish();
  }
  const c = new SnapshotChecker();
  if (compression === 'none') {
    await feed(src, c);
    return c.finish();
  }
  const broken = await feedGunzipped(src, c);
  return broken === null ? c.finish() : { ok: false, why: broken };
}

/** Opens one data file: its bytes as they are on disk, in pieces. */
export type OpenDataFile = (kind: 'snapshot' | 'log', name: string) => Promise<Readable>;

/**
 * The one path from data file names and bytes to DataFiles: recognises snapshot (plain, .gz,
 * .snappy) and log names, ignores every other name, and runs each file through its checker.
 */
export async function dataFilesOf(names: { snapshots: string[]; logs: string[] }, open: OpenDataFile): Promise<DataFiles> {
  const files: DataFiles = { snapshots: [], logs: [] };
  for (const name of names.snapshots) {
    const s = snapshotName(name);
    if (s === null) continue;
    files.snapshots.push({ name, zxid: s.zxid, verdict: await checkSnapshotFile(s.compression, await open('snapshot', name)) });
  }
  for (const name of names.logs) {
    const start = zxidOfName(name, 'log');
    if (start === null) continue;
    const scanner = new LogScanner();
    await feed(await open('log', name), scanner);
    files.logs.push({ name, start, scan: scanner.finish() });
  }
  return files;
}

/**
 * The continuity verdict on one version-2 directory held in memory ({file name: its bytes}),
 * fed in 64 KiB pieces through the same code as readDataDirs (its dataDir and dataLogDir in one).
 */
export async function verdictOfFiles(files: Record<string, Buffer>): Promise<Continuity> {
  const names = Object.keys(files).sort();
  const open: OpenDataFile = async (_kind, name) => {
    const buf = files[name] ?? Buffer.alloc(0);
    return Readable.from(Array.from({ length: Math.ceil(buf.length / CHUNK) }, (_, i) => buf.subarray(i * CHUNK, (i + 1) * CHUNK)));
  };
  return continuity(await dataFilesOf({ snapshots: names, logs: names }, open));
}

/** The transport: a file's `gzip -c` output decompressed again, in 64 KiB pieces. */
export function gunzipTransport(gz: Buffer): Readable {
  const gunzip = zlib.createGunzip({ chunkSize: CHUNK });
  gunzip.end(gz);
  return gunzip;
}

/**
 * Fetch one data file gzip-compressed and return it decompressed, as a stream read in 64 KiB
 * pieces: the file is never held decompressed (a 64 MiB preallocated log decompressed whole
 * with gunzipSync cost about 130 MiB of resident memory), and reading stops at a log's
 * preallocated zeros.
 */
async function fetchGz(r: DataRemote, file: string): Promise<Readable> {
  const z = await r.bytes(['gzip', '-c', file], MAX_GZ_BYTES);
  if (z.code !== 0) throw new Error(`could not read ${file}`);
  return gunzipTransport(z.stdout);
}

export interface DataReport extends Continuity {
  freeKb: { path: string; kb: number }[];
  lowSpace: string[];
}

/**
 * `runningZxid`: the zxid the server reports while it runs. Its files must reach it (a server
 * logs a transaction before it acknowledges it), or files are missing under a running server.
 */
/** The names in `<dir>/version-2` (none when it does not exist). */
export async function listVersion2(r: DataRemote, dir: string): Promise<string[]> {
  const res = await r.exec(['sh', '-c', 'ls -1 "$1" 2>/dev/null || true', 'sh', `${dir}/version-2`]);
  return res.stdout.split('\n').filter(Boolean);
}

export async function readDataDirs(r: DataRemote, dataDir: string, dataLogDir: string, runningZxid?: bigint | null): Promise<DataReport> {
  const files = await dataFilesOf({ snapshots: await listVersion2(r, dataDir), logs: await listVersion2(r, dataLogDir) }, (kind, name) =>
    fetchGz(r, `${kind === 'snapshot' ? dataDir : dataLogDir}/version-2/${name}`),
  );
  const df = await r.exec(['df', '-Pk', dataDir, dataLogDir]);
  const freeKb = df.stdout
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line, i) => ({ path: i === 0 ? dataDir : dataLogDir, kb: Number(line.trim().split(/\s+/)[3]) }));
  const lowSpace = freeKb
    .filter((f) => Number.isFinite(f.kb) && f.kb < MIN_FREE_KB)
    .map((f) => `${f.path} has ${Math.round(f.kb / 1024)} MiB free, less than the ${MIN_FREE_KB / 1024} MiB a new transaction log and snapshot need`);
  let c = continuity(files);
  if (c.ok && runningZxid != null && (runningZxid & 0xffffffffn) !== 0n && (c.lastZxid ?? 0n) < runningZxid) {
    c = {
      ...c,
      ok: false,
      detail: `the server has processed up to ${hexZxid(runningZxid)} but its files end at ${hexZxid(c.lastZxid ?? 0n)}: transaction logs are missing; a restart would serve a tree without them`,
    };
  }
  return { ...c, ok: c.ok && lowSpace.length === 0, freeKb, lowSpace };
}
