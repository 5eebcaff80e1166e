// Assembles ZooKeeper installs in the upstream tarball layout (bin/zkServer.sh, bin/zkEnv.sh,
// conf/, lib/, logs/) from Debian's zookeeper package, and renders the lab servers' zoo.cfg.
// The same Debian jars serve every version label; the label is written to VERSION.
// Invariants: only writes below the host's lab directory; re-running overwrites the same files
// (safe twice); never touches an existing conf/zoo.cfg of an install (zkroll owns it then).
import fs from 'node:fs';
import path from 'node:path';
import { LOG4J_CONSOLE, LOG_PATTERN, usesLogback } from '../compile/logging.js';
import { LabError, type LabServer, type LabSpec } from './spec.js';

export const DEBIAN_JAVA = '/usr/share/java';
export const DEBIAN_ZK_BIN = '/usr/share/zookeeper/bin';
/**
 * Jars an install links in lib/: the server jar (its manifest names the rest, Jetty included), a
 * log binding, and the servlet API Jetty needs for the AdminServer (Debian's libservlet-api-java,
 * a dependency of the zookeeper package).
 */
const LIB_JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar', 'servlet-api.jar'];
/** The slf4j binding: log4j 1.2 for installs labelled 3.4–3.7 (and the current ones), logback for 3.8+. */
const LOG4J_JARS = ['log4j-1.2.jar', 'slf4j-log4j12.jar'];
const LOGBACK_JARS = ['logback-classic.jar', 'logback-core.jar'];

/** Does this install get logback (a target labelled 3.8+)? The current installs keep log4j. */
function logbackInstall(version: string): boolean {
  return version !== 'current' && usesLogback(version);
}

