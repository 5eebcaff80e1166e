// The value grammar of ZooKeeper's `server.N=` lines, read and written exactly as ZooKeeper
// reads it. Pure: no I/O, no DNS.
//
//   value   := address ('|' address)* [';' client]            ('|' since 3.6.0)
//   address := host ':' quorumPort ':' electionPort [':' role]
//   host    := name | IPv4 | '[' IPv6 ']'
//   role    := participant | observer                        (case-insensitive)
//   client  := clientPort | host ':' clientPort             (';' part since 3.5.0)
//
// Sources (apache/zookeeper, read at master 53a78e36f and at the release tags named):
// - server/quorum/QuorumPeer.java, QuorumServer(long sid, String addressStr) →
//   initializeWithAddressString (3.6+): split the value on ';' (server part, client part), the
//   server part on '|' (ZOOKEEPER-3188, 3.6.0: several addresses per server; ZooKeeper refuses
//   more than one unless -Dzookeeper.multiAddress.enabled=true), each address with
//   ConfigUtils.getHostAndPort; 3 or 4 fields per address; ports through Integer.parseInt;
//   quorum port == election port is refused; the role (getType: trimmed, lower-cased) may be
//   on any address, and all roles given must agree; QuorumServer.toString writes the role once,
//   after the last address, and brackets hosts containing ':' (delimitedHostString).
// - server/util/ConfigUtils.java, getHostAndPort (3.6+, ZOOKEEPER-3106): a value starting
//   with '[' is an IPv6 literal up to the first ']', the ports follow after "]:"; otherwise
//   the value is split on ':' (so a bare IPv6 host is refused: too many fields).
// - 3.5.x: QuorumPeer.QuorumServer(long, String) with its private splitWithLeadingHostname
//   (same bracket rule, looks for "]:"); one address only; more than one ';' refused; the role
//   is not trimmed. 3.4.x: QuorumPeerConfig.parseProperties with its own
//   splitWithLeadingHostname; no ';' client part, no '|'; the value is trimmed.
// - Keys: QuorumMaj(Properties) / QuorumPeerConfig.parseProperties take `server.` keys and
//   read the id with Long.parseLong(key.substring(dot + 1)).
// Java's String.split drops trailing empty strings, so ZooKeeper accepts (and this module
// accepts) "h:2888:3888:", "h:2888:3888;" and "h:2888:3888|"; rendering drops them.
//
// Deliberately stricter than ZooKeeper (each refused with a message saying why):
// - more than one ';': the secure client part (`;;port`, ZOOKEEPER-4276) exists only on
//   unreleased master; 3.5 refuses it and 3.6–3.9 silently ignore everything after a 2nd ';'.
// - 3.4's two-field `host:port` (no election port); 3.5+ refuses it.
// - empty hosts, hosts with whitespace or stray '[' / ']' (ZooKeeper accepts them unresolved).
// - ']' not followed by ':' (3.6+ getHostAndPort skips the character after ']' unchecked).
// - ids above Number.MAX_SAFE_INTEGER (ZooKeeper takes any long).
// - a server part of only '|' ("|", "||;2181"): Java's split yields no address at all.
// Not checked here (the caller's business): -Dzookeeper.multiAddress.enabled for '|' lines,
// and the target release (a ';' part on 3.4, '|' on 3.5, blanks inside the role on 3.4/3.5).
// Lenient where it helps: surrounding whitespace is trimmed (Properties.load strips the
// leading part; 3.4 trims the value; 3.5+ hands the right-untrimmed value to QuorumServer,
// where trailing blanks after a port fail Integer.parseInt). Rendering never writes them.

import { delimitHost, formatHostPort, normalizeHost } from '../plan/host.js';

export type ServerRole = 'participant' | 'observer';

/** One `host:quorumPort:electionPort` of a server line. */
export interface ServerAddress {
  /** Host name, IPv4 or IPv6 literal, without brackets. */
  host: string;
  quorumPort: number;
  electionPort: number;
}

/** The client part after ';' (3.5+). `address: null` means only the port was written. */
export interface ServerClient {
  address: string | null;
  port: number;
}

/** A parsed `server.N=value` line. */
export interface ServerSpecLine {
  /** N: the server's myid, a non-negative integer (0 allowed). */
  id: number;
  /** At least one; several joined by '|' (3.6+). Order is kept as written. */
  addresses: ServerAddress[];
  /** null: no role written (ZooKeeper then takes participant, or peerType on that host). */
  role: ServerRole | null;
  client: ServerClient | null;
}

