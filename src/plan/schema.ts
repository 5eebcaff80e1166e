// The zod 4 schema of a zkroll plan file: the single source of truth for its shape.
//
// Invariants:
// - Every object is strict: an unknown key is an error, never silently dropped.
// - After parsing, every default is applied (ports, ssh, durations, service, config paths,
//   temporary.home, lab.down), durations are numbers of milliseconds, and the rebuild
//   strategy's `renumber` map is normalised to an array of {from, to} sorted by `from`.
// - Error messages phrased "expected ..." describe the value; the loader appends ", got <value>".
// - Cross-field rules (unique myids, renumber coverage, ...) live in rules.ts, not here.
import path from 'node:path';
import { z } from 'zod';
import { durationSchema } from './duration.js';
import { normalizeHost } from './host.js';

export { durationSchema, parseDuration } from './duration.js';

// ---------- scalar building blocks ----------

// ZooKeeper reads myid with Long.parseLong (QuorumPeerConfig.parseProperties): 0 is a valid id
// (docker images number from 0); the documented 1..255 is advice, not a check.
const MYID = 'expected a non-negative integer (a ZooKeeper myid; 0 is allowed)';
const PORT = 'expected a port number 1..65535';

/** An integer in [min, max]; every failure reports `msg`. */
function intIn(min: number, max: number, msg: string) {
  return z.int({ error: msg }).min(min, { error: msg }).max(max, { error: msg });
}

export const MyidSchema = intIn(0, Number.MAX_SAFE_INTEGER, MYID);
export const PortSchema = intIn(1, 65535, PORT);

/** Absolute, no NUL, no ".." segment (a regex so that the JSON schema carries it too). */
const ABS_RE = /^(?![\s\S]*\/\.\.(?:\/|$))\/[^\0]*$/;
/** "/", "/a", "/a/b": no trailing "/", no empty segment, no NUL. */
const ZNODE_RE = /^\/(?:[^/\0]+(?:\/[^/\0]+)*)?$/;

export function isAbsolutePath(p: string): boolean {
  return ABS_RE.test(p);
}
export function isZnodePath(p: string): boolean {
  return ZNODE_RE.test(p);
}

const ABS = 'expected an absolute path (starting with "/", without "..")';
export const AbsPathSchema = z.string({ error: ABS }).regex(ABS_RE, { error: ABS });

const ZNODE = 'expected a znode path like "/jodis/codis-demo" (no trailing "/", no "//")';
export const ZnodePathSchema = z.string({ error: ZNODE }).regex(ZNODE_RE, { error: ZNODE });

const HOST = 'expected a host name or IP address (no blanks or control characters, none of @ / ; | [ ]; an IPv6 address bare or in brackets)';
/**
 * A host; an IPv6 address may be written in brackets and is kept bare (brackets are added where
 * ZooKeeper needs them). ';' and '|' separate the parts of a server.N line, so a host cannot hold them.
 */
export const HostSchema = z
  .string({ error: HOST })
  .regex(/^(?:[^\s\x00-\x20\x7f@/[\];|]+|\[[0-9A-Fa-f:.%\w-]+\])$/, { error: HOST })
  .max(253, { error: HOST })
  .transform(normalizeHost);

/** A local file path; "~/" and relative paths are resolved later (see resolveLocalPath). */
const LOCAL = 'expected a file path';
const LocalPathSchema = z.string({ error: LOCAL }).regex(/^[^\0]+$/, { error: LOCAL });

// ---------- ssh ----------

const USER = 'expected a user name';
const JUMP = 'expected a jump host "[user@]host[:port]"';
const JUMP_RE = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/;

const sshFields = {
  user: z.string({ error: USER }).regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, { error: USER }),
  port: PortSchema,
  identityFile: LocalPathSchema,
  knownHosts: LocalPathSchema,
  jumpHost: z
    .string({ error: JUMP })
    .regex(JUMP_RE, { error: JUMP })
    .refine(
      (s) => {
        const port = JUMP_RE.exec(s)?.[1];
        return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
      },
      { error: JUMP },
    ),
  sudo: z.boolean({ error: 'expected true or false' }),
  connectTimeout: durationSchema(),
};

/** Plan-wide ssh defaults. */
export const SshSchema = z.strictObject({
  user: sshFields.user,
  port: sshFields.port.default(22),
  identityFile: sshFields.identityFile.optional(),
  knownHosts: sshFields.knownHosts.default('~/.ssh/known_hosts'),
  jumpHost: sshFields.jumpHost.optional(),
  sudo: sshFields.sudo.default(false),
  connectTimeout: sshFields.connectTimeout.prefault('10s'),
});

