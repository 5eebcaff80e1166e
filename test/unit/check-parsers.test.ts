// Parsers behind `zkroll check`, on real outputs captured from the lab (ss -ltn of several
// lab hosts sharing one kernel, a 3.8 thread dump) and the log configurations zkroll writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptQueue, listenerThreads, rollsDaily } from '../../src/check/checks.js';
import { logConfigFiles } from '../../src/compile/logging.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// the log configurations the real 3.4.6 and 3.8.0 tarballs ship (copied from ../shared/zookeeper/dist)
const shipped = (f: string) => fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/conf', f), 'utf8');

const SS = `State  Recv-Q Send-Q          Local Address:Port    Peer Address:PortProcess
LISTEN 1      50      [::ffff:127.0.10.9]:3888             *:*
LISTEN 0      50      [::ffff:127.0.10.7]:3888             *:*
LISTEN 0      50     [::ffff:127.0.10.10]:3888             *:*
LISTEN 0      128              127.0.10.9:2222             0.0.0.0:*
LISTEN 0      50                        *:2181             *:*
`;

describe('acceptQueue', () => {
  it('reads the queue of the socket bound to the host (hosts that share a kernel)', () => {
    assert.deepEqual(acceptQueue(SS, 3888, '127.0.10.9'), { pending: 1, backlog: 50 });
    assert.deepEqual(acceptQueue(SS, 3888, '127.0.10.7'), { pending: 0, backlog: 50 });
    assert.equal(acceptQueue(SS, 3888, '127.0.10.8'), null, 'nothing bound for that host');
  });
  it('falls back to a wildcard bind', () => {
    assert.deepEqual(acceptQueue(SS, 2181, 'zk1.example.com'), { pending: 0, backlog: 50 });
  });
});

describe('listenerThreads', () => {
  const dump = `"main" #1 prio=5 os_prio=0
"QuorumPeerListener" #18 prio=5 os_prio=0 cpu=1.92ms
"ListenerHandler-/127.0.10.7:3888" #19 prio=5 os_prio=0
"WorkerSender[myid=7]" #21 daemon prio=5
"RecvWorker:9" #34 prio=5
`;
  it('finds the 3.6+ listener threads, and only them', () => {
    assert.deepEqual(listenerThreads(dump), ['QuorumPeerListener', 'ListenerHandler-/127.0.10.7:3888']);
    assert.deepEqual(listenerThreads('"main" #1\n"SendWorker:9" #2\n'), []);
  });
  it('finds the 3.4.6 listener by what it runs (its thread is named after its address), on real dumps', () => {
    assert.deepEqual(
      listenerThreads(fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/jcmd/3.4.6-looking.txt'), 'utf8')),
      ['/127.0.10.8:3888'],
    );
    // after the malformed header (ZOOKEEPER-2186) the thread is gone
    assert.deepEqual(
      listenerThreads(
        fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/jcmd/3.4.6-dead-listener.txt'), 'utf8'),
      ),
      [],
    );
  });
});

describe('rollsDaily', () => {
  it('knows the configurations zkroll writes roll daily and the defaults the tarballs ship do not', () => {
    const content = (version: string) => {
      const f = logConfigFiles(version, '/opt/zk')[0]!;
      assert.equal(f.kind, 'literal');
      return f.kind === 'literal' ? f.content : '';
    };
    assert.equal(rollsDaily(content('3.4.13')), true);
    assert.equal(rollsDaily(content('3.8.4')), true);
    assert.equal(rollsDaily(shipped('3.4.6-log4j.properties')), false, "the 3.4.6 tarball's size-rolled log4j.properties");
    assert.equal(rollsDaily(shipped('3.8.0-logback.xml')), false, "the 3.8.0 tarball's logback.xml (console only)");
  });
});
