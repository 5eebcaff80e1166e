// zoo.cfg rendering that keeps the operator's file: only the ensemble lines (server.N), the
// keys bound to a host's own address, and dataDir/dataLogDir (when they differ) change; every
// other key, comment and blank line stays where it was. With `dynamicConfigFile` (3.5+) the
// server lines live in the dynamic file instead. Pure.
// Invariants: the output lists exactly the given servers, in myid order; a key zkroll does not
// own is never added, removed or reordered.
import type { NodeRef, ServerLine } from './types.js';
import {
  appendLines,
  escapeValue,
  newLine,
  parseProperties,
  propertyValue,
  renderProperties,
  withValue,
  type PropertiesDoc,
  type PropLine,
} from './properties.js';
import { normalizeHost, parseServerKey, parseServerValue, renderServerValue } from './serverline.js';

/** Keys whose value is the server's own address: they follow the host, not the file. */
const HOST_BOUND = ['clientPortAddress', 'secureClientPortAddress', 'admin.serverAddress'];

export interface RenderedConfig {
  main: string;
  /** Content of the dynamic config file, when the base uses one. */
  dynamic?: { path: string; content: string };
}

const isServerKey = (k: string | null): boolean => k !== null && parseServerKey(k) !== null;

/**
 * The `dynamicConfigFile` of a zoo.cfg's text (3.5+: the server lines live there), or undefined.
 * The one reader of that key: the compiler, the executor and `plan --live` all use it.
 */
export function dynamicConfigPath(zooCfg: string): string | undefined {
  return propertyValue(parseProperties(zooCfg), 'dynamicConfigFile') || undefined;
}

/** The style of the base's server lines: "host:q:e", "host:q:e:participant", "…;port". */
function lineFormat(example: string | undefined): { role: boolean; client: boolean } {
  return { role: example !== undefined && /:participant|:observer/.test(example), client: example !== undefined && example.includes(';') };
}

/** The value of a server.N line zkroll writes (IPv6 hosts in brackets: QuorumPeer.QuorumServer). */
export function serverLine(s: ServerLine, fmt: { role: boolean; client: boolean }): string {
  const value = renderServerValue({
    id: s.myid,
    addresses: [{ host: s.host, quorumPort: s.quorumPort, electionPort: s.electionPort }],
    role: s.observer ? 'observer' : fmt.role ? 'participant' : null,
    client: fmt.client ? { address: null, port: s.clientPort } : null,
  });
  return `server.${s.myid}=${value}`;
}

/** Does the existing line `value` of server `s.myid` name the same host and ports as `s`? */
/** Wildcard addresses a server's own line may bind instead of its name (0.0.0.0, ::). */
export const WILDCARDS = ['0.0.0.0', '::', '0:0:0:0:0:0:0:0'];

/**
 * Does the existing line `value` of server `s.myid` name the same member as `s` (host, ports,
 * role)? `own`: it is the line of the server whose own file this is, which may bind a wildcard
 * address instead of its name (ZooKeeper then listens on every interface).
 */
function sameMember(value: string, s: ServerLine, own = false): boolean {
  try {
    const p = parseServerValue(s.myid, value);
    const a = p.addresses[0]!;
    const sameRole = (p.role === 'observer') === (s.observer === true);
    const host = normalizeHost(a.host);
    return (
      p.addresses.length === 1 &&
      sameRole &&
      (host === normalizeHost(s.host) || (own && WILDCARDS.includes(host))) &&
      a.quorumPort === s.quorumPort &&
      a.electionPort === s.electionPort
    );
  } catch {
    return false;
  }
}

/**
 * The ensemble's server lines in myid order: a member whose line in `from` already names its
 * host and ports keeps that line verbatim (its role, client part and spelling); others are
 * written in the style of the existing lines.
 */