/** Per-host override: any ssh field, all optional (absent = inherit the plan-wide value). */
export const SshOverrideSchema = z.strictObject({
  user: sshFields.user.optional(),
  port: sshFields.port.optional(),
  identityFile: sshFields.identityFile.optional(),
  knownHosts: sshFields.knownHosts.optional(),
  jumpHost: sshFields.jumpHost.optional(),
  sudo: sshFields.sudo.optional(),
  connectTimeout: sshFields.connectTimeout.optional(),
});

// ---------- servers ----------

const UNIT = 'expected a systemd unit name like "zookeeper.service" (not starting with "-": systemctl would read it as an option)';
export const ServiceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('zkServer') }),
  z.strictObject({
    kind: z.literal('systemd'),
    unit: z.string({ error: UNIT }).regex(/^[A-Za-z0-9:_.@\\][A-Za-z0-9:_.@\\-]*$/, { error: UNIT }),
  }),
]);

/** `${home}/conf/zoo.cfg` */
export function defaultConfigPath(home: string): string {
  return path.posix.join(home, 'conf', 'zoo.cfg');
}

const DATA =
  'expected a data directory with no line break, tab or other control character and no blank at the end (ZooKeeper reads dataDir trimmed from zoo.cfg, and zkServer.sh line by line)';
/**
 * dataDir / dataLogDir: an absolute path that zoo.cfg can carry as it is. One regex, so that the
 * JSON schema carries all of it; the message says which part failed.
 */
