// zk/wire.ts against a scripted server speaking the jute framing (replies cut into 1-byte TCP
// pieces and pipelined), the consistency check's pure parts (digest logs, buckets) and the
// lab's bulk payloads. The real servers are in test/lab (verify, the split window, lab up).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { WireSession, statZxid, zkErrorText } from '../../src/zk/wire.js';
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

/** The config a reconfig reply carries (QuorumMaj.toString: no trailing newline). */
const CONFIG = 'server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\nserver.2=[::1]:2889:3889:observer;2182\nversion=100000003';

function ustr(s: string): Buffer {
  const l = Buffer.alloc(4);
  l.writeInt32BE(Buffer.byteLength(s));
  return Buffer.concat([l, Buffer.from(s)]);
}

/** The reply body of an op the scripted server knows besides getData and multi, or null for an empty OK. */
function answer(op: number, body: Buffer, head: (err: number) => Buffer): { out: Buffer; close?: boolean } | null {
  if (op === 100) {
    const ok = body.subarray(body.length - 11).toString() === 'super:right';
    return { out: packet(head(ok ? 0 : -115)), close: !ok };
  }
  if (op === 16) {
    const fromConfig = body.readBigInt64BE(body.length - 8);
    if (fromConfig !== 0x100000002n) return { out: packet(head(-103)) };
    return { out: packet(Buffer.concat([head(0), ustr(CONFIG), stat(0x100000003n, 0, false)])) };
  }
  if (op === 107) {
    const count = Buffer.from([0, 0, 0, 2]);
    return { out: packet(Buffer.concat([head(0), count, ustr('ip'), ustr('127.0.0.1'), ustr('super'), ustr('')])) };
  }
  return null;
}

/**
 * A server that answers getData of /a (data "hello"), ZNONODE for anything else, a multi with
 * one failed op, auth (OK only for digest "super:right", else AUTHFAILED and a close), reconfig
 * (OK only from version 0x100000002, else BADVERSION) and whoAmI; replies in 1-byte writes.
 * `bodies` keeps every request body (xid, op, record) for byte checks.
 */
function scripted(): Promise<{ port: number; close: () => void; seen: number[]; bodies: Buffer[] }> {
  const seen: number[] = [];
  const bodies: Buffer[] = [];
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    let connected = false;
    sock.on('data', (d) => {
      if (sock.writableEnded) return; // closed after AUTHFAILED: like ZooKeeper, read no more
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
          if (op !== 11) bodies.push(Buffer.from(body)); // pings come whenever the timer fires
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
          } else {
            const a = answer(op, body, head);
            out = a?.out ?? packet(head(0));
            if (a?.close) {
              sock.end(out);
              return;
            }
          }
        }
        for (const byte of out) sock.write(Buffer.from([byte]));
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, close: () => server.close(), seen, bodies })),
  );
}

type Scripted = Awaited<ReturnType<typeof scripted>>;

/** Run `body` with a session on a fresh scripted server; both are closed after, whatever happens. */
async function withScripted(body: (s: WireSession, srv: Scripted) => Promise<void>): Promise<void> {
  const srv = await scripted();
  const s = await WireSession.connect('127.0.0.1', srv.port, 5000);
  try {
    await body(s, srv);
  } finally {
    await s.close();
    srv.close();
  }
}

describe('zk/wire.ts WireSession', () => {
  it('matches pipelined replies cut into single bytes to their requests, reads data, stat and zxids, and maps errors to rc', () =>
    withScripted(async (s, srv) => {
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
    }));

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

describe('zk/wire.ts auth, reconfig and whoAmI', () => {
  it('sends an AuthPacket on xid -4 (type 100, auth type 0, scheme, buffer), matches the reply on xid -4, and names AUTHFAILED', () =>
    withScripted(async (s, srv) => {
      await s.addAuth('digest', Buffer.from('super:right'));
      const body = srv.bodies.at(-1) as Buffer;
      assert.deepEqual(body, Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 100, 0, 0, 0, 0]), ustr('digest'), ustr('super:right')]));
      assert.deepEqual(await s.whoAmI(), [
        { authScheme: 'ip', user: '127.0.0.1' },
        { authScheme: 'super', user: '' },
      ]);
      assert.deepEqual(srv.bodies.at(-1), Buffer.from([0, 0, 0, 1, 0, 0, 0, 107]), 'whoAmI: header only, no record');
      const [first, second] = await Promise.allSettled([s.addAuth('digest', Buffer.from('super:wrong')), s.addAuth('digest', Buffer.from('x'))]);
      assert.equal(second.status, 'rejected');
      assert.match((second as PromiseRejectedResult).reason.message, /xid -4 is in flight/);
      assert.equal(first.status, 'rejected');
      const e = (first as PromiseRejectedResult).reason;
      assert.equal(e.rc, -115);
      assert.match(e.message, /-115 \(AUTHFAILED\)/);
      await assert.rejects(s.getData('/a'), /closed|failed/, 'the server closed the connection after AUTHFAILED');
    }));

  it('sends a ReconfigRequest with null lists as length -1 and an int64 version, reads the config, its version and stat, and names BADVERSION', () =>
    withScripted(async (s, srv) => {
      const joiner = 'server.3=127.0.0.3:2888:3888:participant;127.0.0.3:2181';
      const r = await s.reconfig({ joining: joiner, fromConfig: 0x100000002n });
      const version = Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]);
      const minus1 = Buffer.from([0xff, 0xff, 0xff, 0xff]);
      assert.deepEqual((srv.bodies.at(-1) as Buffer).subarray(4), Buffer.concat([Buffer.from([0, 0, 0, 16]), ustr(joiner), minus1, minus1, version]));
      assert.equal(r.config, CONFIG);
      assert.equal(r.version, 0x100000003n);
      assert.equal(statZxid(r.stat, 'mzxid'), 0x100000004n);
      await s.reconfig({ leaving: '2', joining: null, fromConfig: 0x100000002n });
      assert.deepEqual((srv.bodies.at(-1) as Buffer).subarray(8), Buffer.concat([minus1, ustr('2'), minus1, version]));
      const stale = s.reconfig({ leaving: '2', fromConfig: -1n });
      await assert.rejects(stale, (e: Error & { rc: number }) => e.rc === -103 && /-103 \(BADVERSION\)/.test(e.message));
      assert.deepEqual((srv.bodies.at(-1) as Buffer).subarray(-8), Buffer.alloc(8, 0xff), '-1n: any version');
      const sent = srv.bodies.length;
      await assert.rejects(s.reconfig({ joining: joiner, newMembers: '', fromConfig: -1n }), /empty list is not absent/);
      assert.equal(srv.bodies.length, sent, 'an empty newMembers is never sent');
    }));

  it('names every reconfig and auth error code as KeeperException.Code does', () => {
    const want: [number, string][] = [
      [-123, 'RECONFIGDISABLED'],
      [-14, 'RECONFIGINPROGRESS'],
      [-103, 'BADVERSION'],
      [-13, 'NEWCONFIGNOQUORUM'],
      [-8, 'BADARGUMENTS'],
      [-102, 'NOAUTH'],
      [-6, 'UNIMPLEMENTED'],
      [-115, 'AUTHFAILED'],
    ];
    for (const [rc, name] of want) assert.equal(zkErrorText(rc), `ZooKeeper error ${rc} (${name})`);
    assert.equal(zkErrorText(-999), 'ZooKeeper error -999');
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
