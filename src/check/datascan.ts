// The data check's work is done where the data is: java/ZkrollDataScan.java, embedded as a class
// file (datascan-class.ts, `npm run gen:datascan`), is sent as the stdin of one remote command
// that runs it with the host's own JVM (ZooKeeper's: every ZooKeeper host has one) on the
// server's dataDir and dataLogDir. It reads file headers, sizes and checksums on the host and
// answers with one short line per data file; this module builds that command and parses the
// answer, strictly, into DataFiles for continuity() (datafiles.ts).
// Invariants:
//  - No data file leaves the host: the answer is at most MAX_SCAN_OUTPUT_BYTES (the scanner
//    refuses to print more, and a longer answer is refused here too).
//  - The command writes only its own `mktemp -d` directory (the class file; a JVM crash log)
//    and removes it whatever happens (EXIT trap; TERM/HUP/INT end the script through it); the
//    JVM writes no perf data (-XX:-UsePerfData) and gets -Xmx64m; it runs under `nice -n 10`.
//  - The JVM is ZooKeeper's choice (bin/zkEnv.sh: $JAVA_HOME/bin/java when JAVA_HOME is set,
//    else java on PATH), else the one a running ZooKeeper server runs on (its /proc/<pid>/exe:
//    sudo resets PATH and JAVA_HOME); none is a DataScanError naming the host, never a verdict.
//  - The answer must keep the scanner's promises (a skipped snapshot is older than a valid one,
//    a header-only log begins before the log that holds the valid snapshot's zxid + 1): an answer
//    that breaks them, a line that is not in the protocol or a missing end line is an error.
//
// Line protocol (version 1; the Java file's header is the reference): the first line is
// `zkroll-datascan 1`, the last `end <lines> <bytesRead>`; between them `free snap|log <bytes>
// <dir>`, `snap <name> <size> <verdict...>`, `log <name> <size> <scan...>` and `error <text>`.
import { DATASCAN_CLASS_BASE64 } from './datascan-class.js';
import { snapshotName, zxidOfName, type DataFiles, type LogScan, type SnapshotVerdict } from './datafiles.js';

/** The most bytes of answer the data scan may send back (the scanner's own limit too). */
export const MAX_SCAN_OUTPUT_BYTES = 1024 * 1024;
/** The JVM's options: a small heap is enough for any data size (the scanner streams). */
export const DATASCAN_JVM_OPTIONS = ['-Xmx64m', '-XX:+UseSerialGC', '-XX:-UsePerfData'];
/** Exit code of the remote command when the host has no java. */
export const NO_JAVA_EXIT = 3;
/** Exit code of the remote command when it could not make or fill its temp dir. */
export const NO_TEMP_EXIT = 4;

/** A ZooKeeper server's main class on a JVM's command line (an extended regex that does not match itself). */
const ZK_SERVER_MAIN = 'org\\.apache\\.zookeeper\\.server\\.([q]uorum\\.QuorumPeerMain|[Z]ooKeeperServerMain)';

/**
 * The remote script, run as `sh -c <script> zkroll-datascan <args>`: finds the JVM (JAVA_HOME,
 * else PATH, else a running ZooKeeper server's), copies its stdin (the class file) into a fresh
 * temp dir, runs the scanner with <args> and removes the temp dir.
 */
export const DATASCAN_SCRIPT = [
  'if [ -n "${JAVA_HOME:-}" ]; then j=$JAVA_HOME/bin/java; w="JAVA_HOME=$JAVA_HOME has no executable bin/java"; [ -x "$j" ] || j=',
  'else',
  '  j=$(command -v java) || j=; w="none on PATH=$PATH, and no running ZooKeeper server whose JVM to use"',
  // sudo resets PATH and JAVA_HOME: the JVM a running ZooKeeper server was started with will
  // do ([q] and [Z] keep this script's own command line from matching)
  `  [ -n "$j" ] || for c in $(grep -lsaE '${ZK_SERVER_MAIN}' /proc/[0-9]*/cmdline 2>/dev/null); do`,
  '    j=$(readlink "${c%/cmdline}/exe") || j=; case $j in */java) [ -x "$j" ] && break;; esac; j=',
  '  done',
  'fi',
  `[ -n "$j" ] || { echo "zkroll-datascan: no java: $w" >&2; exit ${NO_JAVA_EXIT}; }`,
  `d=$(mktemp -d "\${TMPDIR:-/tmp}/zkroll-datascan.XXXXXX") || exit ${NO_TEMP_EXIT}`,
  `trap 'rm -rf "$d"' EXIT`,
  "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM",
  `cat > "$d/ZkrollDataScan.class" || exit ${NO_TEMP_EXIT}`,
  `nice -n 10 "$j" ${DATASCAN_JVM_OPTIONS.join(' ')} -XX:ErrorFile="$d/hs_err_%p.log" -cp "$d" ZkrollDataScan "$@"`,
].join('\n');

