// The split window of a rebuild: from the data copy until the old ensemble stops, two
// ensembles serve, and writes that reached the old one are not in the new one. Once the old
// ensemble has stopped (no more acknowledged writes can happen), each old server's final data
// is opened read-only: a copy of its version-2 directories is loaded by a standalone ZooKeeper
// on a spare port of its own host (ZooKeeper itself replays the transaction logs). The most
// advanced copy is compared with the new ensemble, and every persistent node it created or
// changed since the copy is written to the new ensemble. Nodes only the new ensemble has are
// reported, never deleted.
// The readers are started and stopped by the step's compiled commands (src/compile/split.ts).
// Each tree is walked once on its own session (zk/walk.ts), keeping only what changed after the
// copy, so a tree of a million nodes is never held in memory.
// Invariants: the old servers' own files are never touched (only copies are opened); the
// temporary copies and readers are zkroll's own and are removed; safe to run twice (creates are
// create-if-missing, changes set-if-different).
import { hexZxid } from '../zk/zxid.js';
import type { MemberAction, NodeRef, Step } from '../compile/types.js';
import { readerDir, readerPort } from '../compile/split.js';
import { ZNODEEXISTS, ZkError } from '../zk/client.js';
import { statZxid, type WireSession } from '../zk/wire.js';
import { childPath, isGone, walkWire } from '../zk/walk.js';
import { ensembleView } from '../zk/gates.js';
import { COPY_SUFFIX } from '../zk/persisted.js';
import { errorText, runCommand, StepError, withRunId, type RunEnv } from './env.js';

/** What one walk of a tree keeps: only what changed after the copy (`since`), never the tree. */
interface Changes {
  /** Persistent nodes created or changed after `since`, with their data (null: not kept). */
  nodes: Map<string, Buffer | null>;
  /** Nodes whose children changed after `since` (created or deleted). */
  dirs: Set<string>;
  /** Every persistent node created after `since`. */
  created: Set<string>;
}

/** Walk a tree once, keeping only the changes whose zxid is `after` the copy (their data when `keepData`). */
async function changesSince(s: WireSession, skip: (p: string) => boolean, after: (zxid: bigint) => boolean, keepData: boolean): Promise<Changes> {
  const c: Changes = { nodes: new Map(), dirs: new Set(), created: new Set() };
  await walkWire(s, skip, (p, data, stat) => {
    if (after(statZxid(stat, 'pzxid'))) c.dirs.add(p);
    if (p === '/' || stat.ephemeral) return;
    const born = after(statZxid(stat, 'czxid'));
    if (born) c.created.add(p);
    if (born || after(statZxid(stat, 'mzxid'))) c.nodes.set(p, keepData ? Buffer.from(data) : null);
  });
  return c;
}

/** The epoch of a zxid: its high 32 bits (ZooKeeper's ZxidUtils.getEpochFromZxid). */
const epochOf = (z: bigint) => z >> 32n;

/** The node on this session: its data and whether it is ephemeral; null when it does not exist. */
async function nodeAt(s: WireSession, p: string): Promise<{ data: Buffer; ephemeral: boolean } | null> {
  try {
    const { data, stat } = await s.getData(p);
    return { data, ephemeral: stat.ephemeral };
  } catch (e) {
    if (isGone(e)) return null;
    throw e;
  }
}

/** A session on the first member of `nodes` that serves. */
async function sessionOn(env: RunEnv, nodes: readonly NodeRef[], port: number): Promise<WireSession> {
  let last: unknown;
  for (const n of nodes) {
    try {
      return await env.probes.session(n.host, port, 10000);
    } catch (e) {
      last = e;
    }
  }
  throw new StepError(`no server of the new ensemble took a session: ${errorText(last)}`);
}

const parentOf = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';

interface Carried {
  created: string[];
  changed: string[];
  onlyNew: string[];
  /** Writes not carried because the new ensemble changed the same node (or its parent) after the copy too. */
  conflicts: string[];
}

/**
 * Carry the old ensemble's writes after the copy (zxid `since`) into the new ensemble: each
 * tree is walked once on its own session (zk/walk.ts), keeping only nodes and directories
 * changed after the copy (a node's czxid, mzxid and pzxid say when it was created, changed and
 * its children changed); the new ensemble's zxids continue from the copy, so its own writes are
 * after it too. A node both ensembles changed after the copy, or that the new one deleted (or
 * holds as ephemeral, or lost the parent of), is a conflict: the new ensemble's state is kept and
 * the node named (the old value stays in the old server's files, which zkroll never changes).
 * Nodes the old tree lost after the copy, or the new one created, are reported and kept.
 */
