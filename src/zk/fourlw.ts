// Four-letter words: pure parsers for `srvr`/`stat` and `mntr` output, one thin I/O function
// that sends a word over TCP and returns the raw text, and the server probe that tells a word
// refused by `4lw.commands.whitelist` from a server that does not serve.
// Invariants: parsers never throw on odd input (they return what they could read); zxids are
// BigInt (they are 64-bit and lose precision as JS numbers above 2^53); metric values that are
// numbers come back in one spelling (`3.0` and `3` alike read "3"); the I/O functions always
// settle before their deadline; a probe's null means "does not serve", never "refused".
import net from 'node:net';
import { adminCommand, adminError, canonicalNumber, parseAdminSrvr } from './admin.js';

export { canonicalNumber };

export type ServerMode = 'leader' | 'follower' | 'observer' | 'standalone' | 'read-only' | 'unknown';

/** Where a server's `srvr` facts were read: the word itself, `stat` (same fields plus client lines), or the AdminServer's `srvr` command. */
export type SrvrVia = 'srvr' | 'stat' | 'admin';

export interface Srvr {
  version: string;
  mode: ServerMode;
  zxid: bigint | null;
  nodeCount: number | null;
  connections: number | null;
  outstanding: number | null;
  /** Which source answered (set by probeSrvr/readSrvr; absent on a bare parse). */
  via?: SrvrVia;
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

/**
 * Parse `mntr` output (tab-separated key/value lines) into a map of strings. A value that is a
 * number, in any spelling a server prints (`3`, `3.0`, `1.6E7`, `-1`), is given in one spelling
 * (canonicalNumber: "3", "3", "16000000", "-1"); other values (versions, states) stay as printed.
 */
export function parseMntr(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(zk_[A-Za-z0-9_.-]+)\s+(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) {
      const v = m[2].trim();
      out.set(m[1], canonicalNumber(v) ?? v);
    }
  }
  return out;
}

/** A metric value (mntr or AdminServer monitor) as a JS number, whatever its spelling; undefined when absent or not a number. */
export function metricNumber(values: Map<string, string>, key: string): number | undefined {
  const v = values.get(key);
  const c = v === undefined ? null : canonicalNumber(v);
  return c === null ? undefined : Number(c);
}

/**
 * Does a four-letter-word answer say the word is not whitelisted? The text is
 * `<word> is not executed because it is not in the whitelist.` (ZooKeeper NIOServerCnxn and
 * NettyServerCnxn checkFourLetterWord, ZOOKEEPER-2693, 3.4.10+/3.5.3+; the whitelist check runs
 * before the word, so a refusal says nothing about whether the server serves).
 */
export function notWhitelisted(text: string): boolean {
  return /is not executed because it is not in the whitelist/.test(text);
}

/**
 * Does an answer say the JVM is up but its ZooKeeperServer is not running (no quorum, loading
 * data)? ServerCnxn.ZK_NOT_SERVING / the AdminServer's error for a command that needs a server:
 * "This ZooKeeper instance is not currently serving requests".
 */
export function notServing(text: string): boolean {
  return /not currently serving requests/.test(text);
}

/** A zxid as printed by ZooKeeper ("0x100000002" or decimal) as BigInt; null if absent/garbled. */
export function parseZxid(text: string | undefined): bigint | null {
  if (text === undefined) return null;
  const t = text.trim();
  if (/^0x[0-9a-f]+$/i.test(t) || /^[0-9]+$/.test(t)) return BigInt(t);
  return null;
}

