import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedLimiter } from '../../../src/controller/limiter.ts';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('KeyedLimiter', () => {
  it('runs at most `limit` at once per key, in arrival order, and other keys independently', async () => {
    const limiter = new KeyedLimiter(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: string[] = [];
    const runs = gates.slice(0, 3).map((gate, i) =>
      limiter.run('a', async () => {
        started.push(`a${i}`);
        await gate.promise;
      }),
    );
    const other = limiter.run('b', async () => {
      started.push('b0');
      await gates[3].promise;
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['a0', 'a1', 'b0']);
    gates[1].resolve();
    await runs[1];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['a0', 'a1', 'b0', 'a2']);
    for (const gate of gates) gate.resolve();
    await Promise.all([...runs, other]);
  });

  it('frees the slot when the run fails', async () => {
    const limiter = new KeyedLimiter(1);
    await assert.rejects(
      limiter.run('a', () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await limiter.run('a', async () => 42), 42);
  });
});
