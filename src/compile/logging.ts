// Logging configuration for the target install: logs under <home>/logs, rolled daily (the
// incident's 20 GB never-rotated log, RUNBOOK.md §1). 3.4–3.7 use log4j 1.2, 3.8+ logback.
// For log4j the file alone is not enough: the tarballs' zkEnv.sh set ZOO_LOG4J_PROP=INFO,CONSOLE
// (and 3.4 ZOO_LOG_DIR=.), which zkServer.sh passes as -Dzookeeper.root.logger and wins over
// the file, sending everything to the never-rotated zookeeper.out; so a managed block in
// conf/zookeeper-env.sh (sourced by zkEnv.sh) selects ROLLINGFILE and <home>/logs.
// Pure. Invariants: chosen by the target version only; the operator's own env lines are kept;
// a path in the env block is data to the shell that sources it, never code.
import { shq } from '../remote/quote.js';
import type { FileWrite } from './types.js';

export const RETENTION_DAYS = 30;

export function usesLogback(version: string): boolean {
  const [maj = 0, min = 0] = version.split('.').map((x) => Number.parseInt(x, 10));
  return maj > 3 || (maj === 3 && min >= 8);
}

/** ZooKeeper's log line, as every tarball's log4j.properties / logback.xml writes it. */
export const LOG_PATTERN = '%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n';

/** The tarballs' log4j CONSOLE appender (what zkServer.sh sends to zookeeper.out). */
export const LOG4J_CONSOLE = `log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.Threshold=INFO
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=${LOG_PATTERN}`;

const LOG4J = `# written by zkroll: logs under zookeeper.log.dir (<home>/logs), rolled daily
zookeeper.root.logger=INFO, ROLLINGFILE
zookeeper.log.dir=.
zookeeper.log.file=zookeeper.log
log4j.rootLogger=\${zookeeper.root.logger}
${LOG4J_CONSOLE}
log4j.appender.ROLLINGFILE=org.apache.log4j.DailyRollingFileAppender
log4j.appender.ROLLINGFILE.Threshold=INFO
log4j.appender.ROLLINGFILE.File=\${zookeeper.log.dir}/\${zookeeper.log.file}
log4j.appender.ROLLINGFILE.DatePattern='.'yyyy-MM-dd
log4j.appender.ROLLINGFILE.layout=org.apache.log4j.PatternLayout
log4j.appender.ROLLINGFILE.layout.ConversionPattern=${LOG_PATTERN}
`;

const LOGBACK = `<!-- written by zkroll: logs under zookeeper.log.dir (<home>/logs), rolled daily, ${RETENTION_DAYS} days kept -->
<configuration>
  <!-- zkServer.sh passes -Dzookeeper.log.dir/-Dzookeeper.log.file; the defaults after :- apply
       only without them (a <property> here would take precedence over the JVM's) -->
  <appender name="ROLLINGFILE" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <File>\${zookeeper.log.dir:-.}/\${zookeeper.log.file:-zookeeper.log}</File>
    <rollingPolicy class="ch.qos.logback.core.rolling.TimeBasedRollingPolicy">
      <fileNamePattern>\${zookeeper.log.dir:-.}/\${zookeeper.log.file:-zookeeper.log}.%d{yyyy-MM-dd}</fileNamePattern>
      <maxHistory>${RETENTION_DAYS}</maxHistory>
    </rollingPolicy>
    <encoder>
      <pattern>${LOG_PATTERN}</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="ROLLINGFILE" />
  </root>
</configuration>
`;

/**
 * The zookeeper-env.sh block of a log4j install: ROLLINGFILE unless already chosen, logs under
 * <home>/logs unless set. zkEnv.sh sources the file: the path is quoted for sh (a home with `$`,
 * a backquote, a quote or `}` would otherwise be code it runs).
 */
export function log4jEnvBlock(home: string): string {
  const logs = `${home}/logs`;
  return [
    '# daily-rolled logs (conf/log4j.properties): zkEnv.sh would otherwise default to INFO,CONSOLE,',
    '# which zkServer.sh sends to the never-rotated zookeeper.out',
    shq(logs) === logs ? `ZOO_LOG_DIR="\${ZOO_LOG_DIR:-${logs}}"` : `ZOO_LOG_DIR=\${ZOO_LOG_DIR:-${shq(logs)}}`,
    'case "$ZOO_LOG4J_PROP" in *ROLLINGFILE*) ;; *) ZOO_LOG4J_PROP="INFO,ROLLINGFILE" ;; esac',
  ].join('\n');
}

export function logConfigFiles(version: string, home: string): FileWrite[] {
  if (usesLogback(version)) return [{ kind: 'literal', path: `${home}/conf/logback.xml`, content: LOGBACK, mode: 0o644 }];
  return [
    { kind: 'literal', path: `${home}/conf/log4j.properties`, content: LOG4J, mode: 0o644 },
    { kind: 'block', path: `${home}/conf/zookeeper-env.sh`, block: log4jEnvBlock(home), mode: 0o644 },
  ];
}
