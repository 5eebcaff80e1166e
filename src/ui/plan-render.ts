// Renders compiled steps for review: plain text (terminal) or Markdown (change tickets). Both
// show, per step: what, where, the exact commands, unified diffs of the files it writes, the
// gates, and the quorum arithmetic after it; then the totals. Pure: compiled steps and file
// changes in, text out. Invariants: renders exactly the steps given (the ones apply runs).
import { unifiedDiff } from '../compile/diff.js';
import type { FileChange } from '../compile/files.js';
import { dynamicLine, reconfigChange } from '../compile/membership.js';
import { RUN_TOKEN } from '../compile/nodes.js';
import type { Compiled, Gate, Membership, QuorumView, RemoteCommand, Step } from '../compile/types.js';
import { shellCommand } from '../remote/quote.js';

export type Format = 'text' | 'markdown';

function ms(n: number): string {
  if (n % 60000 === 0) return `${n / 60000}m`;
  if (n % 1000 === 0) return `${n / 1000}s`;
  return `${n}ms`;
}

const ids = (xs: number[]) => xs.join(', ');

export function describeGate(g: Gate): string {
  const within = `within ${ms(g.deadlineMs)}`;
  switch (g.kind) {
    case 'stopped':
      return `server ${g.node.myid} on ${g.node.host} has stopped (no JVM with ${g.node.config}, client port closed), ${within}`;
    case 'running':
      return `server ${g.node.myid} on ${g.node.host} runs with ${g.node.config} (its ZooKeeper JVM has the planned config), ${within}`;
    case 'serving':
      return `server ${g.node.myid} on ${g.node.host} serves (srvr answers with a mode), ${within}`;
    case 'ensemble':
      return `servers ${ids(g.members.map((m) => m.myid))}: exactly one leader, every other member following it${g.members.some((m) => m.observer) ? ` (observers ${ids(g.members.filter((m) => m.observer).map((m) => m.myid))} observing)` : ''} and synced, zxids caught up, ${within}`;
    case 'canary':
      return `a canary write to ${g.path} is read back from every member, ${within}`;
    case 'consistent':
      return `every member (${ids(g.members.map((m) => m.myid))}), read alone after a sync, holds the same paths, data and ephemeral nodes, ${within}`;
    case 'snapshot':
      return `server ${g.node.myid} on ${g.node.host} has written a snapshot to ${g.node.dataDir}/version-2, ${within}`;
    case 'version':
      return `servers ${ids(g.members.map((m) => m.myid))} all report version ${g.version} (srvr), ${within}`;
    case 'znodes':
      return `znodes present: ${g.znodes.map((z) => (z.minChildren > 0 ? `${z.path} (≥ ${z.minChildren} children)` : z.path)).join(', ')}, ${within}`;
    case 'config':
      return `servers ${ids(g.members.map((m) => m.myid))}, each read alone after a sync, have /zookeeper/config = ${g.expect.map(dynamicLine).join(', ')}, ${within}`;
  }
}

/** What a reconfig or access-check step sends through the ZooKeeper client (the password masked). */
function reconfigLines(s: Step): string[] {
  const r = s.reconfig;
  if (!r) return [];
  const at = `zk ${r.members.map((m) => m.host).join(',')}`;
  const auth =
    r.auth.access === 'super'
      ? [`${at}> addauth digest ${r.auth.user}:****   # the password from ${r.auth.passwordFile ?? '(no passwordFile)'}, never shown or stored`]
      : [`${at}> (no auth: the servers run with zookeeper.skipACL=yes)`];
  if (s.action === 'check-reconfig-access')
    return [
      ...auth,
      r.auth.access === 'super'
        ? `${at}> whoami   # on every member: must list scheme super`
        : `${at}> (AdminServer system_properties of every member: zookeeper.skipACL=yes)`,
      `${at}> reconfig -remove <an id not in the config> -v <the committed version + 1>   # must answer BADVERSION: proves reconfigEnabled, changes nothing`,
    ];
  const change = reconfigChange(r);
  return [
    ...auth,
    `${at}> sync /zookeeper/config; get /zookeeper/config   # must list ${ids(r.from.map((m) => m.myid))} (done already if it lists ${ids(r.to.map((m) => m.myid))})`,
    `${at}> reconfig ${change} -v <the version just read>`,
  ];
}

