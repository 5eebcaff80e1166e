// ZooKeeper release versions: parsing ("3.4.6", "3.8", "3.9.3-rc1"), ordering, the version a
// `srvr` answer reports, and the table of version hazards: what is known to bite a rolling
// upgrade or a membership change between the release running today and the target, each with
// the source it comes from (JIRA key, release notes, upstream code) and what zkroll does about it.
// Pure.
// Invariants:
// - Versions compare on major.minor.patch only: a missing patch is 0, and a suffix ("-rc1", a
//   Debian revision, a git id) is ignored. parseVersion accepts the plan schema's VersionSchema
//   grammar, less the odd strings it lets through ("3.4.6-", "3.8.x").
// - Affected/fixed ranges are those of the fix commits in the upstream release tags
//   (apache/zookeeper, release-x.y.z) and of the fixed releases' release notes.
// - A hazard that needs the release running today is not judged when the plan does not say it
//   (current null): one 'current-version-unknown' warning stands in for all of them; the hazards
//   that only need the target are still judged.
// - versionHazards lists refusals first, then warnings, then information; within a level, in
//   table order. It throws on a version parseVersion refuses.

export interface Version {
  major: number;
  minor: number;
  patch: number;
}

export type HazardLevel = 'refuse' | 'warn' | 'info';
/** `reconfig`: a rebuild whose membership changes through ZooKeeper's reconfig (no rolling restarts). */
export type HazardStrategy = 'rolling' | 'rebuild' | 'reconfig';

export interface Hazard {
  id: string;
  /** A JIRA key, or the URL of the release notes / upstream file that says it. */
  source: string;
  level: HazardLevel;
  /** What goes wrong, and what zkroll does about it or what to do. */
  message: string;
}

export interface HazardInput {
  /** The release every server runs today (plan cluster.version); null when the plan does not say. */
  current: string | null;
  target: string;
  strategy: HazardStrategy;
}

/** The pair a hazard rule is judged on. */
export interface VersionPair {
  current: Version | null;
  target: Version;
  strategy: HazardStrategy;
}

export interface HazardRule {
  id: string;
  source: string;
  level: HazardLevel;
  /** True when the rule cannot be judged without the release running today. */
  needsCurrent: boolean;
  applies(p: VersionPair): boolean;
  message(p: VersionPair): string;
}

// ---------- versions ----------

/**
 * The plan schema's VersionSchema grammar, with the numbers captured, except that a suffix right
 * after x.y must start with "-" or "+": the schema also lets "3.4.6-" and "3.8.x" through, read
 * as x.y plus a suffix, and those are refused here rather than read as 3.4.0 or 3.8.0.
 */
const VERSION_RE = /^(\d+)\.(\d+)(?:\.(\d+)(?:[-+.][0-9A-Za-z.+-]+)?|(?:[-+][0-9A-Za-z.+-]+)?)$/;

/** "3.4.6" → {3,4,6}; "3.8" → {3,8,0}; "3.9.3-rc1" → {3,9,3}; anything else → null. */
export function parseVersion(s: string): Version | null {
  const m = VERSION_RE.exec(s.trim());
  if (!m) return null;
  const [major, minor, patch] = [m[1], m[2], m[3] ?? '0'].map(Number) as [number, number, number];
  if (![major, minor, patch].every(Number.isSafeInteger)) return null;
  return { major, minor, patch };
}

function need(v: string | Version): Version {
  if (typeof v !== 'string') return v;
  const p = parseVersion(v);
  if (!p) throw new Error(`not a ZooKeeper version: "${v}" (expected a version like "3.4.13")`);
  return p;
}

/** -1, 0 or 1 as a is older than, the same release as, or newer than b (major.minor.patch). Throws on an unparsable string. */
export function compareVersions(a: string | Version, b: string | Version): number {
  const x = need(a);
  const y = need(b);
  const d = x.major - y.major || x.minor - y.minor || x.patch - y.patch;
  return Math.sign(d);
}

