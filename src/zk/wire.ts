// A ZooKeeper client session spoken directly over TCP, for bulk work with many requests in
// flight on one connection: the consistency walk (verify) reads a million znodes per server and
// the lab loads them. The C client (zk/client.ts) hops threads per request (about 20 000
// requests/s measured against a 3.4.13 server); this one writes many requests per socket write
// and parses replies in place (about 60 000-78 000/s on the same server). Everything else uses
// zk/client.ts.
// Protocol (zookeeper-jute/src/main/resources/zookeeper.jute and ClientCnxn.java): every
// packet is a 4-byte big-endian length then the body. ConnectRequest {int protocolVersion,
// long lastZxidSeen, int timeOut, long sessionId, buffer passwd}; ConnectResponse {int
// protocolVersion, int timeOut, long sessionId, buffer passwd}; a request is RequestHeader {int
// xid, int type} + the record; a reply is ReplyHeader {int xid, long zxid, int err} + the
// record when err == 0. Stat is 68 bytes: czxid, mzxid, ctime, mtime (longs), version,
// cversion, aversion (ints), ephemeralOwner (long), dataLength, numChildren (ints), pzxid
// (long). OpCodes: create 1, getData 4, setData 5, getChildren 8, sync 9, ping 11 (xid -2), multi 14 (since
// 3.4.0, ZOOKEEPER-965), closeSession -11. A multi is MultiHeader {int type, bool done, int err}
// + record per op, ended by {-1, true, -1}; its reply lists a header + result per op (type -1:
// ErrorResponse {int err}) until a done header (MultiResponse.java); one failed op fails all. Watch notifications (xid -1) are never asked for.
// Membership (3.5+) and auth, after docs/design-reconfig-and-clone.md §(a), read at tag
// release-3.9.3: auth 100 (ZooDefs.java L82) sends AuthPacket {int type, ustring scheme, buffer
// auth} (zookeeper.jute L100–104) with xid -4 (ClientCnxn.AUTHPACKET_XID, L127); its reply
// (ReplyHeader, no body) comes back on xid -4 (ZooKeeperServer.java L1698–1738), and after
// AUTHFAILED the server closes the connection. reconfig 16 (ZooDefs.java L68) sends
// ReconfigRequest {ustring joiningServers, ustring leavingServers, ustring newMembers, long
// curConfigId} (zookeeper.jute L121–126) and gets a GetDataResponse {buffer data, Stat stat}
// (L224–227; FinalRequestProcessor.java L328–335). whoAmI 107 (ZooDefs.java L96, 3.7.0+) sends no
// record (ZooKeeper.java L3112–3118) and gets WhoAmIResponse {vector<ClientInfo>} (zookeeper.jute
// L259–261) with ClientInfo {ustring authScheme, ustring user} (L55–58). A null ustring is
// length -1 (jute BinaryOutputArchive.writeString, L113–117).
// Invariants: replies are matched by xid; a closed or broken connection rejects every pending
// request (nothing waits forever); a request is never retried here; pings keep an idle session;
// at most one auth is in flight (its reply is matched on xid -4); a reconfig never sends "" for
// an absent list (an empty newMembers would be a bulk reconfig to an empty membership).
import net from 'node:net';
import { ZkError } from './client.js';
import { parseDynamicConfig } from './dynconfig.js';

const OP = {
  create: 1,
  getData: 4,
  setData: 5,
  getChildren: 8,
  sync: 9,
  ping: 11,
  multi: 14,
  reconfig: 16,
  auth: 100,
  whoAmI: 107,
  closeSession: -11,
} as const;
const PING_XID = -2;
const AUTH_XID = -4;

/**
 * Names of the error codes zkroll meets (KeeperException.Code in KeeperException.java, tag
 * release-3.9.3: the int constants at L217–318, RECONFIGDISABLED(-123) at L407).
 */
export const ZK_ERROR_NAMES: ReadonlyMap<number, string> = new Map([
  [-4, 'CONNECTIONLOSS'],
  [-6, 'UNIMPLEMENTED'],
  [-7, 'OPERATIONTIMEOUT'],
  [-8, 'BADARGUMENTS'],
  [-13, 'NEWCONFIGNOQUORUM'],
  [-14, 'RECONFIGINPROGRESS'],
  [-101, 'NONODE'],
  [-102, 'NOAUTH'],
  [-103, 'BADVERSION'],
  [-110, 'NODEEXISTS'],
  [-112, 'SESSIONEXPIRED'],
  [-115, 'AUTHFAILED'],
  [-123, 'RECONFIGDISABLED'],
]);