function serverLines(from: PropertiesDoc, servers: ServerLine[], eol: string, ownId: number | null): PropLine[] {
  const existing = from.lines.filter((l) => isServerKey(l.key));
  const fmt = lineFormat(existing[0]?.value ?? undefined);
  return [...servers]
    .sort((a, b) => a.myid - b.myid)
    .map((s) => {
      const kept = existing.find((l) => parseServerKey(l.key!) === s.myid && sameMember(l.value!, s, s.myid === ownId));
      if (kept) return kept.eol === '' ? { ...kept, raw: kept.raw + eol, eol } : kept;
      const line = serverLine(s, fmt);
      return newLine(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1), eol);
    });
}

/**
 * Render the config for `node` from `base` (the config the server ran with, possibly from
 * another host `baseHost`) and the ensemble `servers`. Every line of `base` that zkroll does
 * not own comes back byte for byte (comments, order, blanks, separators, line endings).
 */
export function renderZooCfg(
  base: string,
  servers: ServerLine[],
  node: NodeRef,
  baseHost: string,
  dynamicBase?: string,
  keys: { set?: { key: string; value: string }[]; unset?: string[] } = {},
): RenderedConfig {
  const doc = parseProperties(base);
  const lines = setKeys(doc, [...peerType(doc, node), ...(keys.set ?? [])], keys.unset ?? []);
  const dynPath = propertyValue({ ...doc, lines }, 'dynamicConfigFile') || undefined;
  const dynDoc = dynPath !== undefined ? parseProperties(dynamicBase ?? '') : undefined;
  // the node's own line may bind a wildcard address: kept when the file is its own (same host, same id)
  const own = baseHost === node.host && servers.some((s) => s.myid === node.myid && s.host === node.host) ? node.myid : null;
  const rendered = serverLines(dynDoc && dynDoc.lines.some((l) => isServerKey(l.key)) ? dynDoc : doc, servers, (dynDoc ?? doc).eol, own);
  let out: PropLine[] = [];
  let inserted = false;
  for (const line of lines) {
    const key = line.key;
    if (isServerKey(key)) {
      if (!inserted && dynPath === undefined) out.push(...rendered);
      inserted = true;
    } else if (key !== null && HOST_BOUND.includes(key) && line.value?.trim() === baseHost) {
      out.push(withValue(line, node.host));
    } else if (key === 'dataDir') {
      out.push(withValue(line, node.dataDir));
    } else if (key === 'dataLogDir') {
      out.push(withValue(line, node.dataLogDir));
    } else {
      out.push(line);
    }
  }
  if (!inserted && dynPath === undefined) out = appendLines(doc, out, rendered);
  if (propertyValue(doc, 'dataLogDir') === undefined && node.dataLogDir !== node.dataDir)
    out = appendLines(doc, out, [newLine('dataLogDir', node.dataLogDir, doc.eol)]);
  const result: RenderedConfig = { main: renderProperties({ ...doc, lines: out }) };
  if (dynPath !== undefined && dynDoc) {
    const keep = dynDoc.lines.filter((l) => l.key !== null && !isServerKey(l.key));
    result.dynamic = { path: dynPath, content: renderProperties({ ...dynDoc, lines: appendLines(dynDoc, rendered, keep) }) };
  }
  return result;
}

/**
 * The node's own role as its host's zoo.cfg must say it: 3.4 needs `peerType=observer` on an
 * observer (QuorumPeerConfig.parseProperties), and a participant must not carry it.
 */
function peerType(doc: PropertiesDoc, node: NodeRef): { key: string; value: string }[] {
  const cur = propertyValue(doc, 'peerType')?.trim().toLowerCase();
  if (node.observer) return cur === 'observer' ? [] : [{ key: 'peerType', value: 'observer' }];
  return cur === 'observer' ? [{ key: 'peerType', value: 'participant' }] : [];
}

/**
 * `base` with only these keys changed: each `set` key given its value (in place, else appended),
 * every `unset` key's lines dropped; every other line as it was (server lines and the dynamic
 * file untouched: a reconfig-managed zoo.cfg, which ZooKeeper itself rewrites).
 */
export function editKeys(base: string, keys: { set?: { key: string; value: string }[]; unset?: string[] }): string {
  const doc = parseProperties(base);
  return renderProperties({ ...doc, lines: setKeys(doc, keys.set ?? [], keys.unset ?? []) });
}

