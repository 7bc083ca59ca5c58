// The informer's supervision against the real kube-apiserver, with faults injected by a TCP
// proxy in front of it: cut watches, silent (frozen) watches, an unreachable server, and a
// resourceVersion the server no longer has (410). Events must keep flowing, none lost or repeated.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { group, Plural, version } from '../../../src/api/constants.ts';
import type { Informer, InformerLogEntry } from '../../../src/kube/informer.ts';
import { freshNamespace, testCluster } from '../../support/cluster.ts';
import {
  kubeConfigVia,
  type Recorded,
  recordedInformer,
  secrets,
  tokenRequests,
  until,
  untilEvents,
} from './harness.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

type Entry<E extends InformerLogEntry['event']> = Extract<InformerLogEntry, { event: E }>;
const entries = <E extends InformerLogEntry['event']>(logs: InformerLogEntry[], event: E): Entry<E>[] =>
  logs.filter((entry): entry is Entry<E> => entry.event === event);

describe('Informer under faults', () => {
  const admin = testCluster().kubeConfig('admin');
  const server = admin.getCurrentCluster()?.server ?? '';
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  /** A fresh namespace and an informer on it that reaches the API server through a proxy. */
  async function setup(options: Parameters<typeof recordedInformer>[1] = {}) {
    const proxy: TcpProxy = await startTcpProxy(server);
    const ns = await freshNamespace(admin);
    const recorded: Recorded = recordedInformer(kubeConfigVia(admin, proxy.url), {
      namespaces: [ns],
      backoff: { initialMs: 50, maxMs: 500 },
      ...options,
    });
    cleanups.push(async () => {
      await recorded.informer.stop();
      await proxy.close();
    });
    return { proxy, ns, s: secrets(admin, ns), ...recorded };
  }

  const synced = (informer: Informer) => until('synced', () => informer.hasSynced());

  it('keeps listing until the API server answers, then syncs', async () => {
    const { proxy, s, informer, events, logs } = await setup();
    await s.create('a');
    proxy.refuse(true);
    informer.start();
    await until('two failed lists', () => entries(logs, 'list-failed').length >= 2);
    assert.equal(informer.hasSynced(), false);
    assert.ok(entries(logs, 'backoff').every((entry) => entry.delayMs <= 500));
    proxy.refuse(false);
    await synced(informer);
    await s.create('b');
    await untilEvents(events, ['add a', 'add b']);
  });

  it('resumes a cut watch from its resourceVersion: no relist, nothing lost or repeated', async () => {
    const { proxy, s, informer, events, logs } = await setup();
    await s.create('a');
    informer.start();
    await synced(informer);
    const expected = ['add a'];
    for (let round = 1; round <= 3; round++) {
      const ended = entries(logs, 'watch-ended').length;
      proxy.refuse(true);
      proxy.cut();
      await until('the watch to end', () => entries(logs, 'watch-ended').length > ended);
      // Changes made while no watch is open must come from the resumed watch.
      await s.create(`new-${round}`);
      await s.update('a', `v${round}`);
      const failed = entries(logs, 'backoff').length;
      await until('a failed reconnect', () => entries(logs, 'backoff').length > failed);
      proxy.refuse(false);
      expected.push(`add new-${round}`, 'update a');
      await untilEvents(events, expected);
    }
    await s.create('marker');
    await untilEvents(events, [...expected, 'add marker']);
    assert.deepEqual(
      entries(logs, 'listed').map((entry) => entry.reason),
      ['initial'],
    );
    const resumedFrom = entries(logs, 'watch-started').slice(1);
    assert.ok(resumedFrom.length >= 3 && resumedFrom.every((entry) => entry.resourceVersion !== ''));
  });

  it('abandons a watch that went silent (dead peer) once the watchdog expires', async () => {
    const { proxy, s, informer, events, logs } = await setup({ watchdogMs: 3000 });
    informer.start();
    await synced(informer);
    proxy.freeze();
    await s.create('a');
    await untilEvents(events, ['add a']);
    const fired = entries(logs, 'watchdog-fired');
    assert.ok(fired.length >= 1 && fired.every((entry) => entry.idleMs >= 3000));
    assert.ok(entries(logs, 'watch-ended').some((entry) => entry.reason === 'watchdog'));
    await s.create('marker');
    await untilEvents(events, ['add a', 'add marker']);
  });

  it('relists after 410 Gone and emits what changed meanwhile, deletions included', async () => {
    // On TokenRequests: their watch cache started when the CRD was installed, so a
    // resourceVersion from before then is too old for it and the server answers 410.
    const { proxy, ns, informer, events, logs } = await setup({
      resource: { apiVersion: `${group}/${version}`, plural: Plural.TokenRequest },
    });
    const trs = tokenRequests(admin, ns);
    await trs.create('kept');
    await trs.create('changed');
    await trs.create('deleted');
    informer.start();
    await synced(informer);
    assert.equal(informer.get(ns, 'kept')?.kind, 'TokenRequest');
    events.length = 0;
    proxy.refuse(true);
    proxy.cut();
    await until('a failed reconnect', () => entries(logs, 'backoff').length > 0);
    await trs.update('changed', 'v1');
    await trs.remove('deleted');
    await trs.create('added');
    informer.reflectorForTest(ns)?.setResourceVersion('1');
    proxy.refuse(false);
    await until('the relist', () => entries(logs, 'listed').length >= 2);
    assert.deepEqual(events.sort(), ['add added', 'delete deleted', 'update changed']);
    const expired = entries(logs, 'watch-ended').filter((entry) => entry.reason === 'expired');
    assert.equal(expired.length, 1);
    // kube-apiserver answers such a watch 200 with one ERROR event: a Status of code 410.
    assert.match(expired[0]?.error ?? '', /^410 Expired: too old resource version/);
    assert.deepEqual(
      entries(logs, 'listed').map((entry) => [entry.reason, entry.changes]),
      [
        ['initial', 3],
        ['expired', 3],
      ],
    );
    await trs.create('marker');
    await until('marker', () => events.includes('add marker'));
    assert.equal(events.length, 4);
  });

  it('periodic relist catches what a silently dead watch missed', async () => {
    const { proxy, s, informer, events, logs } = await setup({ relistPeriodMs: 1500, watchdogMs: 60_000 });
    await s.create('kept');
    await s.create('deleted');
    informer.start();
    await synced(informer);
    events.length = 0;
    proxy.freeze();
    await s.remove('deleted');
    await s.create('added');
    await until('the periodic relist', () =>
      entries(logs, 'listed').some((entry) => entry.reason === 'periodic'),
    );
    assert.deepEqual(events.sort(), ['add added', 'delete deleted']);
    assert.equal(entries(logs, 'watchdog-fired').length, 0);
    await s.create('marker');
    await until('marker', () => events.includes('add marker'));
    assert.equal(events.length, 3);
  });
});
