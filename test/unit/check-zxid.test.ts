// zxid headroom arithmetic, including zxids above 2^53 where JS numbers lose precision.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headroom, humanDuration } from '../../src/check/zxid.js';

describe('headroom', () => {
  it('splits epoch and counter exactly above 2^53', () => {
    const h = headroom(0x7fffffff_fffffff0n);
    assert.equal(h.epoch, 0x7fffffffn);
    assert.equal(h.counter, 0xfffffff0n);
    assert.equal(h.left, 16n);
  });
  it('measures the write rate between two reads of one epoch', () => {
    const h = headroom(0x5_0000_2710n, { zxid: 0x5_0000_0000n, atMs: 1000 }, 11000);
    assert.equal(h.ratePerSec, 1000);
    assert.equal(h.secondsLeft, Number((1n << 32n) - 10000n) / 1000);
  });
  it('gives no rate across an epoch change or without time between reads', () => {
    assert.equal(headroom(0x6_0000_0010n, { zxid: 0x5_0000_0000n, atMs: 0 }, 1000).ratePerSec, null);
    assert.equal(headroom(0x5_0000_0010n, { zxid: 0x5_0000_0000n, atMs: 5 }, 5).ratePerSec, null);
  });
  it('prints durations a person reads', () => {
    assert.equal(humanDuration(30), '30 s');
    assert.equal(humanDuration(3600), '60 min');
    assert.equal(humanDuration(86400 * 3), '3 days');
  });
});
