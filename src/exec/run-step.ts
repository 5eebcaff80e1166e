// Executes one compiled step against the cluster: check before acting, act, then wait for the
// step's gates. Every step kind is safe to run twice: a resumed run re-runs the step that was
// in flight (a stop of a stopped server, a start of a running one, a backup of moved data, a
// write of an identical file and a copy into a fresh directory all leave the same state).
// Invariants: nothing is deleted (directories are moved to dated backups, files keep their
// previous version); slot steps resolve "followers in myid order, then the leader" from the
// live ensemble once per round and remember it (memo), so a resumed round keeps its order.
import { hexZxid } from '../zk/zxid.js';
import { resolveFile, type ReadFile } from '../compile/files.js';
import { describeNode } from '../compile/nodes.js';
import { dynamicConfigPath } from '../compile/zoocfg.js';
import type { Gate, NodeRef, RemoteCommand, Step } from '../compile/types.js';
import { hostsConnectString, ZkError, ZNODEEXISTS, ZNONODE } from '../zk/client.js';
import { COPY_SUFFIX, findPersistedCopies } from '../zk/persisted.js';
import { ensembleView, waitGate, type GateEnv } from '../zk/gates.js';
import { carrySplitWindow } from './split-window.js';
import { checkReconfigAccess, runReconfig } from './reconfig-step.js';
import { withServerLog } from './serverlog.js';
import { hasProcess, Interrupted, readText, runCommand, StepError, withRunId, withZk, writeKeeping, type RunEnv } from './env.js';
import type { StreamRun } from '../remote/ssh.js';
import type { Election, RunInput, RunOutput } from '../machine/contract.js';

/** What a step knows of earlier ones (mutable while it runs: the slot order, the canary counter). */
export type StepMemo = Omit<RunInput, 'index' | 'attempt'>;

/** What a finished step reports (the machine's RunOutput). */
export type StepOutcome = RunOutput;

export function gateEnv(env: RunEnv, memo: StepMemo): GateEnv {
  return {
    clientPort: env.settings.clientPort,
    adminPort: env.settings.adminPort,
    pollIntervalMs: env.settings.pollIntervalMs,
    hasProcess: (n, home) => hasProcess(env, n, home),
    hasSnapshot: env.probes.hasSnapshot,
    canaryValue: () => `${env.runId}#${++memo.canarySeq}`,
    stopped: env.stopRequested,
    srvr: env.probes.srvr,
    monitor: env.probes.monitor,
  };
}

/** The members' `srvr` answers, through the injected probe. */
function view(env: RunEnv, members: NodeRef[]) {
  return ensembleView(members, env.settings.clientPort, env.probes.srvr);
}

/** Run a compiled command, then wait for the gates it names (RemoteCommand.then). */
async function runThen(env: RunEnv, memo: StepMemo, on: string, c: RemoteCommand, accept?: (r: { stdout: string; stderr: string }) => boolean): Promise<void> {
  await runCommand(env, on, c, accept);
  for (const g of c.then ?? []) {
    const ms = await waitGate(g, gateEnv(env, memo));
    env.progress(`${on}: ${g.kind === 'stopped' ? 'stopped' : `gate ${g.kind} held`} ${ms} ms after \`${c.argv[0]} ${c.argv[1] ?? ''}\` returned`);
  }
}

async function gates(env: RunEnv, memo: StepMemo, list: Gate[]): Promise<void> {
  for (const g of list) {
    const ms = await waitGate(g, gateEnv(env, memo));
    env.progress(`gate ${g.kind} held after ${ms} ms`);
  }
}

/** How often the leaderless window is polled (srvr over TCP, about 1 ms each). */
const ELECTION_POLL_MS = 20;

/**
 * The election a leader's stop causes, watched from before the stop command is sent (a stop
 * script may return long after the JVM died: 3.5+ `zkServer.sh stop` sleeps 1 s): from the
 * first poll where the leader no longer answers as leader to the first where another member
 * does. Polled every ELECTION_POLL_MS, so that is its resolution.
 */
