// Pure OpenSSH known_hosts parsing and strict host-key checking (no I/O).
//
// Invariants (mirroring OpenSSH hostfile.c / match.c / sshconnect.c):
//  - The name looked up is `host` for port 22 and `[host]:port` otherwise,
//    lower-cased; hashed entries `|1|salt|hash` are HMAC-SHA1(salt, name).
//  - A pattern list matches if some positive pattern matches and no negated
//    (`!pat`) pattern does; `*` and `?` are wildcards; matching ignores case.
//  - `@revoked` keys for a matching host are refused even if also listed as
//    valid; `@cert-authority` lines and malformed lines are ignored.
//  - Strict checking: a key is accepted only if it is byte-for-byte one of the
//    keys listed for the host. If the host has listed keys but none equals the
//    presented one (of any type), the status is 'changed' (OpenSSH with
//    StrictHostKeyChecking=yes refuses that case too).

import { createHash, createHmac } from 'node:crypto';

export type HostMatcher = { kind: 'hashed'; salt: Buffer; hash: Buffer } | { kind: 'patterns'; patterns: { negated: boolean; pattern: string }[] };

export interface KnownHostEntry {
  /** 1-based line number in the source text. */
  line: number;
  marker: 'revoked' | null;
  hosts: HostMatcher;
  /** Key type field as written (e.g. "ssh-ed25519"). */
  keyType: string;
  /** Decoded public key blob (SSH wire format). */
  key: Buffer;
}

export type HostKeyCheck = { status: 'match' } | { status: 'unknown' } | { status: 'changed'; expectedFingerprints: string[] } | { status: 'revoked' };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parse known_hosts text; lines that cannot be used are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/[ \t]+/);
    let marker: 'revoked' | null = null;
    if (fields[0]?.startsWith('@')) {
      if (fields[0] !== '@revoked') return; // @cert-authority or unknown marker
      marker = 'revoked';
      fields.shift();
    }
    const [hostField, keyType, keyB64] = fields;
    if (hostField === undefined || keyType === undefined || keyB64 === undefined) return;
    if (!BASE64.test(keyB64)) return;
    const key = Buffer.from(keyB64, 'base64');
    if (safeKeyType(key) !== keyType) return;
    const hosts = parseHostField(hostField);
    if (hosts === null) return;
    entries.push({ line: i + 1, marker, hosts, keyType, key });
  });
  return entries;
}

function parseHostField(field: string): HostMatcher | null {
  if (field.startsWith('|')) {
    const m = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(field);
    if (m === null || m[1] === undefined || m[2] === undefined) return null;
    const salt = Buffer.from(m[1], 'base64');
    const hash = Buffer.from(m[2], 'base64');
    if (salt.length !== 20 || hash.length !== 20) return null;
    return { kind: 'hashed', salt, hash };
  }
  const patterns = field
    .split(',')
    .filter((p) => p !== '' && p !== '!')
    .map((p) => (p.startsWith('!') ? { negated: true, pattern: p.slice(1) } : { negated: false, pattern: p }));
  return patterns.length === 0 ? null : { kind: 'patterns', patterns };
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 || port === 0 ? h : `[${h}]:${port}`;
}

/** OpenSSH-style hashed host field for a name (as `ssh-keygen -H` writes). */
export function hashHostName(name: string, salt: Buffer): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

/** Simple glob (`*`, `?`) match, case-insensitive, whole string. */
export function wildcardMatch(text: string, pattern: string): boolean {
  const re = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`, 'is').test(text);
}

/** Does this entry's host field apply to host:port? */
export function hostMatches(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostName(host, port);
  const m = entry.hosts;
  if (m.kind === 'hashed') {
    const h = createHmac('sha1', m.salt).update(name).digest();
    return h.equals(m.hash);
  }
  let positive = false;
  for (const p of m.patterns) {
    if (!wildcardMatch(name, p.pattern)) continue;
    if (p.negated) return false;
    positive = true;
  }
  return positive;
}

/** Strict check of a presented host key blob against parsed entries. */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyCheck {
  const forHost = entries.filter((e) => hostMatches(e, host, port));
  if (forHost.some((e) => e.marker === 'revoked' && e.key.equals(keyBlob))) return { status: 'revoked' };
  const valid = forHost.filter((e) => e.marker === null);
  if (valid.some((e) => e.key.equals(keyBlob))) return { status: 'match' };
  if (valid.length === 0) return { status: 'unknown' };
  const expectedFingerprints = [...new Set(valid.map((e) => fingerprintSha256(e.key)))];
  return { status: 'changed', expectedFingerprints };
}

/** Key types listed (not revoked) for host:port, in file order, deduplicated. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const types = entries.filter((e) => e.marker === null && hostMatches(e, host, port)).map((e) => e.keyType);
  return [...new Set(types)];
}

/** Key type name at the start of an SSH wire-format public key blob. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) throw new Error('SSH key blob too short');
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) throw new Error('SSH key blob has a malformed type string');
  const type = blob.subarray(4, 4 + len).toString('latin1');
  if (!/^[\x21-\x7e]+$/.test(type)) throw new Error('SSH key blob has a malformed type string');
  return type;
}

function safeKeyType(blob: Buffer): string | null {
  try {
    return keyTypeOf(blob);
  } catch {
    return null;
  }
}

/** "SHA256:<base64, no padding>" exactly as `ssh-keygen -l` prints it. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Short label as ssh-keygen prints it: ED25519, RSA, ECDSA, DSA, ED25519-SK, ECDSA-SK. */
export function keyTypeLabel(keyType: string): string {
  if (keyType === 'ssh-ed25519') return 'ED25519';
  if (keyType === 'ssh-rsa') return 'RSA';
  if (keyType === 'ssh-dss') return 'DSA';
  if (keyType.startsWith('ecdsa-sha2-')) return 'ECDSA';
  if (keyType.startsWith('sk-ssh-ed25519')) return 'ED25519-SK';
  if (keyType.startsWith('sk-ecdsa-')) return 'ECDSA-SK';
  return keyType;
}
