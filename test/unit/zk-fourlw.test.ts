// Four-letter-word parsers on real outputs: 3.8.0 captured from a lab server, 3.4.6 in the
// format that release prints. zxids must come out as exact BigInts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseMntr, parseSrvr, parseZxid } from '../../src/zk/fourlw.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/4lw');
const fx = (name: string) => fs.readFileSync(path.join(fixtures, name), 'utf8');

describe('parseSrvr', () => {
  it('reads a 3.8.0 leader', () => {
    const s = parseSrvr(fx('3.8.0-srvr.txt'));
    assert.ok(s);
    assert.equal(s.version, '3.8.0');
    assert.equal(s.mode, 'leader');
    assert.equal(s.zxid, 0x10000000en);
    assert.equal(s.nodeCount, 17);
    assert.equal(s.connections, 1);
  });
  it('reads `stat` output the same way', () => {
    assert.equal(parseSrvr(fx('3.8.0-stat.txt'))?.mode, 'leader');
  });
  it('reads a 3.4.6 leader', () => {
    const s = parseSrvr(fx('3.4.6-srvr.txt'));
    assert.deepEqual(s, { version: '3.4.6', mode: 'leader', zxid: 0x9000012c4n, nodeCount: 512, connections: 3, outstanding: 0 });
  });
  it('returns null for a server that is not serving', () => {
    assert.equal(parseSrvr(fx('not-serving.txt')), null);
    assert.equal(parseSrvr(''), null);
  });
  it('marks an unknown mode as unknown rather than guessing', () => {
    assert.equal(parseSrvr('Zookeeper version: 3.9.1\nMode: mystery\n')?.mode, 'unknown');
  });
});

describe('parseZxid', () => {
  it('keeps every bit above 2^53', () => {
    assert.equal(parseZxid('0xfffffffeffffffff'), 0xfffffffeffffffffn);
    assert.equal(parseZxid('0x1fffffffffffff1'), 0x1fffffffffffff1n);
    assert.notEqual(parseZxid('0x1fffffffffffff1'), BigInt(Number(0x1fffffffffffff1n)));
  });
  it('rejects garbage', () => {
    assert.equal(parseZxid('0xzz'), null);
    assert.equal(parseZxid(undefined), null);
  });
});

describe('parseMntr', () => {
  it('reads 3.8.0 and 3.4.6 key/value lines', () => {
    const m38 = parseMntr(fx('3.8.0-mntr.txt'));
    assert.equal(m38.get('zk_server_state'), 'leader');
    assert.equal(m38.get('zk_znode_count'), '17');
    const m34 = parseMntr(fx('3.4.6-mntr.txt'));
    assert.equal(m34.get('zk_synced_followers'), '4');
    assert.equal(m34.get('zk_version'), '3.4.6-1569965, built on 02/20/2014 09:09 GMT');
  });
});
