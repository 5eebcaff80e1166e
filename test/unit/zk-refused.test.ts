// Probes that tell a word refused by `4lw.commands.whitelist` from a server that does not serve:
// fake four-letter-word servers that honour the whitelist of a real zoo.cfg
// (test/fixtures/realworld/whitelist-without-srvr: `stat, ruok, conf, isro`) and answer with real
// 3.8.0 text, and fake AdminServers; every number spelling a server prints. Loopback only.
import { closedPort, fakeServers } from './net-fakes.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAdminMonitor, parseAdminSrvr } from '../../src/zk/admin.js';
import { canonicalNumber, metricNumber, parseMntr, probeSrvr, readSrvr, SrvrRefused, srvrProbe } from '../../src/zk/fourlw.js';
import { readMonitor } from '../../src/zk/monitor.js';
import { checkGate, waitGate, type GateEnv } from '../../src/zk/gates.js';
import { clientPort } from '../../src/check/checks.js';
import type { NodeRef } from '../../src/compile/types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
const fx = (f: string) => fs.readFileSync(path.join(root, '4lw', f), 'utf8');
const REFUSED = (word: string) => `${word} is not executed because it is not in the whitelist.\n`;

/** The whitelist of a zoo.cfg, as FourLetterCommands.isEnabled reads it (comma-separated, trimmed, `*` = all). */
function whitelistOf(cfg: string): Set<string> {
  const line = /^4lw\.commands\.whitelist\s*=\s*(.*)$/m.exec(cfg)?.[1] ?? '';
  return new Set(
    line
      .split(',')
      .map((w) => w.trim())
      .filter(Boolean),
  );
}

/** A four-letter-word server: whitelisted words get `answers[word]`, others ZooKeeper's refusal text. */
function fourlw(allowed: Set<string>, answers: Record<string, string>): net.Server {
  return net.createServer((c) =>
    c.once('data', (d: Buffer) => {
      const word = d.toString('utf8').slice(0, 4);
      c.end(allowed.has(word) ? (answers[word] ?? '') : REFUSED(word));
    }),
  );
}

// /commands/srvr of a 3.8 leader, shaped after admin/Commands.java SrvrCommand.runGet and
// ServerStats serialized with SNAKE_CASE (JsonOutputter); the zxid is above 2^53 on purpose
const ADMIN_SRVR = `{
  "version" : "3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on 2022-02-25 08:49 UTC",
  "read_only" : false,
  "server_stats" : {
    "packets_sent" : 17,
    "packets_received" : 18,
    "fsync_threshold_exceed_count" : 0,
    "client_response_stats" : { "last_buffer_size" : 16, "min_buffer_size" : 16, "max_buffer_size" : 48 },
    "data_dir_size" : 67109184,
    "log_dir_size" : 67109184,
    "last_processed_zxid" : 72057594037927937,
    "outstanding_requests" : 0,
    "server_state" : "leader",
    "avg_latency" : 11.0714,
    "max_latency" : 17,
    "min_latency" : 3,
    "num_alive_client_connections" : 1,
    "provider_null" : false,
    "uptime" : 1.6E7
  },
  "client_response" : { "last_buffer_size" : 16, "min_buffer_size" : 16, "max_buffer_size" : 48 },
  "node_count" : 17,
  "command" : "srvr",
  "error" : null
}`;
const ADMIN_NOT_SERVING = '{\n  "command" : "srvr",\n  "error" : "This ZooKeeper instance is not currently serving requests"\n}';

