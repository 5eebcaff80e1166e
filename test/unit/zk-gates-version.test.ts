// The version gate (every member reports the target version in `srvr`) and the snapshot gate,
// on real `srvr` answers of 3.4.6 and 3.8.0 served by fake four-letter-word servers on two
// loopback addresses, and an injected snapshot probe.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkGate, type GateEnv } from '../../src/zk/gates.js';
import type { NodeRef } from '../../src/compile/types.js';

const fx = (f: string) => fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/4lw', f), 'utf8');
const node = (myid: number, host: string): NodeRef => ({
  myid,
  host,
  home: '/opt/zk',
  config: '/opt/zk/conf/zoo.cfg',
  dataDir: '/data/zk',
  dataLogDir: '/data/zk',
});

describe('version and snapshot gates', () => {
  const servers: net.Server[] = [];
  let port = 0;
  const env = (snap: boolean): GateEnv => ({
    clientPort: port,
    adminPort: 1,
    pollIntervalMs: 10,
    hasProcess: async () => true,
    hasSnapshot: async () => snap,
    canaryValue: () => 'x',
  });
  before(async () => {
    const answer = (text: string) => net.createServer((c) => c.once('data', () => c.end(text)));
    const a = answer(fx('3.4.6-srvr.txt'));
    await new Promise<void>((r) => a.listen(0, '127.0.0.61', r));
    port = (a.address() as net.AddressInfo).port;
    const b = answer(fx('3.8.0-srvr.txt'));
    await new Promise<void>((r) => b.listen(port, '127.0.0.62', r));
    servers.push(a, b);
  });
  after(() => servers.forEach((s) => s.close()));

  it('holds when every member reports the version, and names the others when not', async () => {
    assert.deepEqual(await checkGate({ kind: 'version', members: [node(1, '127.0.0.61')], version: '3.4.6', deadlineMs: 1000 }, env(true)), { ok: true });
    const v = await checkGate(
      { kind: 'version', members: [node(1, '127.0.0.61'), node(2, '127.0.0.62'), node(3, '127.0.0.63')], version: '3.4.6', deadlineMs: 1000 },
      env(true),
    );
    assert.deepEqual(v, { ok: false, why: 'not on 3.4.6: 2 (3.8.0), 3 (not serving)' });
    // a plan may name a line ("3.8") or a build ("3.4.6-1569965"): compared as numbers
    assert.deepEqual(await checkGate({ kind: 'version', members: [node(2, '127.0.0.62')], version: '3.8', deadlineMs: 1000 }, env(true)), { ok: true });
    assert.deepEqual(await checkGate({ kind: 'version', members: [node(1, '127.0.0.61')], version: '3.4.6-1569965', deadlineMs: 1000 }, env(true)), {
      ok: true,
    });
    assert.equal((await checkGate({ kind: 'version', members: [node(1, '127.0.0.61')], version: '3.4.60', deadlineMs: 1000 }, env(true))).ok, false);
  });

  it('the snapshot gate asks the injected probe', async () => {
    assert.deepEqual(await checkGate({ kind: 'snapshot', node: node(1, '127.0.0.61'), deadlineMs: 1000 }, env(true)), { ok: true });
    assert.deepEqual(await checkGate({ kind: 'snapshot', node: node(1, '127.0.0.61'), deadlineMs: 1000 }, env(false)), {
      ok: false,
      why: 'server 1 has not written a snapshot to /data/zk/version-2 yet',
    });
  });
});