function watchElection(env: RunEnv, leader: NodeRef, others: NodeRef[]): { result: Promise<Election>; cancel: () => void } {
  const port = env.settings.clientPort;
  const deadline = Date.now() + env.settings.gateDeadlineMs;
  let cancelled = false;
  const result = (async () => {
    let lostAt: number | null = null;
    for (;;) {
      if (cancelled) return { from: leader.myid, to: null, ms: 0 };
      // a probe that fails (a source refused mid-shutdown) is no answer yet: the watch only
      // measures, it never fails the step
      if (lostAt === null && (await env.probes.srvr(leader.host, port, 500).catch(() => null))?.mode !== 'leader') lostAt = Date.now();
      const v = lostAt === null ? null : await view(env, others).catch(() => null);
      const done = v !== null && v.leader !== null;
      if (done || Date.now() >= deadline || env.stopRequested()) {
        const ms = lostAt === null ? 0 : Date.now() - lostAt;
        const to = v?.leader ?? null;
        env.progress(done ? `election: leader ${leader.myid} → ${to} in ${ms} ms` : `no new leader after ${ms} ms`);
        return { from: leader.myid, to, ms };
      }
      await new Promise((r) => setTimeout(r, ELECTION_POLL_MS));
    }
  })();
  return { result, cancel: () => void (cancelled = true) };
}

/** Run `act` with the election watch (if any) going; a failed act ends the watch. */
async function during<T>(watch: { result: Promise<Election>; cancel: () => void } | null, act: () => Promise<T>): Promise<T> {
  try {
    return await act();
  } catch (e) {
    watch?.cancel();
    watch?.result.catch(() => undefined);
    throw e;
  }
}

/**
 * Before a server starts (or is stopped to restart): its newest snapshot must be valid, the logs
 * must continue from it, and both directories need room (seed 004). Refused otherwise.
 */
async function assertDataOk(env: RunEnv, node: NodeRef): Promise<void> {
  const running = await env.probes.srvr(node.host, env.settings.clientPort, 1500);
  // an observer may log nothing (zookeeper.observer.syncEnabled=false) and takes the leader's
  // data when it starts: its files are not held to the zxid it serves
  const r = await env.probes.dataCheck(node, node.observer ? undefined : running?.zxid);
  if (!r.ok)
    throw new StepError(
      `refusing to start ${describeNode(node)}: ${[r.ok ? '' : r.detail, ...r.lowSpace].filter(Boolean).join('; ')}. Nothing was done to it; fix its data (or free space), then resume.`,
    );
  env.progress(`${describeNode(node)}: ${r.detail}`);
}

const alreadyRunning = (r: { stdout: string; stderr: string }) => /already running/.test(r.stdout + r.stderr);

async function writeFiles(env: RunEnv, step: Step, node: NodeRef): Promise<void> {
  const cache = new Map<string, string | undefined>();
  const reads: Promise<void>[] = [];
  for (const f of step.files) {
    if (f.kind === 'block') {
      reads.push(readText(env, node.host, f.path).then((t) => void cache.set(`${node.host}\u0000${f.path}`, t)));
      continue;
    }
    if (f.kind !== 'zoo.cfg') continue;
    const bh = f.baseHost ?? node.host;
    reads.push(
      (async () => {
        const base = await readText(env, bh, f.base);
        cache.set(`${bh}\u0000${f.base}`, base);
        const dyn = base && dynamicConfigPath(base);
        if (dyn) cache.set(`${bh}\u0000${dyn}`, await readText(env, bh, dyn));
      })(),
    );
  }
  await Promise.all(reads);
  const read: ReadFile = (h, p) => cache.get(`${h}\u0000${p}`);
  for (const fw of step.files) {
    for (const f of resolveFile(fw, node.host, read)) await writeKeeping(env, f.host, f.path, f.content, f.mode);
  }
}

async function resolveSlot(env: RunEnv, memo: StepMemo, step: Step & { target: { kind: 'slot' } }): Promise<number> {
  const t = step.target;
  let order = memo.slotOrders[t.round];
  if (!order) {
    const v = await view(env, t.members);
    if (v.leader === null) throw new StepError(`cannot order round ${t.round}: no single leader among ${t.members.map((m) => m.myid).join(', ')}`);
    // observers first (they do not vote), then the followers, each in myid order; the leader last
    const byId = (a: number, b: number) => a - b;
    const observers = t.members
      .filter((m) => m.observer)
      .map((m) => m.myid)
      .sort(byId);
    const followers = t.members
      .filter((m) => !m.observer && m.myid !== v.leader)
      .map((m) => m.myid)
      .sort(byId);
    order = [...observers, ...followers, v.leader];
    memo.slotOrders[t.round] = order;
    env.progress(
      `round ${t.round}: ${observers.length > 0 ? `observers ${observers.join(', ')}, ` : ''}followers ${followers.join(', ') || 'none'}, then leader ${v.leader}`,
    );
  }
  const id = order[t.slot - 1];
  if (id === undefined) throw new StepError(`round ${t.round} has no slot ${t.slot}`);
  return id;
}