export async function carry(oldS: WireSession, newS: WireSession, skip: (p: string) => boolean, since: bigint): Promise<Carried> {
  await newS.sync('/');
  // the copy streams live files: it holds the old ensemble's writes up to where it ended, some
  // after `since` (read before it started). In the new tree those carry the old ensemble's
  // zxids; the new ensemble's own writes have a later epoch (its first leader's election raised
  // it past every epoch of the copied data: Leader.getEpochToPropose), so only they count as its
  // changes. Otherwise an old write during the copy, changed again after it, would look changed
  // in both and its last value would be lost.
  const ownWrite = (z: bigint) => z > since && epochOf(z) > epochOf(since);
  const [a, b] = await Promise.all([changesSince(oldS, skip, (z) => z > since, true), changesSince(newS, skip, ownWrite, false)]);
  const candidates = new Set(b.created);
  for (const d of a.dirs)
    for (const c of await newS.getChildren(d).catch((e: unknown) => (isGone(e) ? [] : Promise.reject(e)))) candidates.add(childPath(d, c));
  const onlyNew: string[] = [];
  for (const p of [...candidates].sort()) {
    if (skip(p) || a.nodes.has(p)) continue;
    const [mine, theirs] = [await nodeAt(newS, p), await nodeAt(oldS, p)];
    if (mine !== null && !mine.ephemeral && theirs === null) onlyNew.push(p);
  }
  const out: Carried = { created: [], changed: [], onlyNew, conflicts: [] };
  const held: string[] = [];
  const conflict = (p: string, why: string) => {
    out.conflicts.push(`${p} (${why})`);
    held.push(p);
  };
  // parents before children
  for (const [p, data] of [...a.nodes.entries()].sort(([x], [y]) => x.split('/').length - y.split('/').length || x.localeCompare(y))) {
    if (held.some((h) => p.startsWith(`${h}/`))) continue; // under a conflict: left with it
    const mine = await nodeAt(newS, p);
    if (b.nodes.has(p)) {
      // the same value on both sides (an earlier attempt of this step carried it) is no conflict
      if (!(mine !== null && !mine.ephemeral && mine.data.equals(data!))) conflict(p, 'changed in both ensembles after the copy');
      continue;
    }
    if (mine?.ephemeral === true) conflict(p, 'an ephemeral node of the new ensemble');
    else if (mine === null && !a.created.has(p)) conflict(p, 'deleted in the new ensemble after the copy');
    else if (mine === null && parentOf(p) !== '/' && (await nodeAt(newS, parentOf(p))) === null) conflict(p, 'its parent is gone from the new ensemble');
    else if (mine === null) {
      try {
        await newS.create(p, data!);
      } catch (e) {
        if (!(e instanceof ZkError && e.rc === ZNODEEXISTS)) throw e;
      }
      out.created.push(p);
    } else if (!mine.data.equals(data!)) {
      await newS.setData(p, data!);
      out.changed.push(p);
    }
  }
  return out;
}

export interface SplitResult {
  /** Final zxid of the old ensemble (the most advanced old server), hex. */
  oldZxid: string | null;
  from: number | null;
  created: string[];
  changed: string[];
  onlyNew: string[];
  /** Old writes not carried (Carried.conflicts). */
  conflicts: string[];
}

interface Reader {
  node: NodeRef;
  tmp: string;
  port: number;
}

/**
 * Run the split-window step: start each old member's reader (its compiled first command), read
 * them, carry the writes over, and always run the compiled stop commands at the end, Ctrl-C or
 * not. Throws StepError while the old ensemble still serves.
 */