/** "ZooKeeper error -103 (BADVERSION)"; the bare number for a code not named above. */
export function zkErrorText(err: number): string {
  const name = ZK_ERROR_NAMES.get(err);
  return name === undefined ? `ZooKeeper error ${err}` : `ZooKeeper error ${err} (${name})`;
}

/** world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE). */
const OPEN_ACL = Buffer.concat([int32(1), int32(31), ustring('world'), ustring('anyone')]);

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function multiHeader(type: number, done: boolean, err: number): Buffer {
  const b = Buffer.alloc(9);
  b.writeInt32BE(type, 0);
  b[4] = done ? 1 : 0;
  b.writeInt32BE(err, 5);
  return b;
}

/** {ustring path, bool watch=false}: the record of getData and getChildren. */
function pathRecord(path: string): Buffer {
  const n = Buffer.byteLength(path);
  const b = Buffer.allocUnsafe(5 + n);
  b.writeInt32BE(n, 0);
  b.write(path, 4);
  b[4 + n] = 0;
  return b;
}

function ustring(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([int32(b.length), b]);
}

/** A ustring that may be null: length -1 and no bytes (BinaryOutputArchive.writeString). */
function nullableUstring(s: string | null): Buffer {
  return s === null ? int32(-1) : ustring(s);
}

function int64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
}

/** A ustring at `at` of a reply: its text ('' for a null one, length -1) and where the next field starts. */
function readUstring(b: Buffer, at: number): { text: string; next: number } {
  const len = b.readInt32BE(at);
  if (len < 0) return { text: '', next: at + 4 };
  return { text: b.toString('utf8', at + 4, at + 4 + len), next: at + 4 + len };
}

/** The parts of a Stat this client reads (no BigInt until asked: a walk reads a million of them). */
export interface WireStat {
  version: number;
  /** ephemeralOwner != 0. */
  ephemeral: boolean;
  dataLength: number;
  numChildren: number;
  /** The reply holding the Stat and where it starts (read by statZxid). */
  raw: Buffer;
  at: number;
}

function readStat(b: Buffer, at: number): WireStat {
  return {
    version: b.readInt32BE(at + 32),
    ephemeral: isSessionOwner(b.readUInt32BE(at + 44), b.readUInt32BE(at + 48)),
    dataLength: b.readInt32BE(at + 52),
    numChildren: b.readInt32BE(at + 56),
    raw: b,
    at,
  };
}

/**
 * Is an ephemeralOwner (high, low 32 bits) a session, i.e. the node ephemeral? 0 is a
 * persistent node; since 3.5.3/3.6 (EphemeralType.java) Long.MIN_VALUE marks a container node
 * and a high byte of 0xff a TTL node: both persistent as far as a carry-over or a digest goes.
 */
export function isSessionOwner(high: number, low: number): boolean {
  if (high === 0 && low === 0) return false;
  if (high === 0x80000000 && low === 0) return false;
  return high >>> 24 !== 0xff;
}

/** czxid (created), mzxid (data last changed) or pzxid (children last changed) of a Stat. */
export function statZxid(s: WireStat, which: 'czxid' | 'mzxid' | 'pzxid'): bigint {
  return s.raw.readBigInt64BE(s.at + (which === 'czxid' ? 0 : which === 'mzxid' ? 8 : 60));
}

/** The largest reply accepted (bytes): jute.maxbuffer's default is 1 MiB - 1; a getChildren of a huge directory can exceed it only if the server's own limit was raised. */
const MAX_PACKET = 256 * 1024 * 1024;

interface Pending {
  resolve: (body: Buffer) => void;
  reject: (e: Error) => void;
  what: string;
  sentAt: number;
}

/** A request unanswered this long (ms) ends the session: the server is alive but not answering (a dead request thread). */
export const REQUEST_TIMEOUT_MS = 30000;

