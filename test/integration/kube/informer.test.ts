// The informer against the real kube-apiserver: list, sync, watch events, label selection,
// namespace scopes, resync, and that handlers cannot break it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Informer } from '../../../src/kube/informer.ts';
import { freshNamespace, testCluster } from '../../support/cluster.ts';
import { recordedInformer, secrets, until, untilEvents } from './harness.ts';

describe('Informer', () => {
  const admin = testCluster().kubeConfig('admin');
  const running: Informer[] = [];
  const track = <T extends { informer: Informer }>(recorded: T): T => {
    running.push(recorded.informer);
    return recorded;
  };
  after(async () => {
    await Promise.all(running.map((informer) => informer.stop()));
  });

  it('lists the selected objects, syncs, then streams add, update and delete', async () => {
    const ns = await freshNamespace(admin);
    const s = secrets(admin, ns);
    await s.create('a');
    await s.create('b');
    await s.create('unlabelled', false);
    const { informer, events, errors } = track(recordedInformer(admin, { namespaces: [ns] }));
    assert.equal(informer.hasSynced(), false);
    informer.start();
    await until('synced', () => informer.hasSynced());
    assert.deepEqual(events.sort(), ['add a', 'add b']);
    assert.deepEqual(
      informer
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
      ['a', 'b'],
    );
    const a = informer.get(ns, 'a');
    assert.equal(a?.kind, 'Secret', 'listed items get their kind back');
    assert.equal(a?.metadata?.managedFields, undefined, 'transform applied');
    assert.equal(informer.get(ns, 'unlabelled'), undefined);

    events.length = 0;
    await s.create('c');
    await s.update('a', 'v1');
    await s.remove('b');
    await s.update('unlabelled', 'v1');
    await s.setLabelled('unlabelled', true); // enters the selection: add
    await s.setLabelled('c', false); // leaves it: delete
    await untilEvents(events, ['add c', 'update a', 'delete b', 'add unlabelled', 'delete c']);
    assert.deepEqual(
      informer
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
      ['a', 'unlabelled'],
    );
    const data = (informer.get(ns, 'a') as { data?: Record<string, string> }).data;
    assert.equal(Buffer.from(data?.value ?? '', 'base64').toString(), 'v1');
    assert.deepEqual(errors, []);
  });

  it('watches all namespaces, or only the listed ones, with one store', async () => {
    const [ns1, ns2, ns3] = await Promise.all([1, 2, 3].map(() => freshNamespace(admin)));
    // A label value of its own keeps other tests' Secrets out of the all-namespaces informer.
    const labelValue = `all-${ns1}`;
    for (const ns of [ns1, ns2, ns3]) await secrets(admin, ns, labelValue).create('x');
    const all = track(recordedInformer(admin, { namespaces: 'all', labelValue }));
    const some = track(recordedInformer(admin, { namespaces: [ns1, ns2], labelValue }));
    all.informer.start();
    some.informer.start();
    await until('synced', () => all.informer.hasSynced() && some.informer.hasSynced());
    assert.equal(all.informer.size, 3);
    assert.equal(some.informer.size, 2);
    assert.equal(some.informer.get(ns3, 'x'), undefined);
    assert.equal(some.informer.get(ns2, 'x')?.metadata?.namespace, ns2);
    assert.deepEqual(
      all.informer.list(ns3).map((o) => o.metadata?.namespace),
      [ns3],
    );
    await secrets(admin, ns2, labelValue).create('y');
    await secrets(admin, ns3, labelValue).create('y');
    await until('y everywhere it belongs', () => all.informer.size === 5 && some.informer.size === 3);
    assert.deepEqual(some.events.slice(2), ['add y']);
  });

  it('re-emits every cached object as a resync update', async () => {
    const ns = await freshNamespace(admin);
    const s = secrets(admin, ns);
    await s.create('a');
    await s.create('b');
    const { informer, resyncs } = track(recordedInformer(admin, { namespaces: [ns], resyncPeriodMs: 200 }));
    informer.start();
    await until('two resync rounds', () => resyncs.filter((name) => name === 'a').length >= 2);
    assert.ok(resyncs.includes('b'));
  });

  it('reports throwing handlers and keeps delivering events', async () => {
    const ns = await freshNamespace(admin);
    const s = secrets(admin, ns);
    const { informer, events, errors } = track(recordedInformer(admin, { namespaces: [ns] }));
    informer.onEvent(() => {
      throw new Error('handler bug');
    });
    informer.start();
    await until('synced', () => informer.hasSynced());
    await s.create('a');
    await s.create('b');
    await untilEvents(events, ['add a', 'add b']);
    assert.equal(errors.length, 2);
    assert.match(String(errors[0]), /handler bug/);
  });

  it('stops: no more events, and the store stays as it was', async () => {
    const ns = await freshNamespace(admin);
    const s = secrets(admin, ns);
    await s.create('a');
    const stopped = track(recordedInformer(admin, { namespaces: [ns] }));
    const witness = track(recordedInformer(admin, { namespaces: [ns] }));
    stopped.informer.start();
    witness.informer.start();
    await until('synced', () => stopped.informer.hasSynced() && witness.informer.hasSynced());
    await stopped.informer.stop();
    await s.create('b');
    await s.remove('a');
    // The witness seeing both changes means they were delivered to every open watch.
    await untilEvents(witness.events, ['add a', 'add b', 'delete a']);
    assert.deepEqual(stopped.events, ['add a']);
    assert.deepEqual(
      stopped.informer.list().map((o) => o.metadata?.name),
      ['a'],
    );
  });
});
