// zk/dynconfig.ts: /zookeeper/config texts as QuorumMaj.toString writes them (3.5–3.9: sorted
// lines, roles always written, IPv6 bracketed, the client part omitted when it came from the
// static file), dynamic files on disk (no version line), the version in a file name, and the
// joiner strings of `reconfig -add`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynConfigError, parseDynamicConfig, serverSpec, versionFromFilename } from '../../src/zk/dynconfig.js';

const LIVE = [
  'server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181',
  'server.2=10.0.0.2:2888:3888:participant;10.0.0.2:2181',
  'server.3=[2001:db8::3]:2888:3888:participant;[2001:db8::3]:2181',
  'server.4=10.0.0.4:2888:3888:observer;2181',
  'server.5=10.0.0.5:2888:3888:participant',
  'server.6=10.0.1.6:2888:3888|10.0.2.6:2888:3888:participant;2181',
  'version=1000000c4',
].join('\n');

describe('zk/dynconfig.ts parseDynamicConfig', () => {
  it('reads members, roles, client parts (absent, port only, host:port, IPv6) and the hex version', () => {
    const c = parseDynamicConfig(LIVE);
    assert.equal(c.version, 0x1000000c4n);
    assert.deepEqual([...c.servers.keys()], [1, 2, 3, 4, 5, 6]);
    const s = (id: number) => c.servers.get(id);
    assert.deepEqual(s(1), {
      id: 1,
      host: '10.0.0.1',
      quorumPort: 2888,
      electionPort: 3888,
      addresses: [{ host: '10.0.0.1', quorumPort: 2888, electionPort: 3888 }],
      role: 'participant',
      clientHost: '0.0.0.0',
      clientPort: 2181,
    });
    assert.equal(s(3)?.host, '2001:db8::3');
    assert.equal(s(3)?.clientHost, '2001:db8::3');
    assert.equal(s(4)?.role, 'observer');
    assert.equal(s(4)?.clientHost, undefined);
    assert.equal(s(4)?.clientPort, 2181);
    assert.equal(s(5)?.clientPort, undefined, 'client part from the static file: omitted');
    assert.equal(s(6)?.host, '10.0.1.6');
    assert.deepEqual(
      s(6)?.addresses.map((a) => a.host),
      ['10.0.1.6', '10.0.2.6'],
    );
  });

  it('reads a dynamic file (no version line; comments and blank lines skipped; no role means participant)', () => {
    const c = parseDynamicConfig('# written by zkroll\n\nserver.1=zk1:2888:3888;2181\r\nserver.2=zk2:2888:3888:observer;2181\n');
    assert.equal(c.version, null);
    assert.equal(c.servers.get(1)?.role, 'participant');
    assert.equal(c.servers.get(2)?.role, 'observer');
  });

  it('refuses malformed lines, naming the line number', () => {
    const bad: [string, RegExp][] = [
      ['server.1=a:1:2;2181\nserver.2=b:2888;2181', /line 2 .*missing election port/],
      ['server.1=a:1:2;2181\nserver.1=b:1:2;2181', /line 2 .*given twice/],
      ['server.1=2001:db8::1:2888:3888', /line 1 .*in brackets/],
      ['server.1=a:2888:3888:leader', /line 1 .*leader/],
      ['server.1=a:2888:2888', /must differ/],
      ['version=xyz', /line 1 .*not a hex number/],
      ['version=1\nversion=2', /line 2 .*second version/],
      ['group.1=1:2:3', /line 1 .*unknown key 'group.1'/],
      ['server.1=a:1:2\nnonsense', /line 2 .*no '='/],
    ];
    for (const [text, re] of bad)
      assert.throws(
        () => parseDynamicConfig(text),
        (e: unknown) => e instanceof DynConfigError && re.test(e.message),
        text,
      );
  });
});

describe('zk/dynconfig.ts versionFromFilename and serverSpec', () => {
  it('reads the version from a dynamic file name as getVersionFromFilename does', () => {
    assert.equal(versionFromFilename('zoo.cfg.dynamic'), null);
    assert.equal(versionFromFilename('zoo.cfg.dynamic.0'), 0n);
    assert.equal(versionFromFilename('zoo.cfg.dynamic.1001'), 0x1001n);
    assert.equal(versionFromFilename('/conf/zoo.cfg.dynamic.cafe'), 0xcafen);
    assert.equal(versionFromFilename('zoo.cfg.dynamic.next'), null);
    assert.equal(versionFromFilename('zoo.cfg.dynamic.ffffffffffffffff'), null, 'beyond a Java long');
  });

  it('renders joiners for reconfig -add that parse back to the same server, and refuses one without a client port', () => {
    const c = parseDynamicConfig(LIVE);
    for (const id of [1, 2, 3, 4, 6]) {
      const s = c.servers.get(id);
      assert.ok(s);
      const spec = serverSpec(s);
      const eq = spec.indexOf('=');
      assert.deepEqual(parseDynamicConfig(spec).servers.get(id), s, spec);
      assert.equal(spec.slice(0, eq), `server.${id}`);
    }
    assert.equal(serverSpec(c.servers.get(3) as never), 'server.3=[2001:db8::3]:2888:3888:participant;[2001:db8::3]:2181');
    assert.equal(serverSpec(c.servers.get(4) as never), 'server.4=10.0.0.4:2888:3888:observer;2181');
    assert.throws(() => serverSpec(c.servers.get(5) as never), /needs a client port/);
  });
});