export class WireSession {
  private readonly pending = new Map<number, Pending>();
  private nextXid = 1;
  private out: Buffer[] = [];
  private flushQueued = false;
  private inbuf: Buffer = Buffer.alloc(0);
  private dead: Error | null = null;
  private ping: NodeJS.Timeout | undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly where: string,
  ) {}

  /**
   * Open a session on one server ("host", port) within `timeoutMs`; the session timeout asked
   * for is `sessionMs` (the server bounds it by its min/max session timeout).
   * Throws ZkError (rc null) when the server cannot be reached or refuses the session.
   */
  static connect(host: string, port: number, timeoutMs: number, sessionMs = 30000): Promise<WireSession> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const where = `${host}:${port}`;
      const fail = (why: string) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ZkError(`could not connect to ${where}: ${why}`, null));
      };
      const timer = setTimeout(() => fail(`no session within ${timeoutMs} ms`), timeoutMs);
      socket.once('error', (e) => fail(e.message));
      // a 3.4 server that is not running closes at once: no need to wait out the timeout
      socket.once('close', () => fail('the server closed the connection (it does not serve)'));
      socket.once('connect', () => {
        const req = Buffer.alloc(44);
        req.writeInt32BE(sessionMs, 12);
        req.writeInt32BE(16, 24);
        socket.write(Buffer.concat([int32(req.length), req]));
      });
      let got: Buffer = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length < 4 || got.length < 4 + got.readInt32BE(0)) return;
        const len = got.readInt32BE(0);
        const body = got.subarray(4, 4 + len);
        socket.off('data', onData);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        clearTimeout(timer);
        const negotiated = len >= 8 ? body.readInt32BE(4) : 0;
        if (negotiated <= 0) return fail('the server refused the session (timeout 0: it is not serving)');
        const s = new WireSession(socket, where);
        s.start(negotiated, got.subarray(4 + len));
        resolve(s);
      };
      socket.on('data', onData);
    });
  }

  private start(sessionMs: number, rest: Buffer): void {
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (e) => this.kill(new ZkError(`connection to ${this.where} failed: ${e.message}`, -4)));
    this.socket.on('close', () => this.kill(new ZkError(`connection to ${this.where} closed`, -4)));
    this.ping = setInterval(() => this.tick(), Math.max(500, Math.floor(sessionMs / 3)));
    this.ping.unref();
    if (rest.length > 0) this.onData(rest);
  }

  /** A ping; and the end of the session when the oldest request has waited past REQUEST_TIMEOUT_MS. */
  private tick(): void {
    const oldest = this.pending.values().next().value;
    if (oldest !== undefined && Date.now() - oldest.sentAt > REQUEST_TIMEOUT_MS)
      return this.kill(new ZkError(`${this.where} answered nothing for ${REQUEST_TIMEOUT_MS} ms`, -7));
    this.send(PING_XID, OP.ping, Buffer.alloc(0));
  }

  private kill(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    clearInterval(this.ping);
    for (const p of this.pending.values()) p.reject(new ZkError(`${p.what}: ${e.message}`, (e as ZkError).rc ?? -4));
    this.pending.clear();
    this.socket.destroy();
  }

  private send(xid: number, op: number, record: Buffer): void {
    const head = Buffer.allocUnsafe(12);
    head.writeInt32BE(8 + record.length, 0);
    head.writeInt32BE(xid, 4);
    head.writeInt32BE(op, 8);
    this.out.push(head, record);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        const all = Buffer.concat(this.out);
        this.out = [];
        if (!this.dead) this.socket.write(all);
      });
    }
  }

  private request(op: number, record: Buffer, what: string): Promise<Buffer> {
    return this.requestAt(this.nextXid++, op, record, what);
  }

  /** Send under a given xid: a fresh one, or AUTH_XID, which ZooKeeper answers on the same xid. */
  private requestAt(xid: number, op: number, record: Buffer, what: string): Promise<Buffer> {
    if (this.dead) return Promise.reject(new ZkError(`${what}: ${this.dead.message}`, -4));
    if (this.pending.has(xid)) return Promise.reject(new ZkError(`${what}: another request with xid ${xid} is in flight`, null));
    return new Promise((resolve, reject) => {
      this.pending.set(xid, { resolve, reject, what, sentAt: Date.now() });
      this.send(xid, op, record);
    });
  }

  private onData(d: Buffer): void {
    this.inbuf = this.inbuf.length > 0 ? Buffer.concat([this.inbuf, d]) : d;
    let at = 0;
    while (this.inbuf.length - at >= 4) {
      const len = this.inbuf.readInt32BE(at);
      if (len < 16 || len > MAX_PACKET) return this.kill(new ZkError(`${this.where} sent a packet of ${len} bytes: not a ZooKeeper reply`, -4));
      if (this.inbuf.length - at - 4 < len) break;
      this.reply(this.inbuf.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
    this.inbuf = at === this.inbuf.length ? Buffer.alloc(0) : this.inbuf.subarray(at);
  }

  private reply(body: Buffer): void {
    const xid = body.readInt32BE(0);
    const p = this.pending.get(xid);
    if (p === undefined) return; // a ping's reply or a notification
    this.pending.delete(xid);
    const err = body.readInt32BE(12);
    if (err !== 0) p.reject(new ZkError(`${p.what}: ${zkErrorText(err)}`, err));
    else p.resolve(body.subarray(16));
  }

  /** The node's data and stat; ZkError rc -101 (ZNONODE) when it does not exist. */
  async getData(path: string): Promise<{ data: Buffer; stat: WireStat }> {
    const b = await this.request(OP.getData, pathRecord(path), path);
    const n = b.readInt32BE(0);
    const dataLen = Math.max(0, n);
    return { data: b.subarray(4, 4 + dataLen), stat: readStat(b, 4 + dataLen) };
  }

  /** The names of the node's children, in the server's order. */
  async getChildren(path: string): Promise<string[]> {
    const b = await this.request(OP.getChildren, pathRecord(path), path);
    const count = b.readInt32BE(0);
    const names: string[] = [];
    let at = 4;
    for (let i = 0; i < count; i++) {
      const len = b.readInt32BE(at);
      names.push(b.toString('utf8', at + 4, at + 4 + len));
      at += 4 + len;
    }
    return names;
  }

  /** A persistent node with an open ACL; ZkError rc -110 (ZNODEEXISTS) when it is there. */
  async create(path: string, data: Buffer): Promise<void> {
    await this.request(OP.create, Buffer.concat([ustring(path), int32(data.length), data, OPEN_ACL, int32(0)]), `create ${path}`);
  }

  /**
   * Create persistent nodes with open ACLs in one transaction (multi): true when all were
   * created, false when the transaction failed as a whole (a node exists already, a parent is
   * missing): nothing of it was applied then.
   */
  async createAll(nodes: { path: string; data: Buffer }[]): Promise<boolean> {
    const parts: Buffer[] = [];
    for (const n of nodes) parts.push(multiHeader(OP.create, false, -1), ustring(n.path), int32(n.data.length), n.data, OPEN_ACL, int32(0));
    parts.push(multiHeader(-1, true, -1));
    const b = await this.request(OP.multi, Buffer.concat(parts), `create ${nodes.length} nodes from ${nodes[0]?.path ?? '-'}`);
    let at = 0;
    for (;;) {
      const type = b.readInt32BE(at);
      const done = b[at + 4] !== 0;
      at += 9;
      if (done) return true;
      if (type === -1) return false;
      if (type !== OP.create) throw new ZkError(`multi: unexpected result type ${type}`, null);
      at += 4 + b.readInt32BE(at);
    }
  }

  /** Set a node's data whatever its version; ZkError rc -101 when it does not exist. */
  async setData(path: string, data: Buffer): Promise<void> {
    await this.request(OP.setData, Buffer.concat([ustring(path), int32(data.length), data, int32(-1)]), `set ${path}`);
  }

  /** Catch this server up with the leader (ZooKeeper.sync) before reading. */
  async sync(path = '/'): Promise<void> {
    await this.request(OP.sync, ustring(path), `sync ${path}`);
  }

  /**
   * Add credentials to this connection (ZooKeeper.addAuthInfo), e.g. scheme "digest" with
   * auth = UTF-8 "user:password". Resolves when the server accepts; rejects with ZkError rc -115
   * (AUTHFAILED) when it refuses, after which the server closes the connection (so every later
   * request fails, rc -4). One auth at a time on a session. The credentials last as long as the
   * connection: these sessions never reconnect.
   * Beware: success proves little. DigestAuthenticationProvider accepts ANY password for
   * "digest" (it only adds the id user:base64(sha1(user:password))); only the superDigest's
   * password also adds the "super" id. Prove super with whoAmI (3.7+), not with this
   * (docs/design-reconfig-and-clone.md §(a); server/auth/DigestAuthenticationProvider.java
   * L129–138 and L178–190 at release-3.9.3: AUTHFAILED only when no id could be computed).
   */
  async addAuth(scheme: string, auth: Buffer): Promise<void> {
    const record = Buffer.concat([int32(0), ustring(scheme), int32(auth.length), auth]);
    await this.requestAt(AUTH_XID, OP.auth, record, `auth ${scheme}`);
  }

  /**
   * Change the ensemble's membership (ZooKeeperAdmin.reconfigure, 3.5+), sent to any member and
   * forwarded to the leader. `joining`: comma-joined `server.N=<spec>` entries (dynconfig.ts
   * serverSpec); `leaving`: comma-joined myids; `newMembers`: a whole new membership (a bulk,
   * non-incremental reconfig). Absent or null lists go out as null (length -1); "" is refused
   * here, never sent. `fromConfig`: the config version this change is based on (a
   * compare-and-set; -1n for any).
   * Returns the connected server's config after the change: its text, its version (the
   * `version=` line, hex) and the stat of /zookeeper/config.
   * ZkError rc: -123 RECONFIGDISABLED, -6 UNIMPLEMENTED (standalone), -14 RECONFIGINPROGRESS,
   * -103 BADVERSION (fromConfig is stale), -8 BADARGUMENTS, -13 NEWCONFIGNOQUORUM (the new config
   * has no synced quorum), -102 NOAUTH (checked last, PrepRequestProcessor.java L400–548); a
   * failed reconfig still uses a zxid (an error txn).
   */
  async reconfig(req: {
    joining?: string | null;
    leaving?: string | null;
    newMembers?: string | null;
    fromConfig: bigint;
  }): Promise<{ config: string; version: bigint; stat: WireStat }> {
    const lists = [req.joining ?? null, req.leaving ?? null, req.newMembers ?? null];
    if (lists.some((l) => l === ''))
      throw new ZkError('reconfig: an empty list is not absent (pass null; an empty newMembers is a bulk reconfig to nothing)', null);
    const record = Buffer.concat([...lists.map(nullableUstring), int64(req.fromConfig)]);
    const b = await this.request(OP.reconfig, record, `reconfig from version ${req.fromConfig.toString(16)}`);
    const dataLen = Math.max(0, b.readInt32BE(0));
    const config = b.toString('utf8', 4, 4 + dataLen);
    const version = parseDynamicConfig(config).version;
    if (version === null) throw new ZkError(`reconfig: the reply's config has no version line: ${JSON.stringify(config)}`, null);
    return { config, version, stat: readStat(b, 4 + dataLen) };
  }

  /**
   * Who this connection is authenticated as (ZooKeeper.whoAmI, 3.7.0+): one entry per auth id,
   * e.g. {authScheme: "ip", user: "127.0.0.1"}, and {authScheme: "super", user: ""} for a super
   * session. An older server does not know opcode 107 (it answers an error or drops the
   * connection: a ZkError either way).
   */
  async whoAmI(): Promise<{ authScheme: string; user: string }[]> {
    const b = await this.request(OP.whoAmI, Buffer.alloc(0), 'whoAmI');
    const count = b.readInt32BE(0);
    const out: { authScheme: string; user: string }[] = [];
    let at = 4;
    for (let i = 0; i < count; i++) {
      const scheme = readUstring(b, at);
      const user = readUstring(b, scheme.next);
      out.push({ authScheme: scheme.text, user: user.text });
      at = user.next;
    }
    return out;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** End the session (closeSession, then the socket); idempotent. */
  async close(): Promise<void> {
    if (this.dead) return;
    await Promise.race([this.request(OP.closeSession, Buffer.alloc(0), 'close').catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.kill(new ZkError('session closed', -4));
  }
}
