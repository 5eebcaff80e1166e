// Start-to-serving per ZooKeeper release: each real release (the lab's tarballs, unpacked in its
// cache) is started standalone with its own bin/zkServer.sh, one at a time, and polled with
// `srvr` every 10 ms until it serves; then stopped with its own zkServer.sh stop. Two times per
// start: from the start command to serving, and from the JVM's own start (/proc) to serving.
// A standalone start has no election: it is the JVM and the data load, the part that differs
// between releases (3.4 and 3.5+ scripts differ too: 3.5+ `start` waits 1 s before returning).
// Invariants: runs on 127.0.50.1 only, in temporary directories it removes; leaves no process.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeSrvr } from '../src/zk/fourlw.js';
import { findTarball, unpackedRelease, type ReleaseSources } from '../src/lab/releases.js';
import { releaseCache } from '../src/lab/lab.js';
import { writeInstall } from '../src/lab/install.js';
import { bootMs, startMsOf } from './floor.js';

const ADDR = '127.0.50.1';
const PORT = 2181;

function jvmStartMs(dataDir: string): number | null {
  try {
    return startMsOf(fs.readFileSync(path.join(dataDir, 'zookeeper_server.pid'), 'utf8').trim(), bootMs());
  } catch {
    return null;
  }
}

/** One standalone start of the release at `home`: [command → serving, JVM start → serving] in ms. */
async function startOnce(home: string): Promise<[number, number]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-bench-start-'));
  const cfg = path.join(tmp, 'zoo.cfg');
  fs.writeFileSync(cfg, `tickTime=2000\ndataDir=${tmp}/data\nclientPort=${PORT}\nclientPortAddress=${ADDR}\nadmin.enableServer=false\n`);
  const env = { ...process.env, ZOO_LOG_DIR: tmp };
  try {
    const t0 = Date.now();
    // polled while the script runs: a 3.5+ `zkServer.sh start` returns only after its `sleep 1`
    const child = spawn('/bin/bash', [path.join(home, 'bin', 'zkServer.sh'), 'start', cfg], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const deadline = t0 + 60000;
    while ((await probeSrvr(ADDR, PORT, 500)) === null) {
      if (Date.now() > deadline) throw new Error(`bench: ${home} did not serve within 60 s: ${out}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const serving = Date.now();
    const jvm = jvmStartMs(path.join(tmp, 'data'));
    const code = await exited;
    if (code !== 0) throw new Error(`bench: ${home}: zkServer.sh start exited ${code}: ${out}`);
    return [serving - t0, jvm === null ? NaN : serving - jvm];
  } finally {
    const pidFile = path.join(tmp, 'data', 'zookeeper_server.pid');
    const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : null;
    spawnSync('/bin/bash', [path.join(home, 'bin', 'zkServer.sh'), 'stop', cfg], { cwd: tmp, env });
    for (let i = 0; pid !== null && i < 500; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 10));
      } catch {
        break;
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Start each version `reps` times; `record(name, ms)` gets every sample. */
export async function versionStarts(versions: string[], sources: ReleaseSources, reps: number, record: (name: string, ms: number) => void): Promise<void> {
  const homes = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-bench-releases-'));
  try {
    for (const v of versions) {
      const home = path.join(homes, v);
      // installed as the lab installs it (the same conf/java.env)
      writeInstall(home, unpackedRelease(findTarball(v, sources), v, releaseCache()));
      for (let i = 0; i < reps; i++) {
        const [cmd, jvm] = await startOnce(home);
        record(`start to serving, ZooKeeper ${v} standalone: start command → srvr`, cmd);
        if (Number.isFinite(jvm)) record(`start to serving, ZooKeeper ${v} standalone: JVM start → srvr`, jvm);
      }
    }
  } finally {
    fs.rmSync(homes, { recursive: true, force: true });
  }
}
