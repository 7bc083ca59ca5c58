import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import type { ClusterTokenIssuer, TokenIssuer } from '../../../src/api/index.ts';
import { issuerSettings, referencedSecrets } from '../../../src/controller/issuer-settings.ts';

const issuer = (spec: Partial<TokenIssuer['spec']>): TokenIssuer => ({
  apiVersion: 'token-renewer.io/v1alpha1',
  kind: 'TokenIssuer',
  metadata: { name: 'idp', namespace: 'shop' },
  spec: { issuerURL: 'https://idp.example', clientID: 'orders', ...spec },
});
const secret = (
  namespace: string,
  name: string,
  data: Record<string, string>,
  resourceVersion = '7',
): V1Secret => ({
  metadata: { namespace, name, uid: `uid-${name}`, resourceVersion },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
const lookupFrom =
  (...secrets: V1Secret[]) =>
  ({ namespace, name }: { namespace: string; name: string }) =>
    secrets.find((s) => s.metadata?.namespace === namespace && s.metadata?.name === name);
const options = (...secrets: V1Secret[]) => ({
  clusterResourceNamespace: 'token-renewer',
  allowInsecureHttp: false,
  secret: lookupFrom(...secrets),
});

describe('issuerSettings', () => {
  it('reads the client secret from the issuer namespace, with defaults for key, timeout and lifetime', () => {
    const settings = issuerSettings(
      issuer({ clientAuth: { clientSecretRef: { name: 'creds' } } }),
      options(secret('shop', 'creds', { 'client-secret': 's3cret' })),
    );
    assert.ok(settings.ok);
    assert.deepEqual(settings.description.auth, { method: 'client_secret_basic', clientSecret: 's3cret' });
    assert.equal(settings.description.timeoutMs, 10_000);
    assert.equal(settings.defaultLifetimeMs, 300_000);
    assert.deepEqual(settings.credentialVersions, ['uid-creds/7']);
  });

  it('reads a ClusterTokenIssuer credentials from the cluster-resource namespace only', () => {
    const cluster: ClusterTokenIssuer = {
      apiVersion: 'token-renewer.io/v1alpha1',
      kind: 'ClusterTokenIssuer',
      metadata: { name: 'corp' },
      spec: {
        tokenEndpoint: 'https://idp.example/token',
        clientID: 'c',
        clientAuth: { method: 'client_secret_post', clientSecretRef: { name: 'creds', key: 'secret' } },
        allowedNamespaces: { names: ['shop'] },
      },
    };
    const elsewhere = secret('shop', 'creds', { secret: 'tenant-planted' });
    const missing = issuerSettings(cluster, options(elsewhere));
    assert.equal(missing.ok, false);
    assert.match(
      missing.ok ? '' : missing.message,
      /Secret token-renewer\/creds \(client secret\) not found/,
    );
    const found = issuerSettings(
      cluster,
      options(elsewhere, secret('token-renewer', 'creds', { secret: 'real' })),
    );
    assert.ok(found.ok);
    assert.deepEqual(found.description.auth, { method: 'client_secret_post', clientSecret: 'real' });
  });

  it('names the missing key, and never the value of another one', () => {
    const settings = issuerSettings(
      issuer({ clientAuth: { clientSecretRef: { name: 'creds', key: 'password' } } }),
      options(secret('shop', 'creds', { 'client-secret': 'wrong-key-value' })),
    );
    assert.equal(settings.ok, false);
    assert.equal(settings.ok ? '' : settings.reason, 'CredentialsNotFound');
    assert.equal(
      settings.ok ? '' : settings.message,
      'Secret shop/creds has no key "password" (client secret)',
    );
  });

  it('builds private_key_jwt and tls_client_auth from their Secrets, and a CA bundle from caSecretRef', () => {
    const jwt = issuerSettings(
      issuer({
        clientAuth: { method: 'private_key_jwt', privateKeyRef: { name: 'key', alg: 'ES256', kid: 'k1' } },
        caSecretRef: { name: 'ca' },
      }),
      options(secret('shop', 'key', { 'tls.key': 'PEM' }), secret('shop', 'ca', { 'ca.crt': 'CA' })),
    );
    assert.ok(jwt.ok);
    assert.deepEqual(jwt.description.auth, {
      method: 'private_key_jwt',
      privateKeyPem: 'PEM',
      alg: 'ES256',
      kid: 'k1',
    });
    assert.equal(jwt.description.caBundlePem, 'CA');
    const mtls = issuerSettings(
      issuer({ clientAuth: { method: 'tls_client_auth', clientCertificateRef: { name: 'tls' } } }),
      options(secret('shop', 'tls', { 'tls.crt': 'CERT', 'tls.key': 'KEY' })),
    );
    assert.ok(mtls.ok);
    assert.deepEqual(mtls.description.auth, { method: 'tls_client_auth', certPem: 'CERT', keyPem: 'KEY' });
  });

  it('changes credentialVersions when a referenced Secret changes', () => {
    const spec = issuer({ clientAuth: { clientSecretRef: { name: 'creds' } } });
    const before = issuerSettings(spec, options(secret('shop', 'creds', { 'client-secret': 'a' }, '7')));
    const after = issuerSettings(spec, options(secret('shop', 'creds', { 'client-secret': 'b' }, '8')));
    assert.ok(before.ok && after.ok);
    assert.notDeepEqual(before.credentialVersions, after.credentialVersions);
  });

  it('lists every referenced Secret once, in the right namespace', () => {
    const refs = referencedSecrets(
      issuer({
        clientAuth: { clientSecretRef: { name: 'creds' } },
        caSecretRef: { name: 'creds', key: 'ca.crt' },
      }),
      'token-renewer',
    );
    assert.deepEqual(refs, [{ namespace: 'shop', name: 'creds' }]);
  });
});