describe('a server whose whitelist refuses srvr', () => {
  const fakes = fakeServers();
  const { ports, listen } = fakes;
  const whitelist = whitelistOf(fs.readFileSync(path.join(root, 'realworld/whitelist-without-srvr/zoo.cfg'), 'utf8'));
  before(async () => {
    await listen('stat', fourlw(whitelist, { stat: fx('3.8.0-stat.txt'), ruok: 'imok', conf: fx('3.8.0-conf.txt') }));
    await listen('none', fourlw(new Set(['ruok']), { ruok: 'imok' }));
    await listen('srvr', fourlw(new Set(['srvr']), { srvr: fx('3.8.0-srvr.txt') }));
    await listen('starting', fourlw(new Set(['srvr', 'stat']), { srvr: fx('not-serving.txt'), stat: fx('not-serving.txt') }));
    await listen(
      'admin',
      http.createServer((req, res) => res.end(req.url === '/commands/srvr' ? ADMIN_SRVR : fx('3.8.0-admin-unknown.json'))),
    );
    await listen(
      'adminIdle',
      http.createServer((_req, res) => res.end(ADMIN_NOT_SERVING)),
    );
  });
  after(() => fakes.closeAll());

  it('the fixture refuses srvr and allows stat', () => {
    assert.deepEqual([...whitelist].sort(), ['conf', 'isro', 'ruok', 'stat']);
  });
  it("reads the same facts with 'stat' and says so", async () => {
    const s = await probeSrvr('127.0.0.1', ports.stat!, 1000);
    assert.equal(s?.via, 'stat');
    assert.equal(s?.mode, 'leader');
    assert.equal(s?.version, '3.8.0');
    assert.equal(s?.zxid, 0x10000000en);
    assert.equal(s?.nodeCount, 17);
  });
  it("a server that answers 'srvr' is read with it", async () => {
    assert.equal((await probeSrvr('127.0.0.1', ports.srvr!, 1000))?.via, 'srvr');
  });
  it("asks the AdminServer's srvr when srvr and stat are refused", async () => {
    const s = await probeSrvr('127.0.0.1', ports.none!, 1000, { adminPort: ports.admin! });
    assert.equal(s?.via, 'admin');
    assert.equal(s?.mode, 'leader');
    assert.equal(s?.zxid, 72057594037927937n, 'every digit of a zxid above 2^53');
    assert.equal(s?.connections, 1);
    assert.equal((await srvrProbe(ports.admin!)('127.0.0.1', ports.none!, 1000))?.via, 'admin');
  });
  it('null only when a source says the server does not serve, or nothing answers', async () => {
    assert.equal(await probeSrvr('127.0.0.1', await closedPort(), 500), null);
    assert.equal(await probeSrvr('127.0.0.1', ports.starting!, 1000), null);
    assert.equal(await probeSrvr('127.0.0.1', ports.none!, 1000, { adminPort: ports.adminIdle! }), null, "the AdminServer's 'not currently serving'");
    const r = await readSrvr('127.0.0.1', ports.none!, 1000, { adminPort: ports.adminIdle! });
    assert.match(r.state === 'not-serving' ? r.why : '', /not currently serving requests/);
  });
  it('refused everywhere is not "not serving": SrvrRefused, with what each source said', async () => {
    const admin = await closedPort();
    const e = await probeSrvr('127.0.0.1', ports.none!, 1000, { adminPort: admin }).then(
      () => assert.fail('no error'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof SrvrRefused);
    assert.match(e.message, /srvr refused by the whitelist and no other source answered \(add srvr to 4lw\.commands\.whitelist or enable the AdminServer\)/);
    assert.match(
      e.tried,
      /'srvr' is not in 4lw\.commands\.whitelist; 'stat' is not in 4lw\.commands\.whitelist; AdminServer 127\.0\.0\.1:\d+: connect ECONNREFUSED/,
    );
    await assert.rejects(probeSrvr('127.0.0.1', ports.none!, 1000), /no AdminServer port given/);
    // an AdminServer answering something else (an unknown command) is no answer either
    await assert.rejects(probeSrvr('127.0.0.1', ports.none!, 1000, { adminPort: ports.stat! }), SrvrRefused);
  });

  const node: NodeRef = { myid: 1, host: '127.0.0.1', home: '/opt/zk', config: '/opt/zk/conf/zoo.cfg', dataDir: '/d', dataLogDir: '/d' };
  const env = (port: number, adminPort: number, running: boolean): GateEnv => ({
    clientPort: port,
    adminPort,
    pollIntervalMs: 10,
    hasProcess: async () => running,
    hasSnapshot: async () => true,
    canaryValue: () => 'x',
    srvr: srvrProbe(adminPort),
  });
  it('gates: serving through stat holds; refused everywhere is the reason, never "does not serve"', async () => {
    assert.deepEqual(await checkGate({ kind: 'serving', node, deadlineMs: 1000 }, env(ports.stat!, await closedPort(), true)), { ok: true });
    const closedAdmin = await closedPort();
    await assert.rejects(waitGate({ kind: 'serving', node, deadlineMs: 50 }, env(ports.none!, closedAdmin, true)), (e: Error) => {
      assert.match(e.message, /srvr refused by the whitelist and no other source answered \(add srvr to 4lw\.commands\.whitelist or enable the AdminServer\)/);
      return true;
    });
    // a server that still answers (with a refusal) has not stopped
    await assert.rejects(waitGate({ kind: 'stopped', node, deadlineMs: 50 }, env(ports.none!, closedAdmin, false)), /srvr refused by the whitelist/);
    await assert.rejects(waitGate({ kind: 'ensemble', members: [node], deadlineMs: 50 }, env(ports.none!, closedAdmin, true)), /srvr refused by the whitelist/);
  });
  it('zkroll check: the client-port finding names the source, and refused is unknown, not failed', async () => {
    const viaStat = clientPort(await readSrvr('127.0.0.1', ports.stat!, 1000, {}), ports.stat!, 8080, 's1');
    assert.equal(viaStat.status, 'ok');
    assert.match(viaStat.detail, /serving as leader \('srvr' is not in 4lw\.commands\.whitelist; read with 'stat'\)/);
    const refused = clientPort(await readSrvr('127.0.0.1', ports.none!, 1000, { adminPort: await closedPort() }), ports.none!, 8080, 's1');
    assert.equal(refused.status, 'unknown');
    assert.match(refused.detail, /srvr refused by the whitelist and no other source answered/);
    assert.equal(clientPort({ state: 'not-serving', why: 'x' }, 2181, 8080, 's1').status, 'fail');
  });
});

describe('parseAdminSrvr', () => {
  it('reads the srvr facts of the JSON and nothing else', () => {
    const s = parseAdminSrvr(ADMIN_SRVR);
    assert.deepEqual(s, { version: '3.8.0', mode: 'leader', zxid: 72057594037927937n, nodeCount: 17, connections: 1, outstanding: 0 });
    assert.equal(parseAdminSrvr(ADMIN_NOT_SERVING), null);
    assert.equal(parseAdminSrvr(fx('3.8.0-admin-unknown.json')), null);
    assert.equal(parseAdminSrvr(fx('3.8.0-admin-monitor.json')), null, 'monitor is not srvr');
    assert.equal(parseAdminSrvr('{"status":"UP"}'), null);
    assert.equal(parseAdminSrvr('not json'), null);
    assert.equal(parseAdminSrvr(ADMIN_SRVR.replace('"leader"', '"read-only"'))?.mode, 'read-only');
  });
});

describe('metric values in every numeric spelling', () => {
  it('canonicalNumber reads what Long.toString and Double.toString print, exactly', () => {
    const cases: [string, string | null][] = [
      ['3', '3'],
      ['3.0', '3'],
      ['1.6E7', '16000000'],
      ['-1', '-1'],
      ['0.0', '0'],
      ['11.0714', '11.0714'],
      ['1.0E-4', '0.0001'],
      ['1.5e+2', '150'],
      ['9223372036854775807', '9223372036854775807'],
      ['3.8.0', null],
      ['NaN', null],
      ['Infinity', null],
      ['0x10', null],
      ['leader', null],
    ];
    for (const [t, want] of cases) assert.equal(canonicalNumber(t), want, t);
  });
  it('parseMntr: 3, 3.0 and 1.6E7 read as numbers; other values as printed', () => {
    const m = parseMntr(
      'zk_synced_followers\t2.0\nzk_approximate_data_size\t1.6E7\nzk_znode_count\t17\nzk_server_state\tleader\nzk_version\t3.8.0-abc, built on x\n',
    );
    assert.equal(m.get('zk_synced_followers'), '2');
    assert.equal(m.get('zk_approximate_data_size'), '16000000');
    assert.equal(metricNumber(m, 'zk_approximate_data_size'), 16000000);
    assert.equal(metricNumber(m, 'zk_synced_followers'), 2);
    assert.equal(metricNumber(m, 'zk_server_state'), undefined);
    assert.equal(metricNumber(m, 'zk_missing'), undefined);
    assert.equal(m.get('zk_version'), '3.8.0-abc, built on x');
    // the real 3.8.0 answer keeps its values
    const real = parseMntr(fx('3.8.0-mntr.txt'));
    assert.equal(real.get('zk_avg_latency'), '11.0714');
    assert.equal(real.get('zk_avg_leader_unavailable_time'), '381');
  });
  it('parseAdminMonitor: 2, 2.0, 1.6E7 and longs above 2^53 read exactly', () => {
    const body = fx('3.8.0-admin-monitor.json')
      .replace('"synced_followers" : 2', '"synced_followers" : 2.0')
      .replace('"znode_count" : 12', '"znode_count" : 1.6E7')
      .replace('"watch_count" : 0', '"watch_count" : 9007199254740993');
    const m = parseAdminMonitor(body);
    assert.equal(m.get('zk_synced_followers'), '2');
    assert.equal(m.get('zk_znode_count'), '16000000');
    assert.equal(m.get('zk_watch_count'), '9007199254740993');
    assert.equal(m.get('zk_last_client_response_size'), '-1');
  });
  it('readMonitor hands the gates canonical values from a server printing doubles', async () => {
    const s = net.createServer((c) => c.once('data', () => c.end('zk_server_state\tleader\nzk_synced_followers\t2.0\nzk_synced_observers\t1.0E0\n')));
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    try {
      const r = await readMonitor('127.0.0.1', (s.address() as net.AddressInfo).port, 1, 1000);
      assert.equal(r.via, 'mntr');
      assert.equal(r.via && r.values.get('zk_synced_followers'), '2');
      assert.equal(r.via && r.values.get('zk_synced_observers'), '1');
    } finally {
      s.close();
    }
  });
});
