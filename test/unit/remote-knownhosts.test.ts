import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkHostKey,
  fingerprintSha256,
  hashHostName,
  hostMatches,
  keyTypeLabel,
  keyTypeOf,
  knownHostName,
  knownKeyTypes,
  parseKnownHosts,
  wildcardMatch,
} from '../../src/remote/knownhosts.js';

let dir = '';
interface Key {
  line: string; // "ssh-ed25519 AAAA..."
  blob: Buffer;
  pubFile: string;
}
let k1: Key;
let k2: Key;
let k3: Key;

function genKey(name: string, type = 'ed25519'): Key {
  const f = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${name}@test`, '-f', f]);
  const [kt, b64] = readFileSync(`${f}.pub`, 'utf8').trim().split(' ');
  return { line: `${kt} ${b64}`, blob: Buffer.from(b64 ?? '', 'base64'), pubFile: `${f}.pub` };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'zkroll-kh-'));
  k1 = genKey('k1');
  k2 = genKey('k2');
  k3 = genKey('k3', 'ecdsa');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('fingerprintSha256 equals ssh-keygen -lf output', () => {
  for (const k of [k1, k2, k3]) {
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', k.pubFile], { encoding: 'utf8' });
    const fp = out.split(' ')[1];
    assert.match(fp ?? '', /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(fingerprintSha256(k.blob), fp);
  }
});

test('keyTypeOf reads the wire-format type string; keyTypeLabel matches ssh-keygen', () => {
  assert.equal(keyTypeOf(k1.blob), 'ssh-ed25519');
  assert.equal(keyTypeOf(k3.blob), 'ecdsa-sha2-nistp256');
  assert.equal(keyTypeLabel('ssh-ed25519'), 'ED25519');
  assert.equal(keyTypeLabel('ecdsa-sha2-nistp256'), 'ECDSA');
  assert.equal(keyTypeLabel('ssh-rsa'), 'RSA');
  const out = execFileSync('ssh-keygen', ['-l', '-f', k3.pubFile], { encoding: 'utf8' });
  assert.match(out, /\(ECDSA\)\s*$/);
  assert.throws(() => keyTypeOf(Buffer.from([0, 0])), /too short/);
  assert.throws(() => keyTypeOf(Buffer.from([0, 0, 0, 9, 0x61])), /malformed/);
});

test('parse: comments, blank lines, markers, malformed lines', () => {
  const text = [
    '# a comment',
    '',
    '   ',
    `zk1.example.com,10.0.0.1 ${k1.line} comment words here`,
    `@revoked zk2.example.com ${k2.line}`,
    `@cert-authority *.example.com ${k3.line}`,
    `@bogus zk3 ${k1.line}`,
    'zk4 ssh-ed25519 not*base64',
    `zk5 ssh-rsa ${k1.line.split(' ')[1]}`, // type field does not match blob
    'zk6 ssh-ed25519',
    `\tzk7\t${k3.line.replace(' ', '\t')}`,
    '|1|bad|salt ssh-ed25519 AAAA',
  ].join('\r\n');
  const e = parseKnownHosts(text);
  assert.equal(e.length, 3);
  assert.equal(e[0]?.line, 4);
  assert.equal(e[0]?.marker, null);
  assert.deepEqual(e[0]?.hosts, {
    kind: 'patterns',
    patterns: [
      { negated: false, pattern: 'zk1.example.com' },
      { negated: false, pattern: '10.0.0.1' },
    ],
  });
  assert.equal(e[1]?.marker, 'revoked');
  assert.equal(e[2]?.line, 11);
  assert.equal(e[2]?.keyType, 'ecdsa-sha2-nistp256');
});

test('knownHostName uses [host]:port for non-22 ports, lower-cased', () => {
  assert.equal(knownHostName('ZK1.Example.com', 22), 'zk1.example.com');
  assert.equal(knownHostName('127.0.10.6', 2222), '[127.0.10.6]:2222');
  assert.equal(knownHostName('::1', 2222), '[::1]:2222');
});

test('hashed entry generated with HMAC-SHA1 exactly like OpenSSH', () => {
  const salt = randomBytes(20);
  const name = '[127.0.10.6]:2222';
  const hash = createHmac('sha1', salt).update(name).digest('base64');
  const line = `|1|${salt.toString('base64')}|${hash} ${k1.line}`;
  assert.equal(hashHostName(name, salt), line.split(' ')[0]);
  const e = parseKnownHosts(line);
  assert.equal(e.length, 1);
  assert.deepEqual(checkHostKey(e, '127.0.10.6', 2222, k1.blob), { status: 'match' });
  assert.deepEqual(checkHostKey(e, '127.0.10.6', 22, k1.blob), { status: 'unknown' });
  assert.deepEqual(checkHostKey(e, '127.0.10.7', 2222, k1.blob), { status: 'unknown' });
  assert.equal(checkHostKey(e, '127.0.10.6', 2222, k2.blob).status, 'changed');
});

test('hashed entries produced by real `ssh-keygen -H`', () => {
  const f = join(dir, 'kh-hash');
  writeFileSync(f, [`[127.0.10.6]:2222 ${k1.line}`, `zk1.example.com ${k2.line}`, `[zk1.example.com]:2200 ${k3.line}`, ''].join('\n'));
  execFileSync('ssh-keygen', ['-H', '-f', f], { stdio: 'pipe' });
  const text = readFileSync(f, 'utf8');
  assert.ok(!text.includes('127.0.10.6') && !text.includes('example'), 'ssh-keygen hashed every host');
  const e = parseKnownHosts(text);
  assert.equal(e.length, 3);
  assert.ok(e.every((x) => x.hosts.kind === 'hashed'));
  assert.deepEqual(checkHostKey(e, '127.0.10.6', 2222, k1.blob), { status: 'match' });
  assert.deepEqual(checkHostKey(e, 'zk1.example.com', 22, k2.blob), { status: 'match' });
  assert.deepEqual(checkHostKey(e, 'ZK1.example.COM', 22, k2.blob), { status: 'match' });
  assert.deepEqual(checkHostKey(e, 'zk1.example.com', 2200, k3.blob), { status: 'match' });
  assert.deepEqual(checkHostKey(e, 'zk1.example.com', 2200, k2.blob), {
    status: 'changed',
    expectedFingerprints: [fingerprintSha256(k3.blob)],
  });
  assert.deepEqual(checkHostKey(e, '127.0.10.6', 22, k1.blob), { status: 'unknown' });
});

test('[host]:port entries match only that port; bare host means port 22', () => {
  const e = parseKnownHosts(`[127.0.10.6]:2222 ${k1.line}\n127.0.10.7 ${k2.line}\n`);
  assert.equal(checkHostKey(e, '127.0.10.6', 2222, k1.blob).status, 'match');
  assert.equal(checkHostKey(e, '127.0.10.6', 22, k1.blob).status, 'unknown');
  assert.equal(checkHostKey(e, '127.0.10.6', 2223, k1.blob).status, 'unknown');
  assert.equal(checkHostKey(e, '127.0.10.7', 22, k2.blob).status, 'match');
  assert.equal(checkHostKey(e, '127.0.10.7', 2222, k2.blob).status, 'unknown');
});

test('wildcards and negation agree with ssh-keygen -F', () => {
  const f = join(dir, 'kh-wild');
  const lines = [
    `*.zk.example,!bad.zk.example ${k1.line}`,
    `[10.0.0.?]:2222 ${k1.line}`,
    `zk?.lab,!zk9.lab ${k1.line}`,
    `[*.corp]:* ${k1.line}`,
    `Mixed.Case.Host ${k1.line}`,
  ];
  writeFileSync(f, lines.join('\n') + '\n');
  const e = parseKnownHosts(lines.join('\n'));
  const cases: [string, number][] = [
    ['a.zk.example', 22],
    ['b.c.zk.example', 22],
    ['bad.zk.example', 22],
    ['zk.example', 22],
    ['a.zk.example', 2222],
    ['10.0.0.5', 2222],
    ['10.0.0.5', 22],
    ['10.0.0.55', 2222],
    ['zk1.lab', 22],
    ['zk9.lab', 22],
    ['zk10.lab', 22],
    ['db.corp', 2181],
    ['db.corp', 22],
    ['mixed.case.host', 22],
  ];
  for (const [host, port] of cases) {
    const ours = e.some((x) => hostMatches(x, host, port));
    const r = spawnSync('ssh-keygen', ['-F', knownHostName(host, port), '-f', f], { stdio: 'pipe' });
    assert.equal(ours, r.status === 0, `${host}:${port}: ours=${ours} ssh-keygen=${r.status}`);
  }
});

test('wildcardMatch basics', () => {
  assert.ok(wildcardMatch('abc', 'a*'));
  assert.ok(wildcardMatch('abc', 'a?c'));
  assert.ok(!wildcardMatch('abc', 'a?'));
  assert.ok(wildcardMatch('a.b(c)', 'a.b(c)'));
  assert.ok(!wildcardMatch('aXb', 'a.b'));
  assert.ok(wildcardMatch('', '*'));
});

test('revoked key is refused even when also listed as valid', () => {
  const e = parseKnownHosts([`zk1 ${k1.line}`, `@revoked * ${k1.line}`, `zk2 ${k2.line}`].join('\n'));
  assert.deepEqual(checkHostKey(e, 'zk1', 22, k1.blob), { status: 'revoked' });
  assert.deepEqual(checkHostKey(e, 'other', 22, k1.blob), { status: 'revoked' });
  assert.deepEqual(checkHostKey(e, 'zk2', 22, k2.blob), { status: 'match' });
  // a revoked line alone does not make a different key "known"
  const r = parseKnownHosts(`@revoked zk3 ${k1.line}`);
  assert.deepEqual(checkHostKey(r, 'zk3', 22, k2.blob), { status: 'unknown' });
  assert.deepEqual(knownKeyTypes(r, 'zk3', 22), []);
});

test('changed key lists all expected fingerprints for the host (any type)', () => {
  const e = parseKnownHosts([`zk1,zk1.lab ${k1.line}`, `zk1 ${k3.line}`, `zk1 ${k1.line}`, `zk2 ${k2.line}`].join('\n'));
  const r = checkHostKey(e, 'zk1', 22, k2.blob);
  assert.deepEqual(r, { status: 'changed', expectedFingerprints: [fingerprintSha256(k1.blob), fingerprintSha256(k3.blob)] });
  assert.deepEqual(checkHostKey(e, 'zk1', 22, k3.blob), { status: 'match' });
  assert.deepEqual(knownKeyTypes(e, 'zk1', 22), ['ssh-ed25519', 'ecdsa-sha2-nistp256']);
});

test('@cert-authority lines never make a host key trusted', () => {
  const e = parseKnownHosts(`@cert-authority * ${k1.line}`);
  assert.deepEqual(checkHostKey(e, 'zk1', 22, k1.blob), { status: 'unknown' });
});