/** "3.4.13" (always three numbers). */
export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/**
 * The plain "x.y.z" of the `Zookeeper version:` line of a `srvr` (or `stat`) answer, with or
 * without its "Zookeeper version: " label; a whole answer works too (its version line is used).
 * The value is Version.getFullVersion(): "3.4.6-1569965, built on 02/20/2014 09:09 GMT",
 * Debian's "3.4.13-6--1, built on …", "3.9.3-${mvngit.commit.id}, built on …" (a build
 * without git metadata), "3.5.9-83df9301aa5c2a5d284a9940177808c01bc35cef, built on …".
 * Null when there is no version there.
 */
export function versionFromSrvr(line: string): string | null {
  const lines = line.split(/\r?\n/);
  const labelled = lines.find((l) => /^\s*zookeeper version\s*:/i.test(l));
  const value = labelled !== undefined ? labelled.replace(/^\s*zookeeper version\s*:/i, '') : (lines[0] ?? '');
  const m = /^\s*(\d+)\.(\d+)(?:\.(\d+))?(?=$|[^\d.])/.exec(value);
  if (!m) return null;
  const v = parseVersion(`${m[1]}.${m[2]}.${m[3] ?? '0'}`);
  return v ? formatVersion(v) : null;
}

// ---------- helpers for the rules ----------

const V = (s: string): Version => need(s);
const lt = (a: Version, b: string) => compareVersions(a, b) < 0;
const ge = (a: Version, b: string) => compareVersions(a, b) >= 0;
/** lo <= v < hi */
const within = (v: Version, lo: string, hi: string) => ge(v, lo) && lt(v, hi);
const line = (v: Version) => `${v.major}.${v.minor}`;
const f = formatVersion;
/** The release running today, for the messages of rules that need it (only called when it is known). */
const cur = (p: VersionPair) => (p.current !== null ? f(p.current) : 'the current release');

/** Releases with ZOOKEEPER-2186 (a malformed election-port connection kills the listener): fixed in 3.4.7, 3.5.1, 3.6.0. */
function has2186(v: Version): boolean {
  return lt(v, '3.4.7') || within(v, '3.5.0', '3.5.1');
}

/** Does this release lose its election listener to a malformed header (ZOOKEEPER-2186)? False when it cannot be read. */
export function hasListenerBug(v: string): boolean {
  const p = parseVersion(v);
  return p !== null && has2186(p);
}

/** Releases with ZOOKEEPER-3829/3830/3842 (membership change by rolling restart): fixed in 3.5.9, 3.6.2, 3.7.0. */
function has3829(v: Version): boolean {
  return within(v, '3.5.0', '3.5.9') || within(v, '3.6.0', '3.6.2');
}

/**
 * ZOOKEEPER-4925: does this release leave a hole in a DIFF-synced follower's committed log (and so
 * feed later DIFF syncs from it, once it leads, without those transactions)? Only 3.9.3 (it came
 * with ZOOKEEPER-4394 in 3.9.3; fixed in 3.9.4).
 */
export function hasDiffHole(v: string | Version): boolean {
  const p = typeof v === 'string' ? parseVersion(v) : v;
  return p !== null && within(p, '3.9.3', '3.9.4');
}

/** Releases without ZOOKEEPER-3781 (followers write no snapshot under snapshot.trust.empty): fixed in 3.5.10, 3.6.4, 3.7.0. */
export function lacks3781(v: Version): boolean {
  return within(v, '3.5.0', '3.5.10') || within(v, '3.6.0', '3.6.4');
}

/**
 * The release lines upstream says a line can be upgraded from directly
 * (https://zookeeper.apache.org/releases.html): 3.5.5 "successor of 3.4"; 3.6.0 "upgrade from
 * 3.5.7"; 3.7.0 "from 3.6.x"; 3.8.0 "from 3.6.x and 3.7.x"; 3.9.0 "from 3.7.x and 3.8.x"; the
 * end-of-life notices give the paths 3.5 → 3.6 → 3.7, 3.6 → 3.7 → 3.8, 3.7 → 3.8 → 3.9.
 */
const DIRECT_FROM: Record<string, string[]> = {
  '3.5': ['3.4'],
  '3.6': ['3.5'],
  '3.7': ['3.6'],
  '3.8': ['3.6', '3.7'],
  '3.9': ['3.7', '3.8'],
};

