// `lab clone`: reading the source ensemble, read-only. Per server: its real zoo.cfg (and dynamic
// file), myid, the names in its version-2 directories, and `srvr` over TCP; from the leader, the
// chosen data files streamed with `tar -cf -` into a local directory, then `sha256sum` of the
// same files compared with the copy's.
// Invariants: the only commands run on a source host are cat, ls, tar -cf - and sha256sum (with
// the shell's own echo between them), each on an SSH exec channel of its own (the caller's pool
// must have the remote shell off: it keeps output in a temp directory on the host); nothing is
// written on a source host; every command is listed in `commands`.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseProperties, propertyValue } from '../compile/properties.js';
import { configuredRoles, dynamicConfigPath } from '../compile/zoocfg.js';
import type { Plan } from '../plan/schema.js';
import { sshTargets } from '../plan/helpers.js';
import { shq, type SshHost, type SshPool } from '../remote/ssh.js';
import { probeSrvr, type Srvr } from '../zk/fourlw.js';
import type { CopySet } from './clone-map.js';
import { LabError } from './spec.js';

const READ_MS = 30_000;
/** The deadline of the copy and of the checksums (a production snapshot can be gigabytes over a WAN). */
const COPY_MS = 4 * 60 * 60_000;
const SEP = '--zkroll-clone--';

export interface SourceServer {
  myid: number;
  host: string;
  observer: boolean;
  srvr: Srvr | null;
  config: { path: string; text: string };
  dynamic: { path: string; text: string } | null;
  dataDir: string;
  dataLogDir: string;
  myidOnDisk: number | null;
  /** Names in dataDir/version-2 and dataLogDir/version-2. */
  snapDir: string[];
  logDir: string[];
  ssh: SshHost;
}

/** One command run on a source host, for the report. */
export interface SourceCommand {
  host: string;
  command: string;
  code: number | null;
}

/** The most output a source command may give (a listing of version-2, sha256sums): more is refused, never cut. */
const MAX_OUTPUT = 16 * 1024 * 1024;

/** `script` with `args` as $1.. on an exec channel of its own; its stdout. Throws LabError on a non-zero exit or cut output. */
async function run(h: SshHost, script: string, args: string[], log: SourceCommand[], timeoutMs = READ_MS): Promise<string> {
  const r = await h.execBytes({ script: `set -- ${args.map(shq).join(' ')}; ${script}` }, { timeoutMs, maxStdoutBytes: MAX_OUTPUT, purpose: 'read' });
  log.push({ host: h.target.host, command: r.command, code: r.code });
  if (r.code !== 0) throw new LabError(`lab clone: on ${h.label}: \`${script}\` exited with ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  if (r.stdoutTruncated) throw new LabError(`lab clone: on ${h.label}: \`${script}\` printed more than ${MAX_OUTPUT} bytes`);
  return r.stdout.toString('utf8');
}

/** dataDir and dataLogDir as ZooKeeper reads them (dataLogDir defaults to dataDir: QuorumPeerConfig.parseProperties). */
function dataDirs(cfg: string, where: string): { dataDir: string; dataLogDir: string } {
  const doc = parseProperties(cfg);
  const dataDir = propertyValue(doc, 'dataDir')?.trim();
  if (!dataDir) throw new LabError(`lab clone: ${where} has no dataDir`);
  return { dataDir, dataLogDir: propertyValue(doc, 'dataLogDir')?.trim() || dataDir };
}

/** Read one server of the source: two commands on its host and `srvr`. */
async function readServer(plan: Plan, pool: SshPool, t: ReturnType<typeof sshTargets>[number], log: SourceCommand[]): Promise<SourceServer> {
  const s = plan.servers.find((x) => x.myid === t.entry.myid)!;
  const h = await pool.get(t);
  const cfg = await run(h, 'cat -- "$1"', [s.config], log);
  const { dataDir, dataLogDir } = dataDirs(cfg, `${s.host}:${s.config}`);
  const dyn = dynamicConfigPath(cfg);
  const script = [
    'cat -- "$1/myid" || true',
    `echo; echo ${SEP}`,
    'ls -1 -- "$1/version-2" || true',
    `echo ${SEP}`,
    'ls -1 -- "$2/version-2" || true',
    `echo ${SEP}`,
    ...(dyn ? ['cat -- "$3"'] : []),
  ].join('; ');
  const parts = (await run(h, script, [dataDir, dataLogDir, ...(dyn ? [dyn] : [])], log)).split(`${SEP}\n`);
  const lines = (i: number) => (parts[i] ?? '').split('\n').filter(Boolean);
  const myidText = (parts[0] ?? '').trim();
  const role = configuredRoles(cfg).get(s.myid);
  return {
    myid: s.myid,
    host: s.host,
    observer: role === 'observer' || propertyValue(parseProperties(cfg), 'peerType')?.trim() === 'observer',
    srvr: await probeSrvr(s.host, plan.cluster.ports.client, 2000, { adminPort: plan.cluster.adminPort }).catch(() => null),
    config: { path: s.config, text: cfg },
    dynamic: dyn ? { path: dyn, text: parts[3] ?? '' } : null,
    dataDir,
    dataLogDir,
    myidOnDisk: /^\d+$/.test(myidText) ? Number(myidText) : null,
    snapDir: lines(1),
    logDir: lines(2),
    ssh: h,
  };
}