async function copySeed(env: RunEnv, step: Step & { target: { kind: 'seed' } }, out: StepOutcome): Promise<void> {
  const t = step.target;
  let seed = t.candidates[0]!;
  const v = await view(env, t.candidates);
  if (t.seedFrom === 'leader') {
    const leader = t.candidates.find((c) => c.myid === v.leader);
    if (!leader) throw new StepError(`the seed is the old ensemble's leader, but ${t.candidates.map((c) => c.myid).join(', ')} have no single leader`);
    seed = leader;
  }
  const zxid = v.modes.get(seed.myid)?.zxid;
  out.seed = { myid: seed.myid, zxid: hexZxid(zxid, 'unknown') };
  env.progress(`seed is server ${seed.myid} (${seed.host}) at zxid ${out.seed.zxid}`);
  // exactly the compiled commands of this seed: each sender streamed into its receiver
  const m = step.byMember?.find((x) => x.myid === seed.myid);
  if (!m) throw new StepError(`step ${step.id}: no copy commands for server ${seed.myid}`);
  for (const c of m.commands) {
    if (c.streamTo === undefined) continue;
    const into = m.commands[c.streamTo];
    if (!into) throw new StepError(`step ${step.id}: command ${c.streamTo} (the receiver) is missing`);
    if (env.stopRequested()) throw new Interrupted('stopped before the data copy');
    const r = await streamCommand(env, c, into, m.host, t.to.host);
    out.notes.push(`${c.does}: ${r.bytes} bytes in ${(r.ms / 1000).toFixed(1)} s`);
  }
}

const mib = (n: number) => (n / 1048576).toFixed(1);

/**
 * Run `from` and `into` (each on its own host) with from's stdout streamed into into's stdin as
 * it comes, through this process with backpressure: memory stays flat whatever the size. Shows
 * the bytes and the rate; throws StepError with both sides' stderr when either fails.
 */
async function streamCommand(
  env: RunEnv,
  from: RemoteCommand,
  into: RemoteCommand,
  fromDefault: string,
  intoDefault: string,
): Promise<{ bytes: number; ms: number }> {
  const fromHost = from.host ?? fromDefault;
  const intoHost = into.host ?? intoDefault;
  const src = await env.hosts(fromHost);
  const dst = await env.hosts(intoHost);
  env.progress(`${intoHost}: ${into.does}`);
  const recv = await dst.stream(withRunId(into.argv, env.runId), { timeoutMs: into.timeoutMs });
  let send: StreamRun;
  try {
    env.progress(`${fromHost}: ${from.does}`);
    send = await src.stream(withRunId(from.argv, env.runId), { timeoutMs: from.timeoutMs });
  } catch (e) {
    recv.stdin.end();
    await recv.done;
    throw e;
  }
  const t0 = Date.now();
  let bytes = 0;
  let shown = t0;
  send.stdout.on('data', (d: Buffer) => {
    bytes += d.length;
    if (Date.now() - shown >= 1000) {
      shown = Date.now();
      env.progress(`copying: ${mib(bytes)} MiB, ${mib((bytes * 1000) / Math.max(1, shown - t0))} MiB/s`);
    }
  });
  send.stdout.pipe(recv.stdin);
  send.stdin.end();
  // the receiver's own stdout must be read for its channel to close (ssh2); it says nothing
  recv.stdout.resume();
  // a receiver that failed reads no more: end the sender rather than let it wait for its deadline
  void recv.done.then((r) => {
    if (r.failure !== undefined || r.code !== 0) {
      send.stdout.unpipe();
      send.stdout.destroy();
    }
  });
  const [s, r] = await Promise.all([send.done, recv.done]);
  const ms = Date.now() - t0;
  for (const [side, run, c, h] of [
    ['sending', s, from, fromHost],
    ['receiving', r, into, intoHost],
  ] as const) {
    if (run.failure)
      throw new StepError(
        `the ${side} side of the copy on ${h} failed: ${run.failure.message}`,
        run.stderr.toString('utf8').trim().split('\n').slice(-8).join('\n'),
      );
    if (run.code === null || !(c.okCodes ?? [0]).includes(run.code)) {
      throw new StepError(
        `on ${h}: \`${c.argv.join(' ')}\` (${side} the copy) exited with ${run.code ?? run.signal}`,
        run.stderr.toString('utf8').trim().split('\n').slice(-8).join('\n'),
      );
    }
  }
  env.progress(`copied ${mib(bytes)} MiB from ${fromHost} to ${intoHost} in ${(ms / 1000).toFixed(1)} s (${mib((bytes * 1000) / Math.max(1, ms))} MiB/s)`);
  return { bytes, ms };
}

