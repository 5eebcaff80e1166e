// Data consistency across servers (RUNBOOK.md §4): are the trees of the serving servers the same,
// and if not, which paths differ where?
// 1. Where every server keeps a tree digest (3.6+, DataTree.getDigestLog via the AdminServer's
//    `hash` command: {zxid, digestVersion, digest} every 128 zxids, the last 1024 kept), the
//    digests at the newest zxid all servers logged are compared. Only when every server is at
//    that very zxid, before and after they are read, does agreement settle it without a walk
//    (a digest of an older zxid says nothing of later writes, and a restarted server logs old
//    zxids again); otherwise the walk decides and the digests' verdict is shown beside it.
//    Digests of 0 (zookeeper.digest.enabled=false still logs them) count as none.
// 2. Otherwise every server is walked at once, each on its own session (zk/wire.ts) with many
//    requests in flight, after a sync. A walk keeps no per-path state: each node's
//    128-bit sha1 prefix of (path, ephemeral flag, data) is XORed into one of 4096 buckets chosen by its path, and
//    the directories (nodes with children) are listed. Servers whose buckets all agree hold the
//    same tree; for buckets that differ, the paths falling in them are listed again and read
//    again on every server after a fresh sync (so a write racing the walk is not a finding):
//    only what differs is read twice.
// Invariants: read-only; compares only servers that serve; the per-path digest reported is
// sha256 of the data plus an ephemeral flag ('missing' when absent); paths are unique per
// server, so XOR over a bucket is a set digest.
import crypto from 'node:crypto';
import { adminCommand } from './admin.js';
import { readMonitor } from './monitor.js';
import { WireSession, type WireStat } from './wire.js';
import { childPath, isGone, walkWire } from './walk.js';
import { hexZxid } from './zxid.js';
import { probeSrvr } from './fourlw.js';

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
  /** Znodes compared (the most any server holds). */
  paths: number;
  differences: Difference[];
  /** zk_digest_mismatches_count per server, where the server reports it (3.6+). */
  digestMismatches: Record<string, number>;
  /** How the trees were compared: `tree digest at zxid 0x…` or `walk`. */
  method: string;
}

export interface VerifyOptions {
  skip?: string[];
  maxReported?: number;
  adminPort?: number;
  /** Requests in flight per server during a walk. */
  depth?: number;
}

const BUCKETS = 4096;

/** FNV-1a of the path, as a bucket index: the bucket a path falls in never depends on its data. */
export function bucketOf(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  return (h >>> 0) & (BUCKETS - 1);
}

const ephemeral = (s: WireStat) => s.ephemeral;

/**
 * The 128-bit content hash of one node: the first 16 bytes of sha1(path, a 0 byte and the
 * ephemeral flag, then its data), as four 32-bit words in `out`.
 */
export function nodeHash(path: string, data: Buffer, isEphemeral: boolean, out: Uint32Array): void {
  const d = crypto
    .createHash('sha1')
    .update(isEphemeral ? `${path}\0E` : `${path}\0P`)
    .update(data)
    .digest();
  for (let i = 0; i < 4; i++) out[i] = d.readUInt32LE(i * 4);
}

/** The per-path digest reported in a Difference. */
function digest(data: Buffer, isEphemeral: boolean): string {
  return crypto
    .createHash('sha256')
    .update(data)
    .update(isEphemeral ? 'E' : 'P')
    .digest('hex')
    .slice(0, 16);
}

interface Walked {
  nodes: number;
  /** BUCKETS × 16 bytes: the XOR of the nodes' content hashes per bucket. */
  buckets: Uint32Array;
  dirs: string[];
}

/** Walk one server's tree: bucket digests, node count and directories (skipped subtrees left out). */
async function walkServer(s: WireSession, skip: (p: string) => boolean, depth: number): Promise<Walked> {
  const w: Walked = { nodes: 0, buckets: new Uint32Array(BUCKETS * 4), dirs: [] };
  const h = new Uint32Array(4);
  await walkWire(
    s,
    skip,
    (p, data, stat) => {
      w.nodes++;
      nodeHash(p, data, ephemeral(stat), h);
      const at = bucketOf(p) * 4;
      for (let i = 0; i < 4; i++) w.buckets[at + i]! ^= h[i]!;
      if (stat.numChildren > 0) w.dirs.push(p);
    },
    { depth },
  );
  return w;
}

