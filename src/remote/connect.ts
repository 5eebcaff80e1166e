// Builds the ssh2 ConnectConfig for one HostTarget: reads known_hosts and the
// identity file(s), wires strict host-key verification, picks auth methods;
// and works out the route to the host (ssh config, jump hosts).
//
// Precedence (ssh config = HostTarget.sshConfigFile, e.g. ~/.ssh/config):
//  - The PLAN wins: the ssh config only fills what the plan leaves unset. The
//    plan always sets user, port and known_hosts, so from the ssh config only
//    these apply to a plan host: HostName (the address dialed and looked up
//    in known_hosts, as OpenSSH does; messages keep the plan's host name),
//    IdentityFile (extra keys, tried after the plan's identityFile and before
//    the ssh-agent; missing ones are skipped like OpenSSH does) and ProxyJump
//    (only when the plan has no jumpHost). A ProxyCommand that would apply is
//    refused (unsupported) unless the plan sets jumpHost.
//  - A jump host "[user@]host[:port]" (plan jumpHost or ProxyJump; a list is
//    a chain, first hop first) is its own target: user = the spec's, else the
//    ssh config User for that name, else the plan host's user; port = the
//    spec's, else ssh config Port, else 22; the plan host's identityFile,
//    known_hosts file and connect timeout. Its HostName/IdentityFile/ProxyJump
//    come from the ssh config the same way (earlier hops of a chain replace
//    its ProxyJump). A ProxyJump naming the host itself is ignored (the usual
//    `Host *` + bastion setup); other loops and chains > 8 hops are refused.
//  - UserKnownHostsFile, IdentitiesOnly, ConnectTimeout, User and Port of a
//    plan host are parsed but not applied (the plan sets them).
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
import path from 'node:path';
import ssh2 from 'ssh2';
import type { AuthMethod, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { RemoteError, describeHost, type ExecResult } from './errors.js';
import { checkHostKey, fingerprintSha256, keyTypeLabel, keyTypeOf, knownKeyTypes, parseKnownHosts, type KnownHostEntry } from './knownhosts.js';
import { formatJumpHop, parseJumpList, parseSshConfig, resolveHost, type JumpHop, type ResolvedSshHost, type SshConfig } from './sshconfig.js';

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
  /** "[user@]host[:port]" (or a comma-separated chain) to connect through. */
  jumpHost?: string;
  /** Absolute path of an OpenSSH client config to consult (see precedence above). */
  sshConfigFile?: string;
}

/** One leg of the route to a host; the last hop of a route is the host itself. */
export interface Hop {
  target: HostTarget;
  /** Address dialed (or forwarded to) and looked up in known_hosts. */
  dialHost: string;
  /** IdentityFile candidates from the ssh config (tried after target.identityFile). */
  extraIdentityFiles: string[];
  /** "user@host:port" of the hop this one is reached through. */
  via?: string;
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
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
}

function keyscanHint(t: HostTarget, host: string): string {
  const p = t.port === 22 ? '' : `-p ${t.port} `;
  return `ssh-keyscan ${p}${host} >> ${t.knownHostsFile}`;
}

const MAX_HOPS = 8;

