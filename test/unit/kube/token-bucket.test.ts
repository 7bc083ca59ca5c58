import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as flush } from 'node:timers/promises';
import { TokenBucket } from '../../../src/kube/token-bucket.ts';
import { FakeClock } from './fake-clock.ts';

/** Starts `count` takes and records when (fake time) each is let through. */
function takeAll(bucket: TokenBucket, clock: FakeClock, count: number, signal?: AbortSignal) {
  const passed: number[] = [];
  const settled = Array.from({ length: count }, (_, i) =>
    bucket.take(signal).then(
      () => {
        passed[i] = clock.now();
      },
      () => {
        passed[i] = Number.NaN;
      },
    ),
  );
  return { passed, settled };
}

describe('TokenBucket', () => {
  it('lets a burst through at once, then one take per 1/qps seconds, in order', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const bucket = new TokenBucket({ qps: 10, burst: 3, clock });
    const { passed } = takeAll(bucket, clock, 6);
    await flush();
    assert.deepEqual(
      passed.map((t) => t - start),
      [0, 0, 0],
    );
    for (let i = 0; i < 30; i++) {
      clock.advance(10);
      await flush();
    }
    assert.deepEqual(
      passed.map((t) => t - start),
      [0, 0, 0, 100, 200, 300],
    );
    assert.equal(bucket.waiting, 0);
    assert.ok(Math.abs(bucket.waitedSeconds - 0.6) < 1e-9, `waited ${bucket.waitedSeconds} s`);
  });

  it('never lets more than burst + qps × t through in any interval t', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 50, burst: 5, clock });
    const { passed } = takeAll(bucket, clock, 200);
    await flush();
    for (let i = 0; i < 700; i++) {
      clock.advance(7);
      await flush();
    }
    assert.equal(passed.length, 200);
    for (let i = 0; i < passed.length; i++) {
      for (let j = i; j < passed.length; j++) {
        const interval = ((passed[j] ?? 0) - (passed[i] ?? 0)) / 1000;
        assert.ok(j - i + 1 <= 5 + 50 * interval + 1e-9, `${j - i + 1} takes in ${interval} s`);
      }
    }
  });

  it('refills while idle, up to the burst', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 2, burst: 2, clock });
    await bucket.take();
    await bucket.take();
    clock.advance(60_000);
    const { passed } = takeAll(bucket, clock, 3);
    await flush();
    assert.equal(passed.filter((t) => t !== undefined).length, 2, 'only the burst is saved up');
  });

  it('an aborted waiter leaves the line and does not use a token', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock });
    await bucket.take();
    const abort = new AbortController();
    const first = takeAll(bucket, clock, 1, abort.signal);
    const second = takeAll(bucket, clock, 1);
    abort.abort(new Error('stopped'));
    await Promise.all(first.settled);
    assert.ok(Number.isNaN(first.passed[0]));
    clock.advance(1000);
    await Promise.all(second.settled);
    assert.equal(second.passed[0], clock.now(), 'the next waiter gets the token');
    await assert.rejects(bucket.take(AbortSignal.abort(new Error('already'))), /already/);
  });

  it('rejects a rate that is not positive and a burst below one', () => {
    assert.throws(() => new TokenBucket({ qps: 0, burst: 1 }), RangeError);
    assert.throws(() => new TokenBucket({ qps: Number.NaN, burst: 1 }), RangeError);
    assert.throws(() => new TokenBucket({ qps: 1, burst: 0 }), RangeError);
  });
});