const DATA_RE = /^(?![\s\S]*\/\.\.(?:\/|$))\/(?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$/;
const DataDirSchema = z.string({ error: ABS }).regex(DATA_RE, { error: (iss) => (typeof iss.input === 'string' && isAbsolutePath(iss.input) ? DATA : ABS) });

const nodeFields = {
  myid: MyidSchema,
  host: HostSchema,
  home: AbsPathSchema,
  config: AbsPathSchema.optional(),
  dataDir: DataDirSchema,
  dataLogDir: DataDirSchema.optional(),
  service: ServiceSchema.prefault({ kind: 'zkServer' }),
  ssh: SshOverrideSchema.optional(),
};

const ROLE = 'expected "participant" (a voter, the default) or "observer" (serves, does not vote)';
/** ZooKeeper's learner types (QuorumPeer.LearnerType): an observer syncs and serves but never votes. */
export const RoleSchema = z.enum(['participant', 'observer'], { error: ROLE });

/** A current ensemble member; output has config and dataLogDir filled in. */
export const ServerSchema = z
  .strictObject({ ...nodeFields, role: RoleSchema.default('participant') })
  .transform((s) => ({ ...s, config: s.config ?? defaultConfigPath(s.home), dataLogDir: s.dataLogDir ?? s.dataDir }));

/** The rebuild's temporary server as written; home defaults to target.home (applied by PlanSchema). */
const TemporaryInputSchema = z.strictObject({ ...nodeFields, home: AbsPathSchema.optional() });

// ---------- target ----------

const VERSION = 'expected a ZooKeeper version string like "3.4.13" (quote it in YAML)';
export const VersionSchema = z.string({ error: VERSION }).regex(/^\d+\.\d+(\.\d+)?([-+.][0-9A-Za-z.+-]+)?$/, { error: VERSION });
export const TargetSchema = z
  .strictObject({
    version: VersionSchema,
    home: AbsPathSchema,
    config: AbsPathSchema.optional(),
  })
  .transform((t) => ({ ...t, config: t.config ?? defaultConfigPath(t.home) }));

// ---------- strategy ----------

const RENUMBER = 'expected a mapping of old myid to new myid, e.g. { 6: 2, 8: 3 }';
const RENUMBER_KEY = "expected a current server's myid (an integer) as key";

/** YAML map {old: new} -> [{from: old, to: new}] sorted by `from`. */
export const RenumberSchema = z.record(z.string().regex(/^\d{1,15}$/, { error: RENUMBER_KEY }), MyidSchema, { error: RENUMBER }).transform((r) =>
  Object.entries(r)
    .map(([from, to]) => ({ from: Number(from), to }))
    .sort((a, b) => a.from - b.from),
);

const SEED = 'expected "leader" or the myid of a current server';
const SeedFromSchema = z.union([z.literal('leader', { error: SEED }), intIn(0, Number.MAX_SAFE_INTEGER, SEED)], { error: SEED });

const RollingSchema = z.strictObject({ kind: z.literal('rolling') });
/**
 * How zkroll may reconfigure (membership: reconfig). The server authorizes a reconfig only for a
 * superuser session or with zookeeper.skipACL=yes (zookeeperAdmin.md "skipACL";
 * ZooKeeperServer.checkACL at release-3.9.3): `super` logs in with digest `user`:<the password
 * in passwordFile> (its digest is the servers' zookeeper.DigestAuthenticationProvider.superDigest).
 * The password is read at run time and never stored or shown.
 */
const ReconfigSchema = z.strictObject({
  access: z.enum(['super', 'skipACL'], { error: 'expected "super" or "skipACL"' }).default('super'),
  user: z
    .string({ error: USER })
    .regex(/^[^:\s]+$/, { error: 'expected a digest user name without ":" or blanks' })
    .default('super'),
  passwordFile: LocalPathSchema.optional(),
  /**
   * The client part of each server line in the dynamic file: `host` binds the client port to the
   * server's own address (`;host:port`), `any` to every interface (`;port`).
   */
  clientAddress: z.enum(['host', 'any'], { error: 'expected "host" or "any"' }).default('host'),
});
const RebuildInputSchema = z.strictObject({
  kind: z.literal('rebuild'),
  temporary: TemporaryInputSchema,
  broken: z.array(MyidSchema, { error: 'expected a list of myids, e.g. [6, 8]' }),
  renumber: RenumberSchema,
  seedFrom: SeedFromSchema.default('leader'),
  preserveEphemerals: z.array(ZnodePathSchema, { error: 'expected a list of znode paths' }).default([]),
  /**
   * How the new ensemble's membership changes after the mini-ensemble has formed: `restart`
   * (zoo.cfg edits and rolling restarts, every release) or `reconfig` (3.7+ with
   * reconfigEnabled: one incremental `reconfig` per joining or leaving server, no restarts;
   * zookeeperReconfig.md).
   */
  membership: z.enum(['restart', 'reconfig'], { error: 'expected "restart" or "reconfig"' }).default('restart'),
  reconfig: ReconfigSchema.optional(),
});

const StrategyInputSchema = z.discriminatedUnion('kind', [RollingSchema, RebuildInputSchema]);

// ---------- cluster, health, lab ----------

const NAME = "expected a name of letters, digits, '.', '_' or '-' (at most 64 characters)";
const PortsSchema = z
  .strictObject({ client: PortSchema.default(2181), quorum: PortSchema.default(2888), election: PortSchema.default(3888) })
  .superRefine((p, ctx) => {
    if (p.quorum === p.client) ctx.addIssue({ code: 'custom', path: ['quorum'], message: 'quorum port must differ from the client port' });
    if (p.election === p.client || p.election === p.quorum)
      ctx.addIssue({ code: 'custom', path: ['election'], message: 'election port must differ from the client and quorum ports' });
  });

export const ClusterSchema = z
  .strictObject({
    name: z
      .string({ error: NAME })
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: NAME })
      .max(64, { error: NAME }),
    /**
     * The ZooKeeper version every server runs today (as `srvr` reports it: "3.4.6"). Checked
     * against the running servers before a run; the version hazards are judged from it.
     */
    version: VersionSchema.optional(),
    ports: PortsSchema.prefault({}),
    adminPort: PortSchema.default(8080),
  })
  .superRefine((c, ctx) => {
    if ([c.ports.client, c.ports.quorum, c.ports.election].includes(c.adminPort))
      ctx.addIssue({ code: 'custom', path: ['adminPort'], message: `adminPort ${c.adminPort} collides with a client/quorum/election port` });
  });

export const HealthSchema = z.strictObject({
  pollInterval: durationSchema(1000, '1s').prefault('200ms'),
  startDeadline: durationSchema().prefault('60s'),
  gateDeadline: durationSchema().prefault('2m'),
  canaryPath: ZnodePathSchema.refine((p) => p !== '/', { error: 'expected a znode path other than "/"' }).default('/zkroll/canary'),
  requiredZnodes: z
    .array(z.strictObject({ path: ZnodePathSchema, minChildren: intIn(0, 1_000_000, 'expected an integer >= 0').default(0) }), {
      error: 'expected a list of { path, minChildren }',
    })
    .default([]),
});

