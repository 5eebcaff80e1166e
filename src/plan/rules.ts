// Cross-field rules of a plan, checked after PlanSchema has accepted it.
//
// Invariants:
// - Pure: takes the parsed Plan, returns every violation (never throws, never stops early).
// - Each violation names the YAML path of the offending node, as written in the plan file
//   (renumber entries are addressed by their key, e.g. ["strategy", "renumber", "6"]), and
//   whether the key or the value of that node is at fault. Messages do not repeat the path:
//   the loader prefixes it.
import type { Plan, RebuildStrategy } from './schema.js';
import { parseVersion, planHazards } from './versions.js';

export type PlanPath = ReadonlyArray<string | number>;

export interface RuleViolation {
  path: PlanPath;
  /** "value": the node at `path` (a map/list for "missing" kinds of error); "key": its key. */
  at: 'value' | 'key';
  message: string;
}

/** "6, 7 and 8" */
function list(ns: readonly number[]): string {
  if (ns.length <= 1) return ns.join('');
  return `${ns.slice(0, -1).join(', ')} and ${ns[ns.length - 1]}`;
}

/** Reports later duplicates in `items` (by `key`), pointing at each later occurrence. */
function duplicates<T>(items: readonly T[], key: (t: T) => string | number, report: (i: number, first: number) => void): void {
  const seen = new Map<string | number, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else report(i, first);
  });
}

export function checkRules(plan: Plan): RuleViolation[] {
  const out: RuleViolation[] = [];
  const myids = plan.servers.map((s) => s.myid);
  const known = new Set(myids);
  const serversText = `the servers are ${list([...known].sort((a, b) => a - b))}`;

  duplicates(
    plan.servers,
    (s) => s.myid,
    (i, j) => out.push({ path: ['servers', i, 'myid'], at: 'value', message: `myid ${myids[i]} is already used by servers[${j}]` }),
  );
  duplicates(
    plan.servers,
    (s) => s.host,
    (i, j) =>
      out.push({
        path: ['servers', i, 'host'],
        at: 'value',
        message: `host ${plan.servers[i]?.host} is already used by servers[${j}] (one server per host)`,
      }),
  );

  // lab.down defaults to strategy.broken: when it is that list, strategy.broken's errors cover it.
  const s = plan.strategy;
  const labIsBroken = s.kind === 'rebuild' && s.broken.length === plan.lab.down.length && s.broken.every((id, i) => plan.lab.down[i] === id);
  if (!labIsBroken) checkMyidList(plan.lab.down, ['lab', 'down'], known, serversText, out);

  if (s.kind === 'rebuild') checkRebuild(plan, s, known, serversText, out);
  // versions the hazards can read (the schema lets "3.4.6-" and "3.8.x" through)
  const VERSION = 'expected a ZooKeeper version like "3.4.13" (major.minor.patch, an optional -suffix)';
  if (plan.cluster.version !== undefined && parseVersion(plan.cluster.version) === null)
    out.push({ path: ['cluster', 'version'], at: 'value', message: VERSION });
  if (parseVersion(plan.target.version) === null) out.push({ path: ['target', 'version'], at: 'value', message: VERSION });
  // version hazards that make the plan unsafe (a JIRA or the release notes is the source of each)
  for (const h of planHazards(plan)) {
    if (h.level === 'refuse') out.push({ path: ['target', 'version'], at: 'value', message: `${h.id}: ${h.message} (${h.source})` });
  }
  return out;
}

/** Every entry is a current server's myid, listed once. */
function checkMyidList(ids: readonly number[], at: PlanPath, known: ReadonlySet<number>, serversText: string, out: RuleViolation[]): void {
  ids.forEach((id, i) => {
    if (!known.has(id)) out.push({ path: [...at, i], at: 'value', message: `myid ${id} is not a current server (${serversText})` });
  });
  duplicates(
    ids,
    (id) => id,
    (i) => out.push({ path: [...at, i], at: 'value', message: `myid ${ids[i]} is listed twice` }),
  );
}

