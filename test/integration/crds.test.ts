// The CRDs as a real kube-apiserver serves them: established with their printer columns, invalid
// objects rejected with messages a user can act on, defaults applied, every example accepted.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ApiException,
  ApiextensionsV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { apiVersion, group, Kind, Plural, version } from '../../src/api/constants.ts';
import type { ClusterTokenIssuer, TokenIssuer, TokenRequest } from '../../src/api/generated/types.ts';
import { freshNamespace, testCluster } from '../support/cluster.ts';

const kc = testCluster().kubeConfig();
const objects = KubernetesObjectApi.makeApiClient(kc);
const examplesDir = resolve(import.meta.dirname, '../../examples');

let namespace = '';
before(async () => {
  namespace = await freshNamespace(kc, 'crds');
});

type Spec = Record<string, unknown>;
interface Manifest extends KubernetesObject {
  spec?: Spec;
}

const suffix = () => randomBytes(3).toString('hex');

const tokenRequest = (spec: Spec): Manifest => ({
  apiVersion,
  kind: Kind.TokenRequest,
  metadata: { name: `tr-${suffix()}`, namespace },
  spec,
});
const tokenIssuer = (spec: Spec): Manifest => ({
  apiVersion,
  kind: Kind.TokenIssuer,
  metadata: { name: `ti-${suffix()}`, namespace },
  spec,
});
const clusterTokenIssuer = (spec: Spec): Manifest => ({
  apiVersion,
  kind: Kind.ClusterTokenIssuer,
  metadata: { name: `cti-${suffix()}` },
  spec,
});

const issuerSpec: Spec = {
  tokenEndpoint: 'https://idp.example.com/token',
  clientID: 'client',
  clientAuth: { clientSecretRef: { name: 'creds' } },
};
const allowAll = { allowedNamespaces: { selector: {} } };

/** Dry-run creates: defaulting and validation run in full, nothing is stored. */
const dryRunCreate = <T extends KubernetesObject>(object: T) => objects.create(object, undefined, 'All');

/** Asserts the API server rejects `object` as invalid with a message containing each of `expected`. */
async function assertRejected(object: Manifest, ...expected: string[]): Promise<string> {
  let message = '';
  await assert.rejects(dryRunCreate(object), (error: unknown) => {
    assert.ok(error instanceof ApiException, `expected an ApiException, got ${String(error)}`);
    assert.equal(
      error.code,
      422,
      `expected 422 Unprocessable Entity, got ${error.code}: ${String(error.body)}`,
    );
    message = (JSON.parse(String(error.body)) as { message: string }).message;
    for (const text of expected) {
      assert.ok(message.includes(text), `message should include ${JSON.stringify(text)}:\n${message}`);
    }
    return true;
  });
  return message;
}

