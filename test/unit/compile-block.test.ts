// The managed block zkroll keeps in an operator's file (conf/zookeeper-env.sh): the operator's
// lines stay, zkroll's block goes last (it overrides earlier assignments), and writing it again
// changes nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BLOCK_BEGIN, BLOCK_END, resolveFile, withBlock } from '../../src/compile/files.js';
import { log4jEnvBlock, logConfigFiles } from '../../src/compile/logging.js';

describe('withBlock', () => {
  const block = log4jEnvBlock('/opt/zookeeper-3.4.13');
  it("appends the block to the operator's file and keeps every line of it", () => {
    const mine = 'export JVMFLAGS="-Xmx4g"\nZOO_LOG_DIR=/var/log/zookeeper\n';
    const out = withBlock(mine, block);
    assert.ok(out.startsWith(mine));
    assert.ok(out.endsWith(`${BLOCK_BEGIN}\n${block}\n${BLOCK_END}\n`));
  });
  it('is the same when written twice, and replaces an older block in place of appending', () => {
    const once = withBlock('A=1\n', block);
    assert.equal(withBlock(once, block), once);
    const older = withBlock('A=1\n', 'ZOO_LOG4J_PROP=INFO,CONSOLE');
    assert.equal(withBlock(older, block), once);
    assert.equal(withBlock(`${older}B=2\n`, block), withBlock('A=1\nB=2\n', block), 'lines after an old block stay');
  });
  it('makes a new file of the block alone', () => {
    assert.equal(withBlock('', block), `${BLOCK_BEGIN}\n${block}\n${BLOCK_END}\n`);
  });
  it('log4j targets get log4j.properties and the env block; 3.8+ a logback.xml alone', () => {
    assert.deepEqual(
      logConfigFiles('3.4.13', '/opt/zk').map((f) => `${f.kind} ${f.path}`),
      ['literal /opt/zk/conf/log4j.properties', 'block /opt/zk/conf/zookeeper-env.sh'],
    );
    assert.deepEqual(
      logConfigFiles('3.8.4', '/opt/zk').map((f) => `${f.kind} ${f.path}`),
      ['literal /opt/zk/conf/logback.xml'],
    );
    const [, env] = logConfigFiles('3.4.13', '/opt/zk');
    const [r] = resolveFile(env!, 'h', () => 'export JVMFLAGS="-Xmx1g"\n');
    assert.match(r!.content, /^export JVMFLAGS="-Xmx1g"\n# >>> zkroll/);
    assert.match(r!.content, /ZOO_LOG_DIR="\$\{ZOO_LOG_DIR:-\/opt\/zk\/logs\}"/);
  });
});

describe('the env block under sh', () => {
  it('selects ROLLINGFILE unless the operator chose it, and <home>/logs unless set', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = (pre: string) =>
      spawnSync('sh', ['-c', `${pre}\n${log4jEnvBlock('/opt/zk')}\necho "$ZOO_LOG_DIR|$ZOO_LOG4J_PROP"`], { encoding: 'utf8' }).stdout.trim();
    assert.equal(run(''), '/opt/zk/logs|INFO,ROLLINGFILE');
    assert.equal(run('ZOO_LOG4J_PROP=INFO,CONSOLE'), '/opt/zk/logs|INFO,ROLLINGFILE');
    assert.equal(run('ZOO_LOG4J_PROP=WARN,ROLLINGFILE,SYSLOG; ZOO_LOG_DIR=/var/log/zk'), '/var/log/zk|WARN,ROLLINGFILE,SYSLOG');
  });
});