/** Bad `server.N` input. `message` is "server.N=value: reason"; `reason` alone is kept too. */
export class ServerLineError extends Error {
  override readonly name = 'ServerLineError';
  constructor(
    /** The line as given ("server.N=value"), for the operator. */
    readonly line: string,
    /** What is wrong with it. */
    readonly reason: string,
  ) {
    super(`${line}: ${reason}`);
  }
}

/** Java's String.trim: strips every char <= U+0020 at both ends. */
function javaTrim(s: string): string {
  return s.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');
}

/** Java's String.split(literal): like JS split, but trailing empty strings are dropped. */
function javaSplit(s: string, sep: string): string[] {
  if (s === '') return [''];
  const parts = s.split(sep);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * The myid of a `server.N` key, or null when the key is not `server.<decimal>` with a value in
 * 0..Number.MAX_SAFE_INTEGER. Surrounding whitespace is ignored; leading zeros are read as
 * Long.parseLong reads them ("server.01" → 1). Note: ZooKeeper refuses the whole config for a
 * key that starts with "server." but does not end in a number, so callers should not ignore
 * such keys silently.
 */
export function parseServerKey(key: string): number | null {
  const m = /^server\.\+?([0-9]+)$/.exec(javaTrim(key));
  if (!m || m[1] === undefined) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

export { formatHostPort, isIPv6, normalizeHost } from '../plan/host.js';

/** Why a host cannot be written into a server line, or null when it can. */
function hostProblem(host: string, what: string): string | null {
  if (host === '') return `empty ${what}`;
  if (/[\s\x00-\x20]/.test(host)) return `${what} '${host}' contains whitespace`;
  if (/[[\];|]/.test(host)) return `${what} '${host}' contains one of '[', ']', ';', '|'`;
  return null;
}

function portProblem(port: number, what: string): string | null {
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? null : `${what} ${port} is not a port (0-65535)`;
}

/** ConfigUtils.getHostAndPort with brackets checked: [host, ...fields after it]. */
function splitHostAndFields(s: string, what: string, fail: (reason: string) => never): { host: string; bracketed: boolean; fields: string[] } {
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) fail(`unterminated '[' in ${what} '${s}': no matching ']'`);
    if (s[close + 1] !== ':' || close + 2 >= s.length) fail(`${what} '${s}': expected ':' and a port after ']'`);
    return { host: s.slice(1, close), bracketed: true, fields: javaSplit(s.slice(close + 2), ':') };
  }
  const parts = javaSplit(s, ':');
  return { host: parts[0] ?? '', bracketed: false, fields: parts.slice(1) };
}

function parsePort(text: string, what: string, fail: (reason: string) => never): number {
  // Integer.parseInt: optional sign, decimal digits; InetSocketAddress then wants 0..65535.
  if (!/^\+?[0-9]+$/.test(text)) fail(`${what} '${text}' is not a number`);
  const n = Number(text);
  if (n > 65535) fail(`${what} ${text} is out of range (0-65535)`);
  return n;
}

function parseRole(text: string, fail: (reason: string) => never): ServerRole {
  const r = javaTrim(text).toLowerCase();
  if (r === 'participant' || r === 'observer') return r;
  return fail(`unknown role '${text}' (expected participant or observer)`);
}

/**
 * Parses the value of `server.<id>`. Throws ServerLineError naming the line and the fault for
 * anything ZooKeeper 3.5+ would refuse, and for the cases listed in the header.
 */
