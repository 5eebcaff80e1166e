// zoo.cfg rendering that keeps the operator's file: only the ensemble lines (server.N), the
// keys bound to a host's own address, and dataDir/dataLogDir (when they differ) change; every
// other key, comment and blank line stays where it was. With `dynamicConfigFile` (3.5+) the
// server lines live in the dynamic file instead. Pure.
// Invariants: the output lists exactly the given servers, in myid order; a key zkroll does not
// own is never added, removed or reordered.
import type { NodeRef, ServerLine } from './types.js';

const SERVER_LINE = /^\s*server\.(\d+)\s*=\s*(.*)$/;
/** Keys whose value is the server's own address: they follow the host, not the file. */
const HOST_BOUND = ['clientPortAddress', 'secureClientPortAddress', 'admin.serverAddress'];

export interface RenderedConfig {
  main: string;
  /** Content of the dynamic config file, when the base uses one. */
  dynamic?: { path: string; content: string };
}

function keyOf(line: string): string | null {
  const m = /^\s*([A-Za-z0-9_.-]+)\s*=/.exec(line);
  return m?.[1] ?? null;
}

function valueOf(lines: string[], key: string): string | undefined {
  for (const l of lines) if (keyOf(l) === key) return l.slice(l.indexOf('=') + 1).trim();
  return undefined;
}

/**
 * The `dynamicConfigFile` of a zoo.cfg's text (3.5+: the server lines live there), or undefined.
 * The one reader of that key: the compiler, the executor and `plan --live` all use it.
 */
export function dynamicConfigPath(zooCfg: string): string | undefined {
  return valueOf(zooCfg.split('\n'), 'dynamicConfigFile') || undefined;
}

/** The style of the base's server lines: "host:q:e", "host:q:e:participant", "…;port". */
function lineFormat(example: string | undefined): { role: boolean; client: boolean } {
  return { role: example !== undefined && /:participant|:observer/.test(example), client: example !== undefined && example.includes(';') };
}

export function serverLine(s: ServerLine, fmt: { role: boolean; client: boolean }): string {
  return `server.${s.myid}=${s.host}:${s.quorumPort}:${s.electionPort}${fmt.role ? ':participant' : ''}${fmt.client ? `;${s.clientPort}` : ''}`;
}

/**
 * Render the config for `node` from `base` (the config the server ran with, possibly from
 * another host `baseHost`) and the ensemble `servers`.
 */
export function renderZooCfg(
  base: string,
  servers: ServerLine[],
  node: NodeRef,
  baseHost: string,
  dynamicBase?: string,
  keys: { set?: { key: string; value: string }[]; unset?: string[] } = {},
): RenderedConfig {
  const lines = setKeys(base.replace(/\n$/, '').split('\n'), keys.set ?? [], keys.unset ?? []);
  const sorted = [...servers].sort((a, b) => a.myid - b.myid);
  const dynPath = valueOf(lines, 'dynamicConfigFile');
  const out: string[] = [];
  let inserted = false;
  const example = (dynamicBase ?? base).split('\n').find((l) => SERVER_LINE.test(l));
  const fmt = lineFormat(example?.replace(SERVER_LINE, '$2'));
  const rendered = sorted.map((s) => serverLine(s, fmt));
  for (const line of lines) {
    if (SERVER_LINE.test(line)) {
      if (!inserted && dynPath === undefined) out.push(...rendered);
      inserted = true;
      continue;
    }
    const key = keyOf(line);
    if (key !== null && HOST_BOUND.includes(key) && valueOf([line], key) === baseHost) {
      out.push(line.replace(/=.*$/, `=${node.host}`));
    } else if (key === 'dataDir' && valueOf([line], key) !== node.dataDir) {
      out.push(`dataDir=${node.dataDir}`);
    } else if (key === 'dataLogDir' && valueOf([line], key) !== node.dataLogDir) {
      out.push(`dataLogDir=${node.dataLogDir}`);
    } else {
      out.push(line);
    }
  }
  if (!inserted && dynPath === undefined) out.push(...rendered);
  if (valueOf(lines, 'dataLogDir') === undefined && node.dataLogDir !== node.dataDir) out.push(`dataLogDir=${node.dataLogDir}`);
  const result: RenderedConfig = { main: out.join('\n') + '\n' };
  if (dynPath !== undefined) {
    const keep = (dynamicBase ?? '').split('\n').filter((l) => l.trim() !== '' && !SERVER_LINE.test(l));
    result.dynamic = { path: dynPath, content: [...rendered, ...keep].join('\n') + '\n' };
  }
  return result;
}

/** `lines` with each `set` key given its value (in place, else appended) and every `unset` key's lines dropped. */
function setKeys(lines: string[], set: { key: string; value: string }[], unset: string[]): string[] {
  let out = lines.filter((l) => !unset.includes(keyOf(l) ?? ''));
  for (const { key, value } of set) {
    const at = out.findIndex((l) => keyOf(l) === key);
    if (at >= 0) out = out.map((l, i) => (i === at ? `${key}=${value}` : l)).filter((l, i) => i <= at || keyOf(l) !== key);
    else out = [...out, `${key}=${value}`];
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
      `dataDir=${node.dataDir}`,
      ...(node.dataLogDir !== node.dataDir ? [`dataLogDir=${node.dataLogDir}`] : []),
      `clientPort=${clientPort}`,
      ...[...servers].sort((a, b) => a.myid - b.myid).map((s) => serverLine(s, fmt)),
    ].join('\n') + '\n'
  );
}

/** The server.N ids a config text lists (main file or dynamic file). */
export function configuredIds(text: string): number[] {
  return text
    .split('\n')
    .map((l) => SERVER_LINE.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}
