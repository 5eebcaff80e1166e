// Builds the ssh2 ConnectConfig for one HostTarget: reads known_hosts and the
// identity file, wires strict host-key verification, picks auth methods.
//
// Invariants:
//  - hostVerifier accepts a key only on an exact known_hosts match; otherwise
//    it records a RemoteError (unknown / changed / revoked) and refuses, which
//    makes ssh2 abort during key exchange, i.e. before any authentication.
//  - A missing known_hosts file is not an empty trust store to be filled in:
//    it is a refusal ('hostkey-unknown') naming the missing file.
//  - Host key algorithms known for the host are offered first (as OpenSSH
//    does), so a server with several key types presents the one we trust.
//  - Key material never appears in errors or logs; only file names do.

import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { RemoteError, describeHost } from './errors.js';
import {
  checkHostKey,
  fingerprintSha256,
  keyTypeLabel,
  keyTypeOf,
  knownKeyTypes,
  parseKnownHosts,
  type KnownHostEntry,
} from './knownhosts.js';

export interface HostTarget {
  /** Stable name of the host in the plan (used in messages and the pool). */
  label: string;
  host: string;
  port: number;
  user: string;
  /** Absolute path, already resolved. */
  identityFile?: string;
  /** Absolute path. */
  knownHostsFile: string;
  connectTimeoutMs: number;
  /** Run commands (and file operations) through `sudo -n`. */
  sudo?: boolean;
}

export interface PreparedConnect {
  config: ConnectConfig;
  /** The refusal recorded by hostVerifier, if it refused. */
  hostKeyFailure: () => RemoteError | null;
  /** Human-readable auth methods configured (for error messages). */
  authMethods: string[];
}

/** ssh2 1.17 default server host key algorithm list (lib/protocol/constants.js). */
const DEFAULT_HOST_KEY_ALGS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Default host key algorithms, with those matching known key types first. */
export function preferredHostKeyAlgorithms(knownTypes: readonly string[]): ServerHostKeyAlgorithm[] {
  const first: ServerHostKeyAlgorithm[] = [];
  for (const type of knownTypes) {
    const algs = type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
    for (const a of DEFAULT_HOST_KEY_ALGS) if (algs.includes(a) && !first.includes(a)) first.push(a);
  }
  return [...first, ...DEFAULT_HOST_KEY_ALGS.filter((a) => !first.includes(a))];
}

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

function keyscanHint(t: HostTarget): string {
  const p = t.port === 22 ? '' : `-p ${t.port} `;
  return `ssh-keyscan ${p}${t.host} >> ${t.knownHostsFile}`;
}

export async function prepareConnect(t: HostTarget): Promise<PreparedConnect> {
  const who = describeHost(t);

  let entries: KnownHostEntry[] = [];
  let knownHostsMissing = false;
  try {
    entries = parseKnownHosts(await readFile(t.knownHostsFile, 'utf8'));
  } catch (e) {
    if (errCode(e) !== 'ENOENT') {
      throw new RemoteError('io', t.label, `${who}: cannot read known_hosts file ${t.knownHostsFile}: ${(e as Error).message}. Fix its permissions or ssh.knownHosts in the plan.`, { cause: e });
    }
    knownHostsMissing = true;
  }

  const authMethods: string[] = [];
  let privateKey: Buffer | undefined;
  if (t.identityFile !== undefined) {
    try {
      privateKey = await readFile(t.identityFile);
    } catch (e) {
      const why = errCode(e) === 'ENOENT' ? 'does not exist' : `cannot be read (${errCode(e) ?? (e as Error).message})`;
      throw new RemoteError('auth', t.label, `${who}: identity file ${t.identityFile} ${why}. Fix ssh.identityFile in the plan.`, { cause: e });
    }
    const parsed = ssh2.utils.parseKey(privateKey);
    if (parsed instanceof Error) {
      // parseKey messages describe the format problem, never the key bytes.
      throw new RemoteError('auth', t.label, `${who}: identity file ${t.identityFile} is not a usable private key (${parsed.message}). zkroll needs an unencrypted key or an ssh-agent (SSH_AUTH_SOCK).`);
    }
    authMethods.push(`publickey ${t.identityFile}`);
  }
  const agent = process.env['SSH_AUTH_SOCK'];
  if (agent !== undefined && agent !== '') authMethods.push('ssh-agent');
  if (authMethods.length === 0) {
    throw new RemoteError('auth', t.label, `${who}: no way to authenticate: no ssh.identityFile in the plan and SSH_AUTH_SOCK is not set. Set ssh.identityFile or start an ssh-agent.`);
  }

  let failure: RemoteError | null = null;
  const hostVerifier = (key: Buffer): boolean => {
    let type = 'unknown-type';
    try {
      type = keyTypeOf(key);
    } catch {
      /* keep placeholder; the key will not match anything anyway */
    }
    const presented = `${keyTypeLabel(type)} key ${fingerprintSha256(key)}`;
    if (knownHostsMissing) {
      failure = new RemoteError('hostkey-unknown', t.label, `${who}: known_hosts file ${t.knownHostsFile} does not exist, so the host key (${presented}) cannot be verified; nothing was run. Verify the key and create the file, e.g. ${keyscanHint(t)}, or fix ssh.knownHosts in the plan.`);
      return false;
    }
    const r = checkHostKey(entries, t.host, t.port, key);
    switch (r.status) {
      case 'match':
        return true;
      case 'unknown':
        failure = new RemoteError('hostkey-unknown', t.label, `${who}: host key is not in ${t.knownHostsFile} (${presented}). Verify it and add it with ssh-keyscan (${keyscanHint(t)}), or fix ssh.knownHosts in the plan.`);
        return false;
      case 'changed':
        failure = new RemoteError('hostkey-changed', t.label, `WARNING: host key for ${who} has CHANGED (${presented}); expected ${r.expectedFingerprints.join(' or ')} per ${t.knownHostsFile} — possible man-in-the-middle; nothing was run. If the host was legitimately re-keyed, verify the new key out of band and update ${t.knownHostsFile}.`);
        return false;
      case 'revoked':
        failure = new RemoteError('hostkey-revoked', t.label, `${who}: host presented a REVOKED key (${presented}), marked @revoked in ${t.knownHostsFile}; refusing to connect, nothing was run. Re-key the host and update ${t.knownHostsFile}.`);
        return false;
    }
  };

  const config: ConnectConfig = {
    host: t.host,
    port: t.port,
    username: t.user,
    readyTimeout: t.connectTimeoutMs,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    hostVerifier,
    algorithms: { serverHostKey: preferredHostKeyAlgorithms(knownKeyTypes(entries, t.host, t.port)) },
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(agent !== undefined && agent !== '' ? { agent } : {}),
  };
  return { config, hostKeyFailure: () => failure, authMethods };
}
