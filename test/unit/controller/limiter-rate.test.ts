import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedLimiter } from '../../../src/controller/limiter.ts';

describe('KeyedLimiter with a rate', () => {
  it('holds starts per key to the burst until tokens refill, other keys independent', async () => {
    const limiter = new KeyedLimiter(10, { qps: 2, burst: 2 });
    const started: string[] = [];
    const run = (key: string) =>
      limiter.run(key, async () => {
        started.push(key);
      });
    const runs = [run('a'), run('a'), run('a'), run('b')];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['a', 'a', 'b'], 'the third run of a waits for a token');
    await Promise.all(runs);
    assert.deepEqual(started, ['a', 'a', 'b', 'a']);
    assert.ok(limiter.rateWaitSeconds > 0);
  });

  it('without a rate only concurrency applies', async () => {
    const limiter = new KeyedLimiter(1, { qps: 0 });
    let ran = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        limiter.run('a', async () => {
          ran++;
        }),
      ),
    );
    assert.equal(ran, 5);
  });

  it('rejects a negative rate', () => {
    assert.throws(() => new KeyedLimiter(1, { qps: -1 }), RangeError);
  });
});
