// Reads a server's data directories for the continuity check: lists version-2, fetches each
// snapshot and the logs that matter (gzip-compressed on the host, streamed back as the
// command's output: preallocated logs are mostly zeros), and the free space on both
// directories. Thin I/O over an injected remote.
// Invariants: read-only on the server; zkroll leaves no copy of a data file on it: the
// compressed stream exists only as the output of the command that made it (in the remote
// shell's private temp dir), removed as that command's answer is sent.
import { hexZxid } from '../zk/zxid.js';
import zlib from 'node:zlib';
import type { SshHost } from '../remote/ssh.js';
import { LogScanner, SnapshotChecker, continuity, zxidOfName, type Continuity, type DataFiles } from './datafiles.js';

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

/**
 * Fetch one data file gzip-compressed and feed it, decompressed in 64 KiB pieces, to `sink`;
 * stops decompressing as soon as the sink is done (a log's preallocated zeros). The file is
 * never held decompressed: a 64 MiB preallocated log decompressed whole (gunzipSync) cost
 * about 130 MiB of resident memory.
 */
async function feedGz(r: DataRemote, file: string, sink: { push(b: Buffer): void; done?: boolean }): Promise<void> {
  const z = await r.bytes(['gzip', '-c', file], MAX_GZ_BYTES);
  if (z.code !== 0) throw new Error(`could not read ${file}`);
  const gunzip = zlib.createGunzip({ chunkSize: 64 * 1024 });
  gunzip.end(z.stdout);
  try {
    for await (const chunk of gunzip) {
      sink.push(chunk as Buffer);
      if (sink.done === true) break;
    }
  } finally {
    gunzip.destroy();
  }
}

export interface DataReport extends Continuity {
  freeKb: { path: string; kb: number }[];
  lowSpace: string[];
}

/**
 * `runningZxid`: the zxid the server reports while it runs. Its files must reach it (a server
 * logs a transaction before it acknowledges it), or files are missing under a running server.
 */
export async function readDataDirs(r: DataRemote, dataDir: string, dataLogDir: string, runningZxid?: bigint | null): Promise<DataReport> {
  const ls = async (d: string) => {
    const res = await r.exec(['sh', '-c', 'ls -1 "$1" 2>/dev/null || true', 'sh', `${d}/version-2`]);
    return res.stdout.split('\n').filter(Boolean);
  };
  const files: DataFiles = { snapshots: [], logs: [] };
  for (const name of await ls(dataDir)) {
    const zxid = zxidOfName(name, 'snapshot');
    if (zxid === null) continue;
    const c = new SnapshotChecker();
    await feedGz(r, `${dataDir}/version-2/${name}`, c);
    files.snapshots.push({ name, zxid, verdict: c.finish() });
  }
  const logs = (await ls(dataLogDir))
    .map((n) => ({ name: n, start: zxidOfName(n, 'log') }))
    .filter((l): l is { name: string; start: bigint } => l.start !== null);
  for (const l of logs) {
    const s = new LogScanner();
    await feedGz(r, `${dataLogDir}/version-2/${l.name}`, s);
    files.logs.push({ name: l.name, start: l.start, scan: s.finish() });
  }
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