/** Buckets whose digests are not the same on every server. */
function differingBuckets(walks: Walked[]): Set<number> {
  const out = new Set<number>();
  for (let b = 0; b < BUCKETS; b++) {
    const at = b * 4;
    const first = walks[0]!.buckets;
    if (walks.some((w) => [0, 1, 2, 3].some((i) => w.buckets[at + i] !== first[at + i]))) out.add(b);
  }
  return out;
}

async function readDigest(s: WireSession, p: string): Promise<string> {
  try {
    const { data, stat } = await s.getData(p);
    return digest(data, ephemeral(stat));
  } catch (e) {
    if (isGone(e)) return 'missing';
    throw e;
  }
}

/** The paths in `buckets`, listed again from every server's directories, read again on every server after a sync. */
async function reread(
  sessions: Map<string, WireSession>,
  walks: Walked[],
  buckets: Set<number>,
  skip: (p: string) => boolean,
  max: number,
): Promise<Difference[]> {
  const dirs = new Set(walks.flatMap((w) => w.dirs));
  const suspects = new Set<string>();
  if (buckets.has(bucketOf('/'))) suspects.add('/');
  for (const s of sessions.values()) {
    await Promise.all(
      [...dirs].map(async (d) => {
        const names = await s.getChildren(d).catch((e: unknown) => (isGone(e) ? [] : Promise.reject(e)));
        for (const n of names) {
          const p = childPath(d, n);
          if (!skip(p) && buckets.has(bucketOf(p))) suspects.add(p);
        }
      }),
    );
  }
  await Promise.all([...sessions.values()].map((s) => s.sync('/')));
  const out: Difference[] = [];
  const sorted = [...suspects].sort();
  // in name order, 1000 at a time, until `max` differ (a server that lost its data differs everywhere)
  for (let i = 0; i < sorted.length && out.length < max; i += 1000) {
    const found = await Promise.all(
      sorted.slice(i, i + 1000).map(async (p) => {
        const read = await Promise.all([...sessions].map(async ([label, s]) => [label, await readDigest(s, p)] as const));
        const values = Object.fromEntries(read);
        return new Set(Object.values(values)).size > 1 ? { path: p, values } : null;
      }),
    );
    for (const d of found) if (d !== null && out.length < max) out.push(d);
  }
  return out;
}

/** One entry of a digest log; zxid and digest are Java longs, kept as decimal text (JSON numbers lose bits past 2^53). */
export interface DigestEntry {
  zxid: string;
  digestVersion: number;
  digest: string;
}

/** `hash` of one server through its AdminServer: its digest log, or null (3.4/3.5, digest disabled, no AdminServer). */
export async function digestLog(host: string, adminPort: number): Promise<DigestEntry[] | null> {
  try {
    const text = (await adminCommand(host, adminPort, 'hash', 2000)).replace(/"(zxid|digest)"\s*:\s*(-?\d+)/g, '"$1":"$2"');
    const body = JSON.parse(text) as { digests?: unknown };
    if (!Array.isArray(body.digests) || body.digests.length === 0) return null;
    return body.digests.filter((d): d is DigestEntry => typeof d === 'object' && d !== null && typeof (d as DigestEntry).zxid === 'string');
  } catch {
    return null;
  }
}

/**
 * The zxid of the newest digest every server logged, and whether the digests there agree;
 * null when a server keeps none or they share no zxid.
 */
export function commonDigest(logs: DigestEntry[][]): { zxid: bigint; same: boolean } | null {
  const keyed = logs.map((l) => new Map(l.map((d) => [BigInt(d.zxid), `${d.digestVersion}:${d.digest}`])));
  const shared = [...keyed[0]!.keys()].filter((z) => keyed.every((k) => k.has(z))).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  const zxid = shared[0];
  if (zxid === undefined) return null;
  return { zxid, same: new Set(keyed.map((k) => k.get(zxid))).size === 1 };
}

