// zoo.cfg as java.util.Properties reads it, kept line by line (src/compile/properties.ts) and
// rendered for a new ensemble (src/compile/zoocfg.ts): every real zoo.cfg of
// test/fixtures/realworld and our own round-trips byte for byte; CRLF files keep CRLF and list
// each server once; `key: value`, `key value`, `!` comments and continuation lines are read as
// ZooKeeper reads them; a member whose line does not change keeps it verbatim (an observer
// stays an observer).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseProperties, propertyValue, renderProperties } from '../../src/compile/properties.js';
import { configuredIds, configuredRoles, dynamicConfigPath, renderZooCfg } from '../../src/compile/zoocfg.js';
import type { NodeRef, ServerLine } from '../../src/compile/types.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
const configs = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return configs(p);
    return /zoo[^/]*\.cfg|\.dynamic\.|\.properties$/.test(e.name) ? [p] : [];
  });
const read = (p: string) => fs.readFileSync(p, 'utf8');
const node: NodeRef = { host: 'zk1', myid: 1, home: '/opt/zk', config: '/opt/zk/conf/zoo.cfg', dataDir: '/tmp/zookeeper', dataLogDir: '/tmp/zookeeper' };
const line = (myid: number, host = `zk${myid}`): ServerLine => ({ myid, host, quorumPort: 2888, electionPort: 3888, clientPort: 2181 });

