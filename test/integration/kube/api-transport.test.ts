// The operator's API transport against the real kube-apiserver: one keep-alive connection pool
// for requests, lists and watches (client-node alone opens a connection per request), requests
// counted by verb, resource and status, API errors as client-node reports them, the rate limit.
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { ApiException, CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { ApiTransportKubeConfig } from '../../../src/kube/api-transport.ts';
import { dropManagedFields, Informer } from '../../../src/kube/informer.ts';
import { freshNamespace, testCluster } from '../../support/cluster.ts';
import { until } from './harness.ts';

describe('ApiTransportKubeConfig', () => {
  const admin = testCluster().kubeConfig('admin');
  const transports: ApiTransportKubeConfig[] = [];
  after(async () => {
    await Promise.all(transports.map((t) => t.close()));
  });

  it('reuses connections for requests and watches, and counts requests', async () => {
    const ns = await freshNamespace(admin);
    const kc = new ApiTransportKubeConfig(admin);
    transports.push(kc);
    let connects = 0;
    const onConnect = () => {
      connects++;
    };
    diagnostics.subscribe('undici:client:connected', onConnect);
    try {
      const core = kc.makeApiClient(CoreV1Api);
      const informer = new Informer<V1Secret>({
        kubeConfig: kc,
        resource: { apiVersion: 'v1', plural: 'secrets' },
        namespaces: [ns],
        transform: dropManagedFields,
      });
      informer.start();
      await informer.whenSynced();
      for (let i = 0; i < 10; i++) {
        await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `seq-${i}` } } });
      }
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `par-${i}` } } }),
        ),
      );
      await until('the watch saw every Secret', () => informer.size === 30);
      await assert.rejects(
        core.readNamespacedSecret({ namespace: ns, name: 'missing' }),
        (err: unknown) => err instanceof ApiException && err.code === 404,
      );
      await informer.stop();
      // One for the list, one for the watch, and at most one per request in flight at once.
      assert.ok(connects <= 23, `${connects} connections for 32 requests and a watch`);
      const counts = [...kc.requestCounts()].map((c) => `${c.verb} ${c.resource} ${c.code} ${c.count}`);
      assert.ok(counts.includes('create secrets 201 30'), counts.join(', '));
      assert.ok(counts.includes('get secrets 404 1'), counts.join(', '));
      assert.ok(counts.includes('list secrets 200 1'), counts.join(', '));
    } finally {
      diagnostics.unsubscribe('undici:client:connected', onConnect);
    }
  });

  it('holds requests to the rate limit', async () => {
    const ns = await freshNamespace(admin);
    const kc = new ApiTransportKubeConfig(admin, { qps: 1, burst: 1 });
    transports.push(kc);
    const core = kc.makeApiClient(CoreV1Api);
    await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `s-${i}` } } }),
      ),
    );
    // Sent together with one token in the bucket: the others had to wait for theirs.
    assert.ok(kc.throttledSeconds > 0, 'requests waited for the rate limit');
    const created = [...kc.requestCounts()].find((c) => c.verb === 'create');
    assert.equal(created?.count, 3);
  });
});