export async function carrySplitWindow(env: RunEnv, step: Step & { target: { kind: 'split' } }, seedZxid: string | undefined): Promise<SplitResult> {
  const port = env.settings.clientPort;
  const oldMembers = step.target.old;
  if ((await ensembleView(oldMembers, port, env.probes.srvr)).leader !== null)
    throw new StepError('the old ensemble still serves: its final data can only be read once it has stopped');
  const readers: Reader[] = [];
  const started: MemberAction[] = [];
  try {
    for (const m of step.byMember ?? []) {
      const node = oldMembers.find((o) => o.myid === m.myid);
      const start = m.commands[0];
      if (!node || !start) throw new StepError(`step ${step.id}: no reader for old server ${m.myid}`);
      started.push(m);
      await runCommand(env, m.host, start);
      readers.push({ node, tmp: withRunId([readerDir(node)], env.runId)[0]!, port: readerPort(port) });
    }
    let best: { r: Reader; zxid: bigint } | null = null;
    const older: string[] = [];
    for (const r of readers) {
      const deadline = Date.now() + env.settings.startDeadlineMs;
      let s = await env.probes.srvr(r.node.host, r.port, 1000);
      while (!s && Date.now() < deadline && !env.stopRequested()) {
        await new Promise((res) => setTimeout(res, env.settings.pollIntervalMs));
        s = await env.probes.srvr(r.node.host, r.port, 1000);
      }
      if (!s || s.zxid === null) {
        // the reader's log goes with its directory when the reader is stopped below: its tail is kept in the error
        const h = await env.hosts(r.node.host);
        const log = await h.exec(['tail', '-n', '20', `${r.tmp}/reader.log`], { timeoutMs: 10000, raw: true, purpose: 'read' }).catch(() => null);
        throw new StepError(
          `could not open the final data of old server ${r.node.myid} (${r.node.host}): the reader did not serve within ${env.settings.startDeadlineMs} ms (the last lines of its log follow)`,
          log?.stdout.trim() ?? '',
        );
      }
      // a reader older than the copy cannot hold writes after it (a lagging server, or not the
      // old data at all): it is not compared; if none reaches the copy, the step is refused below
      if (seedZxid !== undefined && /^0x[0-9a-f]+$/i.test(seedZxid) && s.zxid < BigInt(seedZxid)) {
        env.progress(`old server ${r.node.myid} ended at zxid ${hexZxid(s.zxid)}, before the copy at ${seedZxid}: not compared`);
        older.push(`${r.node.myid} (${hexZxid(s.zxid)})`);
        continue;
      }
      env.progress(`old server ${r.node.myid} ended at zxid ${hexZxid(s.zxid)}`);
      if (!best || s.zxid > best.zxid) best = { r, zxid: s.zxid };
    }
    if (!best && older.length > 0) {
      throw new StepError(
        `every old server's final data is older than the copy at ${seedZxid}: ${older.join(', ')}; what answers on the readers' port is not the old ensemble's data`,
      );
    }
    if (!best) return { oldZxid: null, from: null, created: [], changed: [], onlyNew: [], conflicts: [] };
    const hex = hexZxid(best.zxid);
    if (seedZxid !== undefined && hex === seedZxid) {
      env.progress(`the old ensemble ended at ${hex}, where the data was copied: no writes to carry over`);
      return { oldZxid: hex, from: best.r.node.myid, created: [], changed: [], onlyNew: [], conflicts: [] };
    }
    env.progress(`the old ensemble ended at ${hex}, after the copy at ${seedZxid ?? 'unknown'}: comparing with the new ensemble`);
    const canary = env.settings.canaryPath;
    const skip = (p: string) => p === '/zookeeper' || p.startsWith('/zookeeper/') || p === canary || p.endsWith(COPY_SUFFIX);
    const from = best.r.node.myid;
    // a reader older than the copy was not compared above; without a known copy point every node counts as changed
    const since = seedZxid !== undefined && /^0x[0-9a-f]+$/i.test(seedZxid) ? BigInt(seedZxid) : 0n;
    const sessions: WireSession[] = [];
    let result: Carried;
    try {
      sessions.push(await env.probes.session(best.r.node.host, best.r.port, 10000));
      sessions.push(await sessionOn(env, step.target.neu, port));
      result = await carry(sessions[0]!, sessions[1]!, skip, since);
    } finally {
      // (an error after Ctrl-C is an interruption: executeStep says so)
      await Promise.all(sessions.map((x) => x.close()));
    }
    const { created, changed, onlyNew, conflicts } = result;
    env.progress(`carried ${created.length} new and ${changed.length} changed nodes to the new ensemble; ${onlyNew.length} nodes only in the new one (kept)`);
    if (conflicts.length > 0) env.progress(`not carried, the new ensemble's state kept: ${conflicts.join('; ')}`);
    return { oldZxid: hex, from, created, changed, onlyNew, conflicts };
  } finally {
    // the readers and their copies are zkroll's own: the compiled stop of each one started
    // (even after Ctrl-C: a reader left behind would hold its port and a copy of the data)
    await Promise.all(
      started.map((m) =>
        m.commands[1]
          ? runCommand(env, m.host, m.commands[1], undefined, true).catch((e: unknown) => env.progress(`${m.host}: could not stop the reader: ${errorText(e)}`))
          : undefined,
      ),
    );
  }
}
