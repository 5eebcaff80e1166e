// The executor's real probes: `srvr` and the monitor values over TCP, the ZooKeeper JVMs and the
// data files of a server over its SSH host, and ZooKeeper client sessions. Reads only: every
// remote command here is audited with purpose `read`.
// Invariants: a host that cannot be asked is an error, never "not running" (a gate keeps
// polling, a stop is not skipped); timeouts in ms.
import { snapshotName } from '../check/datafiles.js';
import type { NodeRef } from '../compile/types.js';
import { listVersion2, readDataDirs, sshDataRemote } from '../check/datadir.js';
import { DataScanError } from '../check/datascan.js';
import { ZkClient } from '../zk/client.js';
import { WireSession } from '../zk/wire.js';
import { srvrProbe } from '../zk/fourlw.js';
import { readMonitor } from '../zk/monitor.js';
import { LIST_ZK_JVMS, parseZkJvms, RESOLVE_PATH } from '../zk/process.js';
import type { SshHost } from '../remote/ssh.js';
import { StepError, type Probes } from './env.js';

/**
 * Probes that read through `hosts` (one SSH connection each); `deadlineMs` bounds a data read
 * (ms). `adminPort` (RunSettings.adminPort) is where `srvr` is asked over HTTP when a server's
 * 4lw.commands.whitelist refuses both `srvr` and `stat` (zk/fourlw.ts probeSrvr); without it such
 * a server makes the srvr probe throw SrvrRefused.
 */
export function liveProbes(hosts: (host: string) => Promise<SshHost>, deadlineMs: number, adminPort?: number): Probes {
  return {
    srvr: srvrProbe(adminPort),
    monitor: readMonitor,
    jvms: async (on) => {
      const h = await hosts(on);
      const r = await h.exec(['sh', '-c', LIST_ZK_JVMS], { timeoutMs: 10000, raw: true, purpose: 'read' });
      if (r.code !== 0) throw new StepError(`could not list the ZooKeeper processes on ${on} (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
      return parseZkJvms(r.stdout);
    },
    realpath: async (on, path) => {
      const h = await hosts(on);
      const r = await h.exec(['sh', '-c', RESOLVE_PATH, 'sh', path], { timeoutMs: 10000, raw: true, purpose: 'read' });
      if (r.code !== 0) throw new StepError(`could not resolve ${path} on ${on} (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
      return r.stdout.replace(/\n$/, '') || null;
    },
    hasSnapshot: async (node: NodeRef) => {
      const names = await listVersion2(sshDataRemote(await hosts(node.host), 10000), node.dataDir);
      return names.some((n) => snapshotName(n) !== null);
    },
    // a host that cannot be scanned (no java, an unreadable file) stops the step with why, never a verdict
    dataCheck: async (node, runningZxid) =>
      readDataDirs(sshDataRemote(await hosts(node.host), deadlineMs), node.dataDir, node.dataLogDir, runningZxid).catch((e: unknown) => {
        throw e instanceof DataScanError
          ? new StepError(`the data check of ${node.dataDir} could not run, so nothing was done to the server: ${e.message}`, e.stderr)
          : e;
      }),
    connect: (cs, timeoutMs) => ZkClient.connect(cs, timeoutMs),
    session: (host, port, timeoutMs) => WireSession.connect(host, port, timeoutMs),
  };
}
