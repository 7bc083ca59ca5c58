import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as flush } from 'node:timers/promises';
import { WorkQueue } from '../../../src/kube/work-queue.ts';

/** A handler whose runs the test finishes by hand, recording what ran and how many at once. */
function controlledHandler() {
  const started: string[] = [];
  const finish = new Map<string, (() => void)[]>();
  const running = new Map<string, number>();
  let active = 0;
  let maxActive = 0;
  let maxPerKey = 0;
  const handler = async (key: string) => {
    started.push(key);
    active++;
    running.set(key, (running.get(key) ?? 0) + 1);
    maxActive = Math.max(maxActive, active);
    maxPerKey = Math.max(maxPerKey, running.get(key) ?? 0);
    const { promise, resolve } = Promise.withResolvers<void>();
    finish.set(key, [...(finish.get(key) ?? []), resolve]);
    await promise;
    active--;
    running.set(key, (running.get(key) ?? 1) - 1);
  };
  const release = async (key: string) => {
    const waiters = finish.get(key) ?? [];
    const next = waiters.shift();
    assert.ok(next, `no run of ${key} to finish`);
    next();
    await flush();
  };
  return {
    handler,
    release,
    started,
    get maxActive() {
      return maxActive;
    },
    get maxPerKey() {
      return maxPerKey;
    },
  };
}

const noErrors = (err: unknown) => assert.fail(`unexpected handler error: ${String(err)}`);

describe('WorkQueue', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, []);
  });

  it('de-duplicates keys that are waiting', async () => {
    const queue = new WorkQueue({ concurrency: 1, onError: noErrors });
    const seen: string[] = [];
    for (const key of ['a', 'b', 'a', 'a', 'c', 'b']) queue.add(key);
    assert.equal(queue.length, 3);
    queue.process(async (key) => {
      seen.push(key);
    });
    await flush();
    assert.deepEqual(seen, ['a', 'b', 'c']);
    assert.equal(queue.length, 0);
  });

  it('never processes one key twice at once, and re-queues it once if added meanwhile', async () => {
    const h = controlledHandler();
    const queue = new WorkQueue({ concurrency: 4, onError: noErrors });
    queue.process(h.handler);
    queue.add('a');
    await flush();
    assert.deepEqual(h.started, ['a']);
    queue.add('a');
    queue.add('a');
    queue.add('a');
    await flush();
    assert.deepEqual(h.started, ['a'], 'not started again while running');
    assert.equal(queue.length, 1);
    assert.equal(queue.inFlight, 1);
    await h.release('a');
    assert.deepEqual(h.started, ['a', 'a'], 'runs once more after the first run');
    await h.release('a');
    assert.deepEqual(h.started, ['a', 'a']);
    assert.equal(h.maxPerKey, 1);
    assert.equal(queue.inFlight, 0);
  });

  it('honours the concurrency limit', async () => {
    const h = controlledHandler();
    const queue = new WorkQueue({ concurrency: 3, onError: noErrors });
    queue.process(h.handler);
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const key of keys) queue.add(key);
    await flush();
    assert.equal(queue.inFlight, 3);
    assert.equal(queue.length, 7);
    for (const key of keys) await h.release(key);
    assert.deepEqual(h.started, keys, 'in arrival order');
    assert.equal(h.maxActive, 3);
    assert.equal(queue.inFlight, 0);
  });

  it('reports handler errors, sync or async, and keeps working', async () => {
    const errors: string[] = [];
    const queue = new WorkQueue({
      concurrency: 2,
      onError: (err, key) => errors.push(`${key}: ${String(err)}`),
    });
    const done: string[] = [];
    queue.process((key) => {
      if (key === 'sync') throw new Error('thrown');
      if (key === 'async') return Promise.reject(new Error('rejected'));
      done.push(key);
      return Promise.resolve();
    });
    queue.add('sync');
    queue.add('async');
    queue.add('fine');
    await flush();
    await flush();
    assert.deepEqual(errors.sort(), ['async: Error: rejected', 'sync: Error: thrown']);
    assert.deepEqual(done, ['fine']);
    assert.equal(queue.inFlight, 0);
  });

  it('shutdown stops taking work and waits for in-flight handlers', async () => {
    const h = controlledHandler();
    const queue = new WorkQueue({ concurrency: 1, onError: noErrors });
    queue.process(h.handler);
    queue.add('running');
    queue.add('waiting');
    await flush();
    let finished: boolean | undefined;
    const shutdown = queue.shutdown({ timeoutMs: 10_000 }).then((result) => {
      finished = result;
    });
    assert.equal(queue.add('late'), false);
    assert.equal(queue.length, 0, 'waiting keys are dropped');
    await flush();
    assert.equal(finished, undefined, 'still waiting for the in-flight handler');
    await h.release('running');
    await shutdown;
    assert.equal(finished, true);
    assert.deepEqual(h.started, ['running']);
  });

  it('shutdown gives up after its timeout and aborts the handlers’ signal', async () => {
    const queue = new WorkQueue({ concurrency: 1, onError: () => {} });
    let signal: AbortSignal | undefined;
    queue.process((_key, s) => {
      signal = s;
      return new Promise<void>((resolve) => s.addEventListener('abort', () => resolve()));
    });
    queue.add('stuck');
    await flush();
    assert.equal(await queue.shutdown({ timeoutMs: 20 }), false);
    assert.equal(signal?.aborted, true);
  });

  it('shutdown with nothing in flight resolves at once', async () => {
    const queue = new WorkQueue({ concurrency: 1, onError: noErrors });
    queue.add('never-processed');
    assert.equal(await queue.shutdown(), true);
  });

  it('whenIdle resolves once the workers have drained everything, including re-queued keys', async () => {
    const queue = new WorkQueue({ concurrency: 2, onError: noErrors });
    const h = controlledHandler();
    let idle = false;
    queue.add('a');
    queue.add('b');
    void queue.whenIdle().then(() => {
      idle = true;
    });
    await flush();
    assert.equal(idle, false, 'not idle before the workers start');
    queue.process(h.handler);
    await flush();
    queue.add('a'); // while a runs: once more afterwards
    await h.release('a');
    await h.release('b');
    assert.equal(idle, false, 'a is due again');
    await h.release('a');
    assert.equal(idle, true);
    assert.deepEqual(h.started, ['a', 'b', 'a']);
  });

  it('whenIdle resolves at once when idle, and on shutdown', async () => {
    const idleQueue = new WorkQueue({ concurrency: 1, onError: noErrors });
    idleQueue.process(async () => {});
    await idleQueue.whenIdle();
    const queue = new WorkQueue({ concurrency: 1, onError: noErrors });
    queue.add('never-processed');
    const idle = queue.whenIdle();
    await queue.shutdown();
    await idle;
  });

  it('rejects a concurrency below one', () => {
    assert.throws(() => new WorkQueue({ concurrency: 0, onError: noErrors }), RangeError);
  });
});
