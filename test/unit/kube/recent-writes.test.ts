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
