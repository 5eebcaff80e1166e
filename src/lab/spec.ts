// What the lab builds, independent of the plan file format: hosts (loopback addresses), the
// paths each host must see, the ZooKeeper installs and the servers' starting configuration.
// Pure: no I/O. Invariants: every host address is IPv4 loopback (127.0.0.0/8); every mount
// root is an absolute path with no "..", never "/" and never a system directory.
import path from 'node:path';
import type { ReleaseSources } from './releases.js';
export { hasListenerBug } from '../plan/versions.js';

export interface LabServer {
  myid: number;
  /** An observer (plan role: observer). */
  observer?: boolean;
  ip: string;
  home: string;
  config: string;
  dataDir: string;
  dataLogDir: string;
}

export interface LabHost {
  ip: string;
  sshPort: number;
  /** Absolute paths this host must have in its own filesystem view. */
  paths: string[];
  /** Install homes to unpack on this host, with the ZooKeeper version of each. */
  installs: { home: string; version: string }[];
}

export interface LabSpec {
  cluster: string;
  planFile: string;
  ports: { client: number; quorum: number; election: number; admin: number };
  sshUser: string;
  identityFile: string;
  knownHostsFile: string;
  hosts: LabHost[];
  /** The version the current ensemble runs (the plan's cluster.version). */
  currentVersion: string;
  /** Where each version's release tarball is found. */
  releases: ReleaseSources;
  /** The incident's fault injected after the data is loaded (null: none; down servers stay stopped). */
  deadListeners: 'port-scan' | 'agent' | null;
  /** The current ensemble (what is running before zkroll acts). */
  servers: LabServer[];
  down: number[];
  znodes: number;
  /** Production-size data: about this many MiB of znodes under /lab/bulk (lab/bulk.ts); 0: none. */
  dataMb: number;
  proxies: { product: string; count: number } | null;
  /** Start the current servers with -Dzookeeper.testingonly.initialZxid (zxid-rollover rehearsals). */
  initialZxid: bigint | null;
  /** 4lw.commands.whitelist of the current servers ('*' answers every word); null: no such line (3.4 configs). */
  whitelist: string | null;
  /** How long each host's login shell sleeps in its startup file, ms (0: not at all). */
  loginDelayMs: number;
  /** How the current servers' zoo.cfg is written (see the plan's lab.configStyle). */
  configStyle: 'zkroll' | 'operator';
  /**
   * membership: reconfig with access super: the digest user and the password file (absolute);
   * every lab install gets the password's digest as its superDigest. Absent: none.
   */
  superUser?: { user: string; passwordFile: string };
}

/** A problem that stops the lab before it changes anything. */
export class LabError extends Error {}

export function isLoopbackV4(ip: string): boolean {
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

const SYSTEM_DIRS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/sys',
  '/tmp',
  '/usr',
  '/home',
];

/**
 * The directories the lab bind-mounts per host: the first two components of every path
 * (`/opt/zookeeper-3.4.6/conf/zoo.cfg` → `/opt/zookeeper-3.4.6`), deduplicated, nested ones
 * folded into their parent.
 */
export function mountRoots(paths: string[]): string[] {
  const roots = new Set<string>();
  for (const p of paths) {
    const norm = path.posix.normalize(p);
    if (!norm.startsWith('/') || p.split('/').includes('..')) throw new LabError(`lab: ${p} is not an absolute path`);
    const parts = norm.split('/').filter(Boolean);
    if (parts.length === 0) throw new LabError('lab: a host path cannot be "/"');
    roots.add('/' + parts.slice(0, 2).join('/'));
  }
  const sorted = [...roots].sort();
  const out = sorted.filter((r) => !sorted.some((o) => o !== r && r.startsWith(o + '/')));
  for (const r of out) {
    const top = '/' + (r.split('/')[1] ?? '');
    if (SYSTEM_DIRS.includes(top) || SYSTEM_DIRS.includes(r)) {
      throw new LabError(
        `lab: cannot give each host its own ${r}: it is under ${top}, which the hosts share with this machine. ` +
          'Put install homes and data directories under /opt, /srv, /data or /var/lib/<name> in the plan.',
      );
    }
  }
  return out;
}

/** Where a host's view of `p` lives in the lab directory (its bind-mount source). */
export function backingPath(hostDir: string, roots: string[], p: string): string {
  const root = roots.find((r) => p === r || p.startsWith(r + '/'));
  if (root === undefined) throw new LabError(`lab: ${p} is outside the host's mounted paths`);
  return path.join(hostDir, 'fs', encodeRoot(root), p.slice(root.length));
}

export function encodeRoot(root: string): string {
  return root.slice(1).replaceAll('/', '__');
}

export function connectString(spec: LabSpec, myids?: number[]): string {
  return spec.servers
    .filter((s) => myids === undefined || myids.includes(s.myid))
    .map((s) => `${s.ip}:${spec.ports.client}`)
    .join(',');
}
