// Reads a server's data directories for the continuity check: one remote command runs the data
// scan on the host (datascan.ts: the embedded java/ZkrollDataScan.java reads headers, sizes and
// checksums where the files are, and answers in at most 1 MiB), then the verdict (datafiles.ts
// continuity), the running server's zxid held against its files, and the free space on both
// directories. Thin I/O over an injected remote.
// Invariants: read-only on the server (the scan writes only its own temp dir, removed as it
// ends); no data file is copied off the host; every command is audited with purpose `read`.
import { hexZxid } from '../zk/zxid.js';
import type { SshHost } from '../remote/ssh.js';
import { continuity, type Continuity } from './datafiles.js';
import { MAX_SCAN_OUTPUT_BYTES, runDataScan } from './datascan.js';

export interface DataRemote {
  /** The host's name, for messages. */
  readonly host: string;
  /** Run argv on the host with `stdin` as its input; its exit code and output, whatever the code. */
  exec(argv: string[], stdin?: Buffer): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * The DataRemote of an SSH connection; every command gets `timeoutMs` and is audited as a read.
 * Up to MAX_SCAN_OUTPUT_BYTES and 64 KiB more of stdout come back whole (a longer answer is
 * cut and refused as such by the scan's parser).
 */
export function sshDataRemote(h: Pick<SshHost, 'execBytes' | 'label'>, timeoutMs: number): DataRemote {
  return {
    host: h.label,
    exec: async (argv, stdin) => {
      const r = await h.execBytes(argv, {
        timeoutMs,
        maxStdoutBytes: MAX_SCAN_OUTPUT_BYTES + 64 * 1024,
        purpose: 'read',
        ...(stdin === undefined ? {} : { stdin }),
      });
      return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
    },
  };
}

/** A txn log file is preallocated in 64 MiB steps: a server needs room for the next one. */
export const MIN_FREE_KB = 64 * 1024 + 16 * 1024;

export interface DataReport extends Continuity {
  freeKb: { path: string; kb: number }[];
  lowSpace: string[];
  /** What the scan cost: data files listed, bytes it read on the host, bytes of its answer. */
  scan?: { files: number; bytesRead: number; outputBytes: number };
}

/** The names in `<dir>/version-2` (none when it does not exist). */
export async function listVersion2(r: DataRemote, dir: string): Promise<string[]> {
  const res = await r.exec(['sh', '-c', 'ls -1 "$1" 2>/dev/null || true', 'sh', `${dir}/version-2`]);
  return res.stdout.split('\n').filter(Boolean);
}

/**
 * The data check of one server. `runningZxid`: the zxid the server reports while it runs. Its
 * files must reach it (a server logs a transaction before it acknowledges it), or files are
 * missing under a running server. Throws DataScanError when the host cannot be scanned (no
 * java, an unreadable file): that is no verdict.
 */
export async function readDataDirs(r: DataRemote, dataDir: string, dataLogDir: string, runningZxid?: bigint | null): Promise<DataReport> {
  const scan = await runDataScan((argv, stdin) => r.exec(argv, stdin), r.host, dataDir, dataLogDir);
  const free = scan.free!;
  const freeKb = [
    { path: dataDir, kb: Math.floor(free.snap / 1024) },
    { path: dataLogDir, kb: Math.floor(free.log / 1024) },
  ];
  const lowSpace = freeKb
    .filter((f) => f.kb < MIN_FREE_KB)
    .map((f) => `${f.path} has ${Math.round(f.kb / 1024)} MiB free, less than the ${MIN_FREE_KB / 1024} MiB a new transaction log and snapshot need`);
  let c = continuity(scan.files);
  if (c.ok && runningZxid != null && (runningZxid & 0xffffffffn) !== 0n && (c.lastZxid ?? 0n) < runningZxid) {
    c = {
      ...c,
      ok: false,
      detail: `the server has processed up to ${hexZxid(runningZxid)} but its files end at ${hexZxid(c.lastZxid ?? 0n)}: transaction logs are missing; a restart would serve a tree without them`,
    };
  }
  const files = scan.files.snapshots.length + scan.files.logs.length;
  return { ...c, ok: c.ok && lowSpace.length === 0, freeKb, lowSpace, scan: { files, bytesRead: scan.bytesRead, outputBytes: scan.outputBytes } };
}
