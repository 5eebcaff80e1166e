// `lab clone`: the clone's plan file, written from the source plan's text so the operator's
// comments and layout stay: hosts mapped to the lab's addresses, ssh pointed at the clone lab's
// key and known_hosts (user root, no sudo, no jump host, no per-host overrides), cluster.name
// `<name>-clone`, cluster.version what the source's servers run, local paths made absolute
// (the clone plan may be written elsewhere). Pure.
// Invariants: only the keys named above change; when every change is a new value of an existing
// scalar, every other byte of the file is kept (comments and their alignment); otherwise the
// yaml Document re-renders it (comments kept, alignment not).
import path from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, stringify, type Document, type Scalar } from 'yaml';
import { resolveLocalPath } from '../plan/helpers.js';

export interface ClonePlanEdits {
  name: string;
  version: string;
  /** Source host → lab address. */
  hosts: Map<string, string>;
  identityFile: string;
  knownHosts: string;
  /** The source plan's path (relative local paths in it are resolved against it). */
  planFile: string;
  /** The first comment line of the file (what it is a clone of, when). */
  header: string;
}

type Path = (string | number)[];

/**
 * Edits as [path, value]; deletions as [path, undefined]. Applied to the text in place (every
 * other byte kept: alignment of comments too) when each is a change of an existing scalar,
 * else through the yaml Document (comments kept, layout re-rendered).
 */
function edits(doc: Document, e: ClonePlanEdits): [Path, unknown][] {
  const out: [Path, unknown][] = [
    [['cluster', 'name'], e.name],
    [['cluster', 'version'], e.version],
    [['ssh', 'user'], 'root'],
    [['ssh', 'identityFile'], e.identityFile],
    [['ssh', 'knownHosts'], e.knownHosts],
  ];
  for (const k of ['sudo', 'jumpHost']) if (doc.hasIn(['ssh', k])) out.push([['ssh', k], undefined]);
  // never production's superuser password: the clone lab generates its own beside its key
  if (doc.hasIn(['strategy', 'reconfig', 'passwordFile']))
    out.push([['strategy', 'reconfig', 'passwordFile'], path.join(path.dirname(e.identityFile), 'zk-super')]);
  const servers = doc.get('servers');
  const nodes: Path[] = (isSeq(servers) ? servers.items : []).map((_, i) => ['servers', i]);
  if (isMap(doc.getIn(['strategy', 'temporary']))) nodes.push(['strategy', 'temporary']);
  for (const n of nodes) {
    const h = doc.getIn([...n, 'host']);
    if (typeof h === 'string' && e.hosts.has(h)) out.push([[...n, 'host'], e.hosts.get(h)]);
    if (doc.hasIn([...n, 'ssh'])) out.push([[...n, 'ssh'], undefined]);
  }
  const releases = doc.getIn(['lab', 'releases']);
  if (typeof releases === 'string') out.push([['lab', 'releases'], resolveLocalPath(e.planFile, releases)]);
  const installs = doc.getIn(['lab', 'installs']);
  if (isMap(installs))
    for (const item of installs.items) {
      const k = isScalar(item.key) ? item.key.value : item.key;
      if (isScalar(item.value) && typeof item.value.value === 'string' && (typeof k === 'string' || typeof k === 'number'))
        out.push([['lab', 'installs', k], resolveLocalPath(e.planFile, item.value.value)]);
    }
  return out;
}

/** The text of a scalar value in the style of the node it replaces. */
function scalarText(node: Scalar, value: unknown): string {
  if (node.type === 'QUOTE_DOUBLE' || typeof value !== 'string') return JSON.stringify(value);
  const plain = stringify(value, { lineWidth: 0 }).trimEnd();
  return node.type === 'QUOTE_SINGLE' && !plain.startsWith("'") ? `'${value.replaceAll("'", "''")}'` : plain;
}

/** The edits spliced into the text, or null when one is not a change of an existing scalar. */
function inPlace(text: string, doc: Document, list: [Path, unknown][]): string | null {
  const splices: { at: number; end: number; text: string }[] = [];
  for (const [p, value] of list) {
    const node = doc.getIn(p, true);
    if (value === undefined || !isScalar(node) || !node.range) return null;
    if (node.value !== value) splices.push({ at: node.range[0], end: node.range[1], text: scalarText(node, value) });
  }
  let out = text;
  for (const s of splices.sort((a, b) => b.at - a.at)) out = out.slice(0, s.at) + s.text + out.slice(s.end);
  return out;
}

/** The clone plan's YAML text from the source plan's text. */
export function clonePlanText(text: string, e: ClonePlanEdits): string {
  const doc = parseDocument(text);
  const list = edits(doc, e);
  const spliced = inPlace(text, doc, list);
  if (spliced !== null) return `# ${e.header}\n${spliced}`;
  for (const [p, value] of list) {
    const node = doc.getIn(p, true);
    if (value === undefined) doc.deleteIn(p);
    else if (isScalar(node)) node.value = value;
    else doc.setIn(p, value);
  }
  doc.commentBefore = [` ${e.header}`, ...(doc.commentBefore ? [doc.commentBefore] : [])].join('\n');
  return doc.toString();
}
