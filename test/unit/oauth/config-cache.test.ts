import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IssuerConfigCache } from '../../../src/oauth/config-cache.ts';

interface Value {
  id: number;
}

function setup() {
  const disposed: number[] = [];
  let built = 0;
  const cache = new IssuerConfigCache<Value>({
    dispose: (value) => {
      disposed.push(value.id);
    },
  });
  const build = () => Promise.resolve({ id: ++built });
  const failing = () => Promise.reject(new Error('discovery failed'));
  return { cache, build, failing, disposed, built: () => built };
}

describe('IssuerConfigCache', () => {
  it('builds once per key and fingerprint', async () => {
    const { cache, build, built } = setup();
    const first = await cache.get('a', 'f1', build);
    assert.equal(await cache.get('a', 'f1', build), first);
    await cache.get('b', 'f1', build);
    assert.equal(built(), 2);
    assert.equal(cache.size, 2);
  });

  it('shares a build in flight between concurrent callers', async () => {
    const { cache, build, built } = setup();
    const [x, y] = await Promise.all([cache.get('a', 'f1', build), cache.get('a', 'f1', build)]);
    assert.equal(x, y);
    assert.equal(built(), 1);
  });

  it('rebuilds and disposes the old value when the fingerprint changes', async () => {
    const { cache, build, disposed } = setup();
    const old = await cache.get('a', 'f1', build);
    const fresh = await cache.get('a', 'f2', build);
    assert.notEqual(fresh, old);
    await cache.clear(); // also waits for the earlier disposal to have run
    assert.deepEqual(disposed.sort(), [old.id, fresh.id]);
  });

  it('does not keep a failed build', async () => {
    const { cache, build, failing, built } = setup();
    await assert.rejects(cache.get('a', 'f1', failing), /discovery failed/);
    assert.equal(cache.size, 0);
    await cache.get('a', 'f1', build);
    assert.equal(built(), 1);
  });

  it('a late failure does not evict its replacement', async () => {
    const { cache, build, disposed } = setup();
    let fail: (err: Error) => void = () => {};
    const pending = cache.get('a', 'f1', () => new Promise<Value>((_, reject) => (fail = reject)));
    const replacement = await cache.get('a', 'f2', build);
    fail(new Error('late'));
    await assert.rejects(pending, /late/);
    assert.equal(await cache.get('a', 'f2', build), replacement);
    assert.deepEqual(disposed, []);
  });

  it('invalidate forgets and disposes', async () => {
    const { cache, build, disposed, built } = setup();
    const value = await cache.get('a', 'f1', build);
    cache.invalidate('a');
    cache.invalidate('unknown');
    assert.equal(cache.size, 0);
    await cache.get('a', 'f1', build);
    assert.equal(built(), 2);
    await cache.clear();
    assert.ok(disposed.includes(value.id));
  });

  it('survives a dispose that throws', async () => {
    const cache = new IssuerConfigCache<Value>({
      dispose: () => {
        throw new Error('close failed');
      },
    });
    await cache.get('a', 'f1', async () => ({ id: 1 }));
    cache.invalidate('a');
    await cache.get('a', 'f1', async () => ({ id: 2 }));
    await cache.clear();
  });
});
