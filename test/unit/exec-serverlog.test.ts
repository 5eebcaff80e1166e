// A failed start shows the server's own log (src/exec/serverlog.ts): the tail command run for real
// on a local directory (newest files first, a name with spaces and quotes, no logs at all), and
// the failure it is added to (a step error keeps its own output first, a gate failure becomes a
// step error with the log, an interruption passes unchanged, an unreadable log hides nothing).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { NodeRef } from '../../src/compile/types.js';
import { Interrupted, StepError, type RunEnv } from '../../src/exec/env.js';
import { logTailArgv, TAIL_LINES, withServerLog } from '../../src/exec/serverlog.js';
import { GateFailed } from '../../src/zk/gates.js';

const node: NodeRef = { host: '127.0.20.1', myid: 1, home: '/opt/zk', config: '/opt/zk/conf/zoo.cfg', dataDir: '/d', dataLogDir: '/d' };

function envWith(exec: (argv: string[]) => Promise<{ stdout: string }>): RunEnv {
  return { hosts: async () => ({ exec }), stopRequested: () => false } as unknown as RunEnv;
}

const sh = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });

describe('the server log tail', () => {
  it('prints the two newest .out/.log files, last lines each, whatever their names', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll logs "x" '));
    const lines = (tag: string) => Array.from({ length: 40 }, (_, i) => `${tag} line ${i}`).join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'old.log'), lines('old'));
    fs.utimesSync(path.join(dir, 'old.log'), new Date(2020, 1, 1), new Date(2020, 1, 1));
    fs.writeFileSync(path.join(dir, "zookeeper-root-server-it's.out"), lines('out'));
    fs.writeFileSync(path.join(dir, 'zookeeper.log'), lines('log'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a log\n');
    const r = sh(logTailArgv(dir));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`==> ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/zookeeper-root-server-it's\\.out <==`));
    assert.match(r.stdout, /==> .*\/zookeeper\.log <==/);
    assert.doesNotMatch(r.stdout, /old line|not a log/);
    assert.equal((r.stdout.match(/^out line/gm) ?? []).length, TAIL_LINES);
    assert.match(r.stdout, /out line 39\n/);
    assert.doesNotMatch(r.stdout, /out line 24\n/);
  });

  it('prints nothing for a directory that is missing or holds no logs', () => {
    assert.equal(sh(logTailArgv('/nonexistent/zkroll')).stdout, '');
    assert.equal(sh(logTailArgv(fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-nologs-')))).stdout, '');
  });
});

describe('withServerLog', () => {
  const log = envWith(async () => ({ stdout: '==> /opt/zk/logs/zookeeper.out <==\nUnrecognized VM option\n' }));

  it('a failed command keeps its message and its own output, then the log', async () => {
    const e = await withServerLog(log, node, () => Promise.reject(new StepError('zkServer.sh start exited with 1', 'FAILED TO START'))).catch(
      (x: unknown) => x,
    );
    assert.ok(e instanceof StepError);
    assert.equal(e.message, 'zkServer.sh start exited with 1');
    assert.match(e.outputTail, /^FAILED TO START\nthe server's own log \(\/opt\/zk\/logs\):\n==> \/opt\/zk\/logs\/zookeeper\.out <==\nUnrecognized VM option$/);
  });

  it('a gate that did not hold becomes a step error with the log', async () => {
    const gate = new GateFailed({ kind: 'serving', node } as never, 'server 1 does not serve', 5000);
    const e = await withServerLog(log, node, () => Promise.reject(gate)).catch((x: unknown) => x);
    assert.ok(e instanceof StepError);
    assert.match(e.message, /gate did not hold within 5s: server 1 does not serve/);
    assert.match(e.outputTail, /Unrecognized VM option/);
  });

  it('an interruption, an unreadable log and a success pass unchanged', async () => {
    const i = new Interrupted('stopped by Ctrl-C');
    assert.equal(await withServerLog(log, node, () => Promise.reject(i)).catch((x: unknown) => x), i);
    const broken = envWith(() => Promise.reject(new Error('connection lost')));
    const s = new StepError('gate', 'own');
    assert.equal(await withServerLog(broken, node, () => Promise.reject(s)).catch((x: unknown) => x), s);
    assert.equal(await withServerLog(log, node, async () => 7), 7);
  });
});
