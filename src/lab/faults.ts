// The incident's fault, reproduced in the lab (RUNBOOK.md §1): a server's election listener
// dies while the server keeps serving clients. Two ways:
// - port-scan: what happened. One connection to the election port sends a protocol header with
//   a negative length (bytes ffffffffffff0000 0000000000000063 ffffffff: version -65536, sid
//   99, length -1); on releases before 3.4.7 QuorumCnxManager$Listener dies of a
//   NegativeArraySizeException in receiveConnection (ZOOKEEPER-2186, fixed in 3.4.7; checked on
//   the real 3.4.6 in ../shared/zookeeper/README.md). Later releases answer "Unreasonable buffer
//   length" and survive.
// - agent: a JVM agent suspends the listener threads (listener-agent.ts): any release, for
//   rehearsing the fault on versions without the bug.
// Invariants: lab only (loopback hosts the lab started); touches no data; the server keeps
// serving; a kill is verified (a connection left queued by the kernel, never accepted), and a
// server that survives the scan is reported, not assumed dead.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { acceptQueue } from '../check/checks.js';
import { killElectionListener } from './listener-agent.js';
import { pidsInNamespace, tcpOpen } from './procs.js';
import { LabError, type LabServer, type LabSpec } from './spec.js';

/** The header a port scanner's probe amounts to: protocol version -65536, sid 99, length -1 (ZOOKEEPER-2186). */
export const MALFORMED_HEADER = Buffer.from('ffffffffffff0000' + '0000000000000063' + 'ffffffff', 'hex');

/**
 * Send the malformed header to `ip:port`; resolves once the bytes are written, with the socket
 * still open (the caller closes it: a dying 3.4.6 listener never closes its end).
 */
export function sendMalformedHeader(ip: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: ip, port });
    const fail = (why: string) => (clearTimeout(t), s.destroy(), reject(new LabError(why)));
    const t = setTimeout(() => fail(`lab: ${ip}:${port} did not accept a connection within 2 s`), 2000);
    s.on('connect', () => s.write(MALFORMED_HEADER, () => (clearTimeout(t), resolve(s))));
    s.on('error', (e) => fail(`lab: cannot reach the election port ${ip}:${port}: ${e.message}`));
  });
}

/**
 * Is the election listener on `ip:port` dead? A connection is held open while `ss -ltn` reads
 * the LISTEN socket's accept queue: a live listener takes it at once, a dead one leaves it
 * queued. Looked at for `windowMs` (ms).
 */
export async function listenerDead(ip: string, port: number, windowMs = 600): Promise<boolean> {
  const held = net.connect({ host: ip, port });
  held.on('error', () => {});
  try {
    const t0 = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const q = acceptQueue(execFileSync('ss', ['-ltn'], { encoding: 'utf8' }), port, ip);
      if (q === null) throw new LabError(`lab: nothing listens on ${ip}:${port}`);
      if (q.pending > 0 && Date.now() - t0 >= 300) return true;
      if (q.pending === 0 && Date.now() - t0 >= windowMs) return false;
    }
  } finally {
    held.destroy();
  }
}

/** The JVM of a server in its host's namespace. */
function serverJvm(ns: string, s: LabServer): number {
  const jvm = pidsInNamespace(ns).find((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'java' && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(s.config);
    } catch {
      return false;
    }
  });
  if (jvm === undefined) throw new LabError(`lab: server ${s.myid} (${s.ip}) has no running JVM`);
  return jvm;
}

/**
 * Kill the election listener of server `s` (running, in namespace `ns`) by `how`; returns what
 * was done. Throws LabError when the listener survives (a release with the fix, by port-scan).
 */
export async function killListener(spec: LabSpec, labDir: string, ns: string, s: LabServer, how: 'port-scan' | 'agent'): Promise<string> {
  const port = spec.ports.election;
  if (how === 'port-scan') {
    const sent = await sendMalformedHeader(s.ip, port);
    const dead = await listenerDead(s.ip, port, 1500).finally(() => sent.destroy());
    if (!dead) {
      throw new LabError(
        `lab: server ${s.myid} (${s.ip}) survived the malformed election header: its release has the fix of ZOOKEEPER-2186 (3.4.7 and later). Use the agent instead (lab.deadListeners: agent, or kill-listener --by agent)`,
      );
    }
    return `sent a malformed election header to ${s.ip}:${port} (ZOOKEEPER-2186): its listener died; it keeps serving clients`;
  }
  const jvm = serverJvm(ns, s);
  killElectionListener(path.join(labDir, 'agent'), jvm);
  // a thread suspended inside accept() still completes the accept in flight: hand it one
  // connection so that from now on every connection waits in the kernel's queue
  await tcpOpen(s.ip, port, 1000);
  return `suspended the election listener threads of server ${s.myid} (${s.ip}, JVM ${jvm}); it keeps serving clients`;
}
