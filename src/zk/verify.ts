// Data consistency across servers (RUNBOOK.md §4): connect to each server alone, sync, walk the
// tree (except /zookeeper and the canary), and compare per-server digests of paths, data and
// ephemeral-ness; name the servers and paths that differ. Paths that differ are read again
// after a fresh sync before they are reported, so a write racing the walk is not a finding.
// Invariants: read-only; compares only servers that serve; a digest is sha256 of the data plus
// an ephemeral flag.
import { formatHostPort } from '../plan/host.js';
import crypto from 'node:crypto';
import { ZkClient } from './client.js';
import { readMonitor } from './monitor.js';
import { walkTree } from './tree.js';

export interface VerifyServer {
  label: string;
  host: string;
  port: number;
}

export interface Difference {
  path: string;
  /** label → digest ('missing' when the path is absent there). */
  values: Record<string, string>;
}

export interface VerifyResult {
  servers: string[];
  unreachable: string[];
  paths: number;
  differences: Difference[];
  /** zk_digest_mismatches_count per server, where the server reports it (3.6+). */
  digestMismatches: Record<string, number>;
}

function digest(data: Buffer, ephemeral: boolean): string {
  return crypto
    .createHash('sha256')
    .update(data)
    .update(ephemeral ? 'E' : 'P')
    .digest('hex')
    .slice(0, 16);
}

async function readNode(zk: ZkClient, p: string): Promise<string> {
  try {
    const { data, stat } = await zk.get(p);
    return digest(data, String(stat.ephemeralOwner) !== '0');
  } catch (e) {
    if ((e as { rc?: number }).rc === -101) return 'missing';
    throw e;
  }
}

async function walk(zk: ZkClient, skip: (p: string) => boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await walkTree(zk, skip, (p, data, stat) => out.set(p, digest(data, String(stat.ephemeralOwner) !== '0')));
  return out;
}

export async function verifyConsistency(
  servers: VerifyServer[],
  opts: { skip?: string[]; maxReported?: number; adminPort?: number } = {},
): Promise<VerifyResult> {
  const skipPrefixes = ['/zookeeper', ...(opts.skip ?? [])];
  const skip = (p: string) => skipPrefixes.some((s) => p === s || p.startsWith(s + '/'));
  const clients = new Map<string, ZkClient>();
  const unreachable: string[] = [];
  await Promise.all(
    servers.map(async (s) => {
      const c = await ZkClient.connect(formatHostPort(s.host, s.port), 5000).catch(() => null);
      if (c) clients.set(s.label, c);
      else unreachable.push(s.label);
    }),
  );
  try {
    const trees = new Map<string, Map<string, string>>();
    for (const [label, c] of clients) {
      await c.sync('/');
      trees.set(label, await walk(c, skip));
    }
    const all = new Set<string>();
    for (const t of trees.values()) for (const p of t.keys()) all.add(p);
    const suspects = [...all].filter((p) => new Set([...trees.values()].map((t) => t.get(p) ?? 'missing')).size > 1);
    // read the suspects again after a fresh sync: a write during the walk is not a difference
    if (suspects.length > 0) {
      for (const c of clients.values()) await c.sync('/');
      const again: Difference[] = [];
      for (const p of suspects) {
        const values: Record<string, string> = {};
        for (const [label, c] of clients) values[label] = await readNode(c, p);
        if (new Set(Object.values(values)).size > 1) again.push({ path: p, values });
      }
      const digestMismatches = await mismatches(servers, opts.adminPort ?? 8080);
      return { servers: [...clients.keys()], unreachable, paths: all.size, differences: again.slice(0, opts.maxReported ?? 50), digestMismatches };
    }
    return { servers: [...clients.keys()], unreachable, paths: all.size, differences: [], digestMismatches: await mismatches(servers, opts.adminPort ?? 8080) };
  } finally {
    for (const c of clients.values()) c.close();
  }
}

async function mismatches(servers: VerifyServer[], adminPort: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await Promise.all(
    servers.map(async (s) => {
      const read = await readMonitor(s.host, s.port, adminPort, 1500);
      const v = read.via ? read.values.get('zk_digest_mismatches_count') : undefined;
      if (v !== undefined && /^\d+$/.test(v)) out[s.label] = Number(v);
    }),
  );
  return out;
}

/** Which servers hold the minority value of a differing path (the ones to look at). */
export function outliers(d: Difference): string[] {
  const counts = new Map<string, number>();
  for (const v of Object.values(d.values)) counts.set(v, (counts.get(v) ?? 0) + 1);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  return Object.entries(d.values)
    .filter(([, v]) => v !== majority)
    .map(([k]) => k);
}
