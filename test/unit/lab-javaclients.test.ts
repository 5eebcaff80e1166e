// The lab's Java clients (src/lab/javaclients.ts, java/ZkrollLabClient.java) without a lab:
// their znodes lie outside /lab, the classpath is the release's own (3.4 and 3.5+ layouts), the
// java command line; then for real: the client compiled (Java 8 class files) against the 3.4.6
// and 3.8.0 releases of ../shared/zookeeper/dist, run on each release's classpath with no server
// to answer, writes its start line (with the library's own version) and, on SIGTERM, its stop line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  buildJavaClient,
  JAVA_CLIENT_JVM_OPTIONS,
  JAVA_CLIENT_RELEASES,
  javaClientArgv,
  javaClientLog,
  javaClientPath,
  releaseClasspath,
} from '../../src/lab/javaclients.js';
import { findTarball, unpackedRelease } from '../../src/lab/releases.js';
import { parseClientLog } from '../../src/report/model.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Where the lab finds releases: $ZKROLL_RELEASES, then the plans' lab.releases (../../shared/zookeeper/dist from plans/). */
const releaseDirs = [
  ...(process.env['ZKROLL_RELEASES'] ? [path.resolve(process.env['ZKROLL_RELEASES'])] : []),
  path.resolve(fs.realpathSync(path.join(root, 'plans')), '../../shared/zookeeper/dist'),
];

describe('lab Java clients: paths, classpath, command line', () => {
  let tmp = '';
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-javaclients-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('runs 3.4.6 (the newest 3.4 whose client connects on Java 14+) and 3.8.0; each writes its own znode outside /lab', () => {
    assert.deepEqual([...JAVA_CLIENT_RELEASES], ['3.4.6', '3.8.0']);
    const paths = JAVA_CLIENT_RELEASES.map(javaClientPath);
    assert.deepEqual(paths, ['/lab-clients/java-3.4.6', '/lab-clients/java-3.8.0']);
    for (const p of paths) assert.ok(p !== '/lab' && !p.startsWith('/lab/'), p);
    assert.equal(javaClientLog('/tmp/zkroll-lab/x', '3.8.0'), '/tmp/zkroll-lab/x/client-java-3.8.0.jsonl');
  });

  it("puts the release's own zookeeper jar first, then lib/*.jar (sorted), then conf/: 3.4 and 3.5+ layouts", () => {
    const r34 = path.join(tmp, '3.4.6');
    fs.mkdirSync(path.join(r34, 'lib'), { recursive: true });
    for (const f of ['zookeeper-3.4.6.jar', 'lib/slf4j-api-1.7.32.jar', 'lib/log4j-1.2-1.2.17.jar', 'lib/README.txt']) fs.writeFileSync(path.join(r34, f), '');
    assert.deepEqual(
      releaseClasspath(r34, '3.4.6').map((p) => path.relative(r34, p)),
      ['zookeeper-3.4.6.jar', 'lib/log4j-1.2-1.2.17.jar', 'lib/slf4j-api-1.7.32.jar', 'conf'],
    );
    const r38 = path.join(tmp, '3.8.0');
    fs.mkdirSync(path.join(r38, 'lib'), { recursive: true });
    for (const f of ['lib/zookeeper-3.8.0.jar', 'lib/zookeeper-jute-3.8.0.jar', 'lib/logback-core-1.2.11.jar']) fs.writeFileSync(path.join(r38, f), '');
    assert.deepEqual(
      releaseClasspath(r38, '3.8.0').map((p) => path.relative(r38, p)),
      ['lib/zookeeper-3.8.0.jar', 'lib/logback-core-1.2.11.jar', 'lib/zookeeper-jute-3.8.0.jar', 'conf'],
    );
    assert.throws(() => releaseClasspath(r38, '3.9.3'), /holds no zookeeper-3\.9\.3\.jar/);
  });

  it('runs java with the classes, then the classpath, and every argument the client needs', () => {
    const argv = javaClientArgv({
      classes: '/c',
      classpath: ['/r/zookeeper-3.4.6.jar', '/r/conf'],
      connect: 'a:2181,b:2181',
      out: '/l/o.jsonl',
      release: '3.4.6',
    });
    assert.deepEqual(argv, [
      ...JAVA_CLIENT_JVM_OPTIONS,
      '-cp',
      '/c:/r/zookeeper-3.4.6.jar:/r/conf',
      'ZkrollLabClient',
      '--connect',
      'a:2181,b:2181',
      '--out',
      '/l/o.jsonl',
      '--path',
      '/lab-clients/java-3.4.6',
      '--release',
      '3.4.6',
    ]);
  });
});

describe('lab Java clients, compiled and run against the real releases', () => {
  let tmp = '';
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-javaclients-real-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const release of JAVA_CLIENT_RELEASES) {
    it(
      `${release}: compiles to Java 8 class files against its jar (cached), starts, logs its start and, on SIGTERM, its stop`,
      { timeout: 120_000 },
      async () => {
        const cache = path.join(tmp, 'cache');
        const releaseDir = unpackedRelease(findTarball(release, { dirs: releaseDirs, installs: {} }), release, cache);
        const classes = buildJavaClient(releaseDir, release, cache);
        const cls = fs.readFileSync(path.join(classes, 'ZkrollLabClient.class'));
        assert.equal(cls.readUInt32BE(0), 0xcafebabe);
        assert.equal(cls.readUInt16BE(6), 52, 'class file major version 52: Java 8');
        assert.equal(buildJavaClient(releaseDir, release, cache), classes, 'built once, then cached');
        const out = path.join(tmp, `${release}.jsonl`);
        // nothing listens on 127.0.99.3:2181: the client keeps trying, as against a down ensemble
        const argv = javaClientArgv({ classes, classpath: releaseClasspath(releaseDir, release), connect: '127.0.99.3:2181', out, release });
        const child = spawn('java', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        try {
          const deadline = Date.now() + 60_000;
          while (!(fs.existsSync(out) && fs.readFileSync(out, 'utf8').includes('"start"')) && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 100));
        } finally {
          child.kill('SIGTERM');
        }
        await exited;
        const events = parseClientLog(fs.readFileSync(out, 'utf8'));
        assert.deepEqual(
          events.map((e) => e.event),
          ['start', 'stop'],
          stderr,
        );
        const start = events[0]!;
        assert.equal(start.release, release);
        assert.equal(start.path, javaClientPath(release));
        assert.equal(start.hz, 15);
        assert.ok(start.version?.startsWith(`${release}-`), `the library's own version: ${start.version}`);
        assert.deepEqual([events[1]!.acked, events[1]!.reads], [0, 0]);
      },
    );
  }
});