function quorumLine(name: string, v: QuorumView): string {
  if (v.state === 'ended') return `${name}: ended (${v.live.length} of ${v.config.length} running)`;
  const during = v.minLive !== v.live.length ? `, ${v.minLive} while this step runs` : '';
  const ok = v.state === 'forming' ? 'forming, not serving yet' : v.minLive >= v.quorum ? 'ok' : 'BELOW QUORUM';
  const next = v.next ? `; rolling in [${ids(v.next)}]` : '';
  return `${name}: config [${ids(v.config)}], live ${ids(v.live) || 'none'} (${v.live.length}${during}; quorum ${v.quorum}: ${ok})${next}`;
}

export function membershipLines(m: Membership, prevOldEnded: boolean): string[] {
  const out: string[] = [];
  if (m.old && !(prevOldEnded && m.old.state === 'ended')) out.push(quorumLine('old ensemble', m.old));
  if (m.new) out.push(quorumLine('new ensemble', m.new));
  return out;
}

function cmd(c: RemoteCommand): string {
  return `$ ${shellCommand(c.argv)}`;
}

/**
 * A command as block lines: itself with what it does, then what it waits for before the next
 * one (`slot`: said of whichever server the slot resolves to, so the members' lines compare).
 */
function cmdLines(c: RemoteCommand, slot = false): string[] {
  const wait = (g: Gate) =>
    slot && g.kind === 'stopped' ? `its JVM with ${g.node.config} is gone and its client port is closed, within ${ms(g.deadlineMs)}` : describeGate(g);
  return [`${cmd(c)}   # ${c.does}`, ...(c.then ?? []).map((g) => `#   then waits until ${wait(g)}`)];
}

function stepWhere(s: Step): string {
  switch (s.target.kind) {
    case 'node':
      return s.target.node.host;
    case 'slot':
      return `slot ${s.target.slot} of ${s.target.of} among ${ids(s.target.members.map((m) => m.myid))} (${s.target.slot === s.target.of ? 'the leader' : s.target.members.some((m) => m.observer) ? 'observers first, then the followers, in myid order' : 'the non-leaders in myid order'}, resolved at run time)`;
    case 'ensemble':
      return `the ${s.target.which} ensemble through the ZooKeeper client (${s.target.members.map((m) => m.host).join(', ')})`;
    case 'split':
      return `copies of the old servers' final data (${ids(s.target.old.map((m) => m.myid))}), opened on their own hosts by a standalone reader, and the new ensemble (${ids(s.target.neu.map((m) => m.myid))})`;
    case 'seed':
      return `from ${s.target.seedFrom === 'leader' ? 'the leader of ' + ids(s.target.candidates.map((c) => c.myid)) : `server ${s.target.seedFrom}`} to ${s.target.to.host}`;
  }
}