export async function verifyConsistency(servers: VerifyServer[], opts: VerifyOptions = {}): Promise<VerifyResult> {
  const skipPrefixes = ['/zookeeper', ...(opts.skip ?? [])];
  const skip = (p: string) => skipPrefixes.some((s) => p === s || p.startsWith(s + '/'));
  const adminPort = opts.adminPort ?? 8080;
  // the digests first: opening a session is itself a transaction
  const viaDigest = servers.length > 1 ? await byDigest(servers, adminPort) : null;
  const sessions = new Map<string, WireSession>();
  const unreachable: string[] = [];
  await Promise.all(
    servers.map(async (s) => {
      const c = await WireSession.connect(s.host, s.port, 5000).catch(() => null);
      if (c) sessions.set(s.label, c);
      else unreachable.push(s.label);
    }),
  );
  const reached = servers.filter((s) => sessions.has(s.label));
  try {
    const base = { servers: [...sessions.keys()], unreachable, digestMismatches: await mismatches(reached, adminPort) };
    if (viaDigest?.settled === true && unreachable.length === 0) {
      const counts = await Promise.all(reached.map((s) => readMonitor(s.host, s.port, adminPort, 1500)));
      const paths = Math.max(0, ...counts.map((c) => (c.via ? Number(c.values.get('zk_znode_count') ?? 0) : 0)));
      return { ...base, paths, differences: [], method: viaDigest.note };
    }
    await Promise.all([...sessions.values()].map((s) => s.sync('/')));
    const walks = await Promise.all([...sessions.values()].map((s) => walkServer(s, skip, opts.depth ?? 256)));
    const paths = Math.max(0, ...walks.map((w) => w.nodes));
    const buckets = walks.length > 1 ? differingBuckets(walks) : new Set<number>();
    const differences = buckets.size > 0 ? await reread(sessions, walks, buckets, skip, opts.maxReported ?? 50) : [];
    return { ...base, paths, differences, method: viaDigest === null ? 'walk' : `walk (${viaDigest.note})` };
  } finally {
    await Promise.all([...sessions.values()].map((s) => s.close()));
  }
}

/** The servers' current zxids (srvr), or null when one does not answer with one. */
async function currentZxids(servers: VerifyServer[], adminPort: number): Promise<bigint[] | null> {
  const r = await Promise.all(servers.map((s) => probeSrvr(s.host, s.port, 1500, { adminPort }).catch(() => null)));
  return r.every((x) => x?.zxid != null) ? r.map((x) => x!.zxid!) : null;
}

/**
 * The tree digests (3.6+) compared where every server logged one: `settled` when they agree at
 * the zxid every server is at now, before and after reading them (nothing happened since: the
 * trees are the same, no walk needed); otherwise what they say about that older zxid (a walk
 * still compares the present). Null when a server keeps no digest or digests are disabled
 * (zookeeper.digest.enabled=false still logs them, as 0: DataTree.logZxidDigest).
 */
async function byDigest(servers: VerifyServer[], adminPort: number): Promise<{ settled: boolean; note: string } | null> {
  const before = await currentZxids(servers, adminPort);
  const logs = await Promise.all(servers.map((s) => digestLog(s.host, adminPort)));
  if (logs.some((l) => l === null || l.every((d) => /^0+$/.test(d.digest)))) return null;
  const common = commonDigest(logs as DigestEntry[][]);
  if (common === null) return null;
  const after = await currentZxids(servers, adminPort);
  const still = before !== null && after !== null && [...before, ...after].every((z) => z === common.zxid);
  if (!common.same) return { settled: false, note: `tree digests differ at zxid ${hexZxid(common.zxid)}` };
  return { settled: still, note: `tree digests agree at zxid ${hexZxid(common.zxid)}${still ? '' : ", before the servers' current zxid"}` };
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
