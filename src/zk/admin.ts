// AdminServer (ZooKeeper 3.5+): the HTTP twin of the four-letter words. 3.5+ servers answer only
// `srvr` over the client port unless `4lw.commands.whitelist` says more, so `mntr` is read from
// http://<host>:<adminPort>/commands/monitor instead. A pure parser and one thin GET.
// Invariants: the parser never throws (odd input gives an empty map); the GET always settles
// before its deadline; keys are returned with mntr's `zk_` prefix so callers read one shape.
import http from 'node:http';

/** Parse the JSON of /commands/monitor into mntr's key/value shape (`zk_synced_followers` → "2"). */
export function parseAdminMonitor(body: string): Map<string, string> {
  const out = new Map<string, string>();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return out;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return out;
  const obj = json as Record<string, unknown>;
  // an answer of a ZooKeeper server's monitor command, not some other service on the port
  if ((obj.error !== undefined && obj.error !== null) || typeof obj.server_state !== 'string') return out;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'command' || k === 'error') continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.set(`zk_${k}`, String(v));
  }
  return out;
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
