// One lab host = one OpenSSH sshd in its own mount namespace, listening on the host's loopback
// address, with its own host key; the namespace bind-mounts the host's private directories
// over the plan's paths, so every host sees the same absolute paths with different contents.
// Invariants: host keys are generated once and reused (known_hosts stays valid across
// `lab up`); sshd accepts only the plan's public key; nothing outside the lab dir is written
// except the (empty) mount-point directories the caller created.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LabError } from './spec.js';
import { isAlive, mountNs, pollUntil, tcpOpen } from './procs.js';

export interface HostDirs {
  dir: string;
  sshDir: string;
}

export function hostDirs(labDir: string, ip: string): HostDirs {
  const dir = path.join(labDir, 'hosts', ip);
  return { dir, sshDir: path.join(dir, 'ssh') };
}

function keygen(file: string, comment: string): void {
  if (fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdio: 'ignore' });
}

/** Ensure the operator key exists (generated only when it lives inside the lab dir). */
export function ensureIdentity(identityFile: string, labDir: string): string {
  if (!fs.existsSync(identityFile)) {
    if (!identityFile.startsWith(labDir + path.sep)) {
      throw new LabError(
        `lab: ssh.identityFile ${identityFile} does not exist: create it (ssh-keygen -t ed25519 -f ${identityFile}) or point ssh.identityFile inside ${labDir}`,
      );
    }
    keygen(identityFile, 'zkroll-lab-operator');
  }
  const pub = identityFile + '.pub';
  if (fs.existsSync(pub)) return fs.readFileSync(pub, 'utf8').trim();
  return execFileSync('ssh-keygen', ['-y', '-f', identityFile], { encoding: 'utf8' }).trim();
}

/** The file where a host's login profile writes one line per login (see loginProfile). */
export function loginsFile(h: HostDirs): string {
  return path.join(h.dir, 'logins');
}

/** Logins on a lab host so far: how many times its login shell ran its startup file. */
export function loginCount(labDir: string, ip: string): number {
  try {
    return fs
      .readFileSync(loginsFile(hostDirs(labDir, ip)), 'utf8')
      .split('\n')
      .filter(Boolean).length;
  } catch {
    return 0;
  }
}

/**
 * The startup file a lab host's login shell runs: bash started by sshd for a command reads
 * ~/.bashrc (and /etc/bash.bashrc) and nothing else (bash's shell.c, run_startup_files), so each
 * host gets its own ~/.bashrc, bind-mounted in its mount namespace: it counts the login, costs
 * `delayMs` like a pyenv or conda init on a real host, then runs this machine's own file (the
 * one it hides), as every login here did before. Null when this machine has neither file.
 */
export function loginProfile(h: HostDirs, delayMs: number): { file: string; over: string } | null {
  const over = [path.join(os.homedir(), '.bashrc'), '/etc/bash.bashrc'].find((f) => fs.existsSync(f));
  if (over === undefined) return null;
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const original = path.join(h.sshDir, 'bashrc.machine');
  fs.copyFileSync(over, original);
  const file = path.join(h.sshDir, 'bashrc');
  fs.writeFileSync(
    file,
    [
      `# zkroll lab: ${over} of this host (see src/lab/sshd.ts)`,
      `echo "$$" >> ${q(loginsFile(h))}`,
      ...(delayMs > 0 ? [`sleep ${(delayMs / 1000).toFixed(3)}`] : []),
      `. ${q(original)}`,
      '',
    ].join('\n'),
  );
  return { file, over };
}

export function prepareSshd(h: HostDirs, ip: string, port: number, authorizedKey: string): { config: string; knownHostsLine: string } {
  fs.mkdirSync(h.sshDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(loginsFile(h), '');
  const hostKey = path.join(h.sshDir, 'ssh_host_ed25519_key');
  keygen(hostKey, `zkroll-lab-${ip}`);
  fs.writeFileSync(path.join(h.sshDir, 'authorized_keys'), authorizedKey + '\n', { mode: 0o600 });
  const config = path.join(h.sshDir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `# sshd of zkroll lab host ${ip}`,
      `ListenAddress ${ip}:${port}`,
      `HostKey ${hostKey}`,
      'PidFile none',
      `AuthorizedKeysFile ${path.join(h.sshDir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      'MaxSessions 16',
      'MaxStartups 64',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const pub = fs
    .readFileSync(hostKey + '.pub', 'utf8')
    .trim()
    .split(/\s+/);
  const hostPattern = port === 22 ? ip : `[${ip}]:${port}`;
  return { config, knownHostsLine: `${hostPattern} ${pub[0]} ${pub[1]}` };
}

export interface StartedSshd {
  pid: number;
  ns: string;
}

/**
 * Start sshd in a new mount namespace with `binds` (source → mount point) applied first.
 * Resolves once the port accepts connections; rejects with sshd's own words if it died.
 */
export async function startSshd(h: HostDirs, ip: string, port: number, config: string, binds: [string, string][]): Promise<StartedSshd> {
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const script = ['set -e', ...binds.map(([src, dst]) => `mount --bind ${q(src)} ${q(dst)}`), `exec /usr/sbin/sshd -D -e -f ${q(config)}`].join('\n');
  const logFile = path.join(h.dir, 'sshd.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new LabError(`lab: could not start sshd for ${ip}`);
  try {
    await pollUntil(`sshd on ${ip}:${port}`, 10000, 50, async () => {
      if (!isAlive(pid)) throw new LabError(`lab: sshd for ${ip}:${port} exited: ${tail(logFile)}`);
      return tcpOpen(ip, port, 300);
    });
  } catch (e) {
    if (e instanceof LabError) throw e;
    throw new LabError(`lab: sshd for ${ip}:${port} did not start listening: ${tail(logFile)}`);
  }
  const ns = mountNs(pid);
  if (ns === null) throw new LabError(`lab: sshd for ${ip} vanished right after starting: ${tail(logFile)}`);
  return { pid, ns };
}

function tail(file: string): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    return lines.slice(-3).join(' | ') || '(no output)';
  } catch {
    return '(no log)';
  }
}