/** The remote command that scans a dataDir and dataLogDir (`args`: the scanner's own, see its header). */
export function dataScanArgv(args: string[]): string[] {
  return ['sh', '-c', DATASCAN_SCRIPT, 'zkroll-datascan', ...args];
}

let classBytes: Buffer | undefined;
/** The scanner's class file: the command's stdin. */
export function dataScanClass(): Buffer {
  classBytes ??= Buffer.from(DATASCAN_CLASS_BASE64, 'base64');
  return classBytes;
}

/** The data scan could not be done (no java, an I/O error, a broken answer): not a verdict. */
export class DataScanError extends Error {
  constructor(
    message: string,
    /** The scanner's stderr, its last bytes. */
    readonly stderr = '',
  ) {
    super(message);
  }
}

export interface DataScan {
  files: DataFiles;
  /** Usable bytes where dataDir and dataLogDir are (df's Available); always there in `dirs` mode, never in `files` mode. */
  free?: { snap: number; log: number };
  /** Bytes the scanner read from the data files. */
  bytesRead: number;
  /** Bytes of the answer. */
  outputBytes: number;
}

/** A remote command's outcome, as DataRemote.exec gives it. */
export interface ScanRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the scanner through `exec` on dataDir and dataLogDir of `host`; throws DataScanError when it cannot answer. */
export async function runDataScan(
  exec: (argv: string[], stdin: Buffer) => Promise<ScanRun>,
  host: string,
  dataDir: string,
  dataLogDir: string,
): Promise<DataScan> {
  return answerOf(await exec(dataScanArgv([dataDir, dataLogDir]), dataScanClass()), host);
}

/**
 * The parsed answer of a finished scan command, or DataScanError saying why there is none.
 * `mode`: `files` for the scanner's --files mode (one line per file given, names may repeat).
 */
export function answerOf(r: ScanRun, host: string, mode: ScanMode = 'dirs'): DataScan {
  const err = r.stderr.trim().slice(-600);
  const noJava = /zkroll-datascan: no java: (.*)/.exec(r.stderr);
  if (r.code === NO_JAVA_EXIT && noJava !== null)
    throw new DataScanError(
      `no java on ${host}: the data check runs a small Java program with the host's JVM (the one ZooKeeper uses, as bin/zkEnv.sh finds it); set JAVA_HOME for zkroll's login or put java on its PATH (${noJava[1]})`,
      err,
    );
  if (r.stderr.includes('UnsupportedClassVersionError'))
    throw new DataScanError(`the java on ${host} is older than Java 8, which the data check needs: set JAVA_HOME for zkroll's login to a Java 8+ JVM`, err);
  if (r.code === NO_TEMP_EXIT) throw new DataScanError(`the data check could not make its temp dir on ${host} (mktemp -d in \${TMPDIR:-/tmp}): ${err}`, err);
  if (r.code === 124 || r.code === 137) throw new DataScanError(`the data scan on ${host} did not finish in time (exit ${r.code}) and was stopped`, err);
  if (r.code !== 0) throw new DataScanError(`the data scan on ${host} failed (exit ${r.code ?? 'by a signal'})${err ? `: ${err}` : ''}`, err);
  return parseDataScan(r.stdout, host, mode);
}

/** One line's fields after its kind, matched by a pattern of the protocol. */
type Rule<T> = [RegExp, (m: RegExpExecArray) => T];

const ZX = '([0-9a-f]{1,16}|-)';
const zx = (s: string | undefined): bigint | null => (s === undefined || s === '-' ? null : BigInt(`0x${s}`));

/** Free text of the last field: `\\` and `\uXXXX` undone. */
function unescape(s: string): string {
  return s.replace(/\\(\\|u([0-9a-f]{4}))/g, (_, c: string, hex: string | undefined) => (hex === undefined ? c : String.fromCharCode(parseInt(hex, 16))));
}