describe('CustomResourceDefinitions', () => {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const columns = async (kind: Kind) => {
    const crd = await api.readCustomResourceDefinition({ name: `${Plural[kind]}.${group}` });
    const established = crd.status?.conditions?.find((c) => c.type === 'Established');
    assert.equal(established?.status, 'True', `${kind} is not Established`);
    assert.deepEqual(crd.spec.names.categories, ['token-renewer']);
    const served = crd.spec.versions.find((v) => v.name === version);
    assert.ok(
      served?.served && served.storage && served.subresources?.status,
      `${kind} ${version} not served`,
    );
    return { crd, columns: (served.additionalPrinterColumns ?? []).map((c) => [c.name, c.type, c.jsonPath]) };
  };

  test('TokenRequest is Established, namespaced, with Ready, Secret, Expires, Renews and Age columns', async () => {
    const { crd, columns: actual } = await columns(Kind.TokenRequest);
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.deepEqual(actual, [
      ['Ready', 'string', '.status.conditions[?(@.type=="Ready")].status'],
      ['Reason', 'string', '.status.conditions[?(@.type=="Ready")].reason'],
      ['Secret', 'string', '.status.secretName'],
      ['Expires', 'string', '.status.expirationTime'],
      ['Renews', 'string', '.status.renewalTime'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ]);
  });

  for (const [kind, scope] of [
    [Kind.TokenIssuer, 'Namespaced'],
    [Kind.ClusterTokenIssuer, 'Cluster'],
  ] as const) {
    test(`${kind} is Established, ${scope.toLowerCase()}, with Ready, Endpoint and Age columns`, async () => {
      const { crd, columns: actual } = await columns(kind);
      assert.equal(crd.spec.scope, scope);
      assert.deepEqual(actual, [
        ['Ready', 'string', '.status.conditions[?(@.type=="Ready")].status'],
        ['Reason', 'string', '.status.conditions[?(@.type=="Ready")].reason'],
        ['Endpoint', 'string', '.status.tokenEndpoint'],
        ['Age', 'date', '.metadata.creationTimestamp'],
      ]);
    });
  }
});

describe('TokenRequest validation', () => {
  const valid = { issuerRef: { name: 'corp-idp' } };

  test('renewBefore and renewBeforePercentage together are rejected', async () => {
    await assertRejected(
      tokenRequest({ ...valid, renewBefore: '10m', renewBeforePercentage: 33 }),
      'renewBefore and renewBeforePercentage are mutually exclusive: set at most one',
    );
  });

  test('a malformed duration is rejected with a readable message and nothing else', async () => {
    const message = await assertRejected(
      tokenRequest({ ...valid, renewBefore: '10x' }),
      'spec.renewBefore',
      'must be a duration such as 90s, 10m or 1h30m',
    );
    assert.doesNotMatch(message, /longer than 0s|evaluation|compil/);
  });

  test('a zero duration is rejected', async () => {
    await assertRejected(
      tokenRequest({ ...valid, renewBefore: '0s' }),
      'spec.renewBefore',
      'must be longer than 0s',
    );
  });

  test('a renewBeforePercentage of 0 or 100 is rejected', async () => {
    await assertRejected(
      tokenRequest({ ...valid, renewBeforePercentage: 0 }),
      'spec.renewBeforePercentage',
      'should be greater than or equal to 1',
    );
    await assertRejected(
      tokenRequest({ ...valid, renewBeforePercentage: 100 }),
      'spec.renewBeforePercentage',
      'should be less than or equal to 99',
    );
  });

  test('a missing issuerRef or issuerRef.name is rejected', async () => {
    await assertRejected(
      tokenRequest({ issuerRef: { kind: 'TokenIssuer' } }),
      'spec.issuerRef.name: Required value',
    );
    await assertRejected(tokenRequest({}), 'spec.issuerRef: Required value');
  });

  test('an unknown issuerRef.kind is rejected', async () => {
    await assertRejected(
      tokenRequest({ issuerRef: { kind: 'Issuer', name: 'x' } }),
      'spec.issuerRef.kind: Unsupported value: "Issuer"',
    );
  });

  test('a reserved or malformed template key is rejected', async () => {
    await assertRejected(
      tokenRequest({ ...valid, secret: { template: { token: '{{ token }}' } } }),
      'spec.secret.template',
      'template keys must not be token, token_type, expires_at or scope: the operator writes those',
    );
    await assertRejected(
      tokenRequest({ ...valid, secret: { template: { 'a/b': 'x' } } }),
      'spec.secret.template',
      'template keys must be valid Secret data keys',
    );
  });

  test("the operator's labels and annotations cannot be set on the Secret", async () => {
    await assertRejected(
      tokenRequest({ ...valid, secret: { labels: { 'app.kubernetes.io/managed-by': 'me' } } }),
      'labels must not set app.kubernetes.io/managed-by or token-renewer.io/token-request',
    );
    await assertRejected(
      tokenRequest({ ...valid, secret: { annotations: { 'token-renewer.io/expires-at': 'x' } } }),
      'annotations must not use the token-renewer.io/ prefix',
    );
  });

  test('an invalid Secret name, scope or resource indicator is rejected', async () => {
    await assertRejected(
      tokenRequest({ ...valid, secret: { name: 'Not_A_Name' } }),
      'spec.secret.name',
      'must be a valid object name',
    );
    for (const scope of ['two words', 'a"b', 'a\\b']) {
      await assertRejected(
        tokenRequest({ ...valid, scopes: ['ok', scope] }),
        'spec.scopes[1]',
        'must be a scope token',
      );
    }
    await dryRunCreate(
      tokenRequest({ ...valid, scopes: ['openid', 'api:read', 'https://api.example.com/.default'] }),
    );
    await assertRejected(
      tokenRequest({ ...valid, resource: ['/relative/path'] }),
      'spec.resource[0]',
      'must be an absolute URI without a fragment',
    );
    await assertRejected(
      tokenRequest({ ...valid, resource: ['https://api.example.com/#frag'] }),
      'must be an absolute URI without a fragment',
    );
  });

  test('valid durations and boundary percentages are accepted', async () => {
    for (const renewBefore of ['90s', '1h30m', '1.5h', '500ms'])
      await dryRunCreate(tokenRequest({ ...valid, renewBefore }));
    for (const renewBeforePercentage of [1, 99])
      await dryRunCreate(tokenRequest({ ...valid, renewBeforePercentage }));
  });

  test('issuerRef.kind and secret.deletionPolicy are defaulted', async () => {
    const created = (await objects.create(tokenRequest(valid))) as unknown as TokenRequest;
    assert.equal(created.spec.issuerRef.kind, 'TokenIssuer');
    assert.equal(created.spec.secret?.deletionPolicy, 'Delete');
  });

  test('the status the operator writes is accepted, including a null lastFailureTime', async () => {
    const created = await objects.create(tokenRequest(valid));
    const name = created.metadata?.name ?? '';
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status: TokenRequest['status'] = {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'TokenIssued',
          message: 'ok',
          lastTransitionTime: now,
          observedGeneration: 1,
        },
        { type: 'Renewing', status: 'False', reason: 'UpToDate', message: '', lastTransitionTime: now },
      ],
      observedGeneration: 1,
      secretName: name,
      tokenType: 'Bearer',
      grantedScopes: ['orders.read'],
      expirationTime: now,
      renewalTime: now,
      lastRenewalTime: now,
      failedAttempts: 0,
      lastFailureTime: null,
      lastFailureMessage: '',
    };
    const patched = (await kc
      .makeApiClient(CustomObjectsApi)
      .patchNamespacedCustomObjectStatus(
        { group, version, namespace, plural: Plural.TokenRequest, name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as TokenRequest;
    assert.deepEqual(
      patched.status?.conditions?.map((c) => c.type),
      ['Ready', 'Renewing'],
    );
    assert.equal(patched.status?.secretName, name);
  });
});

describe('TokenIssuer and ClusterTokenIssuer validation', () => {
  const both = [
    ['TokenIssuer', (spec: Spec) => tokenIssuer(spec)],
    ['ClusterTokenIssuer', (spec: Spec) => clusterTokenIssuer({ ...allowAll, ...spec })],
  ] as const;

  for (const [kind, make] of both) {
    test(`${kind}: neither or both of issuerURL and tokenEndpoint are rejected`, async () => {
      const { tokenEndpoint: _, ...neither } = issuerSpec;
      await assertRejected(make(neither), 'exactly one of issuerURL and tokenEndpoint must be set');
      await assertRejected(
        make({ ...issuerSpec, issuerURL: 'https://idp.example.com' }),
        'exactly one of issuerURL and tokenEndpoint must be set',
      );
    });

    test(`${kind}: a non-http URL is rejected`, async () => {
      await assertRejected(
        make({ ...issuerSpec, tokenEndpoint: 'ftp://idp.example.com/token' }),
        'spec.tokenEndpoint',
        'must be an http or https URL',
      );
    });

    test(`${kind}: an unknown clientAuth.method is rejected`, async () => {
      await assertRejected(
        make({ ...issuerSpec, clientAuth: { method: 'client_secret_jwt' } }),
        'spec.clientAuth.method: Unsupported value: "client_secret_jwt"',
      );
    });

    test(`${kind}: client_secret_basic without clientSecretRef is rejected, explicit or defaulted`, async () => {
      const message = 'clientSecretRef is required when method is client_secret_basic or client_secret_post';
      await assertRejected(make({ ...issuerSpec, clientAuth: { method: 'client_secret_basic' } }), message);
      const { clientAuth: _, ...withoutClientAuth } = issuerSpec;
      await assertRejected(make(withoutClientAuth), 'spec.clientAuth', message);
    });
  }

  test('private_key_jwt and tls_client_auth need their Secret references', async () => {
    await assertRejected(
      tokenIssuer({ ...issuerSpec, clientAuth: { method: 'private_key_jwt' } }),
      'privateKeyRef is required when method is private_key_jwt',
    );
    await assertRejected(
      tokenIssuer({ ...issuerSpec, clientAuth: { method: 'tls_client_auth' } }),
      'clientCertificateRef is required when method is tls_client_auth',
    );
  });

  test('a symmetric JWS algorithm for private_key_jwt is rejected', async () => {
    await assertRejected(
      tokenIssuer({
        ...issuerSpec,
        clientAuth: { method: 'private_key_jwt', privateKeyRef: { name: 'k', alg: 'HS256' } },
      }),
      'spec.clientAuth.privateKeyRef.alg: Unsupported value: "HS256"',
    );
  });

  test('caBundle and caSecretRef together are rejected', async () => {
    await assertRejected(
      tokenIssuer({
        ...issuerSpec,
        caBundle: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        caSecretRef: { name: 'ca' },
      }),
      'caBundle and caSecretRef are mutually exclusive: set at most one',
    );
  });

  test('a malformed timeout is rejected', async () => {
    await assertRejected(
      tokenIssuer({ ...issuerSpec, timeout: '10x' }),
      'spec.timeout',
      'must be a duration such as 90s, 10m or 1h30m',
    );
  });

  test('a timeout above 60s is rejected', async () => {
    await assertRejected(
      tokenIssuer({ ...issuerSpec, timeout: '1h' }),
      'spec.timeout',
      'must be at most 60s',
    );
  });

  test('a ClusterTokenIssuer without allowedNamespaces, or with an empty one, is rejected', async () => {
    await assertRejected(clusterTokenIssuer(issuerSpec), 'spec.allowedNamespaces: Required value');
    await assertRejected(
      clusterTokenIssuer({ ...issuerSpec, allowedNamespaces: {} }),
      'allowedNamespaces must set names, selector or both',
    );
  });

  test('a namespace selector requirement without values is rejected', async () => {
    await assertRejected(
      clusterTokenIssuer({
        ...issuerSpec,
        allowedNamespaces: { selector: { matchExpressions: [{ key: 'team', operator: 'In' }] } },
      }),
      'values must be non-empty for In and NotIn',
    );
  });

  test('clientAuth.method, Secret keys, timeout and defaultTokenLifetime are defaulted', async () => {
    const issuer = (await objects.create(tokenIssuer(issuerSpec))) as unknown as TokenIssuer;
    assert.equal(issuer.spec.clientAuth?.method, 'client_secret_basic');
    assert.equal(issuer.spec.clientAuth?.clientSecretRef?.key, 'client-secret');
    assert.equal(issuer.spec.timeout, '10s');
    assert.equal(issuer.spec.defaultTokenLifetime, '5m');

    const jwt = (await dryRunCreate(
      tokenIssuer({
        ...issuerSpec,
        clientAuth: { method: 'private_key_jwt', privateKeyRef: { name: 'key' } },
        caSecretRef: { name: 'ca' },
      }),
    )) as unknown as TokenIssuer;
    assert.equal(jwt.spec.clientAuth?.privateKeyRef?.key, 'tls.key');
    assert.equal(jwt.spec.caSecretRef?.key, 'ca.crt');

    const cluster = (await dryRunCreate(
      clusterTokenIssuer({ ...allowAll, ...issuerSpec }),
    )) as unknown as ClusterTokenIssuer;
    assert.equal(cluster.spec.clientAuth?.method, 'client_secret_basic');
    assert.equal(cluster.spec.timeout, '10s');
    assert.deepEqual(cluster.spec.allowedNamespaces, { selector: {} });
  });
});

describe('examples', async () => {
  const files = (await readdir(examplesDir)).filter((file) => /\.ya?ml$/.test(file)).sort();
  const clusterScoped: KubernetesObject[] = [];

  after(async () => {
    for (const object of clusterScoped) await objects.delete(object);
  });

  test('there are examples', () => assert.ok(files.length >= 5, `only ${files.length} files in examples/`));

  for (const file of files) {
    test(`examples/${file} is accepted`, async () => {
      const text = await readFile(join(examplesDir, file), 'utf8');
      for (const document of parseAllDocuments(text)) {
        assert.deepEqual(document.errors, [], `${file} is not valid YAML`);
        const object = document.toJS() as KubernetesObject;
        const metadata = { ...object.metadata };
        if (object.kind === Kind.ClusterTokenIssuer) {
          // Cluster-scoped: a unique name keeps reruns against one cluster independent.
          metadata.name = `${metadata.name}-${suffix()}`;
        } else {
          metadata.namespace = namespace;
        }
        const created = await objects.create({ ...object, metadata });
        if (object.kind === Kind.ClusterTokenIssuer) clusterScoped.push(created);
        assert.ok(created.metadata?.uid, `${file}: ${object.kind} ${metadata.name} was not created`);
      }
    });
  }
});