export function parseServerValue(id: number, value: string): ServerSpecLine {
  const line = `server.${id}=${value}`;
  const fail: (reason: string) => never = (reason) => {
    throw new ServerLineError(line, reason);
  };
  if (!Number.isSafeInteger(id) || id < 0) fail(`myid ${id} is not a non-negative integer`);
  const v = javaTrim(value);
  if (v === '') fail('empty value; expected host:quorumPort:electionPort');

  const serverClient = javaSplit(v, ';');
  if (serverClient.length > 2) fail("more than one ';': only one client part (';[host:]port') is read; a secure client part is not in any ZooKeeper release");
  const serverPart = serverClient[0] ?? '';
  if (serverPart === '') fail("no server address before ';'");

  const addresses: ServerAddress[] = [];
  let role: ServerRole | null = null;
  for (const a of javaSplit(serverPart, '|')) {
    if (a === '') fail("empty address around '|'");
    const { host, bracketed, fields } = splitHostAndFields(a, 'address', fail);
    if (!bracketed && fields.length > 3)
      fail(`too many ':' in '${a}' (expected host:quorumPort:electionPort[:role]; an IPv6 host must be in brackets, e.g. [2001:db8::1]:2888:3888)`);
    const hp = hostProblem(host, 'host');
    if (hp !== null) fail(hp);
    if (fields.length === 0) fail(`missing quorum and election ports in '${a}' (expected host:quorumPort:electionPort)`);
    if (fields.length === 1) fail(`missing election port in '${a}' (expected host:quorumPort:electionPort)`);
    if (fields.length > 3) fail(`too many ':' fields in '${a}' (expected host:quorumPort:electionPort[:role])`);
    const quorumPort = parsePort(fields[0] ?? '', 'quorum port', fail);
    const electionPort = parsePort(fields[1] ?? '', 'election port', fail);
    if (quorumPort === electionPort) fail(`quorum port and election port must differ (both ${quorumPort})`);
    if (fields[2] !== undefined) {
      const r = parseRole(fields[2], fail);
      if (role !== null && role !== r) fail(`addresses give different roles (${role} vs ${r})`);
      role = r;
    }
    addresses.push({ host, quorumPort, electionPort });
  }

  if (addresses.length === 0) fail('no server address (expected host:quorumPort:electionPort)');

  let client: ServerClient | null = null;
  const clientPart = serverClient[1];
  if (clientPart !== undefined && clientPart !== '') {
    if (clientPart.startsWith('[')) {
      const { host, fields } = splitHostAndFields(clientPart, 'client part', fail);
      const hp = hostProblem(host, 'client host');
      if (hp !== null) fail(hp);
      if (fields.length !== 1) fail(`client part '${clientPart}' must be port or host:port`);
      client = { address: host, port: parsePort(fields[0] ?? '', 'client port', fail) };
    } else {
      const parts = javaSplit(clientPart, ':');
      if (parts.length > 2) fail(`client part '${clientPart}' must be port or host:port (an IPv6 host in brackets)`);
      if (parts.length === 2) {
        const host = parts[0] ?? '';
        const hp = hostProblem(host, 'client host');
        if (hp !== null) fail(hp);
        client = { address: host, port: parsePort(parts[1] ?? '', 'client port', fail) };
      } else {
        client = { address: null, port: parsePort(parts[0] ?? '', 'client port', fail) };
      }
    }
  }
  return { id, addresses, role, client };
}

/**
 * The canonical value of a server line: addresses joined by '|', hosts containing ':'
 * bracketed (a host given as "[…]" is not bracketed twice), the role once at the end when not
 * null, then ";port" or ";host:port". Throws ServerLineError when the spec cannot be written
 * as a line ZooKeeper would read back the same.
 */
export function renderServerValue(s: ServerSpecLine): string {
  const fail: (reason: string) => never = (reason) => {
    throw new ServerLineError(`server.${s.id}`, reason);
  };
  if (!Number.isSafeInteger(s.id) || s.id < 0) fail(`myid ${s.id} is not a non-negative integer`);
  if (s.addresses.length === 0) fail('no address');
  const addrs = s.addresses.map((a) => {
    const hp = hostProblem(normalizeHost(a.host), 'host');
    if (hp !== null) fail(hp);
    const pp = portProblem(a.quorumPort, 'quorum port') ?? portProblem(a.electionPort, 'election port');
    if (pp !== null) fail(pp);
    if (a.quorumPort === a.electionPort) fail(`quorum port and election port must differ (both ${a.quorumPort})`);
    return `${delimitHost(a.host)}:${a.quorumPort}:${a.electionPort}`;
  });
  let out = addrs.join('|');
  if (s.role !== null) {
    if (s.role !== 'participant' && s.role !== 'observer') fail(`unknown role '${String(s.role)}'`);
    out += `:${s.role}`;
  }
  if (s.client !== null) {
    const pp = portProblem(s.client.port, 'client port');
    if (pp !== null) fail(pp);
    if (s.client.address === null) out += `;${s.client.port}`;
    else {
      const hp = hostProblem(normalizeHost(s.client.address), 'client host');
      if (hp !== null) fail(hp);
      out += `;${formatHostPort(s.client.address, s.client.port)}`;
    }
  }
  return out;
}
