// What a step's file writes produce, given a way to read the files they start from. The
// executor passes the real host files; the dry-run passes a simulated file system seeded from
// the plan (or from the live hosts with --live). Pure.
// Invariants: the same FileWrite and the same base text always give the same content; a
// dynamic config file (3.5+ `dynamicConfigFile`) is written beside zoo.cfg, never inlined.
import path from 'node:path';
import { dynamicConfigPath, editKeys, membershipChange, reconfigEnabled, renderZooCfg, synthesizeZooCfg, WILDCARDS } from './zoocfg.js';
import type { Plan } from '../plan/schema.js';
import { oldNode, serverLines } from './nodes.js';
import { parseProperties, propertyValue } from './properties.js';
import type { Compiled, FileWrite, Step } from './types.js';

export type ReadFile = (host: string, path: string) => string | undefined;

export interface ResolvedFile {
  host: string;
  path: string;
  content: string;
  mode: number;
}

/** A file write that cannot be resolved from the files on the host (nothing is written). */
export class FileRefused extends Error {}

export class MissingBase extends FileRefused {}

export const BLOCK_BEGIN = '# >>> zkroll (managed block: zkroll replaces it on every run)';
export const BLOCK_END = '# <<< zkroll';

/** `text` with zkroll's block (re)placed at its end; the other lines as they were. */
export function withBlock(text: string, block: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(BLOCK_BEGIN);
  const end = start >= 0 ? lines.indexOf(BLOCK_END, start) : -1;
  const kept = start >= 0 && end > start ? [...lines.slice(0, start), ...lines.slice(end + 1)] : lines;
  const body = kept.join('\n').replace(/\n*$/, '');
  return `${body === '' ? '' : `${body}\n`}${BLOCK_BEGIN}\n${block.replace(/\n*$/, '')}\n${BLOCK_END}\n`;
}

/**
 * The files (one, or zoo.cfg + its dynamic file) a FileWrite produces on `host`. `real`: `read`
 * gives the hosts' real files (apply, plan --live), not the dry-run's stand-ins (plannedFiles),
 * so checks that need the real file run too. Throws FileRefused, MissingBase.
 */
export function resolveFile(fw: FileWrite, host: string, read: ReadFile, real = true): ResolvedFile[] {
  if (fw.kind === 'literal') return [{ host, path: fw.path, content: fw.content, mode: fw.mode }];
  if (fw.kind === 'block') return [{ host, path: fw.path, content: withBlock(read(host, fw.path) ?? '', fw.block), mode: fw.mode }];
  const baseHost = fw.baseHost ?? host;
  const base = read(baseHost, fw.base);
  if (base === undefined) throw new MissingBase(`${baseHost}:${fw.base} (the zoo.cfg this step starts from) does not exist`);
  if (fw.keysOnly) return [{ host, path: fw.path, content: editKeys(base, fw), mode: fw.mode }];
  if (fw.dynamic !== undefined) {
    // the first config of a server that is not a member yet (membership: reconfig): zkroll writes
    // its dynamic file whole; the base's own server lines and dynamic file are not carried
    // judged on the real file only (not on the dry-run's stand-in, which knows no binding)
    if (real) clientBindingKept(base, baseHost, fw.node.host, fw.dynamic.clientHost);
    const r = renderZooCfg(base, [], fw.node, baseHost, '', { ...(fw.set ? { set: fw.set } : {}), ...(fw.unset ? { unset: fw.unset } : {}) });
    return [
      { host, path: fw.path, content: r.main, mode: fw.mode },
      { host, path: fw.dynamic.path, content: fw.dynamic.content, mode: fw.mode },
    ];
  }
  const dynPath = dynamicConfigPath(base);
  const dynBase = dynPath !== undefined ? read(baseHost, dynPath) : undefined;
  if (reconfigEnabled(base)) {
    const own = baseHost === host && fw.servers.some((s) => s.myid === fw.node.myid && s.host === host) ? fw.node.myid : null;
    const change = membershipChange(base, dynBase, fw.servers, own);
    if (change !== null) {
      throw new FileRefused(
        `${baseHost}:${fw.base} has reconfigEnabled=true: the membership belongs to ZooKeeper's reconfig (it rewrites ${dynPath ?? 'the dynamic file'} itself), so zkroll does not edit it by hand; this step would change the members ${change}. Set reconfigEnabled=false first (a rebuild can then add its own members with strategy.membership: reconfig).`,
      );
    }
  }
  const set = [...(fw.set ?? [])];
  if (dynPath !== undefined && dynBase === undefined) {
    throw new MissingBase(`${baseHost}:${dynPath} (the dynamicConfigFile of ${fw.base}, where its server lines live) does not exist or cannot be read`);
  }
  // a config carried to another install takes its dynamic file along when it sits beside the old
  // zoo.cfg (inside the old install): the new zoo.cfg never points back into the old install,
  // whose file stays as it was; a dynamic file kept elsewhere (/etc/…) stays where it is
  if (dynPath !== undefined && fw.path !== fw.base && path.posix.dirname(dynPath) === path.posix.dirname(fw.base))
    set.push({ key: 'dynamicConfigFile', value: path.posix.join(path.posix.dirname(fw.path), path.posix.basename(dynPath)) });
  const r = renderZooCfg(base, fw.servers, fw.node, baseHost, dynBase, { ...(set.length > 0 ? { set } : {}), ...(fw.unset ? { unset: fw.unset } : {}) });
  const out: ResolvedFile[] = [{ host, path: fw.path, content: r.main, mode: fw.mode }];
  if (r.dynamic) out.push({ host, path: r.dynamic.path, content: r.dynamic.content, mode: fw.mode });
  return out;
}

