import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { RecentWrites } from '../../../src/kube/recent-writes.ts';

const at = (resourceVersion: string): V1Secret => ({ metadata: { name: 's', resourceVersion } });

describe('RecentWrites', () => {
  it('prefers our write until the informer has caught up with it', () => {
    const recent = new RecentWrites<V1Secret>();
    recent.remember('ns/s', at('12'));
    assert.equal(recent.freshest('ns/s', at('11'))?.metadata?.resourceVersion, '12');
    recent.observe('ns/s', at('11'));
    assert.equal(recent.size, 1, 'an older event keeps the overlay');
    recent.observe('ns/s', at('12'));
    assert.equal(recent.size, 0);
    assert.equal(recent.freshest('ns/s', at('13'))?.metadata?.resourceVersion, '13');
  });

  it('recognises the echo of our own write, and nothing else', () => {
    const recent = new RecentWrites<V1Secret>();
    assert.equal(recent.isEcho('ns/s', at('12')), false, 'nothing written');
    recent.remember('ns/s', at('12'));
    assert.equal(recent.isEcho('ns/s', at('11')), false);
    assert.equal(recent.isEcho('ns/s', at('13')), false);
    assert.equal(recent.isEcho('ns/s', undefined), false);
    assert.equal(recent.isEcho('ns/other', at('12')), false);
    assert.equal(recent.isEcho('ns/s', at('12')), true);
    recent.observe('ns/s', at('12'));
    assert.equal(recent.isEcho('ns/s', at('12')), false, 'once caught up, a resync is not an echo');
  });

  it('drops the overlay when the object is deleted', () => {
    const recent = new RecentWrites<V1Secret>();
    recent.remember('ns/s', at('12'));
    recent.observe('ns/s', undefined);
    assert.equal(recent.freshest('ns/s', undefined), undefined);
  });

  it('lets a newer cached object win', () => {
    const recent = new RecentWrites<V1Secret>();
    recent.remember('ns/s', at('12'));
    assert.equal(recent.freshest('ns/s', at('15'))?.metadata?.resourceVersion, '15');
  });
});