async function persistEphemerals(env: RunEnv, step: Step & { target: { kind: 'ensemble' } }, out: StepOutcome): Promise<void> {
  const paths = env.settings.preserveEphemerals;
  // counted across attempts: a retry after a lost connection finds its earlier copies in place
  const written = new Set<string>();
  await withZk(env, hostsConnectString(step.target.members, env.settings.clientPort), async (zk) => {
    const walk = async (p: string): Promise<void> => {
      const st = await zk.exists(p);
      if (!st) return;
      if (String(st.ephemeralOwner) !== '0') {
        const copy = `${p}${COPY_SUFFIX}`;
        if (await zk.exists(copy)) return;
        try {
          await zk.create(copy, (await zk.get(p)).data);
          written.add(copy);
        } catch (e) {
          // the owner went away since exists (nothing to copy), or a create of an attempt whose
          // connection was lost landed after all
          if (e instanceof ZkError && e.rc === ZNODEEXISTS) written.add(copy);
          else if (!(e instanceof ZkError && e.rc === ZNONODE)) throw e;
        }
        return;
      }
      const children = await zk.getChildren(p).catch((e: unknown) => {
        if (e instanceof ZkError && e.rc === ZNONODE) return [] as string[];
        throw e;
      });
      for (const c of children) if (!c.endsWith(COPY_SUFFIX)) await walk(p === '/' ? `/${c}` : `${p}/${c}`);
    };
    for (const p of paths) await walk(p);
  });
  env.progress(`${written.size} persistent copies written`);
  out.notes.push(`${written.size} ephemeral nodes copied as <name>${COPY_SUFFIX}`);
}

/**
 * Run one compiled step: its preconditions, its compiled commands and file writes (nothing
 * else changes anything), then its gates. Throws StepError (with what did not hold), GateFailed
 * or Interrupted; the outcome carries what later steps need (slot order, seed, canary counter).
 */
export async function executeStep(step: Step, env: RunEnv, memo: StepMemo): Promise<StepOutcome> {
  try {
    const out = await act(step, env, memo);
    out.canarySeq = memo.canarySeq;
    return out;
  } catch (e) {
    // whatever ended a step after Ctrl-C (a gate told to stop waiting, a command cut short) is
    // the interruption: the run is resumable, and the step runs again (it is safe to run twice)
    if (env.stopRequested() && !(e instanceof Interrupted)) throw new Interrupted(`stopped by Ctrl-C: ${e instanceof Error ? e.message : String(e)}`);
    throw e;
  }
}