/** End-of-life lines (https://zookeeper.apache.org/releases.html, News). */
const EOL: Record<string, string> = {
  '3.4': 'no release since 3.4.14 (2 April 2019); dropped from the download page in 2020',
  '3.5': 'end-of-life since 1 June 2022 (last release 3.5.10)',
  '3.6': 'end-of-life since 30 December 2022 (last release 3.6.4)',
  '3.7': 'end-of-life since 2 February 2024 (last release 3.7.2)',
};

const SNAPSHOT_CHECK =
  'refuses to start on a dataDir that has transaction logs but no snapshot ("No snapshot found, but there are log entries. Something is broken!": the check came with ZOOKEEPER-2325 in 3.5.3). A 3.4 server writes no snapshot until snapCount transactions unless it joined its leader by a full SNAP sync: a leader since the first write of the ensemble and followers that synced by DIFF often have none';

const BUG_2186 =
  "one malformed connection to the election port (a port scanner, a load balancer's probe) kills that server's election listener while it keeps serving clients, so no server can connect to it for an election.";

// ---------- the table ----------

export const VERSION_HAZARDS: readonly HazardRule[] = [
  /**
   * ZOOKEEPER-3644 (fixed 3.5.7, 3.6.0; 3.5.7 release notes): 3.5.6 with
   * snapshot.trust.empty=true loads no transactions when there is no snapshot — it starts on an
   * empty tree (FileTxnSnapLog.restore saves an empty snapshot and returns zxid 0). In a rebuild
   * the seeded server starts empty; in any plan a server starts without its data.
   */
  {
    id: 'ZOOKEEPER-3644',
    source: 'ZOOKEEPER-3644',
    level: 'refuse',
    needsCurrent: true,
    applies: ({ current, target }) => current !== null && lt(current, '3.5.3') && within(target, '3.5.6', '3.5.7'),
    message: (p) =>
      `${cur(p)} → ${f(p.target)}: ${f(p.target)} ${SNAPSHOT_CHECK}. The way past it, snapshot.trust.empty=true, loses data on 3.5.6: the server starts on an empty tree instead of replaying its logs (ZOOKEEPER-3644, fixed in 3.5.7 and 3.6.0). zkroll refuses this target: pick 3.5.7 or later.`,
  },
  /**
   * ZOOKEEPER-2325 added the empty-snapshot check in 3.5.3; ZOOKEEPER-3056 added the escape
   * hatch (snapshot.trust.empty) only in 3.5.6 (3.5.6 docs: "New in 3.5.6"). On 3.5.3–3.5.5 a
   * server whose dataDir has logs but no snapshot cannot be started at all.
   */
  {
    id: 'ZOOKEEPER-3056-no-escape-hatch',
    source: 'ZOOKEEPER-3056',
    level: 'refuse',
    needsCurrent: true,
    applies: ({ current, target }) => current !== null && lt(current, '3.5.3') && within(target, '3.5.3', '3.5.6'),
    message: (p) =>
      `${cur(p)} → ${f(p.target)}: ${f(p.target)} ${SNAPSHOT_CHECK}, and it has no snapshot.trust.empty to let such a server start (that came with ZOOKEEPER-3056 in 3.5.6). zkroll refuses this target: pick 3.5.7 or later (3.5.6 loses data with that setting: ZOOKEEPER-3644).`,
  },
  /**
   * ZOOKEEPER-3056 (fixed 3.5.6, 3.6.0): the escape hatch snapshot.trust.empty for upgrades from
   * "3.4.x, pre 3.5.3" (zookeeperAdmin, 3.5.6); readable from zoo.cfg as snapshot.trust.empty
   * (unknown keys become zookeeper.* system properties). Only from 3.5.7 on it replays the logs
   * (ZOOKEEPER-3644); only with ZOOKEEPER-3781 (3.5.10, 3.6.4, 3.7.0) do followers write a
   * snapshot under it when they join.
   */
  {
    id: 'ZOOKEEPER-3056',
    source: 'ZOOKEEPER-3056',
    level: 'info',
    needsCurrent: true,
    applies: ({ current, target }) => current !== null && lt(current, '3.5.3') && ge(target, '3.5.7'),
    message: (p) =>
      `${cur(p)} → ${f(p.target)}: ${f(p.target)} ${SNAPSHOT_CHECK}. zkroll sets snapshot.trust.empty=true (ZOOKEEPER-3056, 3.5.6+) for each server's first start on ${f(p.target)}` +
      (lacks3781(p.target)
        ? `. ${f(p.target)} lacks ZOOKEEPER-3781 (fixed in 3.5.10, 3.6.4, 3.7.0): a follower that joins by DIFF writes no snapshot until snapCount transactions or until it leads, so zkroll leaves the setting in place: remove it from each zoo.cfg yourself once every server's dataDir holds a snapshot.`
        : ` and removes it once that server has written a snapshot.`),
  },
  /**
   * ZOOKEEPER-2693 (3.5.3; zookeeperAdmin 3.5.3 "4lw.commands.whitelist: New in 3.5.3 … By
   * default the whitelist only contains srvr"): 3.4 answers every word (3.4.10+ all but
   * wchp/wchc), 3.5.3+ only srvr unless listed.
   */
  {
    id: 'ZOOKEEPER-2693',
    source: 'ZOOKEEPER-2693',
    level: 'warn',
    needsCurrent: true,
    applies: ({ current, target }) => current !== null && lt(current, '3.5.3') && ge(target, '3.5.3'),
    message: (p) =>
      `${cur(p)} → ${f(p.target)}: from 3.5.3 a server answers only the four-letter word srvr unless 4lw.commands.whitelist lists more (ZOOKEEPER-2693). Monitoring and scripts that send mntr, ruok, stat or cons get "is not executed because it is not in the whitelist" from each server as it is upgraded. Add the words they use to 4lw.commands.whitelist in the target configuration; zkroll reads mntr from the AdminServer where the word is not whitelisted.`,
  },
  /**
   * ZOOKEEPER-2186 (fixed 3.4.7, 3.5.1, 3.6.0; commits in release-3.4.7 and release-3.5.1):
   * QuorumCnxManager#receiveConnection crashes on random input — the election listener thread
   * dies and the server keeps serving clients, but no server can (re)connect to it for elections.
   */
  {
    id: 'ZOOKEEPER-2186',
    source: 'ZOOKEEPER-2186',
    level: 'warn',
    needsCurrent: false,
    applies: ({ current, target }) => (current !== null && has2186(current)) || has2186(target),
    message: (p) => {
      const now = p.current !== null && has2186(p.current);
      const parts: string[] = [];
      if (now) {
        parts.push(
          `${cur(p)} has ZOOKEEPER-2186 (fixed in 3.4.7 and 3.5.1): ${BUG_2186} A server restarted next to a dead listener cannot rejoin the ensemble. zkroll checks every server's election listener before the first restart (the check of zkroll check) and refuses a rolling plan when fewer than a quorum have a live one: use the rebuild strategy then.`,
        );
      }
      if (has2186(p.target)) {
        parts.push(
          now
            ? `The target ${f(p.target)} has the same bug: keep scanners off the election port during and after the run, or pick 3.4.7 or later.`
            : `The target ${f(p.target)} has ZOOKEEPER-2186 (fixed in 3.4.7 and 3.5.1): ${BUG_2186} Keep scanners off the election port, or pick 3.4.7 or later; zkroll check finds a dead listener.`,
        );
      }
      return parts.join(' ');
    },
  },
  /**
   * ZOOKEEPER-3829, ZOOKEEPER-3830, ZOOKEEPER-3842 (one fix, also ZOOKEEPER-3814; fixed 3.5.9,
   * 3.6.2, 3.7.0 — listed in the 3.5.9, 3.6.2 and 3.7.0 release notes; the fix commit is in no
   * earlier tag): with dynamic reconfig disabled, changing membership by rolling restarts "was
   * working fine on 3.4 but caused errors in 3.5 or 3.6" — worst case an elected leader that
   * cannot commit (a new server that becomes leader), or servers still dialling a removed one.
   * Before 3.5.4 (ZOOKEEPER-2819) membership changes by rolling restart did not work at all on 3.5.
   */
  {
    id: 'ZOOKEEPER-3829',
    source: 'ZOOKEEPER-3829, ZOOKEEPER-3830, ZOOKEEPER-3842',
    level: 'refuse',
    needsCurrent: false,
    applies: ({ target, strategy }) => strategy === 'rebuild' && has3829(target),
    message: (p) =>
      `${f(p.target)}: a rebuild changes membership by rolling restarts without reconfig, and on ${f(p.target)} that can leave an elected leader that cannot commit anything (ZOOKEEPER-3829, ZOOKEEPER-3830, ZOOKEEPER-3842; before 3.5.4 such changes did not work at all: ZOOKEEPER-2819). zkroll refuses to rebuild onto ${f(p.target)}: pick 3.5.9, 3.6.2, 3.7.0 or later, where it is fixed.`,
  },
  /**
   * ZOOKEEPER-4925 (3.9.3 only — "fails on master and 3.9.3, and passes on 3.9.2" in the fix
   * commit; fixed 3.9.4, 3.9.4 release notes): since ZOOKEEPER-4394 (3.9.3) a follower that
   * syncs by DIFF leaves a hole in its committedLog; once it leads, a stale server that syncs
   * from it by DIFF misses those transactions — data loss. Restarts and rejoins are what a roll
   * and a rebuild are made of.
   */
  {
    id: 'ZOOKEEPER-4925',
    source: 'ZOOKEEPER-4925',
    level: 'warn',
    needsCurrent: false,
    applies: ({ target, strategy }) => strategy === 'rolling' && hasDiffHole(target),
    message: (p) =>
      `${f(p.target)}: a server that rejoins by DIFF keeps a hole in its in-memory committed log; if it then leads, a server that syncs from it by DIFF silently misses those transactions (ZOOKEEPER-4925, only 3.9.3, fixed in 3.9.4; seen on the lab: the old leader, restarted last, came back with a tree that differed from the other two at one written node). In a rolling round only the last restart syncs from such a leader: zkroll moves that server's version-2 to a dated backup before its start, so it takes a full snapshot (SNAP) from the new leader instead of a DIFF. Prefer 3.9.4 or later; the last gate compares every server's data.`,
  },
  {
    id: 'ZOOKEEPER-4925-rebuild',
    source: 'ZOOKEEPER-4925',
    level: 'refuse',
    needsCurrent: false,
    applies: ({ target, strategy }) => strategy === 'rebuild' && hasDiffHole(target),
    message: (p) =>
      `${f(p.target)}: a server that rejoins by DIFF keeps a hole in its in-memory committed log, and once it leads, servers that sync from it by DIFF silently miss transactions (ZOOKEEPER-4925, only 3.9.3, fixed in 3.9.4). A rebuild's growth rounds restart every member after each election, so any of them may sync from such a leader. zkroll refuses to rebuild onto ${f(p.target)}: pick 3.9.4 or later, or 3.8.x.`,
  },
  /**
   * membership: reconfig. reconfigEnabled and the superuser/skipACL check on /zookeeper/config
   * came in 3.5.3 (ZOOKEEPER-2014; zookeeperReconfig.md "Security"); before it any client could
   * reconfigure. zkroll proves its access on the new ensemble with whoAmI before the old ensemble
   * is stopped (whoAmI, ZOOKEEPER-3969: opcode 107 is in release-3.7.0, not in release-3.6.0), so it needs 3.7.0.
   */
  {
    id: 'reconfig-needs-3.7',
    source: 'ZOOKEEPER-2014, ZOOKEEPER-3969',
    level: 'refuse',
    needsCurrent: false,
    applies: ({ target, strategy }) => strategy === 'reconfig' && lt(target, '3.7.0'),
    message: (p) =>
      `${f(p.target)}: membership: reconfig needs 3.7.0 or later: reconfigEnabled and the ACL on /zookeeper/config came in 3.5.3 (ZOOKEEPER-2014), and zkroll proves it may reconfigure (whoAmI, new in 3.7.0) before it stops the old ensemble, the point of no return. Pick 3.7.0 or later, or membership: restart.`,
  },
  /** A rebuild onto 3.7+ could change its members by reconfig instead of rolling restarts. */
  {
    id: 'reconfig-available',
    source: 'https://zookeeper.apache.org/doc/r3.9.3/zookeeperReconfig.html',
    level: 'info',
    needsCurrent: false,
    applies: ({ target, strategy }) => strategy === 'rebuild' && ge(target, '3.7.0'),
    message: (p) =>
      `${f(p.target)} supports dynamic reconfiguration: strategy.membership: reconfig would add and remove each server with one reconfig instead of a rolling restart of every member (the servers need reconfigEnabled and a superuser digest or skipACL; README "Membership by reconfig").`,
  },
  /**
   * ZOOKEEPER-4925 under membership: reconfig: no member restarts; the mini-ensemble and every
   * joiner start with no data and take a full SNAP, so no server that leads has synced by DIFF
   * during the run. An argument from the bug's mechanism (the lab runs it), hence a warning.
   */
  {
    id: 'ZOOKEEPER-4925-reconfig',
    source: 'ZOOKEEPER-4925',
    level: 'warn',
    needsCurrent: false,
    applies: ({ target, strategy }) => strategy === 'reconfig' && hasDiffHole(target),
    message: (p) =>
      `${f(p.target)}: a server that rejoins by DIFF keeps a hole in its in-memory committed log, and once it leads, servers that sync from it by DIFF miss transactions (ZOOKEEPER-4925, only 3.9.3, fixed in 3.9.4). With membership: reconfig no server restarts and every new member starts empty and takes a full snapshot (SNAP), so the run itself does not create such a leader; later restarts of this ensemble can. Prefer 3.9.4 or later.`,
  },
  /**
   * Downgrade across 3.5: 3.5+ logs transaction types 3.4 cannot read — create2 (15), reconfig
   * (16), createContainer (19), deleteContainer (20), createTTL (21) (3.5.5
   * PrepRequestProcessor/SerializeUtils) — and 3.4's SerializeUtils.deserializeTxn throws
   * "Unsupported Txn" on any type it does not know (release-3.4.14). Pulsar needed AspectJ shims
   * to roll back 3.5 → 3.4 (apache/pulsar#2473, #4448).
   */
  {
    id: 'downgrade-to-3.4',
    source: 'https://github.com/apache/zookeeper/blob/release-3.4.14/zookeeper-server/src/main/java/org/apache/zookeeper/server/util/SerializeUtils.java',
    level: 'refuse',
    needsCurrent: true,
    applies: ({ current, target }) => current !== null && ge(current, '3.5.0') && lt(target, '3.5.0'),
    message: (p) =>
      `${cur(p)} → ${f(p.target)} is a downgrade below 3.5: 3.5 and later log transaction types 3.4 does not know (create2, createContainer, createTTL, deleteContainer, reconfig) as soon as a client uses them, and a ${f(p.target)} server fails to load such a log or to follow such a leader ("Unsupported Txn"). zkroll refuses; roll back by restoring the pre-upgrade data, not by a rolling downgrade.`,
  },
  /**
   * Any other downgrade: upstream documents upgrade paths only (releases.html); zkroll's
   * procedures are rehearsed upwards.
   */
  {
    id: 'downgrade',
    source: 'https://zookeeper.apache.org/releases.html',
    level: 'warn',
    needsCurrent: true,
    applies: ({ current, target }) => current !== null && compareVersions(target, current) < 0 && !(ge(current, '3.5.0') && lt(target, '3.5.0')),
    message: (p) =>
      `${cur(p)} → ${f(p.target)} is a downgrade. Upstream documents upgrade paths only, and zkroll rehearses upgrades: nothing checks that ${f(p.target)} reads everything ${cur(p)} has written. Rehearse it on the lab with a copy of the data first (zkroll lab up, then zkroll apply).`,
  },
  /**
   * Upgrade paths (https://zookeeper.apache.org/releases.html): one release line at a time; see
   * DIRECT_FROM. Skipping lines mixes servers upstream never tested together during the roll.
   */
  {
    id: 'upgrade-path',
    source: 'https://zookeeper.apache.org/releases.html',
    level: 'warn',
    needsCurrent: true,
    applies: ({ current, target }) => {
      if (current === null || compareVersions(target, current) <= 0 || line(current) === line(target)) return false;
      const from = DIRECT_FROM[line(target)];
      return from !== undefined && !from.includes(line(current));
    },
    message: (p) =>
      `${cur(p)} → ${f(p.target)} skips release lines: upstream documents upgrading ${line(p.target)} from ${(DIRECT_FROM[line(p.target)] ?? []).join(' or ')} only (one line at a time, e.g. 3.4 → 3.5 → 3.6 → 3.7 → 3.8), so during the roll the ensemble mixes ${p.current !== null ? line(p.current) : '?'} and ${line(p.target)} servers, a combination upstream does not test. zkroll gates every step on a healthy quorum, but rehearse this exact pair on the lab first (zkroll lab up, then zkroll apply), or upgrade in hops through the latest release of each line.`,
  },
  /** End-of-life target lines (https://zookeeper.apache.org/releases.html, News). */
  {
    id: 'end-of-life',
    source: 'https://zookeeper.apache.org/releases.html',
    level: 'info',
    needsCurrent: false,
    applies: ({ target }) => target.major === 3 && EOL[line(target)] !== undefined,
    message: (p) =>
      `The target ${f(p.target)} is on the ${line(p.target)} line: ${EOL[line(p.target)]}. It gets no fixes, security fixes included; plan the next upgrade (the supported lines are 3.8 and 3.9).`,
  },
];

