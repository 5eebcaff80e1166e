// ZooKeeper's dynamic configuration (3.5+) as text: the data of /zookeeper/config, the reply of
// a reconfig, and a `<zoo.cfg>.dynamic.<hex>` file. Pure: no I/O, no DNS.
//
//   text := line*      line := 'server.' N '=' value | 'version=' hex | blank | '#…' | '!…'
//
// Sources (apache/zookeeper, tag release-3.9.3, zookeeper-server/src/main/java/org/apache/zookeeper/):
// - server/quorum/flexible/QuorumMaj.java: QuorumMaj(Properties) (L88–108) takes `server.`
//   keys (the id after the first '.', Long.parseLong) and `version` (Long.parseLong(v, 16));
//   toString (L119–134) writes one `server.N=<QuorumServer.toString>` per member, then
//   `version=<Long.toHexString>` without a trailing newline.
// - server/quorum/QuorumPeer.java: QuorumServer.initializeWithAddressString (L309–408) reads
//   the value (';' client part, '|' addresses, ConfigUtils.getHostAndPort brackets, role
//   "participant"/"observer"); the role defaults to PARTICIPANT (L224); toString (L431–458)
//   brackets IPv6 hosts and omits the client part when it came from the static file.
//   The value grammar is src/compile/serverline.ts (parseServerValue), which this module reuses.
// - server/quorum/QuorumPeerConfig.java: getVersionFromFilename (L248–265): the hex after the
//   file name's last '.'; a dynamic file itself must hold no `version=` line (L206–207).
// - server/PrepRequestProcessor.java L481–490: a reconfig joiner is `server.N=<spec>` and must
//   carry quorum, election *and* client ports.
// Invariants: every error names the 1-based line and the line's text; a server id or `version`
// given twice is refused (Properties would silently keep the last one); keys other than
// `server.N` and `version` (a hierarchical quorum's group/weight) are refused: zkroll only
// reconfigures majority quorums (incremental reconfig requires one, PrepRequestProcessor L465–468).
import {
  normalizeHost,
  parseServerKey,
  parseServerValue,
  renderServerValue,
  ServerLineError,
  type ServerAddress,
  type ServerRole,
} from '../compile/serverline.js';
import type { DynamicMember } from '../compile/types.js';
import { WILDCARDS } from '../compile/zoocfg.js';

/** One member of a dynamic configuration. The first address is also spread into host/quorumPort/electionPort. */
export interface DynServer {
  /** The myid N of `server.N`. */
  id: number;
  /** Host of the first address, without brackets. */
  host: string;
  /** Port the leader listens on for followers (first address). */
  quorumPort: number;
  /** Port of leader election (first address). */
  electionPort: number;
  /** Every `host:quorumPort:electionPort`, '|'-joined in the text (3.6+ multi-address); at least one. */
  addresses: ServerAddress[];
  /** participant (votes) or observer; participant when the line names none (QuorumPeer.java L224). */
  role: ServerRole;
  /** Client address when the line gives `;host:port`; absent for `;port` (ZooKeeper then binds 0.0.0.0). */
  clientHost?: string;
  /** Client port from the `;` part; absent when the line has none (it came from the static file). */
  clientPort?: number;
}

export interface DynamicConfig {
  /** The `version=` line (hex in the text); null when absent, as in a dynamic file on disk. */
  version: bigint | null;
  /** Members by myid, in the order of the text. */
  servers: Map<number, DynServer>;
}

/** A malformed line; `lineNo` is 1-based. */
export class DynConfigError extends Error {
  override readonly name = 'DynConfigError';
  constructor(
    readonly lineNo: number,
    readonly line: string,
    readonly reason: string,
  ) {
    super(`dynamic config line ${lineNo} '${line}': ${reason}`);
  }
}

const LONG_MAX = 0x7fffffffffffffffn;

/** Long.parseLong(s, 16) for a non-negative version; null when it is not one. */
export function parseHexVersion(s: string): bigint | null {
  if (!/^\+?[0-9a-fA-F]{1,16}$/.test(s)) return null;
  const v = BigInt(`0x${s.replace('+', '')}`);
  return v <= LONG_MAX ? v : null;
}

/**
 * The config version in a dynamic file's name (QuorumPeerConfig.getVersionFromFilename): the hex
 * after the last '.', e.g. "zoo.cfg.dynamic.1001" → 0x1001n; null when that part is not hex
 * ("zoo.cfg.dynamic"). Like ZooKeeper, any hex-looking last part counts ("x.dynamic.cafe" → 0xcafen).
 */
export function versionFromFilename(name: string): bigint | null {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? null : parseHexVersion(name.slice(dot + 1));
}

