// OpenSSH client config parsing and resolution (pure), and how connect.ts uses it to
// route to a host (temp files only, no network): precedence of plan over ssh config,
// ProxyJump chains, jump host defaults, refusals.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatJumpHop, hostPatternsMatch, parseJumpList, parseSshConfig, resolveHost, SshConfigError } from '../../src/remote/sshconfig.js';
import { prepareConnect, resolveRoute, type HostTarget } from '../../src/remote/connect.js';
import { RemoteError } from '../../src/remote/ssh.js';
import { sshConfigFile, sshTargets } from '../../src/plan/helpers.js';
import { ROLLING, loadOk } from './plan-fixtures.js';

const CTX = { home: '/home/me', localUser: 'me' };
const res = (text: string, alias: string, ctx = {}) => resolveHost(parseSshConfig(text), alias, { ...CTX, ...ctx });

describe('parseSshConfig / resolveHost', () => {
  test('Host patterns: *, ?, negation, several patterns, case-insensitive', () => {
    assert.equal(hostPatternsMatch(['*.prod', 'db?'], 'zk1.prod'), true);
    assert.equal(hostPatternsMatch(['*.prod', 'db?'], 'db1'), true);
    assert.equal(hostPatternsMatch(['*.prod', 'db?'], 'db12'), false);
    assert.equal(hostPatternsMatch(['*', '!bastion'], 'bastion'), false);
    assert.equal(hostPatternsMatch(['!bastion'], 'zk1'), false, 'a negation alone never matches');
    assert.equal(hostPatternsMatch(['ZK*'], 'zk1'), true);
    const text = 'Host *.prod !zk3.prod\n  HostName %h.internal\nHost zk?\n  User ops\n';
    assert.equal(res(text, 'zk1.prod').hostName, 'zk1.prod.internal');
    assert.equal(res(text, 'zk3.prod').hostName, undefined);
    assert.equal(res(text, 'zk3').user, 'ops');
    assert.equal(res(text, 'zk33').user, undefined);
  });

  test('first obtained value wins; options before the first Host apply to all', () => {
    const text = ['User early', 'Host zk1', '  User ops', '  Port 2200', 'Host *', '  User other', '  Port 22', '  HostName fallback'].join('\n');
    const r = res(text, 'zk1');
    assert.equal(r.user, 'early');
    assert.equal(r.port, 2200);
    assert.equal(r.hostName, 'fallback');
    assert.equal(res(text, 'zk2').port, 22);
  });

  test('IdentityFile repeats: all kept in order, ~ and %-tokens expanded', () => {
    const text = [
      'Host zk1',
      '  IdentityFile ~/.ssh/zk_%h_%r',
      '  IdentityFile /keys/%n-%p-%u-%%',
      'Host *',
      '  IdentityFile %d/.ssh/id_ed25519',
      '  HostName 10.0.0.1',
    ].join('\n');
    assert.deepEqual(res(text, 'zk1', { user: 'zk', port: 2222 }).identityFiles, [
      '/home/me/.ssh/zk_10.0.0.1_zk',
      '/keys/zk1-2222-me-%',
      '/home/me/.ssh/id_ed25519',
    ]);
    assert.deepEqual(res(text, 'zk2').identityFiles, ['/home/me/.ssh/id_ed25519']);
    assert.throws(
      () => res('IdentityFile /k/%C', 'x'),
      (e: unknown) => e instanceof SshConfigError && /line 1: IdentityFile: unsupported token %C/.test(e.message),
    );
    assert.throws(() => res('IdentityFile ~bob/k', 'x'), /~user paths are not supported/);
  });

  test('key=value forms, quoted values, comments, case-insensitive keywords', () => {
    const text = [
      '# leading comment',
      'HOST=zk1 "zk two"',
      '  hostname = 10.0.0.9   # trailing comment',
      '  IdentityFile "/path with spaces/key"',
      "  identityfile '/single quoted/key'",
      '  UserKnownHostsFile=/kh/one /kh/two',
      '  IdentitiesOnly=yes',
      '  ConnectTimeout 7',
      '',
      '   ',
    ].join('\r\n');
    const r = res(text, 'zk two');
    assert.equal(r.hostName, '10.0.0.9');
    assert.deepEqual(r.identityFiles, ['/path with spaces/key', '/single quoted/key']);
    assert.equal(r.userKnownHostsFile, '/kh/one');
    assert.equal(r.identitiesOnly, true);
    assert.equal(r.connectTimeoutMs, 7000);
    assert.equal(res(text, 'zk1').hostName, '10.0.0.9');
  });

  test('ProxyJump: none wins over later values; chains in order; ProxyCommand shares the slot', () => {
    const text = [
      'Host direct',
      '  ProxyJump none',
      'Host chain',
      '  ProxyJump ops@b1:2201,ssh://b2,[fd00::1]:22',
      'Host cmd',
      '  ProxyCommand nc %h %p',
      'Host *',
      '  ProxyJump bastion',
    ].join('\n');
    assert.deepEqual(res(text, 'direct').proxyJump, []);
    assert.deepEqual(res(text, 'chain').proxyJump, [{ user: 'ops', host: 'b1', port: 2201 }, { host: 'b2' }, { host: 'fd00::1', port: 22 }]);
    const cmd = res(text, 'cmd');
    assert.equal(cmd.proxyCommand, 'nc %h %p');
    assert.equal(cmd.proxyJump, undefined);
    assert.deepEqual(res(text, 'other').proxyJump, [{ host: 'bastion' }]);
    assert.deepEqual(res('ProxyCommand none\nProxyJump x', 'h').proxyJump, []);
    assert.throws(() => res('Host h\n ProxyJump bad host!', 'h'), /garbage at end of line/);
    assert.throws(() => res('Host h\n ProxyJump a,,b', 'h'), /line 2: ProxyJump: bad jump host ""/);
    assert.equal(formatJumpHop({ host: 'fd00::1', port: 22 }, { user: 'zk' }), 'zk@[fd00::1]:22');
    assert.deepEqual(parseJumpList('u@h:1'), [{ user: 'u', host: 'h', port: 1 }]);
    assert.throws(() => parseJumpList('h:70000'), /bad jump host/);
  });

  test('Match blocks are skipped up to the next Host; Include is skipped; both noted', () => {
    const text = [
      'Match host zk1 exec "true"',
      '  User matched',
      '  HostName nope',
      'Include ~/.ssh/conf.d/*',
      'Host zk1',
      '  User ops',
      'Include other',
      'Match all',
      '  Port 1',
    ].join('\n');
    const cfg = parseSshConfig(text);
    const r = resolveHost(cfg, 'zk1', CTX);
    assert.equal(r.user, 'ops');
    assert.equal(r.hostName, undefined);
    assert.equal(r.port, undefined);
    assert.deepEqual(cfg.notes, [
      'line 1: Match block skipped (not supported by zkroll)',
      'line 7: Include skipped (not supported by zkroll)',
      'line 8: Match block skipped (not supported by zkroll)',
    ]);
  });

  test('syntax errors fail parsing; bad values fail only for hosts they apply to', () => {
    assert.throws(() => parseSshConfig('Host x\n  HostName "unterminated'), /line 2: unterminated quoted string/);
    assert.throws(() => parseSshConfig('Host'), /line 1: Host needs at least one pattern/);
    assert.throws(() => parseSshConfig('Port'), /line 1: Port needs a value/);
    assert.throws(() => parseSshConfig('HostName a b'), /garbage at end of line/);
    const text = 'Host other\n  Port nope\n  IdentitiesOnly maybe\nHost zk1\n  ConnectTimeout soon\n';
    assert.equal(res(text, 'zk2').port, undefined);
    assert.throws(() => res(text, 'other'), /line 2: Port: expected a number 1\.\.65535, got "nope"/);
    assert.throws(() => res(text, 'zk1'), /line 5: ConnectTimeout/);
    assert.deepEqual(res('ServerAliveInterval 30\nForwardAgent', 'x').identityFiles, [], 'unknown keywords are ignored');
  });
});

