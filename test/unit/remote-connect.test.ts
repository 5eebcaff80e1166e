// Connection setup without an sshd: config preparation, host key verifier
// decisions, and failures against plain TCP endpoints on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareConnect, preferredHostKeyAlgorithms, type HostTarget } from '../../src/remote/connect.js';
import { classifyConnectError } from '../../src/remote/errors.js';
import { fingerprintSha256 } from '../../src/remote/knownhosts.js';
import { RemoteError, SshHost, SshPool } from '../../src/remote/ssh.js';

let dir = '';
let kh = '';
let id = '';
const blobs: Buffer[] = [];
const savedAgent = process.env['SSH_AUTH_SOCK'];

function target(over: Partial<HostTarget> = {}): HostTarget {
  return { label: 'zk1', host: '127.0.0.1', port: 2222, user: 'zk', identityFile: id, knownHostsFile: kh, connectTimeoutMs: 2000, ...over };
}

before(() => {
  delete process.env['SSH_AUTH_SOCK'];
  dir = mkdtempSync(join(tmpdir(), 'zkroll-conn-'));
  for (const n of ['h1', 'h2', 'h3']) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, n)]);
    blobs.push(Buffer.from(readFileSync(join(dir, `${n}.pub`), 'utf8').split(' ')[1] ?? '', 'base64'));
  }
  id = join(dir, 'h1');
  const line = (i: number): string =>
    readFileSync(join(dir, `h${i}.pub`), 'utf8')
      .split(' ')
      .slice(0, 2)
      .join(' ');
  kh = join(dir, 'known_hosts');
  writeFileSync(kh, [`[127.0.0.1]:2222 ${line(1)}`, `@revoked * ${line(3)}`, ''].join('\n'));
});
after(() => {
  if (savedAgent !== undefined) process.env['SSH_AUTH_SOCK'] = savedAgent;
  rmSync(dir, { recursive: true, force: true });
});

