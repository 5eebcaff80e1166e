// The compiled form of a plan: the one list of steps that `zkroll plan` shows and `zkroll
// apply` runs. Plain JSON data (no functions, no classes), so it can be rendered, hashed,
// persisted in the machine's context and compared.
// Invariants: a step acts on one host (or on the ensemble through the ZooKeeper client); every
// remote action is spelled out as argv; files carry their full content or the exact rule that
// produces it from the file on the host; nothing here depends on the clock or the network.

/** A server as the step sees it: where it runs and under which myid. */
export interface NodeRef {
  host: string;
  /** myid the server has (or gets) in this step. */
  myid: number;
  /** Its myid in the old ensemble, when it had one. */
  oldMyid?: number;
  temporary?: boolean;
  /** An observer: syncs and serves, never votes (absent: a participant). */
  observer?: boolean;
  home: string;
  config: string;
  dataDir: string;
  dataLogDir: string;
}

/**
 * Who a step acts on. Rolling-restart slots are resolved at run time from the live cluster:
 * slots 1..n-1 are the members that are not leading, in myid order; slot n is the leader.
 */
export type StepTarget =
  | { kind: 'node'; node: NodeRef }
  | { kind: 'slot'; round: string; slot: number; of: number; members: NodeRef[] }
  | { kind: 'ensemble'; which: 'old' | 'new'; members: NodeRef[] }
  | { kind: 'seed'; seedFrom: 'leader' | number; candidates: NodeRef[]; to: NodeRef }
  /** Compare the old ensemble (still serving) with the new one and carry writes across. */
  | { kind: 'split'; old: NodeRef[]; neu: NodeRef[] };

/** A remote command: argv run on the step's host (quoted by remote/, never re-parsed). */
export interface RemoteCommand {
  argv: string[];
  timeoutMs: number;
  /** What the command is for, in a few words (shown next to it). */
  does: string;
  /** The host it runs on, when not the step's (or the member's) own. */
  host?: string;
  /** Exit codes that count as success (default [0]). */
  okCodes?: number[];
  /**
   * Its stdout is streamed, as it is produced, into the stdin of the command at this index of
   * the same list (a copy between two hosts through zkroll's two SSH connections; nothing is
   * buffered whole).
   */
  streamTo?: number;
  /**
   * Gates polled right after this command; the next command runs only once they hold (a
   * restart waits for the stopped JVM to exit before it starts the server again).
   */
  then?: Gate[];
}

/**
 * A file the step writes atomically on its host. A different file already at the path is first
 * copied to <path>.zkroll-backup-<run id> (nothing is lost).
 */
export type FileWrite =
  | { kind: 'literal'; path: string; content: string; mode: number }
  /**
   * The zoo.cfg at `base` (on `baseHost`, default the step's host) with only the ensemble lines,
   * host-bound keys and data directories changed (see zoocfg.ts).
   */
  | {
      kind: 'zoo.cfg';
      path: string;
      base: string;
      baseHost?: string;
      servers: ServerLine[];
      node: NodeRef;
      mode: number;
      /** Keys zkroll sets (replacing the value, or appended at the end), e.g. snapshot.trust.empty (ZOOKEEPER-3056). */
      set?: { key: string; value: string }[];
      /** Keys zkroll removes (every line of the key). */
      unset?: string[];
      /** Only `set` and `unset` apply: the server lines and the dynamic file stay as they are (ZooKeeper's own, under reconfig). */
      keysOnly?: boolean;
      /**
       * membership: reconfig — the server lines go to this dynamic file (written with this
       * content beside zoo.cfg), never to zoo.cfg; `servers` is then not rendered.
       */
      dynamic?: {
        path: string;
        content: string;
        /** The client address the node's own line binds (null: every interface); the base's clientPortAddress must agree. */
        clientHost: string | null;
      };
    }
  /**
   * The file at `path` as it is (or empty), with zkroll's block (between its marker lines) put
   * at the end, replacing any earlier zkroll block: the operator's own lines stay.
   */
  | { kind: 'block'; path: string; block: string; mode: number };

export interface ServerLine {
  myid: number;
  /** Written `:observer` (absent: a participant). */
  observer?: boolean;
  host: string;
  quorumPort: number;
  electionPort: number;
  clientPort: number;
}

/** A member of a dynamic configuration (3.5+): its server line with the client part. */
export interface DynamicMember extends ServerLine {
  /** The client address of `;host:port`; null for `;port` (every interface). */
  clientHost: string | null;
}

/**
 * How zkroll authenticates for a reconfig (plan strategy.reconfig). The password file is a local
 * path read at run time; the password itself is never part of a step.
 */
export interface ReconfigAuth {
  access: 'super' | 'skipACL';
  user: string;
  passwordFile?: string;
}

/**
 * One incremental reconfig (ZooKeeperAdmin.reconfigure): `joining` servers added, `leaving`
 * myids removed, as a compare-and-set on the committed configuration `from` (the version is
 * read from /zookeeper/config at run time and sent as fromConfig).
 */
