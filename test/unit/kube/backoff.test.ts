import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../../src/kube/backoff.ts';

describe('backoffDelay', () => {
  const options = { initialMs: 1000, maxMs: 30_000 };

  it('doubles from the initial delay up to the cap', () => {
    const top = (attempt: number) => backoffDelay(attempt, { ...options, random: () => 1 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 100].map(top),
      [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
    );
  });

  it('takes away up to half at random, never more', () => {
    assert.equal(backoffDelay(3, { ...options, random: () => 0 }), 2000);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(10, options);
      assert.ok(delay >= 15_000 && delay <= 30_000);
    }
  });
});
