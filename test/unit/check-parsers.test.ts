// Parsers behind `zkroll check`, on real outputs captured from the lab (ss -ltn of several
// lab hosts sharing one kernel, a 3.8 thread dump) and the log configurations zkroll writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptQueue, listenerThreads, rollsDaily } from '../../src/check/checks.js';
import { logConfigFiles } from '../../src/compile/logging.js';
import { LOG4J_SIZE_ROLLED, LOGBACK_SIZE_ROLLED } from '../../src/lab/install.js';

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
    assert.equal(rollsDaily(LOG4J_SIZE_ROLLED), false);
    assert.equal(rollsDaily(LOGBACK_SIZE_ROLLED), false, 'the 3.8 tarball\'s size-rolled logback.xml');
  });
});