const CURRENT_UNKNOWN: Hazard = {
  id: 'current-version-unknown',
  source: 'plan: cluster.version',
  level: 'warn',
  message:
    'cluster.version is not set, so the hazards that depend on the release running today (the 3.4 → 3.5+ snapshot check and four-letter-word whitelist, downgrades, skipped release lines) cannot be checked before the run. Set cluster.version to the version srvr reports; zkroll reads the real versions with srvr at run time.',
};

const RANK: Record<HazardLevel, number> = { refuse: 0, warn: 1, info: 2 };

/** The hazards of moving from input.current to input.target with input.strategy: refusals first, then warnings, then information. */
export function versionHazards(input: HazardInput): Hazard[] {
  const p: VersionPair = { current: input.current === null ? null : V(input.current), target: V(input.target), strategy: input.strategy };
  const out: Hazard[] = [];
  if (p.current === null) out.push(CURRENT_UNKNOWN);
  for (const r of VERSION_HAZARDS) {
    if (r.needsCurrent && p.current === null) continue;
    if (r.applies(p)) out.push({ id: r.id, source: r.source, level: r.level, message: r.message(p) });
  }
  return out
    .map((h, i) => ({ h, i }))
    .sort((a, b) => RANK[a.h.level] - RANK[b.h.level] || a.i - b.i)
    .map(({ h }) => h);
}

