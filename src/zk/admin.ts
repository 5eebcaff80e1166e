// AdminServer (ZooKeeper 3.5+): the HTTP twin of the four-letter words. 3.5+ servers answer only
// `srvr` over the client port unless `4lw.commands.whitelist` says more, so `mntr` is read from
// http://<host>:<adminPort>/commands/monitor instead, and `srvr` from /commands/srvr when a
// whitelist refuses even that. Pure parsers and one thin GET.
// Invariants: the parsers never throw (odd input gives an empty map / null); the GET always
// settles before its deadline; keys are returned with mntr's `zk_` prefix so callers read one
// shape; numbers keep every digit (read from the JSON text, not through a JS number) and come
// in one spelling (canonicalNumber).
import http from 'node:http';
import type { ServerMode, Srvr } from './fourlw.js';

/**
 * A number as Java prints it (`Long.toString`: "3", "-1"; `Double.toString`: "3.0", "1.6E7",
 * "1.0E-4") in one exact spelling: plain decimal, no exponent, no leading or trailing zeros
 * ("3", "16000000", "0.0001"). Exact (digit arithmetic, no rounding through a JS number), so a
 * 64-bit counter keeps every digit. null when the text is not such a number (NaN, Infinity, hex,
 * versions such as "3.8.0", exponents beyond ±400).
 */
export function canonicalNumber(text: string): string | null {
  const m = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d{1,3}))?$/.exec(text.trim());
  if (m === null) return null;
  const sign = m[1] === '-' ? '-' : '';
  const frac = m[3] ?? '';
  let digits = (m[2] ?? '') + frac;
  let point = (m[2] ?? '').length + Number(m[4] ?? 0); // digits before the decimal point
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  const int = digits.slice(0, point).replace(/^0+/, '') || '0';
  const dec = digits.slice(point).replace(/0+$/, '');
  const out = dec === '' ? int : `${int}.${dec}`;
  return out === '0' ? '0' : sign + out;
}

function parseObject(body: string): Record<string, unknown> | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  return json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : null;
}

/**
 * The number a JSON member holds, as written in `body` (Jackson prints a Java long with every
 * digit and a double as `1.6E7`; JSON.parse would round a long above 2^53), canonical. The first
 * `"key" : <number>` in the text whose value equals `parsed` (so a same-named member of a nested
 * object is not taken instead); else `parsed` itself.
 */
function numberText(body: string, key: string, parsed: number): string {
  const re = new RegExp(`"${key.replace(/[^A-Za-z0-9_]/g, '\\$&')}"\\s*:\\s*(-?[0-9][0-9.eE+-]*)`, 'g');
  for (const m of body.matchAll(re)) {
    const c = canonicalNumber(m[1] ?? '');
    if (c !== null && Number(c) === parsed) return c;
  }
  return canonicalNumber(String(parsed)) ?? String(parsed);
}

/**
 * Parse the JSON of /commands/monitor into mntr's key/value shape (`zk_synced_followers` → "2");
 * numbers in every spelling (`2`, `2.0`, `1.6E7`) come back canonical ("2", "2", "16000000").
 * Members are those of admin/Commands.java MonitorCommand (ZooKeeperServer.dumpMonitorValues
 * and the metrics provider's dump). Empty when the body is not a monitor answer of a ZooKeeper
 * server (an `error`, no `server_state`, another service's JSON).
 */
export function parseAdminMonitor(body: string): Map<string, string> {
  const out = new Map<string, string>();
  const obj = parseObject(body);
  // an answer of a ZooKeeper server's monitor command, not some other service on the port
  if (obj === null || (obj.error !== undefined && obj.error !== null) || typeof obj.server_state !== 'string') return out;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'command' || k === 'error') continue;
    if (typeof v === 'number') out.set(`zk_${k}`, numberText(body, k, v));
    else if (typeof v === 'string') out.set(`zk_${k}`, canonicalNumber(v) ?? v);
    else if (typeof v === 'boolean') out.set(`zk_${k}`, String(v));
  }
  return out;
}

/** The `error` of an AdminServer answer (CommandResponse KEY_ERROR), or null when there is none or the body is not one. */
export function adminError(body: string): string | null {
  const e = parseObject(body)?.error;
  return typeof e === 'string' ? e : null;
}

const MODES: ServerMode[] = ['leader', 'follower', 'observer', 'standalone', 'read-only'];

/**
 * Parse the JSON of /commands/srvr (or /commands/stat, the same plus `connections`) into srvr's
 * shape. Members, from admin/Commands.java SrvrCommand.runGet: `version`
 * (Version.getFullVersion(), "3.8.0-<git>, built on …"), `read_only`, `node_count`, and
 * `server_stats` — ServerStats serialized by Jackson with SNAKE_CASE names (JsonOutputter):
 * `server_state` (getServerState: "leader", "follower", "observer", "standalone",
 * "read-only"), `last_processed_zxid` (a decimal long), `num_alive_client_connections`,
 * `outstanding_requests`. null when the body is not such an answer (an `error` such as "This
 * ZooKeeper instance is not currently serving requests", an unknown command, another service).
 */
export function parseAdminSrvr(body: string): Srvr | null {
  const obj = parseObject(body);
  if (obj === null || (obj.error !== undefined && obj.error !== null)) return null;
  const stats = obj.server_stats;
  if (stats === null || typeof stats !== 'object' || Array.isArray(stats)) return null;
  const st = stats as Record<string, unknown>;
  if (typeof st.server_state !== 'string' || typeof obj.version !== 'string') return null;
  const int = (v: unknown, key: string): number | null => {
    if (typeof v !== 'number') return null;
    const c = numberText(body, key, v);
    return /^-?\d+$/.test(c) ? Number(c) : null;
  };
  const zxidText = typeof st.last_processed_zxid === 'number' ? numberText(body, 'last_processed_zxid', st.last_processed_zxid) : null;
  const state = st.server_state.toLowerCase();
  return {
    version: obj.version.split(/[-,\s]/)[0] ?? '',
    mode: MODES.find((m) => m === state) ?? 'unknown',
    zxid: zxidText !== null && /^\d+$/.test(zxidText) ? BigInt(zxidText) : null,
    nodeCount: int(obj.node_count, 'node_count'),
    connections: int(st.num_alive_client_connections, 'num_alive_client_connections'),
    outstanding: int(st.outstanding_requests, 'outstanding_requests'),
  };
}

/** GET /commands/<command> of one server's AdminServer; the body as text (HTTP 200 only). */
export function adminCommand(host: string, port: number, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const where = `AdminServer ${host}:${port}`;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${where}: no answer to '${command}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const req = http.get({ host, port, path: `/commands/${encodeURIComponent(command)}`, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      res.on('end', () => {
        clearTimeout(timer);
        if (res.statusCode !== 200) reject(new Error(`${where}: '${command}' answered HTTP ${res.statusCode}`));
        else resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${where}: ${e.message}`));
    });
  });
}
