// zk/wire.ts against a scripted server speaking the jute framing (replies cut into 1-byte TCP
// pieces and pipelined), the consistency check's pure parts (digest logs, buckets) and the
// lab's bulk payloads. The real servers are in test/lab (verify, the split window, lab up).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { WireSession, statZxid } from '../../src/zk/wire.js';
import { bucketOf, commonDigest } from '../../src/zk/verify.js';
import { BATCH, bulkCount, bulkPath, payload } from '../../src/lab/bulk.js';

function packet(body: Buffer): Buffer {
  const l = Buffer.alloc(4);
  l.writeInt32BE(body.length);
  return Buffer.concat([l, body]);
}

function stat(czxid: bigint, numChildren: number, ephemeral: boolean): Buffer {
  const s = Buffer.alloc(68);
  s.writeBigInt64BE(czxid, 0);
  s.writeBigInt64BE(czxid + 1n, 8);
  s.writeBigInt64BE(ephemeral ? 0x1234n : 0n, 44);
  s.writeInt32BE(numChildren, 56);
  s.writeBigInt64BE(czxid + 2n, 60);
  return s;
}

/** A server that answers getData of /a (data "hello"), ZNONODE for anything else, a multi with one failed op; replies in 1-byte writes. */
function scripted(): Promise<{ port: number; close: () => void; seen: number[] }> {
  const seen: number[] = [];
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    let connected = false;
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const body = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + body.length);
        let out: Buffer;
        if (!connected) {
          connected = true;
          const r = Buffer.alloc(36);
          r.writeInt32BE(6000, 4);
          r.writeInt32BE(16, 16);
          out = packet(r);
        } else {
          const xid = body.readInt32BE(0);
          const op = body.readInt32BE(4);
          seen.push(op);
          const head = (err: number) => {
            const h = Buffer.alloc(16);
            h.writeInt32BE(xid, 0);
            h.writeInt32BE(err, 12);
            return h;
          };
          if (op === 4) {
            const path = body.toString('utf8', 12, 12 + body.readInt32BE(8));
            out =
              path === '/a'
                ? packet(Buffer.concat([head(0), Buffer.from([0, 0, 0, 5]), Buffer.from('hello'), stat(0x500000001n, 2, true)]))
                : packet(head(-101));
          } else if (op === 14) {
            const res = Buffer.alloc(9 * 3 + 4);
            res.writeInt32BE(-1, 0); // an ErrorResult
            res.writeInt32BE(-110, 9);
            res.writeInt32BE(-1, 13);
            res[17] = 1; // done
            out = packet(Buffer.concat([head(0), res.subarray(0, 9 + 4 + 9)]));
          } else out = packet(head(0));
        }
        for (const byte of out) sock.write(Buffer.from([byte]));
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, close: () => server.close(), seen })),
  );
}

describe('zk/wire.ts WireSession', () => {
  it('matches pipelined replies cut into single bytes to their requests, reads data, stat and zxids, and maps errors to rc', async () => {
    const srv = await scripted();
    const s = await WireSession.connect('127.0.0.1', srv.port, 5000);
    try {
      const [a, missing, again] = await Promise.allSettled([s.getData('/a'), s.getData('/b'), s.getData('/a')]);
      assert.equal(a.status, 'fulfilled');
      assert.equal(again.status, 'fulfilled');
      if (a.status !== 'fulfilled') return;
      assert.equal(a.value.data.toString(), 'hello');
      assert.equal(a.value.stat.numChildren, 2);
      assert.equal(a.value.stat.ephemeral, true);
      assert.equal(statZxid(a.value.stat, 'czxid'), 0x500000001n);
      assert.equal(statZxid(a.value.stat, 'mzxid'), 0x500000002n);
      assert.equal(statZxid(a.value.stat, 'pzxid'), 0x500000003n);
      assert.equal(missing.status, 'rejected');
      assert.equal((missing as PromiseRejectedResult).reason.rc, -101);
      assert.equal(await s.createAll([{ path: '/x', data: Buffer.from('1') }]), false, 'a multi with an ErrorResult failed as a whole');
      assert.deepEqual(srv.seen.slice(0, 4), [4, 4, 4, 14]);
    } finally {
      await s.close();
      srv.close();
    }
  });

  it('rejects every pending request when the connection closes, and refuses a server that does not answer', async () => {
    const srv = await scripted();
    const s = await WireSession.connect('127.0.0.1', srv.port, 5000);
    srv.close();
    const p = s.sync('/');
    (s as unknown as { socket: net.Socket }).socket.destroy();
    await assert.rejects(p, /closed|failed/);
    await assert.rejects(s.getData('/a'), /closed|failed/);
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    await assert.rejects(WireSession.connect('127.0.0.1', (silent.address() as net.AddressInfo).port, 300), /no session within 300 ms/);
    silent.close();
  });
});

describe('zk/verify.ts pure parts', () => {
  const log = (entries: [string, string][]) => entries.map(([zxid, digest]) => ({ zxid, digest, digestVersion: 2 }));
  it('compares tree digests at the newest zxid every server logged, exactly (longs beyond 2^53)', () => {
    const a = log([
      ['21474836608', '9007199254740993'],
      ['21474836736', '9007199254740995'],
    ]);
    const b = log([
      ['21474836608', '9007199254740993'],
      ['21474836736', '9007199254740994'],
      ['21474836864', '1'],
    ]);
    assert.deepEqual(commonDigest([a, b]), { zxid: 21474836736n, same: false });
    assert.deepEqual(commonDigest([a, a]), { zxid: 21474836736n, same: true });
    assert.equal(commonDigest([a, log([['1', '1']])]), null);
  });
  it('puts a path in the same one of 4096 buckets every time, spreading paths evenly', () => {
    const counts = new Array(4096).fill(0);
    for (let i = 0; i < 409600; i++) counts[bucketOf(bulkPath(i))]++;
    assert.equal(bucketOf('/lab/bulk'), bucketOf('/lab/bulk'));
    assert.ok(Math.max(...counts) < 200 && Math.min(...counts) > 40, `${Math.min(...counts)}..${Math.max(...counts)}`);
  });
});

describe('lab/bulk.ts payloads', () => {
  it('are deterministic JSON of 100 B to 4 KiB, about 1 KiB on average, 1024 per MiB in groups of 1000', () => {
    assert.deepEqual(payload(7), payload(7));
    let total = 0;
    for (let i = 0; i < 20000; i++) {
      const p = payload(i);
      assert.ok(p.length >= 100 && p.length <= 4096, `${i}: ${p.length}`);
      total += p.length;
      if (i % 997 === 0) assert.equal((JSON.parse(p.toString()) as { id: number }).id, i);
    }
    assert.ok(total / 20000 > 850 && total / 20000 < 1150, String(total / 20000));
    assert.equal(bulkCount(1024), 1048576);
    assert.equal(bulkPath(123456), '/lab/bulk/g-0123/n-0123456');
    assert.ok(BATCH * 4096 < 1024 * 1024, 'a batch stays under jute.maxbuffer');
  });
});