/**
 * A dynamic file's own line moves the client port's binding out of zoo.cfg; it must bind what
 * the base binds today (clientPortAddress: the base host's address, or every interface when
 * absent or a wildcard), else clients, monitoring or a VIP would lose the server. FileRefused
 * naming strategy.reconfig.clientAddress otherwise.
 */
function clientBindingKept(base: string, baseHost: string, host: string, clientHost: string | null): void {
  const bound = propertyValue(parseProperties(base), 'clientPortAddress')?.trim();
  const everywhere = bound === undefined || bound === '' || WILDCARDS.includes(bound);
  if (clientHost === null && !everywhere)
    throw new FileRefused(
      `${baseHost}'s zoo.cfg binds the client port to ${bound} (clientPortAddress), but strategy.reconfig.clientAddress: any would listen on every interface: set clientAddress: host`,
    );
  if (clientHost !== null && everywhere)
    throw new FileRefused(
      `${baseHost}'s zoo.cfg listens on every interface (${bound === undefined ? 'no clientPortAddress' : `clientPortAddress=${bound}`}), but strategy.reconfig.clientAddress: host would bind the client port to ${host} only (clients on another address, local monitoring or a VIP would lose it): set clientAddress: any`,
    );
  if (clientHost !== null && bound !== baseHost && bound !== host)
    throw new FileRefused(
      `${baseHost}'s zoo.cfg binds the client port to ${bound}, neither its host nor ${host}: zkroll cannot say which address the new server should bind`,
    );
}

export interface FileChange extends ResolvedFile {
  before: string | undefined;
}

/** Host of a step that writes files (only node steps do). */
export function stepHost(step: Step): string | null {
  return step.target.kind === 'node' ? step.target.node.host : null;
}

/**
 * Play the steps' writes over `initial` (host → path → text) and return each step's changes.
 * Without real files, `initial` comes from {@link plannedFiles}.
 */
export function simulateWrites(compiled: Compiled, initial: Map<string, string>, real = false): Map<number, FileChange[]> {
  const fs = new Map(initial);
  const key = (host: string, path: string) => `${host}\u0000${path}`;
  const read: ReadFile = (host, path) => fs.get(key(host, path));
  const out = new Map<number, FileChange[]>();
  for (const step of compiled.steps) {
    const host = stepHost(step);
    if (host === null || step.files.length === 0) continue;
    const changes: FileChange[] = [];
    for (const fw of step.files) {
      for (const f of resolveFile(fw, host, read, real)) {
        changes.push({ ...f, before: read(f.host, f.path) });
        fs.set(key(f.host, f.path), f.content);
      }
    }
    out.set(step.n, changes);
  }
  return out;
}

/**
 * The current servers' zoo.cfg and myid as the plan describes them (when the real ones are not
 * read), keyed `host\u0000path`.
 */
export function plannedFiles(plan: Plan): Map<string, string> {
  const nodes = plan.servers.map(oldNode);
  const all = serverLines(plan, nodes);
  const m = new Map<string, string>();
  for (const node of nodes) {
    m.set(`${node.host}\u0000${node.config}`, synthesizeZooCfg(node, all, plan.cluster.ports.client));
    m.set(`${node.host}\u0000${node.dataDir}/myid`, `${node.myid}\n`);
  }
  return m;
}