describe('routing with an ssh config (connect.ts)', () => {
  let dir = '';
  let key = '';
  let key2 = '';
  const cfgFile = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const target = (over: Partial<HostTarget> = {}): HostTarget => ({
    label: 'server 1 (zk1)',
    host: 'zk1',
    port: 2200,
    user: 'zk',
    identityFile: key,
    knownHostsFile: join(dir, 'kh'),
    connectTimeoutMs: 1500,
    ...over,
  });
  const route = async (t: HostTarget) => (await resolveRoute(t)).map((h) => `${h.target.user}@${h.dialHost}:${h.target.port}${h.via ? ` via ${h.via}` : ''}`);
  const savedAgent = process.env['SSH_AUTH_SOCK'];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'zkroll-sshcfg-'));
    key = join(dir, 'id_plan');
    key2 = join(dir, 'id_cfg');
    for (const k of [key, key2]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'pw', '-f', join(dir, 'id_enc')]);
    writeFileSync(join(dir, 'kh'), '');
    delete process.env['SSH_AUTH_SOCK'];
  });
  after(() => {
    if (savedAgent !== undefined) process.env['SSH_AUTH_SOCK'] = savedAgent;
    rmSync(dir, { recursive: true, force: true });
  });

  test('the plan wins: only HostName, extra IdentityFile and ProxyJump (without plan jumpHost) apply', async () => {
    const f = cfgFile(
      'c1',
      `Host zk1\n  HostName 10.0.0.1\n  User root\n  Port 22\n  IdentityFile ${key2}\n  IdentityFile ${join(dir, 'missing')}\n  ProxyJump ops@bastion:2222\n`,
    );
    assert.deepEqual(await route(target({ sshConfigFile: f })), ['ops@bastion:2222', 'zk@10.0.0.1:2200 via ops@bastion:2222']);
    assert.deepEqual(await route(target({ sshConfigFile: f, jumpHost: 'jump@other' })), ['jump@other:22', 'zk@10.0.0.1:2200 via jump@other:22']);
    assert.deepEqual(await route(target()), ['zk@zk1:2200'], 'no ssh config: direct to the plan host');
    const [, hop] = await resolveRoute(target({ sshConfigFile: f }));
    assert.ok(hop);
    assert.deepEqual(hop.extraIdentityFiles, [key2, join(dir, 'missing')]);
    const prep = await prepareConnect(hop.target, hop);
    assert.equal(prep.config.host, '10.0.0.1');
    assert.equal(prep.config.username, 'zk');
    assert.deepEqual(prep.authMethods, [`publickey ${key}`, `publickey ${key2} (ssh config)`]);
    assert.deepEqual(
      (prep.config.authHandler as { type: string }[]).map((a) => a.type),
      ['none', 'publickey', 'publickey'],
    );
  });

  test('jump hosts: user/port from the spec, else ssh config, else plan user and 22; chains in order', async () => {
    const f = cfgFile('c2', 'Host b1\n  HostName 192.0.2.1\n  User ops\n  Port 2201\n  IdentityFile ' + key2 + '\nHost b2\n  ProxyJump b1\n');
    assert.deepEqual(await route(target({ sshConfigFile: f, jumpHost: 'b1' })), ['ops@192.0.2.1:2201', 'zk@zk1:2200 via ops@b1:2201']);
    assert.deepEqual(await route(target({ sshConfigFile: f, jumpHost: 'me@b1:22' })), ['me@192.0.2.1:22', 'zk@zk1:2200 via me@b1:22']);
    assert.deepEqual(await route(target({ sshConfigFile: f, jumpHost: 'b2' })), ['ops@192.0.2.1:2201', 'zk@b2:22 via ops@b1:2201', 'zk@zk1:2200 via zk@b2:22']);
    assert.deepEqual(await route(target({ jumpHost: 'a,b:2' })), ['zk@a:22', 'zk@b:2 via zk@a:22', 'zk@zk1:2200 via zk@b:2']);
    const [jump] = await resolveRoute(target({ sshConfigFile: f, jumpHost: 'b1' }));
    assert.equal(jump?.target.identityFile, key, "a jump host uses the plan host's identity file");
    assert.equal(jump?.target.knownHostsFile, join(dir, 'kh'));
    assert.deepEqual(jump?.extraIdentityFiles, [key2]);
  });

  test('refusals: loops, ProxyCommand, bad config; a ProxyJump to the host itself is ignored', async () => {
    const star = cfgFile('c3', 'Host *\n  ProxyJump bastion\n');
    assert.deepEqual(await route(target({ sshConfigFile: star })), ['zk@bastion:22', 'zk@zk1:2200 via zk@bastion:22']);
    const loop = cfgFile('c4', 'Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n');
    await assert.rejects(
      resolveRoute(target({ sshConfigFile: loop, jumpHost: 'a' })),
      (e: unknown) => e instanceof RemoteError && e.kind === 'io' && /jump host loop: zk@zk1:2200 via zk@a:22 via zk@b:22 via zk@a:22/.test(e.message),
    );
    const cmd = cfgFile('c5', 'Host zk1\n  ProxyCommand nc %h %p\n');
    await assert.rejects(resolveRoute(target({ sshConfigFile: cmd })), /sets ProxyCommand for zk1; zkroll supports only ProxyJump/);
    assert.equal((await resolveRoute(target({ sshConfigFile: cmd, jumpHost: 'b' }))).length, 2, 'plan jumpHost wins over ProxyCommand');
    const bad = cfgFile('c6', 'Host zk1\n  Port x\n');
    await assert.rejects(
      resolveRoute(target({ sshConfigFile: bad })),
      (e: unknown) => e instanceof RemoteError && e.message.includes(`ssh config ${bad} (for zk1): line 2: Port`),
    );
    await assert.rejects(resolveRoute(target({ sshConfigFile: join(dir, 'nope') })), /cannot use ssh config .*nope: ENOENT/);
    await assert.rejects(resolveRoute(target({ jumpHost: 'bad host' })), /jumpHost: bad jump host/);
  });

  test('ssh config keys alone are enough to authenticate; passphrase-protected ones are named and skipped', async () => {
    const f = cfgFile('c7', `IdentityFile ${join(dir, 'id_enc')}\nIdentityFile ${key2}\n`);
    const [hop] = await resolveRoute(target({ sshConfigFile: f, identityFile: undefined }));
    assert.ok(hop);
    const prep = await prepareConnect(hop.target, hop);
    assert.deepEqual(prep.authMethods, [`(skipped ${join(dir, 'id_enc')}: passphrase-protected)`, `publickey ${key2} (ssh config)`]);
    const none = cfgFile('c8', `IdentityFile ${join(dir, 'id_enc')}\n`);
    const [hop2] = await resolveRoute(target({ sshConfigFile: none, identityFile: undefined }));
    assert.ok(hop2);
    await assert.rejects(
      prepareConnect(hop2.target, hop2),
      (e: unknown) => e instanceof RemoteError && e.kind === 'auth' && /no usable IdentityFile in the ssh config/.test(e.message),
    );
  });

  test('sshTargets: ZKROLL_SSH_CONFIG picks the ssh config file; empty disables it', () => {
    const saved = process.env['ZKROLL_SSH_CONFIG'];
    try {
      process.env['ZKROLL_SSH_CONFIG'] = join(dir, 'c1');
      assert.equal(sshConfigFile(), join(dir, 'c1'));
      const ts = sshTargets(loadOk(ROLLING), '/plans/p.yaml');
      assert.ok(ts.length > 0 && ts.every((t) => t.sshConfigFile === join(dir, 'c1')));
      process.env['ZKROLL_SSH_CONFIG'] = '';
      assert.ok(sshTargets(loadOk(ROLLING), '/plans/p.yaml').every((t) => t.sshConfigFile === undefined));
    } finally {
      if (saved === undefined) delete process.env['ZKROLL_SSH_CONFIG'];
      else process.env['ZKROLL_SSH_CONFIG'] = saved;
    }
  });
});