/** Render the whole plan, or (with `only`) just those steps without the header and totals. */
export function renderPlan(c: Compiled, files: Map<number, FileChange[]>, format: Format, only?: number[]): string {
  const md = format === 'markdown';
  const out: string[] = [];
  const h1 = (t: string) => out.push(md ? `# ${t}\n` : `${t}\n${'='.repeat(t.length)}\n`);
  const h2 = (t: string) => out.push(md ? `\n## ${t}\n` : `\n-- ${t} --\n`);
  const block = (lines: string[], lang = '') => {
    if (lines.length === 0) return;
    if (md) out.push('```' + lang, ...lines, '```');
    else out.push(...lines.map((l) => `        ${l}`));
  };
  const item = (label: string, text: string) => out.push(md ? `- **${label}:** ${text}` : `     ${label}: ${text}`);
  if (!only) {
    h1(`zkroll plan: ${c.cluster} (${c.strategy}), ${c.steps.length} steps`);
    out.push(`Commands show ${RUN_TOKEN} where the run id goes (e.g. 20261121T213000Z), in backup names.`);
  }
  let phase = '';
  let oldEnded = false;
  const shownNew = new Map<string, number>();
  for (const s of c.steps) {
    if (only && !only.includes(s.n)) {
      if (s.membership.old?.state === 'ended') oldEnded = true;
      continue;
    }
    if (s.phase !== phase && !only) {
      phase = s.phase;
      h2(phase);
    }
    out.push(md ? `\n### ${s.n}. ${s.title}\n` : `\n ${String(s.n).padStart(2)}. ${s.title}`);
    item('why', s.reason);
    item('where', stepWhere(s));
    for (const g of s.before ?? []) item('waits for', describeGate(g));
    if (s.commands.length > 0) {
      item('runs', '');
      block(
        s.commands.flatMap((c) => cmdLines(c)),
        'sh',
      );
    }
    if (s.reconfig) {
      item('sends', '');
      block(reconfigLines(s), 'sh');
    }
    const members = s.byMember ?? [];
    const slot = s.target.kind === 'slot';
    const lines = members.map((m) => m.commands.flatMap((c) => cmdLines(c, slot)));
    const same = lines.every((l) => JSON.stringify(l) === JSON.stringify(lines[0]));
    if (members.length > 0 && same) {
      item('runs', `on the server the slot resolves to (${members.map((m) => `${m.myid} on ${m.host}`).join(', ')})`);
      block(lines[0]!, 'sh');
    } else {
      members.forEach((m, i) => {
        item(s.target.kind === 'split' ? `old server ${m.myid} (${m.host})` : `if it is server ${m.myid} (${m.host})`, '');
        block(lines[i]!, 'sh');
      });
    }
    for (const f of files.get(s.n) ?? []) {
      const diff = unifiedDiff(f.before ?? '', f.content, f.before === undefined ? '/dev/null' : `${f.host}:${f.path}`, `${f.host}:${f.path}`);
      const seenIn = f.before === undefined ? shownNew.get(f.content) : undefined;
      item(
        'writes',
        `${f.path}${f.before === undefined ? ' (new file)' : f.before === f.content ? ' (unchanged)' : ''}${seenIn ? `: same content as in step ${seenIn}` : ''}`,
      );
      if (diff && !seenIn) block(diff.replace(/\n$/, '').split('\n'), 'diff');
      if (f.before === undefined && !seenIn) shownNew.set(f.content, s.n);
    }
    const gates = s.byMember?.[0]?.gates ?? s.gates;
    const slotGate = (g: Gate): string | null => {
      if (!s.byMember) return null;
      if (g.kind === 'serving') return `the restarted server serves again, within ${ms(g.deadlineMs)}`;
      if (g.kind === 'running') {
        const configs = new Set(s.byMember.flatMap((m) => m.gates.flatMap((x) => (x.kind === 'running' ? [x.node.config] : []))));
        const which = configs.size === 1 ? [...configs][0]! : 'its planned config';
        return `the restarted server's ZooKeeper JVM runs with ${which}, within ${ms(g.deadlineMs)}`;
      }
      return null;
    };
    for (const g of gates) item('gate', slotGate(g) ?? describeGate(g));
    if (s.reads.length > 0) item('reads', s.reads.join('; '));
    for (const l of membershipLines(s.membership, oldEnded)) item('quorum', l);
    if (s.membership.old?.state === 'ended') oldEnded = true;
    if (s.elections > 0) item('elections', `${s.elections} expected`);
    if (s.maybeElection)
      item('elections', s.action === 'reconfig' ? 'a leader hand-off if this server leads at that moment' : 'one if this server is the leader at that moment');
    if (s.confirm) item('CONFIRM', s.confirm);
  }
  if (only) return out.join('\n') + '\n';
  const t = c.totals;
  h2('Totals');
  out.push(
    `${t.steps} steps: ${t.starts} starts, ${t.stops} stops, ${t.restarts} restarts in ${t.rounds} rolling round${t.rounds === 1 ? '' : 's'}${t.reconfigs > 0 ? `, ${t.reconfigs} reconfigs` : ''}; ` +
      `${t.elections} leader election${t.elections === 1 ? '' : 's'} expected${t.maybeElections ? ` (+${t.maybeElections} if the ${t.reconfigs > 0 ? 'removed server leads: a hand-off' : 'stopped server leads'})` : ''}.`,
  );
  const confirms = c.steps.filter((s) => s.confirm);
  if (confirms.length > 0) out.push(`Steps that need an explicit yes: ${confirms.map((s) => s.n).join(', ')}.`);
  return out.join('\n') + '\n';
}