const SNAPSHOT_RULES: Rule<SnapshotVerdict>[] = [
  [/^ok$/, () => ({ ok: true })],
  [/^skipped$/, () => ({ ok: false, why: 'not read: a newer snapshot is valid', skipped: true })],
  [/^short (\d+)$/, (m) => ({ ok: false, why: `only ${m[1]} bytes` })],
  [/^magic$/, () => ({ ok: false, why: 'no ZKSN header' })],
  [/^seal$/, () => ({ ok: false, why: 'truncated: the end-of-snapshot seal is missing' })],
  [/^checksum ([0-9a-f]{1,16}) ([0-9a-f]{1,16})$/, (m) => ({ ok: false, why: `checksum mismatch (stored ${m[1]}, computed ${m[2]})` })],
  [/^gzip (.*)$/, (m) => ({ ok: false, why: `not a readable gzip stream (${unescape(m[1]!)}); ZooKeeper cannot load it` })],
  [/^snappy-header (\d+)$/, (m) => ({ ok: false, why: `only ${m[1]} bytes: no snappy header (ZooKeeper skips it as invalid)` })],
  [/^snappy-header -$/, () => ({ ok: false, why: 'no snappy header (ZooKeeper skips it as invalid)' })],
  [/^snappy-length (-?\d+) (\d+)$/, (m) => ({ ok: false, why: `a damaged snappy block length (${m[1]}) at byte ${m[2]}` })],
  [/^snappy-block (\d+) (.*)$/, (m) => ({ ok: false, why: `a damaged snappy block at byte ${m[1]} (${unescape(m[2]!)})` })],
  [/^snappy-cut (\d+)$/, (m) => ({ ok: false, why: `truncated: the last snappy block is cut (${m[1]} bytes of it)` })],
];

/** A log's entries as read: first and last zxid and the count agree (none, or both and a count). */
function entries(first: string, last: string, txns: string): Pick<LogScan, 'first' | 'last' | 'txns'> | null {
  const n = Number(txns);
  return (n === 0) === (first === '-') && (n === 0) === (last === '-') ? { first: zx(first), last: zx(last), txns: n } : null;
}

/** A whole scan (`ok <first> <last> <txns>`). */
function okScan(m: RegExpExecArray): LogScan | null {
  const e = entries(m[1]!, m[2]!, m[3]!);
  return e && { ok: true, ...e };
}

/** A scan that stopped at an entry whose CRC fails (`crc <first> <last> <txns> <offset>`). */
function crcScan(m: RegExpExecArray): LogScan | null {
  const e = entries(m[1]!, m[2]!, m[3]!);
  return e && { ok: false, why: `entry ${e.txns + 1} (at byte ${m[4]}) fails its CRC check: ZooKeeper stops loading with "CRC check failed"`, ...e };
}

const LOG_RULES: Rule<LogScan | null>[] = [
  [new RegExp(`^ok ${ZX} ${ZX} (\\d+)$`), okScan],
  [new RegExp(`^crc ${ZX} ${ZX} (\\d+) (\\d+)$`), crcScan],
  [/^header$/, () => ({ ok: true, first: null, last: null, txns: 0, headerOnly: true })],
  [/^noheader (\d+) ([0-9a-f]{8}|-)$/, (m) => ({ ok: false, why: headerWhy(Number(m[1]), m[2]!), bytes: Number(m[1]), first: null, last: null, txns: 0 })],
];

/** Why a log has no usable 16-byte header (`magic`: its first 4 bytes in hex, or - when it is shorter). */
function headerWhy(bytes: number, magic: string): string {
  if (magic !== '-') return `no ZKLG header (its magic is 0x${magic}): not a transaction log`;
  return bytes === 0
    ? 'empty (0 bytes): no ZKLG header; the disk filled or the server died while the log was created'
    : `no ZKLG header: only ${bytes} bytes, shorter than the 16-byte file header`;
}

function byRules<T>(rules: Rule<T>[], text: string): T | undefined {
  for (const [re, make] of rules) {
    const m = re.exec(text);
    if (m !== null) return make(m);
  }
  return undefined;
}

/** `dirs`: a dataDir and dataLogDir scanned (two free lines, unique names); `files`: --files. */
export type ScanMode = 'dirs' | 'files';

/** What the answer says so far. */
interface Answer {
  mode: ScanMode;
  scan: DataScan;
  names: Set<string>;
  lines: number;
  ended: boolean;
}

/** Take one line of the answer into `a`; false when it is not in the protocol. */
function takeLine(a: Answer, line: string, host: string): boolean {
  const m = /^(free|snap|log|error|end) (.*)$/.exec(line);
  if (m === null || a.ended) return false;
  const [kind, rest] = [m[1]!, m[2]!];
  if (kind === 'error') throw new DataScanError(`could not read the data files on ${host}: ${unescape(rest)}`);
  if (kind === 'end') return takeEnd(a, rest);
  if (kind === 'free') return takeFree(a, rest);
  return takeFile(a, kind as 'snap' | 'log', rest);
}

