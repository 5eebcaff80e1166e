// Installs real ZooKeeper releases on the lab hosts (an upstream tarball unpacked at the plan's
// home, see releases.ts) and renders the lab servers' zoo.cfg. The release's own bin/zkServer.sh
// and its own shipped logging configuration are what run; the lab adds only conf/java.env
// (small heaps: several servers share two cores).
// Invariants: only writes below the host's lab directory; re-running overwrites the same files
// (safe twice); never touches an existing conf/zoo.cfg of an install (zkroll owns it then).
import { BATCH, bulkCount } from './bulk.js';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { installRelease } from './releases.js';
import { LabError, type LabServer, type LabSpec } from './spec.js';

export function checkPrerequisites(): void {
  if (!fs.existsSync('/usr/sbin/sshd')) {
    throw new LabError('lab: /usr/sbin/sshd not found: run apt-get install -y openssh-server');
  }
  for (const tool of ['/usr/bin/unshare', '/usr/bin/nsenter']) {
    if (!fs.existsSync(tool)) throw new LabError(`lab: ${tool} not found: run apt-get install -y util-linux`);
  }
  if (!['/usr/bin/ss', '/bin/ss', '/usr/sbin/ss', '/sbin/ss'].some((p) => fs.existsSync(p)))
    throw new LabError('lab: ss not found (the election listener checks read accept queues with it): run apt-get install -y iproute2');
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    throw new LabError('lab: java not found: ZooKeeper needs a JRE (apt-get install -y default-jdk-headless)');
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError('lab: must run as root (each lab host is a mount namespace with its own sshd)');
  }
}

// Small heaps: several servers share two cores and the lab should start fast. Sourced by every
// release's bin/zkEnv.sh (3.4 and 3.5+ alike) when present.
/**
 * conf/java.env of a lab install (sourced by bin/zkEnv.sh): a small heap for the lab's small
 * trees, or room for `dataMb` MiB of znodes (a DataTree holds about 2.5 times its payload).
 */
export function javaEnv(dataMb = 0): string {
  const heap = Math.max(192, Math.ceil(dataMb * 2.5) + 256);
  return `# JVM settings of a zkroll lab server (sourced by bin/zkEnv.sh)
JVMFLAGS="-Xms32m -Xmx${heap}m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 $JVMFLAGS"
`;
}

/** Install the unpacked release `release` at `dir` (the host's backing path of the install home). */
export function writeInstall(dir: string, release: string, extraJvmFlags = '', dataMb = 0): void {
  installRelease(release, dir);
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'conf', 'java.env'), extraJvmFlags ? `${javaEnv(dataMb)}JVMFLAGS="$JVMFLAGS ${extraJvmFlags}"\n` : javaEnv(dataMb));
}

/**
 * zoo.cfg of a current (pre-zkroll) lab server. The lab-only keys bind each server's client
 * and AdminServer ports to its own loopback address, since all lab hosts share one kernel
 * (3.4 ignores the admin.* keys). `4lw.commands.whitelist` is written when the spec has one:
 * `*` gives 3.5+ servers the 3.4 behaviour of answering every word; without the line (a 3.4
 * ensemble's config) a 3.5+ server answers only `srvr` and zkroll reads the AdminServer.
 * Observers get `:observer` on their line and `peerType=observer` in their own file.
 */
export function renderLabZooCfg(spec: LabSpec, server: LabServer): string {
  const op = spec.configStyle === 'operator';
  // operator style: the separators java.util.Properties also reads, comments, CRLF
  const kv = (k: string, v: string, sep = '=') => `${k}${op ? sep : '='}${v}`;
  const lines = [
    `# zoo.cfg of server ${server.myid} in the zkroll lab replica of ${spec.cluster}`,
    ...(op ? ['! written the way operators write them: CRLF, comments, "key: value" and "key value"', ''] : []),
    kv('tickTime', '2000', ': '),
    kv('initLimit', '10', ' '),
    kv('syncLimit', '5', ' = '),
    `dataDir=${server.dataDir}`,
    `dataLogDir=${server.dataLogDir}`,
    kv('clientPort', String(spec.ports.client), ': '),
    'maxClientCnxns=0',
    ...(spec.whitelist !== null ? [`4lw.commands.whitelist=${spec.whitelist}`] : []),
    ...(server.observer ? ['peerType=observer'] : []),
    // lab only, with --data-mb: one snapshot during the load (snapCount counts transactions: one per BATCH creates)
    ...(spec.dataMb > 0 ? [`snapCount=${Math.ceil(bulkCount(spec.dataMb) / BATCH)}`] : []),
    "# lab only: every lab host shares this machine's kernel, so bind to the host's own address",
    `clientPortAddress=${server.ip}`,
    `admin.serverAddress=${server.ip}`,
    `admin.serverPort=${spec.ports.admin}`,
    ...(op ? ['', '# the ensemble'] : []),
    ...spec.servers.map((s) => `server.${s.myid}=${s.ip}:${spec.ports.quorum}:${spec.ports.election}${s.observer ? ':observer' : ''}`),
  ];
  const eol = op ? '\r\n' : '\n';
  return lines.join(eol) + eol;
}

/**
 * The superDigest of `user` with the password in `passwordFile`: `user:base64(sha1("user:password"))`
 * (DigestAuthenticationProvider.generateDigest, release-3.9.3). A missing file inside the lab
 * directory `labDir` is created with a random password (mode 0600); elsewhere it must exist.
 */
export function ensureSuperPassword(su: { user: string; passwordFile: string }, labDir: string): string {
  if (!fs.existsSync(su.passwordFile)) {
    if (!path.resolve(su.passwordFile).startsWith(path.resolve(labDir) + path.sep))
      throw new LabError(`lab: the password file ${su.passwordFile} does not exist (the lab creates one only inside ${labDir})`);
    fs.writeFileSync(su.passwordFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  }
  const password = fs.readFileSync(su.passwordFile, 'utf8').replace(/\r?\n$/, '');
  return `${su.user}:${createHash('sha1').update(`${su.user}:${password}`).digest('base64')}`;
}