function toDynServer(id: number, value: string): DynServer {
  const spec = parseServerValue(id, value);
  const first = spec.addresses[0] as ServerAddress;
  const s: DynServer = {
    id,
    host: first.host,
    quorumPort: first.quorumPort,
    electionPort: first.electionPort,
    addresses: spec.addresses,
    role: spec.role ?? 'participant',
  };
  if (spec.client !== null) {
    s.clientPort = spec.client.port;
    if (spec.client.address !== null) s.clientHost = spec.client.address;
  }
  return s;
}

/** Parse one `key=value` line into `into`; throws a plain reason string's Error for the caller to place. */
function parseLine(key: string, value: string, into: DynamicConfig): void {
  if (key === 'version') {
    if (into.version !== null) throw new Error('a second version line');
    const v = parseHexVersion(value);
    if (v === null) throw new Error(`version '${value}' is not a hex number (Long.parseLong(v, 16))`);
    into.version = v;
    return;
  }
  const id = parseServerKey(key);
  if (id === null) throw new Error(`unknown key '${key}': expected server.N or version (hierarchical quorums are not supported)`);
  if (into.servers.has(id)) throw new Error(`server.${id} is given twice`);
  into.servers.set(id, toDynServer(id, value));
}

/**
 * Parse a dynamic configuration text (see the module header). Blank lines and '#'/'!' comments
 * are skipped; surrounding blanks are trimmed. Throws DynConfigError naming the line.
 */
export function parseDynamicConfig(text: string): DynamicConfig {
  const out: DynamicConfig = { version: null, servers: new Map() };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new DynConfigError(i + 1, line, "no '=': expected server.N=<spec> or version=<hex>");
    try {
      parseLine(line.slice(0, eq).trim(), line.slice(eq + 1).trim(), out);
    } catch (e) {
      throw new DynConfigError(i + 1, line, e instanceof ServerLineError ? e.reason : (e as Error).message);
    }
  }
  return out;
}

/**
 * The joiner string of one server for `reconfig -add` (ReconfigRequest.joiningServers, entries
 * comma-joined): `server.N=host:quorumPort:electionPort[|…]:role;[clientHost:]clientPort`,
 * the syntax parseDynamicConfig reads. Throws when the server has no client port: the leader
 * refuses such a joiner with BADARGUMENTS (PrepRequestProcessor.java L488–490).
 */
export function serverSpec(s: DynServer): string {
  if (s.clientPort === undefined) throw new ServerLineError(`server.${s.id}`, 'a reconfig joiner needs a client port (quorum, election and client ports)');
  const client = { address: s.clientHost ?? null, port: s.clientPort };
  const addresses = s.addresses.length > 0 ? s.addresses : [{ host: s.host, quorumPort: s.quorumPort, electionPort: s.electionPort }];
  return `server.${s.id}=${renderServerValue({ id: s.id, addresses, role: s.role, client })}`;
}

/** The member as the operator reads it back: `server.N=host:q:e:role;client`. */
function describe(s: DynServer): string {
  return `server.${s.id}=${renderServerValue({
    id: s.id,
    addresses: s.addresses,
    role: s.role,
    client: s.clientPort === undefined ? null : { address: s.clientHost ?? null, port: s.clientPort },
  })}`;
}

/**
 * Does `got` (a /zookeeper/config or reconfig reply) list exactly the members `expect` — ids,
 * first address (host, quorum and election port), role and client address? Null when it does,
 * else why not. Hosts compare as written (no DNS); an expected `;port` (clientHost null) matches
 * a wildcard or an absent client address. Semantic, never byte for byte: ZooKeeper rewrites the
 * lines (QuorumServer.toString, release-3.9.3 QuorumPeer.java L431–458).
 */
export function membersDiffer(got: DynamicConfig, expect: DynamicMember[]): string | null {
  const want = [...expect].sort((a, b) => a.myid - b.myid);
  const ids = [...got.servers.keys()].sort((a, b) => a - b);
  if (ids.join(',') !== want.map((m) => m.myid).join(','))
    return `it lists servers ${ids.join(', ') || 'none'}, expected ${want.map((m) => m.myid).join(', ')}`;
  for (const m of want) {
    const s = got.servers.get(m.myid)!;
    const client = s.clientHost === undefined || WILDCARDS.includes(normalizeHost(s.clientHost)) ? null : normalizeHost(s.clientHost);
    const same =
      normalizeHost(s.host) === normalizeHost(m.host) &&
      s.quorumPort === m.quorumPort &&
      s.electionPort === m.electionPort &&
      (s.role === 'observer') === (m.observer === true) &&
      (s.clientPort === undefined || s.clientPort === m.clientPort) &&
      client === (m.clientHost === null ? null : normalizeHost(m.clientHost));
    if (!same)
      return `${describe(s)} differs from the planned server.${m.myid} (${m.host}:${m.quorumPort}:${m.electionPort}, client ${m.clientHost ?? '*'}:${m.clientPort})`;
  }
  return null;
}