describe('properties: every line comes back byte for byte', () => {
  const files = configs(fixtures);
  it(`finds the zoo.cfg fixtures (${files.length})`, () => assert.ok(files.length >= 8, files.join('\n')));
  for (const f of files) {
    it(`round-trips ${path.relative(fixtures, f)}`, () => {
      const text = read(f);
      assert.equal(renderProperties(parseProperties(text)), text);
    });
  }

  it('round-trips any text (CR, LF, CRLF, continuations, escapes, blanks)', () => {
    const piece = fc.constantFrom('a=1', 'b: 2', 'c 3', '# c', '! bang', '', '   ', 'd=x\\', '  e = y  ', 'f=\\u0041', '\\ k=v', 'g', '=', ':');
    fc.assert(
      fc.property(fc.array(fc.tuple(piece, fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 12 }), fc.boolean(), (parts, lastEol) => {
        let text = parts.map(([p, e]) => p + e).join('');
        if (!lastEol) text = text.replace(/(\r\n|\r|\n)$/, '');
        assert.equal(renderProperties(parseProperties(text)), text);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads keys as java.util.Properties does', () => {
    const doc = parseProperties('a: 1\r\nb 2\r\n! c=3\r\nd = long\\\r\n    value\r\ne=\\u0041\\\\x\r\na=last\r\n');
    assert.equal(propertyValue(doc, 'a'), 'last', 'the last line that sets a key wins');
    assert.equal(propertyValue(doc, 'b'), '2');
    assert.equal(propertyValue(doc, 'c'), undefined, '! starts a comment');
    assert.equal(propertyValue(doc, 'd'), 'longvalue');
    assert.equal(propertyValue(doc, 'e'), 'A\\x');
    assert.equal(doc.eol, '\r\n');
  });
});

describe('zoo.cfg for a new ensemble, from a real file', () => {
  it('crlf: each server listed once, CRLF kept on every line, the rest unchanged', () => {
    const base = read(path.join(fixtures, 'realworld/crlf/zoo.cfg'));
    const out = renderZooCfg(base, [line(1), line(2), line(3), line(4)], node, 'zk1').main;
    assert.deepEqual(configuredIds(out), [1, 2, 3, 4]);
    assert.ok(!/[^\r]\n/.test(out) && out.endsWith('\r\n'), 'CRLF everywhere');
    assert.equal(out, base.replace('server.3=zk3:2888:3888\r\n', 'server.3=zk3:2888:3888\r\nserver.4=zk4:2888:3888\r\n'));
  });

  it('observer: the observer keeps its line and role; only the new member is added', () => {
    const base = read(path.join(fixtures, 'realworld/observer/zoo-voter-host.cfg'));
    const out = renderZooCfg(
      base,
      [
        line(1, 'zk1.example.net'),
        line(2, 'zk2.example.net'),
        line(3, 'zk3.example.net'),
        { ...line(4, 'zk4.example.net'), observer: true },
        line(5, 'zk5.example.net'),
      ],
      { ...node, dataDir: '/var/lib/zookeeper/data', dataLogDir: '/var/lib/zookeeper/log' },
      'zk1.example.net',
    ).main;
    assert.match(out, /^server\.4=zk4\.example\.net:2888:3888:observer$/m);
    assert.match(out, /^server\.5=zk5\.example\.net:2888:3888$/m);
    assert.equal(out.replace(/^server\.5=.*\n/m, ''), base);
  });

  it('observer: its own zoo.cfg says peerType=observer; a new observer line says :observer', () => {
    const base = read(path.join(fixtures, 'realworld/observer/zoo-voter-host.cfg'));
    const members = [1, 2, 3].map((id) => line(id, `zk${id}.example.net`));
    const obs = { ...line(4, 'zk4.example.net'), observer: true };
    const own = renderZooCfg(
      base,
      [...members, obs],
      { ...node, host: 'zk4.example.net', myid: 4, observer: true, dataDir: '/var/lib/zookeeper/data', dataLogDir: '/var/lib/zookeeper/log' },
      'zk1.example.net',
    ).main;
    assert.match(own, /^peerType=observer$/m);
    assert.equal(own.replace(/^peerType=observer\n/m, ''), base, 'nothing else changes');
    const fresh = renderZooCfg('tickTime=2000\n', [...members, obs], node, 'zk1').main;
    assert.match(fresh, /^server\.4=zk4\.example\.net:2888:3888:observer$/m);
    assert.doesNotMatch(fresh, /peerType/, 'a participant carries no peerType');
  });

  it('key: value and key value lines: a changed value keeps its key and separator', () => {
    const base = '# mine\ndataDir : /old\nclientPortAddress zk9\ntickTime=2000\nserver.1 = zk1:2888:3888\n';
    const out = renderZooCfg(base, [line(1), line(2)], node, 'zk9').main;
    assert.equal(out, '# mine\ndataDir : /tmp/zookeeper\nclientPortAddress zk1\ntickTime=2000\nserver.1 = zk1:2888:3888\nserver.2=zk2:2888:3888\n');
  });

  it('a file without a final line ending: added lines go on lines of their own', () => {
    const out = renderZooCfg('tickTime=2000\r\nserver.1=zk1:2888:3888', [line(1), line(2)], node, 'zk1').main;
    assert.equal(out, 'tickTime=2000\r\nserver.1=zk1:2888:3888\r\nserver.2=zk2:2888:3888\r\n');
  });

  it("a server's own line may bind 0.0.0.0: kept on its own host, written with the name elsewhere", () => {
    const base = 'server.1=0.0.0.0:2888:3888\nserver.2=zk2:2888:3888\n';
    assert.equal(
      renderZooCfg(base, [line(1), line(2), line(3)], node, 'zk1').main,
      'server.1=0.0.0.0:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888\n',
    );
    // the same file carried to zk3 (a new member's config starts from zk1's)
    assert.equal(
      renderZooCfg(base, [line(1), line(2), line(3)], { ...node, host: 'zk3', myid: 3 }, 'zk1').main,
      'server.1=zk1:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888\n',
    );
  });

  it('IPv6 members are written in brackets', () => {
    const out = renderZooCfg(
      'server.1=[2001:db8::1]:2888:3888\n',
      [line(1, '2001:db8::1'), line(2, '2001:db8::2')],
      { ...node, host: '2001:db8::1' },
      '2001:db8::1',
    ).main;
    assert.equal(out, 'server.1=[2001:db8::1]:2888:3888\nserver.2=[2001:db8::2]:2888:3888\n');
  });

  it('roles as the files give them (what plan --live compares with the plan)', () => {
    const roles = configuredRoles(read(path.join(fixtures, 'realworld/observer/zoo-voter-host.cfg')));
    assert.deepEqual(
      [...roles.entries()],
      [
        [1, 'participant'],
        [2, 'participant'],
        [3, 'participant'],
        [4, 'observer'],
      ],
    );
    const dyn = configuredRoles(read(path.join(fixtures, 'realworld/reconfig-enabled/zoo.cfg.dynamic.100000000')));
    assert.deepEqual([...dyn.values()], ['participant', 'participant', 'participant']);
  });

  it('ids from 0 are read', () => {
    assert.deepEqual(configuredIds(read(path.join(fixtures, 'realworld/ids-from-zero/zoo.cfg'))), [0, 1, 2]);
  });

  it('reconfig-enabled: the dynamic file is found, and the server lines are read from it', () => {
    const dir = path.join(fixtures, 'realworld/reconfig-enabled');
    const base = read(path.join(dir, 'zoo.cfg'));
    const dyn = dynamicConfigPath(base);
    assert.ok(dyn !== undefined && dyn.endsWith('zoo.cfg.dynamic.100000000'), String(dyn));
    assert.deepEqual(configuredIds(base), []);
    assert.ok(configuredIds(read(path.join(dir, 'zoo.cfg.dynamic.100000000'))).length >= 3);
  });
});
