// retryTransient: idempotent client work is started over after a lost connection, never after
// any other error, and not past its deadline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTransient, retryTransient, ZkError } from '../../src/zk/client.js';

const lost = () => new ZkError('create /a: -4 connection loss', -4);
const timeout = () => new ZkError('create /a: -7 operation timeout', -7);
/** Work that always loses its connection, counting its calls. */
function alwaysLost() {
  const work = async (): Promise<never> => {
    work.calls++;
    throw lost();
  };
  work.calls = 0;
  return work;
}

describe('retryTransient', () => {
  it('tells transient failures from request errors', () => {
    assert.equal(isTransient(lost()), true);
    assert.equal(isTransient(timeout()), true);
    assert.equal(isTransient(new ZkError('could not connect to a:1 within 10 ms', null)), true);
    assert.equal(isTransient(new ZkError('create /a: -110 node exists', -110)), false);
    assert.equal(isTransient(new Error('-4 connection loss')), false);
  });
  it('starts the work over after connection loss and operation timeout, then returns its result', async () => {
    const errors = [lost(), timeout()];
    const retried: number[] = [];
    const r = await retryTransient(
      async () => {
        const e = errors.shift();
        if (e) throw e;
        return 'done';
      },
      { deadlineMs: Date.now() + 5000, pollMs: 1, onRetry: (_e, n) => retried.push(n) },
    );
    assert.equal(r, 'done');
    assert.deepEqual(retried, [1, 2]);
  });
  it('throws any other error at once', async () => {
    let calls = 0;
    await assert.rejects(
      retryTransient(
        async () => {
          calls++;
          throw new ZkError('set /a: -101 no node', -101);
        },
        { deadlineMs: Date.now() + 5000, pollMs: 1, onRetry: () => undefined },
      ),
      /no node/,
    );
    assert.equal(calls, 1);
  });
  it('gives up with the last error once the deadline has passed', async () => {
    const work = alwaysLost();
    await assert.rejects(retryTransient(work, { deadlineMs: Date.now() + 50, pollMs: 10, onRetry: () => undefined }), /connection loss/);
    assert.ok(work.calls >= 2 && work.calls <= 7, `calls ${work.calls}`);
  });
  it('stops when asked (Ctrl-C)', async () => {
    const work = alwaysLost();
    await assert.rejects(
      retryTransient(work, { deadlineMs: Date.now() + 5000, pollMs: 1, onRetry: () => undefined, stopped: () => work.calls >= 3 }),
      /connection loss/,
    );
    assert.equal(work.calls, 3);
  });
});