/** The version hazards of a plan; [] when a version cannot be read (the schema and rules report that). */
export function planHazards(plan: {
  cluster: { version?: string | undefined };
  target: { version: string };
  strategy: { kind: 'rolling' | 'rebuild'; membership?: 'restart' | 'reconfig' };
}): Hazard[] {
  const strategy: HazardStrategy = plan.strategy.kind === 'rebuild' && plan.strategy.membership === 'reconfig' ? 'reconfig' : plan.strategy.kind;
  try {
    return versionHazards({ current: plan.cluster.version ?? null, target: plan.target.version, strategy });
  } catch {
    return [];
  }
}

/**
 * Does a version `srvr` reports ("3.4.6", or its whole "3.4.6-1569965, built on …") match the
 * plan's ("3.4.6", "3.4.6-1569965", or "3.4" for any 3.4.x)? Compared as numbers; a build
 * suffix is ignored on both sides.
 */
export function sameVersion(stated: string, reported: string): boolean {
  const nums = (v: string) =>
    /^(\d+)\.(\d+)(?:\.(\d+))?/
      .exec(v.trim())
      ?.slice(1)
      .filter((x) => x !== undefined)
      .map(Number) ?? null;
  const a = nums(stated);
  const b = nums(reported);
  return a !== null && b !== null && b.length >= a.length && a.every((x, i) => x === b[i]);
}

/**
 * ZOOKEEPER-3056: does a move from `current` to `target` need snapshot.trust.empty for the first
 * start? From before 3.5.3 (no snapshot check yet) to 3.5.7+ (the escape hatch that replays the
 * logs; 3.5.3–3.5.6 targets are refused by the hazards). False when either cannot be read.
 */
export function trustEmptyNeeded(current: string | undefined, target: string): boolean {
  const c = current !== undefined ? parseVersion(current) : null;
  const t = parseVersion(target);
  return c !== null && t !== null && lt(c, '3.5.3') && ge(t, '3.5.7');
}

/** One hazard as a line for the operator: "warn ZOOKEEPER-2693: … (source)". */
export function hazardLine(h: Hazard): string {
  return `${h.level} ${h.id}: ${h.message} (${h.source})`;
}