/** The route to `t`: jump hosts first (in connection order), `t` itself last. */
export async function resolveRoute(t: HostTarget): Promise<Hop[]> {
  const file = t.sshConfigFile;
  const fail = (msg: string, cause?: unknown): RemoteError => new RemoteError('io', t.label, `${describeHost(t)}: ${msg}`, { cause });
  let cfg: SshConfig | undefined;
  if (file !== undefined && file !== '') {
    try {
      cfg = parseSshConfig(await readFile(file, 'utf8'));
    } catch (e) {
      throw fail(`cannot use ssh config ${file}: ${(e as Error).message}. Fix it, or point ZKROLL_SSH_CONFIG elsewhere (empty: no ssh config).`, e);
    }
  }
  const lookup = (alias: string, ctx: { user?: string; port?: number }): ResolvedSshHost | undefined => {
    try {
      return cfg === undefined ? undefined : resolveHost(cfg, alias, ctx);
    } catch (e) {
      throw fail(`ssh config ${file} (for ${alias}): ${(e as Error).message}`, e);
    }
  };
  const hops: Hop[] = [];
  const seen: string[] = [];
  const walk = (cur: HostTarget, explicit: JumpHop[] | undefined): void => {
    const key = `${cur.user}@${cur.host}:${cur.port}`;
    if (seen.includes(key))
      throw fail(`jump host loop: ${seen.join(' via ')} via ${key}. Fix jumpHost in the plan or ProxyJump in ${file ?? 'the ssh config'}.`);
    if (seen.length > MAX_HOPS) throw fail(`more than ${MAX_HOPS} jump hosts on the way (${seen.join(', ')}).`);
    seen.push(key);
    const r = lookup(cur.host, { user: cur.user, port: cur.port });
    let jumps = explicit;
    if (jumps === undefined && r !== undefined) {
      if (r.proxyCommand !== undefined)
        throw fail(`ssh config ${file} sets ProxyCommand for ${cur.host}; zkroll supports only ProxyJump. Use ProxyJump, or set ssh.jumpHost in the plan.`);
      const self = r.proxyJump?.some((h) => h.host.toLowerCase() === cur.host.toLowerCase()) === true;
      jumps = self ? [] : r.proxyJump;
    }
    const last = jumps?.[jumps.length - 1];
    let prevVia: string | undefined;
    if (jumps !== undefined && last !== undefined) {
      const jr = lookup(last.host, {});
      const jt: HostTarget = {
        label: '',
        host: last.host,
        port: last.port ?? jr?.port ?? 22,
        user: last.user ?? jr?.user ?? cur.user,
        knownHostsFile: cur.knownHostsFile,
        connectTimeoutMs: cur.connectTimeoutMs,
      };
      jt.label = `${jt.host}:${jt.port}`;
      if (cur.identityFile !== undefined) jt.identityFile = cur.identityFile;
      if (file !== undefined) jt.sshConfigFile = file;
      prevVia = formatJumpHop({ user: jt.user, host: jt.host, port: jt.port });
      const rest = jumps.slice(0, -1);
      walk(jt, rest.length > 0 ? rest : undefined);
    }
    const hop: Hop = { target: cur, dialHost: r?.hostName ?? cur.host, extraIdentityFiles: (r?.identityFiles ?? []).map((f) => path.resolve(f)) };
    if (prevVia !== undefined) hop.via = prevVia;
    hops.push(hop);
  };
  let planJumps: JumpHop[] | undefined;
  if (t.jumpHost !== undefined) {
    try {
      planJumps = parseJumpList(t.jumpHost);
    } catch (e) {
      throw fail(`jumpHost: ${(e as Error).message}`, e);
    }
  }
  walk(t, planJumps);
  return hops;
}