async function remoteErr(p: Promise<unknown>): Promise<RemoteError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RemoteError, `expected RemoteError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected rejection');
}

function verify(prep: Awaited<ReturnType<typeof prepareConnect>>, blob: Buffer): boolean {
  return (prep.config.hostVerifier as (k: Buffer) => boolean)(blob);
}

test('hostVerifier: match / changed / unknown / revoked', async () => {
  const [b1, b2, b3] = blobs as [Buffer, Buffer, Buffer];
  const prep = await prepareConnect(target());
  assert.equal(verify(prep, b1), true);
  assert.equal(prep.hostKeyFailure(), null);
  assert.equal(verify(prep, b2), false);
  const changed = prep.hostKeyFailure();
  assert.equal(changed?.kind, 'hostkey-changed');
  assert.match(changed?.message ?? '', /^WARNING: host key for zk1 \(127\.0\.0\.1:2222\) has CHANGED \(ED25519 key SHA256:/);
  assert.ok(changed?.message.includes(fingerprintSha256(b1)));
  assert.ok(changed?.message.includes(fingerprintSha256(b2)));
  assert.match(changed?.message ?? '', /man-in-the-middle; nothing was run/);

  const other = await prepareConnect(target({ port: 2223, label: '127.0.0.1:2223' }));
  assert.equal(verify(other, b1), false);
  const unknown = other.hostKeyFailure();
  assert.equal(unknown?.kind, 'hostkey-unknown');
  assert.equal(unknown?.host, '127.0.0.1:2223');
  assert.ok(unknown?.message.startsWith(`127.0.0.1:2223: host key is not in ${kh} (ED25519 key ${fingerprintSha256(b1)})`));
  assert.match(unknown?.message ?? '', /ssh-keyscan -p 2223 127\.0\.0\.1/);

  assert.equal(verify(prep, b3), false);
  assert.equal(prep.hostKeyFailure()?.kind, 'hostkey-revoked');
});

test('missing known_hosts file refuses every key and names the file', async () => {
  const missing = join(dir, 'no_such_known_hosts');
  const prep = await prepareConnect(target({ knownHostsFile: missing }));
  assert.equal(verify(prep, blobs[0] as Buffer), false);
  const e = prep.hostKeyFailure();
  assert.equal(e?.kind, 'hostkey-unknown');
  assert.ok(e?.message.includes(missing));
});

test('identity file problems are clear auth errors that never echo key material', async () => {
  const missing = await remoteErr(prepareConnect(target({ identityFile: join(dir, 'nokey') })));
  assert.equal(missing.kind, 'auth');
  assert.match(missing.message, /identity file .*nokey does not exist/);

  const garbage = join(dir, 'garbage');
  writeFileSync(garbage, 'not a key');
  assert.equal((await remoteErr(prepareConnect(target({ identityFile: garbage })))).kind, 'auth');

  const enc = join(dir, 'enc');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret-pass', '-f', enc]);
  const e = await remoteErr(prepareConnect(target({ identityFile: enc })));
  assert.equal(e.kind, 'auth');
  assert.ok(e.message.includes(enc));
  const keyText = readFileSync(enc, 'utf8');
  for (const l of keyText.split('\n').filter((x) => x.length > 20)) assert.ok(!e.message.includes(l));

  const none = await remoteErr(prepareConnect(target({ identityFile: undefined })));
  assert.equal(none.kind, 'auth');
  assert.match(none.message, /SSH_AUTH_SOCK/);
});

test('ssh-agent is used when SSH_AUTH_SOCK is set', async () => {
  process.env['SSH_AUTH_SOCK'] = join(dir, 'agent.sock');
  try {
    const prep = await prepareConnect(target({ identityFile: undefined }));
    assert.equal(prep.config.agent, join(dir, 'agent.sock'));
    assert.deepEqual(prep.authMethods, ['ssh-agent']);
  } finally {
    delete process.env['SSH_AUTH_SOCK'];
  }
});

test('config: readyTimeout, known key types offered first', async () => {
  const prep = await prepareConnect(target({ connectTimeoutMs: 1234 }));
  assert.equal(prep.config.readyTimeout, 1234);
  assert.equal(prep.config.username, 'zk');
  assert.ok(Buffer.isBuffer(prep.config.privateKey));
  assert.deepEqual(preferredHostKeyAlgorithms(['ecdsa-sha2-nistp256']).slice(0, 2), ['ecdsa-sha2-nistp256', 'ssh-ed25519']);
  assert.deepEqual(preferredHostKeyAlgorithms(['ssh-rsa']).slice(0, 4), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
  assert.equal(preferredHostKeyAlgorithms([]).length, 7);
});

test('classifyConnectError maps ssh2/socket errors', () => {
  const t = target();
  const ctx = { socketConnected: true, authMethods: ['publickey /k'] };
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', level: 'client-socket' });
  assert.equal(classifyConnectError(refused, t, ctx).kind, 'unreachable');
  const auth = Object.assign(new Error('All configured authentication methods failed'), { level: 'client-authentication' });
  const a = classifyConnectError(auth, t, ctx);
  assert.equal(a.kind, 'auth');
  assert.match(a.message, /as user "zk" failed \(tried: publickey \/k\)/);
  const to = Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' });
  assert.equal(classifyConnectError(to, t, ctx).kind, 'timeout');
  assert.equal(classifyConnectError(to, t, { ...ctx, socketConnected: false }).kind, 'unreachable');
});

function listen(onConn: (s: Socket) => void): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    onConn(s);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, sockets })));
}

test('connect to a closed port: unreachable, naming host:port', async () => {
  const { server, port } = await listen(() => undefined);
  await new Promise<void>((r) => server.close(() => r()));
  const e = await remoteErr(SshHost.connect(target({ port })));
  assert.equal(e.kind, 'unreachable');
  assert.ok(e.message.includes(`127.0.0.1:${port}`));
  assert.match(e.message, /connection refused/);
});

test('TCP peer that never speaks SSH: timeout after connectTimeoutMs; pool shares one attempt', async () => {
  const { server, port, sockets } = await listen(() => undefined);
  try {
    const pool = new SshPool();
    const t = target({ port, connectTimeoutMs: 400 });
    const t0 = Date.now();
    const [p1, p2] = [pool.get(t), pool.get(t)];
    assert.equal(p1, p2);
    const e = await remoteErr(p1);
    assert.equal(e.kind, 'timeout');
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(sockets.length, 1);
    await pool.closeAll();
    assert.equal((await remoteErr(pool.get(t))).kind, 'closed');
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('peer that is not an SSH server closes: closed error', async () => {
  const { server, port } = await listen((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  try {
    const e = await remoteErr(SshHost.connect(target({ port })));
    assert.equal(e.kind, 'closed');
    assert.ok(e.message.includes(`127.0.0.1:${port}`));
  } finally {
    server.close();
  }
});