/** Every server of the plan, read from its host (in parallel, one connection per host). */
export async function readSource(plan: Plan, planFile: string, pool: SshPool, log: SourceCommand[]): Promise<SourceServer[]> {
  const targets = sshTargets(plan, planFile).filter((t) => t.entry.role === 'server');
  return Promise.all(targets.map((t) => readServer(plan, pool, t, log)));
}

/** A copied file: its name, size in bytes and sha256 (hex), equal at both ends unless `changed`. */
export interface CopiedFile {
  name: string;
  bytes: number;
  sha256: string;
  /** The source's sha256 differs (only allowed for the newest log, which the source may still append to). */
  changed?: string;
}

function localTarX(dir: string): { stdin: NodeJS.WritableStream; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn('tar', ['-xf', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { stdin: child.stdin, done };
}

/** sha256 of a local file, streamed (a snapshot can be gigabytes). */
async function sha256File(p: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(p, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Run `tar -S -cf -` of `paths` (["-C", dir, names…]…) on the source, unpacked here into `into`; bytes through the stream. */
async function streamTar(s: SourceServer, parts: string[], into: string, log: SourceCommand[]): Promise<number> {
  const argv = ['tar', '-S', '--warning=no-file-changed', '-cf', '-', ...parts];
  fs.mkdirSync(into, { recursive: true });
  const recv = localTarX(into);
  // a local tar that dies (a full disk) closes its stdin: EPIPE is its exit code's to report, not a crash
  recv.stdin.on('error', () => undefined);
  const send = await s.ssh.stream(argv, { timeoutMs: COPY_MS }).catch((e: unknown) => {
    recv.stdin.end();
    throw e;
  });
  let bytes = 0;
  send.stdout.on('data', (d: Buffer) => (bytes += d.length));
  send.stdout.pipe(recv.stdin);
  send.stdin.end();
  const [sent, got] = await Promise.all([send.done, recv.done]);
  log.push({ host: s.host, command: argv.join(' '), code: sent.code });
  // GNU tar exits 1 when a file changed while it was read (the newest log): the checksums decide
  if (sent.failure !== undefined || (sent.code !== 0 && sent.code !== 1))
    throw new LabError(`lab clone: tar on ${s.host} failed (${sent.failure?.message ?? `exit ${sent.code}`}): ${sent.stderr.toString().trim().slice(-400)}`);
  if (got.code !== 0) throw new LabError(`lab clone: unpacking the copy here failed (exit ${got.code}): ${got.stderr.trim().slice(-400)}`);
  return bytes;
}

/** sha256 of `paths` on the source (sha256sum) and of their copies in `into` (at the same time); only `mayDiffer` may differ. */
async function compareSums(s: SourceServer, paths: string[], into: string, mayDiffer: string | undefined, log: SourceCommand[]): Promise<CopiedFile[]> {
  const remote = run(s.ssh, 'sha256sum -- "$@"', paths, log, COPY_MS);
  remote.catch(() => undefined); // (awaited below; a local failure first must not leave it unhandled)
  const files: CopiedFile[] = [];
  for (const p of paths) {
    const local = path.join(into, path.posix.basename(p));
    files.push({ name: path.posix.basename(p), bytes: fs.statSync(local).size, sha256: await sha256File(local) });
  }
  const sums = new Map(
    (await remote)
      .split('\n')
      .map((l) => /^([0-9a-f]{64})\s+\*?(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [path.posix.basename(m[2]!), m[1]!]),
  );
  for (const f of files) {
    const theirs = sums.get(f.name);
    if (theirs === f.sha256) continue;
    if (f.name !== mayDiffer)
      throw new LabError(
        `lab clone: ${f.name} differs after the copy (sha256 ${f.sha256} here, ${theirs ?? 'none'} on ${s.host}): the source changed it; run the clone again`,
      );
    f.changed = theirs ?? 'none';
  }
  return files;
}

/**
 * Stream `set` from the leader into `into` (a local version-2 directory): `tar -S -cf -` on the
 * leader (sparse: ZooKeeper preallocates logs), `tar -xf -` here; then `sha256sum` of the same
 * files on the leader, compared with the copy. Throws LabError when either tar fails or a file
 * other than the newest log differs. `ms`: the stream; `sumMs`: the checksums.
 */
export async function copyFromLeader(
  s: SourceServer,
  set: CopySet,
  into: string,
  log: SourceCommand[],
): Promise<{ files: CopiedFile[]; bytes: number; ms: number; sumMs: number }> {
  const snapDir = `${s.dataDir}/version-2`;
  const logDir = `${s.dataLogDir}/version-2`;
  const t0 = Date.now();
  const bytes = await streamTar(s, ['-C', snapDir, set.snapshot, ...set.epochs, ...(set.logs.length > 0 ? ['-C', logDir, ...set.logs] : [])], into, log);
  const t1 = Date.now();
  const paths = [...[set.snapshot, ...set.epochs].map((n) => `${snapDir}/${n}`), ...set.logs.map((n) => `${logDir}/${n}`)];
  const files = await compareSums(s, paths, into, set.logs[set.logs.length - 1], log);
  return { files, bytes, ms: t1 - t0, sumMs: Date.now() - t1 };
}
