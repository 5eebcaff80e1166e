// Reads the running cluster for `zkroll plan --live` (and later apply's preflight): every
// host's zoo.cfg and myid over SSH, every server's `srvr` over TCP; compares them with what
// the plan says. Invariants: read-only (no command that changes anything); one SSH
// connection per host; mismatches are reported as sentences, all of them.
import { sameVersion } from '../plan/versions.js';
import type { Plan } from '../plan/schema.js';
import { sshTargets } from '../plan/helpers.js';
import { SshPool } from '../remote/ssh.js';
import { configuredIds, configuredRoles, dynamicConfigPath } from '../compile/zoocfg.js';
import { probeSrvr, SrvrRefused, type Srvr } from '../zk/fourlw.js';

export interface LiveServer {
  myid: number;
  host: string;
  srvr: Srvr | null;
  myidOnDisk: number | null;
  config: string | null;
}

export interface LiveView {
  servers: LiveServer[];
  leader: number | null;
  /** host → path → text of every config file read. */
  files: Map<string, string>;
  mismatches: string[];
}

export async function readLive(plan: Plan, planFile: string, pool: SshPool): Promise<LiveView> {
  const files = new Map<string, string>();
  const refused: string[] = [];
  const targets = sshTargets(plan, planFile).filter((t) => t.entry.role === 'server');
  const broken = plan.strategy.kind === 'rebuild' ? plan.strategy.broken : [];
  const servers = await Promise.all(
    targets.map(async (t): Promise<LiveServer> => {
      const s = plan.servers.find((x) => x.myid === t.entry.myid)!;
      const host = await pool.get(t);
      const readOr = async (p: string) => (await host.readIfExists(p))?.toString('utf8') ?? null;
      const config = await readOr(s.config);
      if (config !== null) {
        files.set(`${s.host}\u0000${s.config}`, config);
        const dyn = dynamicConfigPath(config);
        if (dyn) {
          const d = await readOr(dyn);
          if (d !== null) files.set(`${s.host}\u0000${dyn}`, d);
        }
      }
      const myidText = await readOr(`${s.dataDir}/myid`);
      if (myidText !== null) files.set(`${s.host}\u0000${s.dataDir}/myid`, myidText);
      const myidOnDisk = myidText !== null && /^\s*\d+\s*$/.test(myidText) ? Number(myidText.trim()) : null;
      return {
        myid: s.myid,
        host: s.host,
        srvr: await probeSrvr(s.host, plan.cluster.ports.client, 2000, { adminPort: plan.cluster.adminPort }).catch((e: unknown) => {
          if (e instanceof SrvrRefused) refused.push(`server ${s.myid} (${s.host}): ${e.message}`);
          return null;
        }),
        myidOnDisk,
        config,
      };
    }),
  );
  const mismatches: string[] = [...refused];
  /** The config texts read on a host (zoo.cfg and its dynamic file), joined. */
  const ownFiles = (host: string) =>
    [...files.entries()]
      .filter(([k]) => k.startsWith(`${host}\u0000`))
      .map(([, v]) => v)
      .join('\n');
  const planIds = plan.servers.map((s) => s.myid).sort((a, b) => a - b);
  for (const s of servers) {
    const label = `server ${s.myid} (${s.host})`;
    if (s.config === null) mismatches.push(`${label}: ${plan.servers.find((x) => x.myid === s.myid)!.config} does not exist`);
    else {
      const dynIds = configuredIds(ownFiles(s.host));
      if (dynIds.join(',') !== planIds.join(','))
        mismatches.push(`${label}: its zoo.cfg lists servers ${dynIds.join(', ') || 'none'}, the plan lists ${planIds.join(', ')}`);
      const roles = configuredRoles(ownFiles(s.host));
      for (const p of plan.servers) {
        const role = roles.get(p.myid);
        if (role !== undefined && role !== p.role)
          mismatches.push(
            `${label}: its zoo.cfg makes server ${p.myid} ${role === 'observer' ? 'an observer' : 'a participant'}, the plan says role: ${p.role}`,
          );
      }
    }
    if (s.myidOnDisk !== s.myid) mismatches.push(`${label}: myid on disk is ${s.myidOnDisk ?? 'missing'}, the plan says ${s.myid}`);
    const planned = plan.servers.find((x) => x.myid === s.myid)!.role;
    if (s.srvr && (s.srvr.mode === 'observer') !== (planned === 'observer'))
      mismatches.push(`${label}: serves as ${s.srvr.mode} (srvr), the plan says role: ${planned}`);
    if (!broken.includes(s.myid) && s.srvr === null)
      mismatches.push(`${label}: not serving, but the plan counts it as serving (list it under strategy.broken, or bring it back first)`);
    const stated = plan.cluster.version;
    // a server already on the target (an earlier run stopped half way) is fine: its steps are no-ops or restarts
    if (stated !== undefined && s.srvr && !sameVersion(stated, s.srvr.version) && !sameVersion(plan.target.version, s.srvr.version)) {
      mismatches.push(
        `${label}: runs ZooKeeper ${s.srvr.version || '(unknown)'} (srvr), the plan says cluster.version ${stated} (target ${plan.target.version})`,
      );
    }
  }
  const leaders = servers.filter((s) => s.srvr?.mode === 'leader');
  if (leaders.length !== 1) mismatches.push(`expected exactly one leader, found ${leaders.length === 0 ? 'none' : leaders.map((l) => l.myid).join(', ')}`);
  return { servers, leader: leaders.length === 1 ? leaders[0]!.myid : null, files, mismatches };
}