/** A `snap` or `log` line after its kind: `<name> <size> <facts>`. */
function takeFile(a: Answer, kind: 'snap' | 'log', rest: string): boolean {
  const f = /^(\S+) (\d+) (.+)$/.exec(rest);
  if (f === null || (a.mode === 'dirs' && a.names.has(`${kind} ${f[1]}`))) return false;
  a.names.add(`${kind} ${f[1]}`);
  a.lines++;
  const [name, size, facts] = [f[1]!, Number(f[2]), f[3]!];
  if (kind === 'snap') {
    const s = snapshotName(name);
    const verdict = byRules(SNAPSHOT_RULES, facts);
    if (s === null || verdict === undefined) return false;
    a.scan.files.snapshots.push({ name, zxid: s.zxid, verdict, size });
    return true;
  }
  const start = zxidOfName(name, 'log');
  const scan = byRules(LOG_RULES, facts);
  if (start === null || !scan) return false;
  a.scan.files.logs.push({ name, start, scan, size });
  return true;
}

function takeFree(a: Answer, rest: string): boolean {
  const m = /^(snap|log) (\d+) (.*)$/.exec(rest);
  if (m === null || a.mode === 'files') return false;
  const free = (a.scan.free ??= { snap: -1, log: -1 });
  if (free[m[1] as 'snap' | 'log'] !== -1) return false;
  free[m[1] as 'snap' | 'log'] = Number(m[2]);
  return true;
}

function takeEnd(a: Answer, rest: string): boolean {
  const m = /^(\d+) (\d+)$/.exec(rest);
  if (m === null || Number(m[1]) !== a.lines) return false;
  a.scan.bytesRead = Number(m[2]);
  a.ended = true;
  return true;
}

/**
 * The scanner's answer as DataFiles (strict: every line must be in the protocol, the first is
 * its version, the last `end` with the right count). Throws DataScanError, naming the host,
 * for an answer that is too long, cut, malformed, reports an I/O error or breaks the
 * scanner's promises.
 */
export function parseDataScan(stdout: string, host: string, mode: ScanMode = 'dirs'): DataScan {
  const outputBytes = Buffer.byteLength(stdout);
  if (outputBytes > MAX_SCAN_OUTPUT_BYTES)
    throw new DataScanError(`the data scan on ${host} answered ${outputBytes} bytes, more than the ${MAX_SCAN_OUTPUT_BYTES} allowed: refused`);
  const lines = stdout.split('\n');
  if (lines[0] !== 'zkroll-datascan 1')
    throw new DataScanError(
      `the data scan on ${host} did not answer in its protocol (version 1): its answer ${stdout.length === 0 ? 'is empty' : `begins ${JSON.stringify(stdout.slice(0, 80))}`}${outputBytes >= 60000 ? ' (cut? a remote command brings back at most 64 KiB)' : ''}`,
    );
  const a: Answer = { mode, scan: { files: { snapshots: [], logs: [] }, bytesRead: 0, outputBytes }, names: new Set(), lines: 0, ended: false };
  lines.slice(1, -1).forEach((line, i) => {
    if (!takeLine(a, line, host))
      throw new DataScanError(`the data scan on ${host} answered a line zkroll does not understand (line ${i + 2}): ${JSON.stringify(line.slice(0, 200))}`);
  });
  if (!a.ended || lines.at(-1) !== '') throw new DataScanError(`the data scan on ${host} ended without its end line: its answer is incomplete`);
  const free = a.scan.free;
  if (mode === 'dirs' && (free === undefined || free.snap < 0 || free.log < 0))
    throw new DataScanError(`the data scan on ${host} did not say how much space is free on both directories`);
  const broken = brokenPromise(a.scan.files);
  if (broken !== null) throw new DataScanError(`the data scan on ${host} contradicts itself: ${broken}`);
  return a.scan;
}

/**
 * A reason the answer cannot be judged, or null: a skipped snapshot must be older than a valid
 * one, and a header-only log must begin before the log that holds the newest valid snapshot's
 * zxid + 1 (continuity() reads nothing else of them).
 */
export function brokenPromise(f: DataFiles): string | null {
  const valid = f.snapshots.filter((s) => s.verdict.ok).reduce<bigint | null>((z, s) => (z === null || s.zxid > z ? s.zxid : z), null);
  const skipped = f.snapshots.find((s) => !s.verdict.ok && s.verdict.skipped === true && (valid === null || s.zxid >= valid));
  if (skipped !== undefined) return `${skipped.name} was not read, yet no older snapshot is valid`;
  const logs = [...f.logs].sort((a, b) => (a.start < b.start ? -1 : 1));
  const holder = valid === null ? -1 : logs.reduce((idx, l, i) => (l.start <= valid + 1n ? i : idx), -1);
  const early = logs.find((l, i) => l.scan.headerOnly === true && (holder < 0 || i >= holder));
  return early === undefined ? null : `only the header of ${early.name} was read, yet its entries matter`;
}
