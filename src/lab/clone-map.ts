// `lab clone`, the pure parts: the lab addresses a clone gets, the source addresses it must not
// take, each source zoo.cfg mapped onto the lab (hosts replaced, ports kept, everything else
// byte for byte), which data files to copy, and the start order that makes the source's leader
// the clone's leader.
// Invariants: pure (no I/O); a lab address is IPv4 loopback; a mapped config differs from its
// source only in the host-bound keys and the host parts of server lines; file choice follows
// ZooKeeper's own (FileSnap.findNValidSnapshots: newest first; FileTxnLog.getLogFiles: the newest
// log starting at or before the snapshot's zxid and every later one).
import { quorumOf } from '../compile/nodes.js';
import { newLine, parseProperties, propertyValue, renderProperties, escapeValue, type PropLine } from '../compile/properties.js';
import { parseServerKey, parseServerValue, renderServerValue } from '../compile/serverline.js';
import { snapshotName, zxidOfName } from '../check/datafiles.js';
import { isLoopbackV4, LabError } from './spec.js';

/** Keys that bind a server to one of its host's addresses (rewritten to the lab address). */
export const HOST_BOUND_KEYS = ['clientPortAddress', 'secureClientPortAddress', 'admin.serverAddress'] as const;
/** Host-bound keys the clone adds when the source leaves them out (lab hosts share one kernel: 0.0.0.0 would clash). */
const REQUIRED_BINDS = ['clientPortAddress', 'admin.serverAddress'] as const;

/**
 * `count` lab addresses from `net` ("127.0.30.0/24": 127.0.30.1, .2, …). Throws LabError when
 * `net` is not a loopback /24../32 network or too small.
 */
export function labAddresses(net: string, count: number): string[] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(net.trim());
  const bits = m ? Number(m[5]) : NaN;
  if (!m || !isLoopbackV4(m.slice(1, 5).join('.')) || bits < 24 || bits > 32)
    throw new LabError(`lab clone: --net ${net}: expected a loopback network like 127.0.30.0/24 (a /24 or smaller inside 127.0.0.0/8)`);
  const base = m.slice(1, 4).join('.');
  const first = Number(m[4]) & ~((1 << (32 - bits)) - 1) & 0xff;
  const size = 1 << (32 - bits);
  if (count > size - 2) throw new LabError(`lab clone: --net ${net} has room for ${Math.max(0, size - 2)} hosts; the plan needs ${count}`);
  return Array.from({ length: count }, (_, i) => `${base}.${first + i + 1}`);
}

/** Every address a source config names: server lines (each address and client part) and the host-bound keys. */
export function configAddresses(text: string): string[] {
  const out: string[] = [];
  for (const l of parseProperties(text).lines) {
    if (l.key === null) continue;
    if ((HOST_BOUND_KEYS as readonly string[]).includes(l.key)) out.push(l.value!.trim());
    const id = parseServerKey(l.key);
    if (id === null) continue;
    try {
      const s = parseServerValue(id, l.value!);
      out.push(...s.addresses.map((a) => a.host));
      if (s.client?.address) out.push(s.client.address);
    } catch {
      /* an unreadable line names no address we can compare */
    }
  }
  return out.filter((a) => a !== '');
}

/** The lab addresses that equal a source address (a lab cannot replace what it copies); empty: no overlap. */
export function overlapping(lab: string[], source: Iterable<string>): string[] {
  const src = new Set(source);
  return lab.filter((a) => src.has(a));
}

function mapServerLine(l: PropLine, id: number, labOf: (myid: number) => string | undefined): PropLine {
  const to = labOf(id);
  if (to === undefined) throw new LabError(`lab clone: the source config lists server.${id}, which is not a server of the plan`);
  const s = parseServerValue(id, l.value!);
  const mapped = {
    ...s,
    addresses: s.addresses.map((a) => ({ ...a, host: to })),
    client: s.client === null ? null : { address: to, port: s.client.port },
  };
  return { ...l, value: renderServerValue(mapped), raw: `${l.prefix}${escapeValue(renderServerValue(mapped))}${l.eol}` };
}

/**
 * A source config (zoo.cfg or its dynamic file) as the clone's server `own` runs it: `server.N`
 * host parts become server N's lab address (ports, roles and client ports kept; a client part
 * without a host gets the lab address, since lab hosts share one kernel), the host-bound keys
 * become `own`'s lab address, and in a main zoo.cfg (`main`) missing clientPortAddress and
 * admin.serverAddress are added at the end with a comment. Every other line is kept byte for byte.
 * Throws LabError for a server line of a myid the plan does not have.
 */
