// Small read-only views of a loaded plan that the rest of zkroll needs.
//
// Invariants:
// - Pure functions of the Plan (resolveLocalPath also reads os.homedir(); sshTargets also reads
//   ZKROLL_SSH_CONFIG and whether ~/.ssh/config exists); nothing is mutated.
// - sshTargets: sshConfigFile is $ZKROLL_SSH_CONFIG when set (empty string: no ssh config),
//   else ~/.ssh/config when that file exists. The plan's values win over the ssh config's
//   (see src/remote/connect.ts for what the ssh config may still supply).
// - effectiveSsh: a per-host ssh field that is present always wins over the plan-wide default.
// - allHosts: the current servers in plan order, then the rebuild's temporary server (if any).
import type { HostTarget } from '../remote/connect.js';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeSpec, Plan } from './schema.js';

export interface EffectiveSsh {
  user: string;
  port: number;
  identityFile?: string;
  knownHosts: string;
  jumpHost?: string;
  sudo: boolean;
  /** milliseconds */
  connectTimeout: number;
}

/** The plan-wide ssh defaults merged with the node's own `ssh` override. */
export function effectiveSsh(plan: Plan, node: NodeSpec): EffectiveSsh {
  const d = plan.ssh;
  const o = node.ssh ?? {};
  const out: EffectiveSsh = {
    user: o.user ?? d.user,
    port: o.port ?? d.port,
    knownHosts: o.knownHosts ?? d.knownHosts,
    sudo: o.sudo ?? d.sudo,
    connectTimeout: o.connectTimeout ?? d.connectTimeout,
  };
  const identityFile = o.identityFile ?? d.identityFile;
  if (identityFile !== undefined) out.identityFile = identityFile;
  const jumpHost = o.jumpHost ?? d.jumpHost;
  if (jumpHost !== undefined) out.jumpHost = jumpHost;
  return out;
}

export interface HostEntry {
  role: 'server' | 'temporary';
  myid: number;
  host: string;
  node: NodeSpec;
}

/** Every host the plan touches: the current servers, then the temporary server of a rebuild. */
export function allHosts(plan: Plan): HostEntry[] {
  const out: HostEntry[] = plan.servers.map((s) => ({ role: 'server', myid: s.myid, host: s.host, node: s }));
  if (plan.strategy.kind === 'rebuild') {
    const t = plan.strategy.temporary;
    out.push({ role: 'temporary', myid: t.myid, host: t.host, node: t });
  }
  return out;
}

/**
 * A local path from the plan (identityFile, knownHosts) as an absolute path:
 * "~" and "~/x" expand to the home directory, relative paths are relative to the plan file's directory.
 */
export function resolveLocalPath(planFile: string, p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/')) return path.join(os.homedir(), p.slice(2));
  return path.resolve(path.dirname(path.resolve(planFile)), p);
}

/**
 * Where and how to log in to one host of the plan: remote/'s HostTarget (the one definition of
 * an SSH target) with sudo always decided, and the host's role and myid in the plan.
 */
export interface SshTargetSpec extends HostTarget {
  sudo: boolean;
  /** The host's role and myid in the plan. */
  entry: HostEntry;
}

/** $ZKROLL_SSH_CONFIG ("" = none; ~ and relative paths resolved), else ~/.ssh/config if it exists. */
export function sshConfigFile(): string | undefined {
  const env = process.env['ZKROLL_SSH_CONFIG'];
  if (env !== undefined) return env === '' ? undefined : resolveLocalPath(path.join(process.cwd(), '-'), env);
  const p = path.join(os.homedir(), '.ssh/config');
  return existsSync(p) ? p : undefined;
}

/** Every host of the plan as an SSH target, local paths resolved against the plan file. */
export function sshTargets(plan: Plan, planFile: string): SshTargetSpec[] {
  const configFile = sshConfigFile();
  return allHosts(plan).map((entry) => {
    const ssh = effectiveSsh(plan, entry.node);
    const t: SshTargetSpec = {
      label: `${entry.role === 'temporary' ? 'temporary' : 'server'} ${entry.myid} (${entry.host})`,
      host: entry.host,
      port: ssh.port,
      user: ssh.user,
      knownHostsFile: resolveLocalPath(planFile, ssh.knownHosts),
      connectTimeoutMs: ssh.connectTimeout,
      sudo: ssh.sudo,
      entry,
    };
    if (ssh.identityFile !== undefined) t.identityFile = resolveLocalPath(planFile, ssh.identityFile);
    if (ssh.jumpHost !== undefined) t.jumpHost = ssh.jumpHost;
    if (configFile !== undefined) t.sshConfigFile = configFile;
    return t;
  });
}
