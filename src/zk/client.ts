// Thin, runtime-checked wrapper over the `zookeeper` npm package (the official C client).
// The package's typings are partly wrong, so nothing here trusts them: it is loaded as an
// untyped module and every result is checked before use. Errors carry the ZooKeeper return
// code (rc) parsed from the library's "<rc> <text>" messages.
// Invariants: connect() settles before its deadline (and closes the handle on failure);
// close() is idempotent; no process-wide state.
import { formatHostPort } from '../plan/host.js';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/* eslint-disable @typescript-eslint/no-explicit-any */
type NativeLike = any;
let ZooKeeperCtor: NativeLike | undefined;

function lib(): NativeLike {
  ZooKeeperCtor ??= require('zookeeper');
  return ZooKeeperCtor;
}

/** The client connect string of some servers: "host:port,host:port". */
export function hostsConnectString(nodes: readonly { host: string }[], port: number): string {
  return nodes.map((n) => formatHostPort(n.host, port)).join(',');
}

export const ZNONODE = -101;
export const ZNODEEXISTS = -110;
export const ZNOTEMPTY = -111;
/** Connection loss, operation timeout, session expired: the server may or may not have applied it. */
const TRANSIENT_RCS = new Set([-4, -7, -112]);

/** Did this fail because the connection was lost (or never made), not because of the request? */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof ZkError)) return false;
  return e.rc === null ? e.message.startsWith('could not connect') : TRANSIENT_RCS.has(e.rc);
}

/**
 * Run idempotent client work (it opens and closes its own connection) again after a transient
 * failure, polling every `pollMs` until `deadlineMs` (epoch ms) passes; then the last error is
 * thrown. Anything else is thrown at once.
 */
export async function retryTransient<T>(
  work: () => Promise<T>,
  o: { deadlineMs: number; pollMs: number; onRetry: (e: ZkError, attempt: number) => void; stopped?: () => boolean },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (!isTransient(e) || Date.now() + o.pollMs > o.deadlineMs || o.stopped?.() === true) throw e;
      o.onRetry(e as ZkError, attempt);
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  }
}

export class ZkError extends Error {
  constructor(
    message: string,
    readonly rc: number | null,
  ) {
    super(message);
  }
}

export interface ZkStat {
  ephemeralOwner: string;
  numChildren: number;
  dataLength: number;
  mzxid: string;
}

function toZkError(e: unknown, what: string): ZkError {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /^(-?\d+)\s/.exec(msg);
  return new ZkError(`${what}: ${msg}`, m?.[1] !== undefined ? Number(m[1]) : null);
}

export interface ZkSessionEvents {
  onConnect?: () => void;
  onConnecting?: () => void;
  onClose?: (code: unknown) => void;
}

export class ZkClient {
  private closed = false;
  private constructor(private readonly zk: NativeLike) {}

  /** Connect to any server of `connectString`; rejects after `timeoutMs`. */
  static connect(connectString: string, timeoutMs: number, events: ZkSessionEvents = {}, sessionTimeoutMs = 10000): Promise<ZkClient> {
    const Z = lib();
    const zk = new Z({
      connect: connectString,
      timeout: sessionTimeoutMs,
      debug_level: Z.constants?.ZOO_LOG_LEVEL_ERROR ?? 1,
      host_order_deterministic: false,
    });
    return new Promise((resolve, reject) => {
      let settled = false;
      const client = new ZkClient(zk);
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        client.close();
        reject(new ZkError(`could not connect to ${connectString} within ${timeoutMs} ms`, null));
      }, timeoutMs);
      zk.on('connect', () => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(client);
        }
        events.onConnect?.();
      });
      zk.on('connecting', () => events.onConnecting?.());
      zk.on('close', (...args: unknown[]) => {
        client.closed = true;
        events.onClose?.(args[1] ?? args[0]);
      });
      try {
        zk.init({});
      } catch (e) {
        settled = true;
        clearTimeout(timer);
        reject(toZkError(e, `connect ${connectString}`));
      }
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async create(path: string, data: string | Buffer, ephemeral = false): Promise<string> {
    const Z = lib();
    const flags = ephemeral ? Z.constants.ZOO_EPHEMERAL : Z.constants.ZOO_PERSISTENT;
    try {
      const r: unknown = await this.zk.create(path, data, flags);
      return typeof r === 'string' ? r : path;
    } catch (e) {
      throw toZkError(e, `create ${path}`);
    }
  }

  /** Create `path` and its missing parents (persistent, empty); existing nodes are fine. */
  async mkdirp(path: string): Promise<void> {
    let cur = '';
    for (const part of path.split('/').filter(Boolean)) {
      cur += `/${part}`;
      try {
        await this.create(cur, '');
      } catch (e) {
        if (!(e instanceof ZkError && e.rc === ZNODEEXISTS)) throw e;
      }
    }
  }

  async exists(path: string): Promise<ZkStat | null> {
    try {
      const st: unknown = await this.zk.exists(path, false);
      return st && typeof st === 'object' ? (st as ZkStat) : null;
    } catch (e) {
      const err = toZkError(e, `exists ${path}`);
      if (err.rc === ZNONODE) return null;
      throw err;
    }
  }

  async getChildren(path: string): Promise<string[]> {
    try {
      const r: unknown = await this.zk.get_children(path, false);
      if (!Array.isArray(r)) throw new ZkError(`get_children ${path}: unexpected answer`, null);
      return r.map(String);
    } catch (e) {
      throw e instanceof ZkError ? e : toZkError(e, `get_children ${path}`);
    }
  }

  async get(path: string): Promise<{ stat: ZkStat; data: Buffer }> {
    try {
      const r: unknown = await this.zk.get(path, false);
      if (!Array.isArray(r) || r.length < 2) throw new ZkError(`get ${path}: unexpected answer`, null);
      const data = r[1];
      return { stat: r[0] as ZkStat, data: Buffer.isBuffer(data) ? data : Buffer.from(data == null ? '' : String(data)) };
    } catch (e) {
      throw e instanceof ZkError ? e : toZkError(e, `get ${path}`);
    }
  }

  async set(path: string, data: string | Buffer, version = -1): Promise<void> {
    try {
      await this.zk.set(path, data, version);
    } catch (e) {
      throw toZkError(e, `set ${path}`);
    }
  }

  /** Delete one node (any version). Only for nodes zkroll itself created. */
  async delete(path: string): Promise<void> {
    try {
      await this.zk.delete_(path, -1);
    } catch (e) {
      throw toZkError(e, `delete ${path}`);
    }
  }

  /** Make this server catch up with the leader before the next read (ZooKeeper's sync). */
  async sync(path: string): Promise<void> {
    try {
      await this.zk.sync(path);
    } catch (e) {
      throw toZkError(e, `sync ${path}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.zk.close();
    } catch {
      // already closed by the library (session expiry)
    }
  }
}
