import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { applyWatchEvent, objectKey, replaceAll } from '../../../src/kube/object-store.ts';

const obj = (name: string, resourceVersion: string): KubernetesObject => ({
  metadata: { name, namespace: 'ns', resourceVersion },
});

describe('objectKey', () => {
  it('is namespace/name, or name for cluster-scoped objects', () => {
    assert.equal(objectKey(obj('a', '1')), 'ns/a');
    assert.equal(objectKey({ metadata: { name: 'a' } }), 'a');
    assert.throws(() => objectKey({ metadata: {} }));
  });
});

describe('applyWatchEvent', () => {
  it('turns ADDED/MODIFIED/DELETED into add/update/delete against the store', () => {
    const store = new Map<string, KubernetesObject>();
    assert.equal(applyWatchEvent(store, 'ADDED', obj('a', '1'))?.type, 'add');
    assert.equal(applyWatchEvent(store, 'MODIFIED', obj('b', '2'))?.type, 'add', 'unknown key: add');
    const update = applyWatchEvent(store, 'MODIFIED', obj('a', '3'));
    assert.equal(update?.type, 'update');
    assert.equal(update?.type === 'update' && update.old.metadata?.resourceVersion, '1');
    assert.equal(applyWatchEvent(store, 'MODIFIED', obj('a', '3')), undefined, 'same version: no event');
    assert.equal(applyWatchEvent(store, 'DELETED', obj('a', '4'))?.type, 'delete');
    assert.equal(applyWatchEvent(store, 'DELETED', obj('a', '4')), undefined, 'already gone');
    assert.deepEqual([...store.keys()], ['ns/b']);
  });
});

describe('replaceAll', () => {
  it('emits adds, changed updates and deletes for what a relist found', () => {
    const store = new Map<string, KubernetesObject>([
      ['ns/same', obj('same', '1')],
      ['ns/changed', obj('changed', '1')],
      ['ns/gone', obj('gone', '1')],
    ]);
    const events = replaceAll(store, [obj('same', '1'), obj('changed', '5'), obj('new', '6')]);
    assert.deepEqual(
      events.map((e) => `${e.type} ${objectKey(e.object)}`),
      ['update ns/changed', 'add ns/new', 'delete ns/gone'],
    );
    assert.deepEqual([...store.keys()].sort(), ['ns/changed', 'ns/new', 'ns/same']);
  });
});
