// The floor under a run: how long the ZooKeeper servers themselves took to start, measured by a
// poller independent of zkroll (it reads /proc and asks `srvr`, never zkroll's log). For every
// QuorumPeerMain JVM that appears on a lab host: from its process start (/proc/<pid>/stat
// starttime) to the first `srvr` answer with a mode (serving). The sum over all JVMs is the
// time no tool can save; a run's wall time divided by it says how much the tool adds.
// Invariants: read-only (no signal, no write); polls every `intervalMs` until stopped.
import fs from 'node:fs';
import { probeSrvr } from '../src/zk/fourlw.js';

interface Jvm {
  ip: string;
  startMs: number;
  servingMs: number | null;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

export function bootMs(): number {
  const up = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return Date.now() - up * 1000;
}

/** When process `pid` started (ms since the epoch), from /proc/<pid>/stat; null when it is gone. */
export function startMsOf(pid: string, boot: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return boot + (Number(fields[19]) / USER_HZ) * 1000;
  } catch {
    return null;
  }
}

export class StartPoller {
  private readonly jvms = new Map<string, Jvm>();
  private readonly before = new Set<string>();
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  /** `hosts`: mount namespace id → host address, from the lab's state file. */
  constructor(
    private readonly hosts: Map<string, string>,
    private readonly clientPort: number,
    private readonly intervalMs = 20,
  ) {}

  /** Start polling; JVMs already running now are not counted (they started before the run). */
  start(): void {
    const boot = bootMs();
    for (const pid of fs.readdirSync('/proc')) if (/^\d+$/.test(pid)) this.before.add(pid);
    this.done = (async () => {
      while (!this.stopped) {
        await this.tick(boot);
        await new Promise((r) => setTimeout(r, this.intervalMs));
      }
    })();
  }

  private async tick(boot: number): Promise<void> {
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid) || this.jvms.has(pid) || this.before.has(pid)) continue;
      let ip: string | undefined;
      try {
        // a JVM (not a shell whose script names the class, like zkroll's own JVM listing)
        if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'java') continue;
        if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('org.apache.zookeeper.server.quorum.QuorumPeerMain')) continue;
        ip = this.hosts.get(fs.readlinkSync(`/proc/${pid}/ns/mnt`));
      } catch {
        continue;
      }
      const startMs = startMsOf(pid, boot);
      if (ip !== undefined && startMs !== null) this.jvms.set(pid, { ip, startMs, servingMs: null });
    }
    await Promise.all(
      [...this.jvms.entries()]
        .filter(([, j]) => j.servingMs === null)
        .map(async ([pid, j]) => {
          if (!fs.existsSync(`/proc/${pid}`)) return;
          const s = await probeSrvr(j.ip, this.clientPort, 500);
          // the answer came from this JVM only if it is the one running on the host
          if (s !== null && fs.existsSync(`/proc/${pid}`)) j.servingMs = Date.now();
        }),
    );
  }

  /** Stop polling; every JVM that came up while polling, with its start-to-serving time (ms). */
  async stop(): Promise<{ ip: string; ms: number }[]> {
    this.stopped = true;
    await this.done;
    return [...this.jvms.values()].filter((j) => j.servingMs !== null).map((j) => ({ ip: j.ip, ms: j.servingMs! - j.startMs }));
  }
}
