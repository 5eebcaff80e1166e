// The AdminServer fallback for `mntr` (3.5+ whitelist only `srvr` by default): the JSON parser
// on a real 3.8.0 answer, the not-whitelisted marker on a real 4lw answer, and readMonitor's
// choice of source against small local TCP/HTTP servers that answer like ZooKeeper does.
import { closedPort, fakeServers } from './net-fakes.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAdminMonitor } from '../../src/zk/admin.js';
import { notWhitelisted, parseMntr } from '../../src/zk/fourlw.js';
import { readMonitor } from '../../src/zk/monitor.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/4lw');
const fx = (name: string) => fs.readFileSync(path.join(fixtures, name), 'utf8');

describe('parseAdminMonitor', () => {
  it("reads a 3.8.0 leader's /commands/monitor in mntr's shape", () => {
    const m = parseAdminMonitor(fx('3.8.0-admin-monitor.json'));
    assert.equal(m.get('zk_server_state'), 'leader');
    assert.equal(m.get('zk_synced_followers'), '2');
    assert.equal(m.get('zk_digest_mismatches_count'), '0');
    assert.equal(m.has('zk_command'), false);
    // the same keys mntr prints over the client port (captured from a 3.8.0 leader too)
    const mntr = parseMntr(fx('3.8.0-mntr.txt'));
    for (const k of ['zk_server_state', 'zk_synced_followers', 'zk_znode_count']) assert.ok(mntr.has(k) && m.has(k), k);
  });
  it('gives nothing for an error answer, odd JSON or no JSON', () => {
    assert.equal(parseAdminMonitor(fx('3.8.0-admin-unknown.json')).size, 0);
    assert.equal(parseAdminMonitor('[1,2]').size, 0);
    assert.equal(parseAdminMonitor('null').size, 0);
    assert.equal(parseAdminMonitor('<html>404</html>').size, 0);
    assert.equal(parseAdminMonitor('{"status":"UP","uptime":12}').size, 0, 'another service answering JSON on the port');
  });
});

describe('notWhitelisted', () => {
  it('recognises a 3.8.0 server refusing mntr, and nothing else', () => {
    assert.equal(notWhitelisted(fx('3.8.0-mntr-not-whitelisted.txt')), true);
    assert.equal(notWhitelisted(fx('3.8.0-mntr.txt')), false);
    assert.equal(notWhitelisted(fx('3.8.0-srvr.txt')), false);
  });
});

describe('readMonitor', () => {
  const fakes = fakeServers();
  const { ports, listen } = fakes;
  const fourlw = (answer: string) => net.createServer((c) => c.once('data', () => c.end(answer)));
  before(async () => {
    await listen('mntr', fourlw(fx('3.8.0-mntr.txt')));
    await listen('refuses', fourlw(fx('3.8.0-mntr-not-whitelisted.txt')));
    await listen(
      'admin',
      http.createServer((req, res) => res.end(req.url === '/commands/monitor' ? fx('3.8.0-admin-monitor.json') : fx('3.8.0-admin-unknown.json'))),
    );
    await listen('closed', net.createServer());
  });
  after(() => fakes.closeAll());

  it('uses mntr when the word is whitelisted', async () => {
    const r = await readMonitor('127.0.0.1', ports.mntr!, await closedPort());
    assert.equal(r.via, 'mntr');
    assert.equal(r.via && r.values.get('zk_server_state'), 'leader');
  });
  it('falls back to the AdminServer when mntr is not whitelisted', async () => {
    const r = await readMonitor('127.0.0.1', ports.refuses!, ports.admin!);
    assert.equal(r.via, 'admin');
    assert.equal(r.via && r.values.get('zk_synced_followers'), '2');
  });
  it('says why both failed when neither answers', async () => {
    const r = await readMonitor('127.0.0.1', ports.refuses!, await closedPort());
    assert.equal(r.via, null);
    assert.match(r.via === null ? r.why : '', /'mntr' is not in 4lw\.commands\.whitelist of 127\.0\.0\.1; AdminServer 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  });
});