const PRODUCT = "expected a Codis product name of letters, digits, '.', '_' or '-'";
const LabInputSchema = z.strictObject({
  down: z.array(MyidSchema, { error: 'expected a list of myids' }).optional(),
  znodes: intIn(0, 100_000, 'expected an integer 0..100000').default(200),
  proxies: z
    .strictObject({
      product: z.string({ error: PRODUCT }).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: PRODUCT }),
      count: intIn(1, 50, 'expected an integer 1..50').default(3),
    })
    .optional(),
  /**
   * A directory of upstream release tarballs (zookeeper-<v>.tar.gz, apache-zookeeper-<v>-bin.tar.gz),
   * relative to the plan file; $ZKROLL_RELEASES is searched first.
   */
  releases: LocalPathSchema.optional(),
  /** Per version, the tarball to install (relative to the plan file): { "3.4.6": ../dist/zookeeper-3.4.6.tar.gz }. */
  installs: z
    .record(VersionSchema, LocalPathSchema, { error: 'expected a mapping of version to tarball, e.g. { "3.4.6": dist/zookeeper-3.4.6.tar.gz }' })
    .optional(),
  /**
   * The incident's fault, injected by `lab up` once the data is loaded: the election listener of
   * every serving server dies, then the down servers are restarted and cannot rejoin.
   * port-scan: the malformed header of ZOOKEEPER-2186 (kills it on releases before 3.4.7);
   * agent: a JVM agent suspends the listener threads (any release).
   */
  deadListeners: z.enum(['port-scan', 'agent'], { error: 'expected "port-scan" or "agent"' }).optional(),
  /** Every lab host's login shell sleeps this long in its startup file (rehearses slow profiles: pyenv, conda, nvm). */
  loginDelay: durationSchema(60_000, '1m').optional(),
  /**
   * How the lab writes the current servers' zoo.cfg. zkroll: LF and key=value. operator: as
   * operators' files often are: CRLF line endings, comments, `key: value` and `key value` lines
   * (ZooKeeper reads all of them; zkroll must keep them byte for byte).
   */
  configStyle: z.enum(['zkroll', 'operator'], { error: 'expected "zkroll" or "operator"' }).optional(),
});

// ---------- the plan ----------

const PlanInputSchema = z.strictObject({
  version: z.literal(1, { error: 'expected 1 (the plan format version)' }),
  cluster: ClusterSchema,
  ssh: SshSchema,
  servers: z.array(ServerSchema, { error: 'expected a list of servers' }).min(1, { error: 'expected at least one server' }),
  target: TargetSchema,
  strategy: StrategyInputSchema,
  health: HealthSchema.prefault({}),
  lab: LabInputSchema.prefault({}),
});

type PlanInput = z.output<typeof PlanInputSchema>;

/** Applies the defaults that depend on other parts of the plan. */
function finishPlan(p: PlanInput) {
  const s = p.strategy;
  const strategy =
    s.kind === 'rolling'
      ? s
      : (() => {
          const home = s.temporary.home ?? p.target.home;
          const temporary = {
            ...s.temporary,
            home,
            config: s.temporary.config ?? defaultConfigPath(home),
            dataLogDir: s.temporary.dataLogDir ?? s.temporary.dataDir,
          };
          return { ...s, temporary };
        })();
  const down = p.lab.down ?? (s.kind === 'rebuild' ? [...s.broken] : []);
  return { ...p, strategy, lab: { ...p.lab, down } };
}

export const PlanSchema = PlanInputSchema.transform(finishPlan);

export type Plan = z.output<typeof PlanSchema>;
export type PlanInputData = z.input<typeof PlanSchema>;
export type ClusterSpec = Plan['cluster'];
export type SshSpec = Plan['ssh'];
export type SshOverride = z.output<typeof SshOverrideSchema>;
export type ServiceSpec = z.output<typeof ServiceSchema>;
export type ServerSpec = Plan['servers'][number];
export type TargetSpec = Plan['target'];
export type Strategy = Plan['strategy'];
export type RollingStrategy = Extract<Strategy, { kind: 'rolling' }>;
export type RebuildStrategy = Extract<Strategy, { kind: 'rebuild' }>;
export type TemporarySpec = RebuildStrategy['temporary'];
export type Renumbering = RebuildStrategy['renumber'][number];
export type HealthSpec = Plan['health'];
export type LabSpec = Plan['lab'];
/** A server or the temporary server: both have the same fully-defaulted shape. */
export type NodeSpec = ServerSpec | TemporarySpec;

/** The rebuild's renumbering as a Map old myid -> new myid. */
export function renumberMap(strategy: RebuildStrategy): Map<number, number> {
  return new Map(strategy.renumber.map((r) => [r.from, r.to]));
}
