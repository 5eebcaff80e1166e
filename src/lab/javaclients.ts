// The lab's Java clients: beside the Codis-like proxies (the C client) and the lab writer (node),
// one client of each of two real releases' own Java client library (java/ZkrollLabClient.java)
// writes and reads all through a run, so a run's report shows what clients of several versions
// saw. `lab up` compiles the client against each release's jar (javac --release 8, cached per
// source and release in the release cache) and runs it with that release's own classpath: its
// zookeeper jar, lib/*.jar and conf/ (the release's logging config).
// Which releases (JAVA_CLIENT_RELEASES): 3.8.0, and 3.4.6, the newest 3.4 release in
// ../shared/zookeeper/dist whose Java client connects on Java 14 and later (this machine runs
// Java 17). 3.4.13 and 3.4.14 cannot: ZOOKEEPER-2184 (release-3.4.13, commit 2e26c8836) made
// StaticHostProvider re-resolve each address on every next(), taking the host name of an
// unresolved InetSocketAddress from its toString() up to the last ':'; since JDK 14
// (JDK-8225499) that string is "host/<unresolved>:port", so the client looks up
// "127.0.10.7/<unresolved>", fails, and connects to the unresolved address:
// java.nio.channels.UnresolvedAddressException, for ever (checked here against a standalone
// server; the fix, apache/zookeeper pull request #1509, was never released on the 3.4 line).
// 3.4.6's StaticHostProvider resolves the addresses once, in its constructor, with
// getHostName(), and connects.
// Invariants: a release without a tarball, or a JDK without javac, skips that client with a
// warning and never fails `lab up`; each client writes only its own znode, outside /lab
// (JAVA_CLIENT_ROOT); the compiled classes are written in a temp dir and renamed into place (the
// cache is only ever added to); each started client is handed to the caller (who records it in
// the state file) before the next one starts.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseClientLog } from '../report/model.js';
import { pollUntil, spawnDetachedCommand } from './procs.js';
import { findTarball, serverJar, unpackedRelease } from './releases.js';
import { connectString, LabError, type LabSpec } from './spec.js';

/** The releases whose Java client the lab runs (see the header for why 3.4.6 and not 3.4.13). */
export const JAVA_CLIENT_RELEASES = ['3.4.6', '3.8.0'] as const;

/** The parent of the Java clients' znodes (outside /lab: the lab tests count the nodes under /lab). */
export const JAVA_CLIENT_ROOT = '/lab-clients';

/** The source, java/ZkrollLabClient.java at the repository's top (three levels above dist/src/lab). */
export const JAVA_CLIENT_SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../java/ZkrollLabClient.java');