export function checkPrerequisites(spec: LabSpec): void {
  const missing: string[] = [];
  for (const j of [...LIB_JARS, ...LOG4J_JARS]) if (!fs.existsSync(path.join(DEBIAN_JAVA, j))) missing.push(path.join(DEBIAN_JAVA, j));
  if (!fs.existsSync(path.join(DEBIAN_ZK_BIN, 'zkServer.sh'))) missing.push(path.join(DEBIAN_ZK_BIN, 'zkServer.sh'));
  if (missing.length > 0) {
    throw new LabError(`lab: Debian's zookeeper package is missing (${missing.join(', ')}): run apt-get install -y zookeeper`);
  }
  const logback = spec.hosts.flatMap((h) => h.installs).find((i) => logbackInstall(i.version));
  const noLogback = LOGBACK_JARS.filter((j) => !fs.existsSync(path.join(DEBIAN_JAVA, j)));
  if (logback && noLogback.length > 0) {
    throw new LabError(`lab: the ${logback.version} install (${logback.home}) logs through logback, as 3.8+ do, and ${noLogback.map((j) => path.join(DEBIAN_JAVA, j)).join(', ')} is missing: run apt-get install -y liblogback-java`);
  }
  if (!fs.existsSync('/usr/sbin/sshd')) {
    throw new LabError('lab: /usr/sbin/sshd not found: run apt-get install -y openssh-server');
  }
  for (const tool of ['/usr/bin/unshare', '/usr/bin/nsenter']) {
    if (!fs.existsSync(tool)) throw new LabError(`lab: ${tool} not found: run apt-get install -y util-linux`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError('lab: must run as root (each lab host is a mount namespace with its own sshd)');
  }
}

// Upstream-style zkEnv.sh: everything relative to the install, classpath from lib/*.jar,
// conf/zookeeper-env.sh then conf/java.env sourced, and the 3.5–3.7 tarballs' defaults:
// ZOO_LOG_DIR=<home>/logs, ZOO_LOG4J_PROP=INFO,CONSOLE (passed as -Dzookeeper.root.logger, so
// log4j installs log to zookeeper.out until zookeeper-env.sh says otherwise).
const ZKENV = `#!/usr/bin/env bash
# zkEnv.sh of a zkroll lab install (upstream tarball layout, Debian jars).
ZOOBINDIR="\${ZOOBINDIR:-$(cd "$(dirname "\${BASH_SOURCE-$0}")" && pwd)}"
ZOOKEEPER_PREFIX="$(cd "$ZOOBINDIR/.." && pwd)"
ZOOCFGDIR="\${ZOOCFGDIR:-$ZOOKEEPER_PREFIX/conf}"
if [ -f "$ZOOCFGDIR/zookeeper-env.sh" ]; then . "$ZOOCFGDIR/zookeeper-env.sh"; fi
ZOOCFG="\${ZOOCFG:-zoo.cfg}"
ZOOCFG="$ZOOCFGDIR/$ZOOCFG"
if [ -f "$ZOOCFGDIR/java.env" ]; then . "$ZOOCFGDIR/java.env"; fi
ZOO_LOG_DIR="\${ZOO_LOG_DIR:-$ZOOKEEPER_PREFIX/logs}"
ZOO_LOG4J_PROP="\${ZOO_LOG4J_PROP:-INFO,CONSOLE}"
JAVA="\${JAVA:-java}"
CLASSPATH="$ZOOCFGDIR"
for jar in "$ZOOKEEPER_PREFIX"/lib/*.jar; do CLASSPATH="$CLASSPATH:$jar"; done
SERVER_JVMFLAGS="-Dzookeeper.root.logger=$ZOO_LOG4J_PROP -Dlog4j.configuration=file:$ZOOCFGDIR/log4j.properties $SERVER_JVMFLAGS"
export ZOOBINDIR ZOOKEEPER_PREFIX ZOOCFGDIR ZOOCFG ZOO_LOG_DIR CLASSPATH
`;

// Small heaps: several servers share two cores and the lab should start fast.
const JAVA_ENV = `# JVM settings of a lab server (sourced by bin/zkEnv.sh)
JVMFLAGS="-Xms32m -Xmx192m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 $JVMFLAGS"
`;

/** log4j 1.2 configuration as the 3.4 tarball ships it: one size-rolled file, no daily roll. */
export const LOG4J_SIZE_ROLLED = `# log4j.properties (as shipped by the 3.4 tarball: size-rolled, never rotated daily)
zookeeper.root.logger=INFO, CONSOLE
log4j.rootLogger=\${zookeeper.root.logger}
${LOG4J_CONSOLE}
log4j.appender.ROLLINGFILE=org.apache.log4j.RollingFileAppender
log4j.appender.ROLLINGFILE.Threshold=INFO
log4j.appender.ROLLINGFILE.File=\${zookeeper.log.dir}/zookeeper.log
log4j.appender.ROLLINGFILE.MaxFileSize=10MB
log4j.appender.ROLLINGFILE.layout=org.apache.log4j.PatternLayout
log4j.appender.ROLLINGFILE.layout.ConversionPattern=${LOG_PATTERN}
`;

/** logback.xml as the 3.8 tarball ships it: one size-rolled file, no daily roll. */
export const LOGBACK_SIZE_ROLLED = `<!-- logback.xml (as shipped by the 3.8 tarball: size-rolled, never rotated daily) -->
<configuration>
  <appender name="ROLLINGFILE" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <File>\${zookeeper.log.dir:-.}/\${zookeeper.log.file:-zookeeper.log}</File>
    <encoder>
      <pattern>${LOG_PATTERN}</pattern>
    </encoder>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <maxIndex>20</maxIndex>
      <FileNamePattern>\${zookeeper.log.dir:-.}/\${zookeeper.log.file:-zookeeper.log}.%i</FileNamePattern>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <MaxFileSize>10MB</MaxFileSize>
    </triggeringPolicy>
  </appender>
  <root level="INFO">
    <appender-ref ref="ROLLINGFILE" />
  </root>
</configuration>
`;

/** Write one install tree at `dir` (the host's backing path of the install home). */
export function writeInstall(dir: string, version: string, extraJvmFlags = ''): void {
  for (const sub of ['bin', 'conf', 'lib', 'logs']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (const script of ['zkServer.sh', 'zkCli.sh']) {
    const src = path.join(DEBIAN_ZK_BIN, script);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, 'bin', script));
    fs.chmodSync(path.join(dir, 'bin', script), 0o755);
  }
  fs.writeFileSync(path.join(dir, 'bin', 'zkEnv.sh'), ZKENV, { mode: 0o755 });
  const logback = logbackInstall(version);
  for (const jar of [...LOG4J_JARS, ...LOGBACK_JARS]) fs.rmSync(path.join(dir, 'lib', jar), { force: true });
  for (const jar of [...LIB_JARS, ...(logback ? LOGBACK_JARS : LOG4J_JARS)]) {
    const link = path.join(dir, 'lib', jar);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(path.join(DEBIAN_JAVA, jar), link);
  }
  fs.writeFileSync(path.join(dir, 'conf', 'java.env'), extraJvmFlags ? `${JAVA_ENV}JVMFLAGS="$JVMFLAGS ${extraJvmFlags}"\n` : JAVA_ENV);
  // as the tarballs ship them: size-rolled, never daily (zkroll's prepare step replaces it)
  if (logback) fs.writeFileSync(path.join(dir, 'conf', 'logback.xml'), LOGBACK_SIZE_ROLLED);
  else fs.writeFileSync(path.join(dir, 'conf', 'log4j.properties'), LOG4J_SIZE_ROLLED);
  fs.writeFileSync(path.join(dir, 'VERSION'), `${version} (zkroll lab: Debian's ZooKeeper jars from ${DEBIAN_JAVA})\n`);
}

/**
 * zoo.cfg of a current (pre-zkroll) lab server. The lab-only keys bind each server's client
 * and AdminServer ports to its own loopback address, since all lab hosts share one kernel;
 * `4lw.commands.whitelist=*` (the default) gives 3.5+ servers the 3.4 behaviour of answering
 * every word; `--whitelist srvr` rehearses the 3.5+ default, where zkroll reads the AdminServer.
 */
export function renderLabZooCfg(spec: LabSpec, server: LabServer): string {
  const lines = [
    `# zoo.cfg of server ${server.myid} in the zkroll lab replica of ${spec.cluster}`,
    'tickTime=2000',
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${server.dataDir}`,
    `dataLogDir=${server.dataLogDir}`,
    `clientPort=${spec.ports.client}`,
    'maxClientCnxns=0',
    `4lw.commands.whitelist=${spec.whitelist}`,
    '# lab only: every lab host shares this machine\'s kernel, so bind to the host\'s own address',
    `clientPortAddress=${server.ip}`,
    `admin.serverAddress=${server.ip}`,
    `admin.serverPort=${spec.ports.admin}`,
    ...spec.servers.map((s) => `server.${s.myid}=${s.ip}:${spec.ports.quorum}:${spec.ports.election}`),
  ];
  return lines.join('\n') + '\n';
}