function intOrNull(text: string | undefined): number | null {
  const c = text === undefined ? null : canonicalNumber(text);
  if (c === null || !/^-?\d+$/.test(c)) return null;
  return Number(c);
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

/** What one server says to a srvr probe: serving (and through which source), not serving, or refused everywhere. */
export type SrvrRead =
  | { state: 'serving'; srvr: Srvr }
  /** Down, not answering, or up without a running ZooKeeperServer: `why` says which. */
  | { state: 'not-serving'; why: string }
  /** The port accepts connections and refuses srvr, but no other source answered: serving is unknown. */
  | { state: 'refused'; why: string };

/** Options of readSrvr/probeSrvr. */
export interface SrvrOptions {
  /** The AdminServer's port (3.5+, `admin.serverPort`, default 8080): asked when srvr and stat are refused. */
  adminPort?: number;
}

const REFUSED_HINT = 'srvr refused by the whitelist and no other source answered (add srvr to 4lw.commands.whitelist or enable the AdminServer)';

/**
 * Thrown by probeSrvr when a server refuses `srvr` (4lw.commands.whitelist) and neither `stat`
 * nor the AdminServer answered: it runs (its client port answers) but whether it serves is
 * unknown. Gates turn the message into their reason; it is never "not serving".
 */
export class SrvrRefused extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
    /** What each source answered, `; `-separated. */
    readonly tried: string,
  ) {
    super(`${host}:${port}: ${REFUSED_HINT}: ${tried}`);
  }
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const shortly = (text: string) => JSON.stringify(text.trim().slice(0, 80));

/**
 * A server's srvr facts from the first source that answers: the `srvr` word; when it is refused
 * by 4lw.commands.whitelist, the `stat` word (the same fields plus the client lines: ZooKeeper
 * command/StatCommand); when that is refused too, the AdminServer's `srvr` command
 * (http://host:adminPort/commands/srvr, admin/Commands.java SrvrCommand), if `opts.adminPort`.
 * A server that refuses a word is up, so only a source that answers decides "not serving".
 * Each source gets `timeoutMs` (ms). Never throws.
 */
export async function readSrvr(host: string, port: number, timeoutMs = 2000, opts: SrvrOptions = {}): Promise<SrvrRead> {
  const tried: string[] = [];
  for (const word of ['srvr', 'stat'] as const) {
    let text: string;
    try {
      text = await fourLetterWord(host, port, word, timeoutMs);
    } catch (e) {
      // the first word decides "down"; after a refusal the server was up a moment ago
      if (word === 'srvr') return { state: 'not-serving', why: errText(e) };
      tried.push(`'${word}': ${errText(e)}`);
      continue;
    }
    const s = parseSrvr(text);
    if (s !== null) return { state: 'serving', srvr: { ...s, via: word } };
    if (!notWhitelisted(text)) {
      if (word === 'srvr' || notServing(text)) return { state: 'not-serving', why: `'${word}' on ${host}:${port} answered ${shortly(text)}` };
      tried.push(`'${word}' answered ${shortly(text)}`);
      continue;
    }
    tried.push(`'${word}' is not in 4lw.commands.whitelist`);
  }
  if (opts.adminPort === undefined) tried.push('no AdminServer port given');
  else {
    try {
      const body = await adminCommand(host, opts.adminPort, 'srvr', timeoutMs);
      const s = parseAdminSrvr(body);
      if (s !== null) return { state: 'serving', srvr: { ...s, via: 'admin' } };
      const error = adminError(body);
      if (error !== null && notServing(error)) return { state: 'not-serving', why: `AdminServer ${host}:${opts.adminPort}: ${error}` };
      tried.push(`AdminServer ${host}:${opts.adminPort} answered ${error ?? shortly(body)}`);
    } catch (e) {
      tried.push(errText(e));
    }
  }
  return { state: 'refused', why: tried.join('; ') };
}

/**
 * A gates-shaped srvr probe (zk/gates.ts SrvrProbe): the server's facts (`via` says which source
 * answered, see readSrvr), or null when it does not serve (down, not answering, or answering
 * "not currently serving"). Throws SrvrRefused when it refuses srvr and no other source
 * answered: refused is not "not serving". `timeoutMs` per source (ms).
 */
export async function probeSrvr(host: string, port: number, timeoutMs = 2000, opts: SrvrOptions = {}): Promise<Srvr | null> {
  const r = await readSrvr(host, port, timeoutMs, opts);
  if (r.state === 'refused') throw new SrvrRefused(host, port, r.why);
  return r.state === 'serving' ? r.srvr : null;
}

/** probeSrvr bound to an AdminServer port: the srvr probe of the executor's Probes and of GateEnv. */
export function srvrProbe(adminPort: number | undefined): (host: string, port: number, timeoutMs: number) => Promise<Srvr | null> {
  return (host, port, timeoutMs) => probeSrvr(host, port, timeoutMs, adminPort === undefined ? {} : { adminPort });
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
