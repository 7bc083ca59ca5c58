// The harness itself: the shared control plane authenticates the static identities, enforces
// RBAC, and mints ServiceAccount tokens through the TokenRequest API.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException, AuthenticationV1Api, CoreV1Api, VersionApi } from '@kubernetes/client-node';
import { freshNamespace, kubeConfigForToken, testCluster } from '../support/cluster.ts';

describe('control plane', () => {
  const cluster = testCluster();
  const admin = cluster.kubeConfig('admin');

  it('serves the Kubernetes version it was built from', async () => {
    const version = await admin.makeApiClient(VersionApi).getCode();
    assert.match(version.gitVersion, /^v1\.\d+\.\d+/);
  });

  it('lets the admin identity create namespaces and secrets', async () => {
    const ns = await freshNamespace(admin);
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'example' }, stringData: { key: 'value' } },
    });
    const secret = await core.readNamespacedSecret({ namespace: ns, name: 'example' });
    assert.equal(Buffer.from(secret.data?.key ?? '', 'base64').toString(), 'value');
  });

  it('denies the restricted identity what RBAC does not grant', async () => {
    const ns = await freshNamespace(admin);
    const core = cluster.kubeConfig('restricted').makeApiClient(CoreV1Api);
    await assert.rejects(core.listNamespacedSecret({ namespace: ns }), (err: unknown) => {
      assert.ok(err instanceof ApiException);
      assert.equal(err.code, 403);
      return true;
    });
  });

  it('mints ServiceAccount tokens that authenticate as the ServiceAccount', async () => {
    const ns = await freshNamespace(admin);
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'robot' } } });
    const minted = await core.createNamespacedServiceAccountToken({
      namespace: ns,
      name: 'robot',
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = minted.status?.token ?? '';
    assert.ok(token.length > 0);
    const review = await admin.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    assert.equal(review.status?.userInfo?.username, 'admin');
    const asRobot = kubeConfigForToken(admin, token).makeApiClient(AuthenticationV1Api);
    const self = await asRobot.createSelfSubjectReview({ body: {} });
    assert.equal(self.status?.userInfo?.username, `system:serviceaccount:${ns}:robot`);
  });
});
