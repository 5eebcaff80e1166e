// Four-letter words: pure parsers for `srvr`/`stat` and `mntr` output, plus one thin I/O
// function that sends a word over TCP and returns the raw text.
// Invariants: parsers never throw on odd input (they return what they could read); zxids are
// BigInt (they are 64-bit and lose precision as JS numbers above 2^53); the I/O function
// always settles before its deadline.
import net from 'node:net';

export type ServerMode = 'leader' | 'follower' | 'observer' | 'standalone' | 'read-only' | 'unknown';

export interface Srvr {
  version: string;
  mode: ServerMode;
  zxid: bigint | null;
  nodeCount: number | null;
  connections: number | null;
  outstanding: number | null;
}

/** Parse `srvr` (or `stat`) output. Returns null when the text is not a srvr answer at all. */
export function parseSrvr(text: string): Srvr | null {
  if (!/Zookeeper version:/i.test(text)) return null;
  const field = (name: string): string | undefined => {
    const m = new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(text);
    return m?.[1]?.trim();
  };
  const version = (field('Zookeeper version') ?? '').split(/[-,\s]/)[0] ?? '';
  const modeText = (field('Mode') ?? '').toLowerCase();
  const modes: ServerMode[] = ['leader', 'follower', 'observer', 'standalone', 'read-only'];
  const mode = modes.find((m) => modeText === m) ?? 'unknown';
  return {
    version,
    mode,
    zxid: parseZxid(field('Zxid')),
    nodeCount: intOrNull(field('Node count')),
    connections: intOrNull(field('Connections')),
    outstanding: intOrNull(field('Outstanding')),
  };
}

/** Parse `mntr` output (tab-separated key/value lines) into a map of raw strings. */
export function parseMntr(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(zk_[A-Za-z0-9_.-]+)\s+(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], m[2].trim());
  }
  return out;
}

/** Does a four-letter-word answer say the word is not whitelisted (3.5+ answer only `srvr` by default)? */
export function notWhitelisted(text: string): boolean {
  return /is not executed because it is not in the whitelist/.test(text);
}

/** A zxid as printed by ZooKeeper ("0x100000002" or decimal) as BigInt; null if absent/garbled. */
export function parseZxid(text: string | undefined): bigint | null {
  if (text === undefined) return null;
  const t = text.trim();
  if (/^0x[0-9a-f]+$/i.test(t) || /^[0-9]+$/.test(t)) return BigInt(t);
  return null;
}

function intOrNull(text: string | undefined): number | null {
  if (text === undefined || !/^-?\d+$/.test(text)) return null;
  return Number(text);
}

/** Send one four-letter word and read the answer until the server closes. */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${host}:${port}: no answer to '${word}' within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.end(word));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** `srvr` against one server; null when it is down, not answering or not serving. */
export async function probeSrvr(host: string, port: number, timeoutMs = 2000): Promise<Srvr | null> {
  try {
    return parseSrvr(await fourLetterWord(host, port, 'srvr', timeoutMs));
  } catch {
    return null;
  }
}

/** True when something accepts TCP connections at host:port. */
export function tcpOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.on('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}