/** The lines with each `set` key given its value (in place, else appended) and every `unset` key's lines dropped. */
function setKeys(doc: PropertiesDoc, set: { key: string; value: string }[], unset: string[]): PropLine[] {
  let out = doc.lines.filter((l) => l.key === null || !unset.includes(l.key));
  for (const { key, value } of set) {
    const at = out.findIndex((l) => l.key === key);
    if (at >= 0) out = out.map((l, i) => (i === at ? withValue(l, value) : l)).filter((l, i) => i <= at || l.key !== key);
    else out = appendLines(doc, out, [newLine(key, value, doc.eol)]);
  }
  return out;
}

/**
 * A stand-in for the host's zoo.cfg when the real one has not been read (dry-run without
 * --live): the keys zkroll knows from the plan and the ensemble's server lines.
 */
export function synthesizeZooCfg(node: NodeRef, servers: ServerLine[], clientPort: number): string {
  const fmt = { role: false, client: false };
  return (
    [
      '# (your zoo.cfg: every line zkroll does not own is kept as it is)',
      ...(node.observer ? ['peerType=observer'] : []),
      `dataDir=${escapeValue(node.dataDir)}`,
      ...(node.dataLogDir !== node.dataDir ? [`dataLogDir=${escapeValue(node.dataLogDir)}`] : []),
      `clientPort=${clientPort}`,
      ...[...servers].sort((a, b) => a.myid - b.myid).map((s) => serverLine(s, fmt).replace(/=([\s\S]*)$/, (_, v: string) => `=${escapeValue(v)}`)),
    ].join('\n') + '\n'
  );
}

/**
 * How the members `servers` differ from those `base` (or its dynamic file `dynamicBase`)
 * lists, e.g. "[1, 2, 3] → [1, 2, 3, 4]", or null when every member keeps its id, host, ports
 * and role (`ownId`: the server whose own file this is, whose line may bind 0.0.0.0).
 */
export function membershipChange(base: string, dynamicBase: string | undefined, servers: ServerLine[], ownId: number | null = null): string | null {
  const doc = parseProperties(base);
  const from = dynamicBase !== undefined && configuredIds(dynamicBase).length > 0 ? parseProperties(dynamicBase) : doc;
  const lines = from.lines.filter((l) => isServerKey(l.key));
  const before = lines.map((l) => parseServerKey(l.key!)!).sort((a, b) => a - b);
  const after = servers.map((s) => s.myid).sort((a, b) => a - b);
  const differs = servers.filter((s) => !lines.some((l) => parseServerKey(l.key!) === s.myid && sameMember(l.value!, s, s.myid === ownId)));
  if (before.join(',') === after.join(',') && differs.length === 0) return null;
  const which = before.join(',') === after.join(',') ? ` (the lines of ${differs.map((s) => `server.${s.myid}`).join(', ')} change)` : '';
  return `[${before.join(', ')}] → [${after.join(', ')}]${which}`;
}

/** reconfigEnabled as ZooKeeper reads it (Boolean.parseBoolean: "true" in any case). */
export function reconfigEnabled(base: string): boolean {
  return (propertyValue(parseProperties(base), 'reconfigEnabled') ?? '').trim().toLowerCase() === 'true';
}

/** The role each server.N line of a config text gives its server (`:observer`, else participant). */
export function configuredRoles(text: string): Map<number, 'participant' | 'observer'> {
  const roles = new Map<number, 'participant' | 'observer'>();
  for (const l of parseProperties(text).lines) {
    const id = l.key === null ? null : parseServerKey(l.key);
    if (id === null) continue;
    let role: 'participant' | 'observer' = 'participant';
    try {
      role = parseServerValue(id, l.value!).role === 'observer' ? 'observer' : 'participant';
    } catch {
      /* an unreadable line: its id is still listed; ZooKeeper itself would refuse the file */
    }
    roles.set(id, role);
  }
  return roles;
}

/** The server.N ids a config text lists (main file or dynamic file), in order. */
export function configuredIds(text: string): number[] {
  return parseProperties(text)
    .lines.map((l) => (l.key === null ? null : parseServerKey(l.key)))
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
}