/** JVM options of a client: a small heap and the cheapest JIT and GC (the lab shares 2 cores). */
export const JAVA_CLIENT_JVM_OPTIONS = ['-Xmx48m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];

/** A started Java client, as the state file records it. */
export interface JavaClientProc {
  release: string;
  /** How the report names its lane. */
  name: string;
  pid: number;
  /** Its outcome log (JSON lines, the lab writer's format). */
  log: string;
}

/** The znode a release's client writes and reads. */
export function javaClientPath(release: string): string {
  return `${JAVA_CLIENT_ROOT}/java-${release}`;
}

export function javaClientName(release: string): string {
  return `Java client ${release}`;
}

/** How the Java clients' files in the lab directory start (their command lines name their logs). */
export const JAVA_CLIENT_FILE_PREFIX = 'client-java-';

/** A client's outcome log in the lab directory `dir`. */
export function javaClientLog(dir: string, release: string): string {
  return path.join(dir, `${JAVA_CLIENT_FILE_PREFIX}${release}.jsonl`);
}

/**
 * A release's own client classpath: its zookeeper jar (3.4: at the top, 3.5+: in lib/), every
 * other jar of lib/ (sorted) and its conf/ (log4j.properties, logback.xml). Throws LabError when
 * the release has no zookeeper-<version>.jar.
 */
export function releaseClasspath(releaseDir: string, version: string): string[] {
  const jar = serverJar(releaseDir, version);
  if (jar === null) throw new LabError(`lab: ${releaseDir} holds no zookeeper-${version}.jar`);
  const lib = path.join(releaseDir, 'lib');
  const libJars = fs.existsSync(lib)
    ? fs
        .readdirSync(lib)
        .filter((n) => n.endsWith('.jar'))
        .sort()
        .map((n) => path.join(lib, n))
    : [];
  return [jar, ...libJars.filter((j) => j !== jar), path.join(releaseDir, 'conf')];
}

/** The `java` arguments that run a release's client (classes compiled by buildJavaClient). */
export function javaClientArgv(o: { classes: string; classpath: string[]; connect: string; out: string; release: string }): string[] {
  return [
    ...JAVA_CLIENT_JVM_OPTIONS,
    '-cp',
    [o.classes, ...o.classpath].join(':'),
    'ZkrollLabClient',
    '--connect',
    o.connect,
    '--out',
    o.out,
    '--path',
    javaClientPath(o.release),
    '--release',
    o.release,
  ];
}

/**
 * The client compiled against the release at `releaseDir` (javac --release 8, against its jars
 * only: -implicit:none and an empty -sourcepath, since Debian's 3.4.13 jar carries .java files
 * that javac would otherwise compile too), cached under `cacheRoot` per source and release.
 * Returns the classes directory; throws LabError when javac is missing or fails.
 */
export function buildJavaClient(releaseDir: string, version: string, cacheRoot: string): string {
  const source = fs.readFileSync(JAVA_CLIENT_SOURCE);
  const key = crypto
    .createHash('sha256')
    .update(source)
    .update(`\0${path.basename(releaseDir)}`)
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(cacheRoot, `.java-client-${version}-${key}`);
  if (fs.existsSync(path.join(dir, 'ZkrollLabClient.class'))) return dir;
  fs.mkdirSync(cacheRoot, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(cacheRoot, '.java-client-build-'));
  try {
    const empty = path.join(tmp, 'no-sources');
    fs.mkdirSync(empty);
    const jars = releaseClasspath(releaseDir, version).filter((p) => p.endsWith('.jar'));
    execFileSync('javac', ['--release', '8', '-implicit:none', '-nowarn', '-sourcepath', empty, '-cp', jars.join(':'), '-d', tmp, JAVA_CLIENT_SOURCE], {
      stdio: 'pipe',
    });
    fs.rmdirSync(empty);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (fs.existsSync(path.join(dir, 'ZkrollLabClient.class'))) return dir; // another lab up built it meanwhile
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new LabError('lab: javac not found: the Java clients need a JDK (apt-get install -y default-jdk-headless)');
    throw new LabError(`lab: could not compile ${JAVA_CLIENT_SOURCE} against ZooKeeper ${version}: ${err.stderr?.toString().trim() ?? err.message}`);
  }
  return dir;
}

/**
 * Start the client of every JAVA_CLIENT_RELEASES release against every server of the config;
 * `started` is called with each as soon as its process exists. A release that cannot be had
 * (no tarball, no javac, a compile error) is skipped with a warning through `log`.
 */
export function startJavaClients(spec: LabSpec, dir: string, cacheRoot: string, log: (line: string) => void, started: (c: JavaClientProc) => void): void {
  for (const release of JAVA_CLIENT_RELEASES) {
    const out = javaClientLog(dir, release);
    try {
      const releaseDir = unpackedRelease(findTarball(release, spec.releases), release, cacheRoot);
      const classes = buildJavaClient(releaseDir, release, cacheRoot);
      const argv = javaClientArgv({ classes, classpath: releaseClasspath(releaseDir, release), connect: connectString(spec), out, release });
      // inside the try: a machine without `java` on PATH skips the client, it does not fail lab up
      const pid = spawnDetachedCommand('java', argv, path.join(dir, `${JAVA_CLIENT_FILE_PREFIX}${release}.log`), `the ${javaClientName(release)}`);
      started({ release, name: javaClientName(release), pid, log: out });
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
      log(`warning: no ${javaClientName(release)} in this lab: ${e.message}`);
    }
  }
}

/** True once `file` (a client's outcome log) holds an ok event: the client was answered. */
export function answered(file: string): boolean {
  try {
    return parseClientLog(fs.readFileSync(file, 'utf8')).some((e) => e.event === 'ok');
  } catch {
    return false;
  }
}

/** Wait up to `deadlineMs` for every client's first answer; the names of those still unanswered. */
export async function waitAnswered(clients: JavaClientProc[], deadlineMs: number): Promise<string[]> {
  const waiting = () => clients.filter((c) => !answered(c.log)).map((c) => c.name);
  try {
    await pollUntil('the Java clients to be answered', deadlineMs, 200, () => waiting().length === 0);
    return [];
  } catch {
    return waiting();
  }
}