/** Prepare the ssh2 config for `t`, reached as `hop` (default: directly, no ssh config). */
export async function prepareConnect(t: HostTarget, hop: Hop = { target: t, dialHost: t.host, extraIdentityFiles: [] }): Promise<PreparedConnect> {
  const who = describeHost(t);
  const dial = hop.dialHost;

  let entries: KnownHostEntry[] = [];
  let knownHostsMissing = false;
  try {
    entries = parseKnownHosts(await readFile(t.knownHostsFile, 'utf8'));
  } catch (e) {
    if (errCode(e) !== 'ENOENT') {
      throw new RemoteError(
        'io',
        t.label,
        `${who}: cannot read known_hosts file ${t.knownHostsFile}: ${(e as Error).message}. Fix its permissions or ssh.knownHosts in the plan.`,
        { cause: e },
      );
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
      throw new RemoteError(
        'auth',
        t.label,
        `${who}: identity file ${t.identityFile} is not a usable private key (${parsed.message}). zkroll needs an unencrypted key or an ssh-agent (SSH_AUTH_SOCK).`,
      );
    }
    authMethods.push(`publickey ${t.identityFile}`);
  }
  // Extra keys from the ssh config: missing files are skipped (as OpenSSH does); unusable ones are named.
  const extraKeys: Buffer[] = [];
  for (const f of hop.extraIdentityFiles) {
    if (f === t.identityFile) continue;
    let buf: Buffer;
    try {
      buf = await readFile(f);
    } catch {
      continue;
    }
    const parsed = ssh2.utils.parseKey(buf);
    if (parsed instanceof Error) {
      authMethods.push(`(skipped ${f}: ${/encrypted|passphrase/i.test(parsed.message) ? 'passphrase-protected' : 'not a usable private key'})`);
      continue;
    }
    extraKeys.push(buf);
    authMethods.push(`publickey ${f} (ssh config)`);
  }
  const agent = process.env['SSH_AUTH_SOCK'];
  const hasAgent = agent !== undefined && agent !== '';
  if (hasAgent) authMethods.push('ssh-agent');
  if (privateKey === undefined && extraKeys.length === 0 && !hasAgent) {
    throw new RemoteError(
      'auth',
      t.label,
      `${who}: no way to authenticate: no ssh.identityFile in the plan, no usable IdentityFile in the ssh config and SSH_AUTH_SOCK is not set. Set ssh.identityFile or start an ssh-agent.`,
    );
  }
  // With ssh config keys, list the attempts explicitly (ssh2 takes one privateKey): plan key, config keys, agent.
  let authHandler: AuthMethod[] | undefined;
  if (extraKeys.length > 0) {
    const username = t.user;
    authHandler = [{ type: 'none', username }];
    for (const key of privateKey !== undefined ? [privateKey, ...extraKeys] : extraKeys) authHandler.push({ type: 'publickey', username, key } as AuthMethod);
    if (hasAgent) authHandler.push({ type: 'agent', username, agent } as AuthMethod);
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
      failure = new RemoteError(
        'hostkey-unknown',
        t.label,
        `${who}: known_hosts file ${t.knownHostsFile} does not exist, so the host key (${presented}) cannot be verified; nothing was run. Verify the key and create the file, e.g. ${keyscanHint(t, dial)}, or fix ssh.knownHosts in the plan.`,
      );
      return false;
    }
    const r = checkHostKey(entries, dial, t.port, key);
    switch (r.status) {
      case 'match':
        return true;
      case 'unknown':
        failure = new RemoteError(
          'hostkey-unknown',
          t.label,
          `${who}: host key is not in ${t.knownHostsFile} (${presented}). Verify it and add it with ssh-keyscan (${keyscanHint(t, dial)}), or fix ssh.knownHosts in the plan.`,
        );
        return false;
      case 'changed':
        failure = new RemoteError(
          'hostkey-changed',
          t.label,
          `WARNING: host key for ${who} has CHANGED (${presented}); expected ${r.expectedFingerprints.join(' or ')} per ${t.knownHostsFile} — possible man-in-the-middle; nothing was run. If the host was legitimately re-keyed, verify the new key out of band and update ${t.knownHostsFile}.`,
        );
        return false;
      case 'revoked':
        failure = new RemoteError(
          'hostkey-revoked',
          t.label,
          `${who}: host presented a REVOKED key (${presented}), marked @revoked in ${t.knownHostsFile}; refusing to connect, nothing was run. Re-key the host and update ${t.knownHostsFile}.`,
        );
        return false;
    }
  };

  const config: ConnectConfig = {
    host: dial,
    port: t.port,
    username: t.user,
    readyTimeout: t.connectTimeoutMs,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    hostVerifier,
    algorithms: { serverHostKey: preferredHostKeyAlgorithms(knownKeyTypes(entries, dial, t.port)) },
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(hasAgent ? { agent } : {}),
    ...(authHandler !== undefined ? { authHandler } : {}),
  };
  return { config, hostKeyFailure: () => failure, authMethods };
}

/**
 * Name the route in an error from connecting `hop` on the way to `t`: a failing jump host is
 * named ("via jump host ops@bastion:22: ..."); a failure of `t` itself gets its HostName and jump.
 */
export function routeError(t: HostTarget, hop: Hop, e: unknown): RemoteError {
  const err = e instanceof RemoteError ? e : new RemoteError('closed', t.label, `${describeHost(t)}: ${(e as Error).message}`, { cause: e });
  const who = describeHost(t);
  const hopWho = describeHost(hop.target);
  const strip = (m: string): string => (m.startsWith(`${hopWho}: `) ? m.slice(hopWho.length + 2) : m);
  const dialed = hop.dialHost !== hop.target.host ? ` (HostName ${hop.dialHost})` : '';
  if (hop.target !== t) {
    const name = formatJumpHop({ user: hop.target.user, host: hop.target.host, port: hop.target.port });
    return new RemoteError(err.kind, t.label, `${who}: via jump host ${name}${dialed}: ${strip(err.message)}`, { cause: err });
  }
  const notes = [
    dialed === '' ? '' : `HostName ${hop.dialHost} from ${t.sshConfigFile ?? 'the ssh config'}`,
    hop.via === undefined ? '' : `via jump host ${hop.via}`,
  ].filter((n) => n !== '');
  if (notes.length === 0) return err;
  const tag = `[${notes.join(', ')}]`;
  const msg = err.message.startsWith(`${who}: `) ? `${who} ${tag}: ${strip(err.message)}` : `${err.message} ${tag}`;
  const opts: { cause: unknown; result?: ExecResult } = { cause: err };
  if (err.result !== undefined) opts.result = err.result;
  return new RemoteError(err.kind, t.label, msg, opts);
}