export function mapConfig(text: string, own: string, labOf: (myid: number) => string | undefined, main: boolean): string {
  const doc = parseProperties(text);
  doc.lines = doc.lines.map((l) => {
    if (l.key === null) return l;
    if ((HOST_BOUND_KEYS as readonly string[]).includes(l.key)) return { ...l, value: own, raw: `${l.prefix}${own}${l.eol}` };
    const id = parseServerKey(l.key);
    return id === null ? l : mapServerLine(l, id, labOf);
  });
  // a reconfig-managed zoo.cfg has no clientPort (it is in the dynamic file's own line, which
  // the mapping above binds): clientPortAddress without clientPort stops a 3.5+ server
  // ("clientPortAddress is set but clientPort is not set", QuorumPeerConfig, release-3.9.3)
  const needs = (k: string) => propertyValue(doc, k) === undefined && (k !== 'clientPortAddress' || propertyValue(doc, 'clientPort') !== undefined);
  const missing = main ? REQUIRED_BINDS.filter(needs) : [];
  if (missing.length > 0) {
    const last = doc.lines[doc.lines.length - 1];
    if (last !== undefined && last.eol === '') doc.lines[doc.lines.length - 1] = { ...last, raw: last.raw + doc.eol, eol: doc.eol };
    doc.lines.push({
      raw: `# zkroll lab clone: bind to this lab host's own address (lab hosts share one kernel)${doc.eol}`,
      key: null,
      value: null,
      prefix: '',
      eol: doc.eol,
    });
    for (const k of missing) doc.lines.push(newLine(k, own, doc.eol));
  }
  return renderProperties(doc);
}

/** What the clone copies from the leader's version-2 directories. */
export interface CopySet {
  snapshot: string;
  snapshotZxid: bigint;
  /** Logs, oldest first: the newest starting at or before the snapshot's zxid, then every later one. */
  logs: string[];
  /** currentEpoch / acceptedEpoch, where present. */
  epochs: string[];
}

/**
 * The newest snapshot by name (after `skip` newer ones, for a retry when the newest is not
 * valid) and the logs after it, as FileTxnLog.getLogFiles(logDir, snapZxid) picks them
 * (release-3.8.0 …/server/persistence/FileTxnLog.java getLogFiles). Throws LabError when the
 * leader has no snapshot.
 */
export function chooseFiles(snapDirNames: string[], logDirNames: string[], skip = 0): CopySet {
  const snaps = snapDirNames
    .map((n) => ({ n, z: snapshotName(n)?.zxid ?? null }))
    .filter((x): x is { n: string; z: bigint } => x.z !== null)
    .sort((a, b) => (a.z < b.z ? 1 : a.z > b.z ? -1 : 0));
  const snap = snaps[skip];
  if (snap === undefined)
    throw new LabError(`lab clone: the leader's data directory has ${snaps.length === 0 ? 'no snapshot' : `no snapshot older than ${snaps[skip - 1]!.n}`}`);
  const logs = logDirNames
    .map((n) => ({ n, z: zxidOfName(n, 'log') }))
    .filter((x): x is { n: string; z: bigint } => x.z !== null)
    .sort((a, b) => (a.z < b.z ? -1 : a.z > b.z ? 1 : 0));
  let from = 0;
  for (let i = 0; i < logs.length; i++) if (logs[i]!.z <= snap.z) from = i;
  return {
    snapshot: snap.n,
    snapshotZxid: snap.z,
    logs: logs.slice(from).map((l) => l.n),
    epochs: ['currentEpoch', 'acceptedEpoch'].filter((e) => snapDirNames.includes(e)),
  };
}

/**
 * How the clone makes `leader` lead (FLE totalOrderPredicate: with equal epoch and zxid the
 * higher sid wins, release-3.8.0 …/quorum/FastLeaderElection.java): `start`: every server gets
 * the data, `first` ({leader} and the q−1 highest voters below it) start together, the rest
 * after the leader leads; `empty`: only the leader gets the data (a higher zxid than the empty
 * others); `first` is the leader and the q−1 lowest other voters, the rest follow. Either way
 * `first` is a quorum that cannot elect anyone without the leader.
 */
export interface Placement {
  kind: 'start' | 'empty';
  first: number[];
  rest: number[];
  why: string;
}

export function placement(voters: number[], observers: number[], leader: number, prefer: 'start' | 'empty' = 'start'): Placement {
  if (!voters.includes(leader)) throw new LabError(`lab clone: the source's leader ${leader} is not a voter of its config`);
  const q = quorumOf(voters.length);
  const below = voters.filter((v) => v < leader).sort((a, b) => b - a);
  const others = (first: number[]) => [...voters.filter((v) => !first.includes(v)).sort((a, b) => a - b), ...[...observers].sort((a, b) => a - b)];
  if (prefer === 'start' && below.length >= q - 1) {
    const first = [leader, ...below.slice(0, q - 1)].sort((a, b) => a - b);
    return {
      kind: 'start',
      first,
      rest: others(first),
      why: `every server has the data; ${first.join(', ')} start first: with equal (epoch, zxid) FLE elects the highest sid, ${leader}`,
    };
  }
  const why = prefer === 'empty' ? '--leader-by empty' : `fewer than ${q - 1} voters have a sid below ${leader}, so start order cannot make it win`;
  // without the leader the others in `first` are q−1: they cannot elect anyone, and with it they elect its higher zxid
  const first = [
    leader,
    ...voters
      .filter((v) => v !== leader)
      .sort((a, b) => a - b)
      .slice(0, q - 1),
  ].sort((a, b) => a - b);
  return {
    kind: 'empty',
    first,
    rest: others(first),
    why: `${why}: only ${leader} gets the data (a higher zxid); ${first.join(', ')} start first, the others start empty and take a full snapshot from it`,
  };
}