function checkRebuild(plan: Plan, s: RebuildStrategy, known: ReadonlySet<number>, serversText: string, out: RuleViolation[]): void {
  const tmp = s.temporary;
  const clash = plan.servers.findIndex((srv) => srv.host === tmp.host);
  if (clash >= 0)
    out.push({
      path: ['strategy', 'temporary', 'host'],
      at: 'value',
      message: `the temporary server needs a spare host: ${tmp.host} is already servers[${clash}] (myid ${plan.servers[clash]?.myid})`,
    });

  checkMyidList(s.broken, ['strategy', 'broken'], known, serversText, out);
  const broken = new Set(s.broken);
  if (known.size > 0 && [...known].every((id) => broken.has(id)))
    out.push({
      path: ['strategy', 'broken'],
      at: 'value',
      message: 'every server is listed as broken; the rebuild needs a running server to copy the data from',
    });

  // renumber: keys are exactly the current myids; values one-to-one and not the temporary's myid.
  const keys = new Set(s.renumber.map((r) => r.from));
  const missing = [...known].filter((id) => !keys.has(id)).sort((a, b) => a - b);
  if (missing.length > 0)
    out.push({
      path: ['strategy', 'renumber'],
      at: 'value',
      message: `no new myid for server${missing.length > 1 ? 's' : ''} ${list(missing)} (every current server needs one)`,
    });
  for (const r of s.renumber) {
    if (!known.has(r.from))
      out.push({ path: ['strategy', 'renumber', String(r.from)], at: 'key', message: `${r.from} is not a current server myid (${serversText})` });
    if (r.to === tmp.myid)
      out.push({
        path: ['strategy', 'renumber', String(r.from)],
        at: 'value',
        message: `new myid ${r.to} is the temporary server's myid (strategy.temporary.myid)`,
      });
  }
  duplicates(
    s.renumber,
    (r) => r.to,
    (i, j) => {
      const r = s.renumber[i];
      const first = s.renumber[j];
      if (r && first)
        out.push({
          path: ['strategy', 'renumber', String(r.from)],
          at: 'value',
          message: `new myid ${r.to} is also given to server ${first.from} (new myids must be unique)`,
        });
    },
  );

  checkReconfig(s, out);

  if (typeof s.seedFrom === 'number') {
    if (!known.has(s.seedFrom)) out.push({ path: ['strategy', 'seedFrom'], at: 'value', message: `${s.seedFrom} is not a current server (${serversText})` });
    else if (broken.has(s.seedFrom))
      out.push({
        path: ['strategy', 'seedFrom'],
        at: 'value',
        message: `server ${s.seedFrom} is listed as broken; seed from a healthy server or "leader"`,
      });
  }
}

/** membership: reconfig needs a way in (a password for super); a reconfig block is only read with it. */
function checkReconfig(s: RebuildStrategy, out: RuleViolation[]): void {
  if (s.membership !== 'reconfig') {
    if (s.reconfig !== undefined)
      out.push({ path: ['strategy', 'reconfig'], at: 'key', message: 'strategy.reconfig is only read with membership: reconfig (membership is restart)' });
    return;
  }
  if (s.reconfig === undefined) {
    out.push({
      path: ['strategy', 'membership'],
      at: 'value',
      message:
        "membership: reconfig needs strategy.reconfig: { access: super, passwordFile: <file with the password whose digest is the servers' superDigest> } or { access: skipACL }",
    });
    return;
  }
  if (s.reconfig.access === 'super' && s.reconfig.passwordFile === undefined)
    out.push({
      path: ['strategy', 'reconfig'],
      at: 'value',
      message:
        "access: super needs passwordFile: the file holding the password whose digest is the servers' zookeeper.DigestAuthenticationProvider.superDigest (read at run time, never stored)",
    });
}