export interface ReconfigOp {
  from: DynamicMember[];
  to: DynamicMember[];
  /** `server.N=host:q:e:role;[client:]port` entries (ReconfigRequest.joiningServers). */
  joining: string[];
  leaving: number[];
  /** The servers the request may go to (members of `from` that run). */
  members: NodeRef[];
  auth: ReconfigAuth;
  /** The access check only: the old ensemble's servers, whose zoo.cfg must not enable reconfig. */
  oldEnsemble?: NodeRef[];
}

/** A condition polled (every health.pollInterval) until it holds or its deadline passes. */
export type Gate =
  | { kind: 'stopped'; node: NodeRef; deadlineMs: number }
  /** A ZooKeeper JVM with the node's config (and, when `home` is set, with `<home>/` on its classpath). */
  | { kind: 'running'; node: NodeRef; deadlineMs: number; home?: string }
  | { kind: 'serving'; node: NodeRef; deadlineMs: number }
  | { kind: 'ensemble'; members: NodeRef[]; deadlineMs: number }
  | { kind: 'canary'; members: NodeRef[]; path: string; deadlineMs: number }
  | { kind: 'znodes'; members: NodeRef[]; znodes: { path: string; minChildren: number }[]; deadlineMs: number }
  /** Every member holds the same tree (paths, data, ephemeral-ness), read from each alone. */
  | { kind: 'consistent'; members: NodeRef[]; skip: string[]; deadlineMs: number }
  /** The node's dataDir holds a snapshot file (version-2/snapshot.<zxid>). */
  | { kind: 'snapshot'; node: NodeRef; deadlineMs: number }
  /** Every member reports this version in `srvr` ("3.4.13" of "3.4.13-6--1, built on …"). */
  | { kind: 'version'; members: NodeRef[]; version: string; deadlineMs: number }
  /** Every member's /zookeeper/config (read after a sync) lists exactly `expect` (ids, hosts, ports, roles). */
  | { kind: 'config'; members: NodeRef[]; expect: DynamicMember[]; deadlineMs: number };

/** One configuration's quorum arithmetic after (and during) a step. */
export interface QuorumView {
  /** Voter ids of the configuration that is serving (the leader's). */
  config: number[];
  /** Voters of that configuration that are running after the step. */
  live: number[];
  /** Fewest live voters while the step runs (a restart takes one down). */
  minLive: number;
  quorum: number;
  state: 'forming' | 'serving' | 'ended';
  /** The configuration the current round rolls in, when it differs from `config`. */
  next?: number[];
}

export interface Membership {
  old?: QuorumView;
  new?: QuorumView;
}

export type StepAction =
  | 'persist-ephemerals'
  | 'prepare-install'
  | 'stop'
  | 'backup-data'
  | 'copy-seed-data'
  | 'split-window'
  | 'write-config'
  | 'start'
  | 'restart'
  | 'final-check'
  | 'reconfig'
  | 'check-reconfig-access';

export interface MemberAction {
  myid: number;
  host: string;
  commands: RemoteCommand[];
  gates: Gate[];
}

export interface Step {
  /** Stable id, e.g. "grow-4/restart-2". */
  id: string;
  /** 1-based position in the whole list. */
  n: number;
  phase: string;
  action: StepAction;
  title: string;
  /** Why the step exists, for the operator. */
  reason: string;
  target: StepTarget;
  commands: RemoteCommand[];
  files: FileWrite[];
  gates: Gate[];
  /** Conditions that must hold before the step acts (polled like gates); the step does nothing until they do. */
  before?: Gate[];
  /**
   * Slot and seed steps: what the step does to each member the slot (or the seed) may resolve
   * to at run time. Split-window steps: each old member's reader, started and stopped.
   */
  byMember?: MemberAction[];
  /**
   * What the step reads at run time to decide or check, by kind (e.g. "srvr on every member");
   * reads change nothing and are the only remote commands not spelled out above.
   */
  reads: string[];
  membership: Membership;
  /** Leader elections this step causes for certain (0 or 1). */
  elections: number;
  /** True when the step causes an election only if it hits the leader (known at run time). */
  maybeElection?: boolean;
  /** Set when the step needs an explicit yes even in unattended mode, with the reason. */
  confirm?: string;
  /** reconfig steps: the change; check-reconfig-access steps: the auth (from/to equal, nothing sent). */
  reconfig?: ReconfigOp;
}

export interface Totals {
  steps: number;
  starts: number;
  stops: number;
  restarts: number;
  /** Membership changes through ZooKeeper's reconfig (no restart). */
  reconfigs: number;
  elections: number;
  maybeElections: number;
  rounds: number;
}

/**
 * What the executor needs of the plan besides the steps, carried with them so it never reads
 * the plan itself. Times in ms.
 */
export interface RunSettings {
  clientPort: number;
  adminPort: number;
  pollIntervalMs: number;
  gateDeadlineMs: number;
  startDeadlineMs: number;
  canaryPath: string;
  /** Rebuild: the roots under which ephemeral nodes get persistent copies (empty otherwise). */
  preserveEphemerals: string[];
}

export interface Compiled {
  strategy: 'rolling' | 'rebuild';
  cluster: string;
  settings: RunSettings;
  steps: Step[];
  totals: Totals;
}

/** A plan that cannot be run safely, with the reason. */
export class Refusal extends Error {}