async function act(step: Step, env: RunEnv, memo: StepMemo): Promise<StepOutcome> {
  const out: StepOutcome = { notes: [] };
  const t = step.target;
  // the step's preconditions: nothing is done until they hold
  await gates(env, memo, step.before ?? []);
  switch (step.action) {
    case 'prepare-install':
    case 'backup-data':
    case 'write-config':
    case 'stop':
    case 'start': {
      if (t.kind !== 'node') throw new StepError(`step ${step.id}: expected a node target`);
      const node = t.node;
      // a start's files (a reconfig joiner's first config) are written before it, and only when
      // it does not run: a joiner that adopted the committed configuration cannot boot again
      // from the files ZooKeeper rewrote (zookeeperReconfig.md, "Adding servers")
      const startFiles = step.action === 'start' && step.files.length > 0;
      if (step.action === 'start' && !(await hasProcess(env, node))) {
        await assertDataOk(env, node);
        if (startFiles) await writeFiles(env, step, node);
      }
      const ensembleGate = step.gates.find((g) => g.kind === 'ensemble') as { members: NodeRef[] } | undefined;
      const leading = step.maybeElection && ensembleGate ? (await view(env, [node])).leader === node.myid : false;
      const election =
        leading && ensembleGate
          ? watchElection(
              env,
              node,
              ensembleGate.members.filter((m) => m.myid !== node.myid),
            )
          : null;
      const acted = async () => {
        await during(election, async () => {
          if (step.action === 'stop' && (await hasProcess(env, node)) === false) {
            env.progress(`${describeNode(node)} is not running`);
          } else {
            for (const c of step.commands) await runThen(env, memo, node.host, c, step.action === 'start' ? alreadyRunning : undefined);
          }
        });
        if (election !== null) out.election = await election.result;
        if (step.files.length > 0 && !startFiles) await writeFiles(env, step, node);
        await gates(env, memo, step.gates);
      };
      // a start that fails shows the server's own log
      await (step.action === 'start' ? withServerLog(env, node, acted) : acted());
      return out;
    }
    case 'restart': {
      if (t.kind !== 'slot') throw new StepError(`step ${step.id}: expected a slot target`);
      const id = await resolveSlot(env, memo, step as Step & { target: { kind: 'slot' } });
      const m = step.byMember?.find((x) => x.myid === id);
      if (!m) throw new StepError(`step ${step.id}: server ${id} is not a member of this round`);
      out.resolved = id;
      out.slotOrder = memo.slotOrders[t.round]!;
      env.progress(`slot ${t.slot} of ${t.of} is server ${id} (${m.host})`);
      const memberNode = t.members.find((x) => x.myid === id)!;
      await assertDataOk(env, memberNode);
      const [stop, ...rest] = m.commands;
      // the round's leader goes last, but a leader that stepped down mid-round leaves another one:
      // whichever server leads when it is stopped causes an election, measured below
      const wasLeader = (await view(env, t.members)).leader === id;
      const others = (m.gates.find((g) => g.kind === 'ensemble') as { members: NodeRef[] } | undefined)?.members.filter((x) => x.myid !== id) ?? [];
      const election = wasLeader ? watchElection(env, memberNode, others) : null;
      // the stop waits for the JVM to exit (its compiled `then`): the start would find the ports taken
      if (stop) await during(election, () => runThen(env, memo, m.host, stop));
      if (election !== null) out.election = await election.result;
      await withServerLog(env, memberNode, async () => {
        for (const c of rest) await runThen(env, memo, m.host, c, alreadyRunning);
        await gates(env, memo, m.gates);
      });
      return out;
    }
    case 'copy-seed-data':
      if (t.kind !== 'seed') throw new StepError(`step ${step.id}: expected a seed target`);
      await copySeed(env, step as Step & { target: { kind: 'seed' } }, out);
      return out;
    case 'persist-ephemerals':
      if (t.kind !== 'ensemble') throw new StepError(`step ${step.id}: expected an ensemble target`);
      await persistEphemerals(env, step as Step & { target: { kind: 'ensemble' } }, out);
      return out;
    case 'split-window': {
      if (t.kind !== 'split') throw new StepError(`step ${step.id}: expected a split target`);
      const r = await carrySplitWindow(env, step as Step & { target: { kind: 'split' } }, memo.seedZxid);
      out.notes.push(
        r.oldZxid === null
          ? 'no old server data to compare'
          : `old ensemble ended at ${r.oldZxid} (server ${r.from}): carried ${r.created.length} created and ${r.changed.length} changed nodes${r.onlyNew.length ? `; only in the new ensemble (kept): ${r.onlyNew.slice(0, 20).join(', ')}` : ''}${r.conflicts.length ? `; not carried (the new ensemble's state kept, the old value is in the old server's files): ${r.conflicts.slice(0, 20).join(', ')}` : ''}`,
      );
      return out;
    }
    case 'reconfig':
      await runReconfig(step, env, out);
      await gates(env, memo, step.gates);
      return out;
    case 'check-reconfig-access':
      await checkReconfigAccess(step, env, out);
      return out;
    case 'final-check':
      await gates(env, memo, step.gates);
      if (env.settings.preserveEphemerals.length > 0 && t.kind === 'ensemble') {
        const roots = env.settings.preserveEphemerals;
        const copies = await withZk(env, hostsConnectString(t.members, env.settings.clientPort), (zk) => findPersistedCopies(zk, roots));
        const shadowed = copies.filter((c) => c.shadowed);
        const line = `persistent copies of ephemeral nodes: ${copies.length}, ${shadowed.length} shadowed by their re-registered owners${
          copies.length > shadowed.length
            ? `; not re-registered (kept): ${copies
                .filter((c) => !c.shadowed)
                .map((c) => c.original)
                .join(', ')}`
            : ''
        }; remove the shadowed ones with: zkroll copies ${env.planFile} --clean`;
        env.progress(line);
        out.notes.push(line);
      }
      return out;
  }
}
