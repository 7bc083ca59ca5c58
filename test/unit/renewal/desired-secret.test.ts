import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import type { TokenRequestSecret } from '../../../src/api/generated/types.ts';
import { type DesiredSecretInput, desiredSecret } from '../../../src/renewal/desired-secret.ts';
import { currentToken, tokenFacts } from '../../../src/renewal/secret-state.ts';
import { dataHash } from '../../../src/renewal/spec-hash.ts';
import { at, decode, HOUR, ISSUER_HASH, issued, SPEC_HASH, tokenRequest } from './fixtures.ts';

function build(overrides: Partial<DesiredSecretInput> = {}, secret: TokenRequestSecret = {}): V1Secret {
  const result = desiredSecret({
    tokenRequest: tokenRequest(secret),
    token: issued,
    specHash: SPEC_HASH,
    issuerHash: ISSUER_HASH,
    ...overrides,
  });
  if (!result.ok) throw new Error(result.message);
  return result.secret;
}

const plain = (secret: V1Secret): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, decode(value)]));

describe('desiredSecret', () => {
  test('the token keys are written base64-encoded in data, not stringData', () => {
    const secret = build();
    assert.equal(secret.type, 'Opaque');
    assert.equal(secret.stringData, undefined);
    assert.equal(secret.data?.token, Buffer.from(issued.accessToken).toString('base64'));
    assert.deepEqual(plain(secret), {
      token: issued.accessToken,
      token_type: 'Bearer',
      expires_at: '2026-12-04T16:00:00Z',
      scope: 'orders.read',
    });
  });

  test('expires_at is RFC 3339 with whole seconds, rounded down', () => {
    const secret = build({ token: { ...issued, expiresAt: at(HOUR + 999) } });
    assert.equal(plain(secret).expires_at, '2026-12-04T16:00:00Z');
  });

  const scopes: { name: string; grantedScopes: string[] | undefined; scope: string | undefined }[] = [
    { name: 'several granted scopes are space-separated', grantedScopes: ['a', 'b'], scope: 'a b' },
    { name: 'no granted scopes means no scope key', grantedScopes: undefined, scope: undefined },
    { name: 'an empty grant means no scope key', grantedScopes: [], scope: undefined },
  ];
  for (const c of scopes) {
    test(c.name, () => {
      const secret = build({ token: { ...issued, grantedScopes: c.grantedScopes } });
      assert.equal(plain(secret).scope, c.scope);
    });
  }

  test('template keys are rendered next to the token keys', () => {
    const secret = build(
      {},
      {
        template: {
          'config.json': '{"bearer":"{{ token }}","type":"{{token_type}}"}',
          'expiry.txt': '{{ expires_at }} {{ scope }}',
        },
      },
    );
    assert.equal(plain(secret)['config.json'], `{"bearer":"${issued.accessToken}","type":"Bearer"}`);
    assert.equal(plain(secret)['expiry.txt'], '2026-12-04T16:00:00Z orders.read');
  });

  test('the {{ scope }} placeholder is empty when no scope was granted', () => {
    const secret = build(
      { token: { ...issued, grantedScopes: undefined } },
      { template: { s: '[{{ scope }}]' } },
    );
    assert.equal(plain(secret).s, '[]');
  });

  const invalid: {
    name: string;
    input: Partial<DesiredSecretInput>;
    secret?: TokenRequestSecret;
    reason: string;
    message: RegExp;
  }[] = [
    {
      name: 'an unknown placeholder is an error naming the key',
      input: {},
      secret: { template: { 'config.json': '{{ client_secret }}' } },
      reason: 'InvalidTemplate',
      message: /template key "config.json": unknown placeholder \{\{ client_secret \}\}/,
    },
    {
      name: 'a template key may not replace the token',
      input: {},
      secret: { template: { token: 'x' } },
      reason: 'InvalidTemplate',
      message: /template key "token" is not allowed/,
    },
    {
      name: 'a template key must be a valid Secret data key',
      input: {},
      secret: { template: { 'a/b': 'x' } },
      reason: 'InvalidTemplate',
      message: /template key "a\/b" is not allowed/,
    },
    {
      name: 'a template key of two dots is rejected like the API server does',
      input: {},
      secret: { template: { '..': 'x' } },
      reason: 'InvalidTemplate',
      message: /template key "\.\." is not allowed/,
    },
    {
      name: 'a TokenRequest without a uid is rejected',
      input: { tokenRequest: { metadata: { name: 'a', namespace: 'b' }, spec: {} } },
      reason: 'InvalidTokenRequest',
      message: /no name, namespace or uid/,
    },
    {
      name: 'a TokenRequest name too long for a label value is rejected',
      input: { tokenRequest: { metadata: { name: 'x'.repeat(64), namespace: 'b', uid: 'u' }, spec: {} } },
      reason: 'InvalidTokenRequest',
      message: /longer than 63 characters/,
    },
    {
      name: 'an empty access token is never written',
      input: { token: { ...issued, accessToken: '' } },
      reason: 'InvalidToken',
      message: /empty/,
    },
  ];
  for (const c of invalid) {
    test(c.name, () => {
      const result = desiredSecret({
        tokenRequest: tokenRequest(c.secret),
        token: issued,
        specHash: SPEC_HASH,
        issuerHash: ISSUER_HASH,
        ...c.input,
      });
      assert.ok(!result.ok);
      assert.equal(result.reason, c.reason);
      assert.match(result.message, c.message);
      assert.doesNotMatch(result.message, /eyJhbGciOi/);
    });
  }

  test('the Secret is named after the TokenRequest by default', () => {
    assert.equal(build().metadata?.name, 'orders-api');
    assert.equal(build().metadata?.namespace, 'shop');
  });

  test('spec.secret.name names the Secret', () => {
    assert.equal(build({}, { name: 'orders-api-token' }).metadata?.name, 'orders-api-token');
  });

  test('user labels are merged and cannot override the managed labels', () => {
    const secret = build(
      {},
      {
        labels: {
          team: 'shop',
          'app.kubernetes.io/managed-by': 'helm',
          'token-renewer.io/token-request': 'other',
          dropped: undefined,
        },
      },
    );
    assert.deepEqual(secret.metadata?.labels, {
      team: 'shop',
      'app.kubernetes.io/managed-by': 'token-renewer',
      'token-renewer.io/token-request': 'orders-api',
    });
  });

  test('user annotations are merged and ours win', () => {
    const secret = build({}, { annotations: { note: 'hi', 'token-renewer.io/expires-at': 'never' } });
    assert.deepEqual(secret.metadata?.annotations, {
      note: 'hi',
      'token-renewer.io/expires-at': '2026-12-04T16:00:00Z',
      'token-renewer.io/renew-at': '2026-12-04T15:40:00Z',
      'token-renewer.io/spec-hash': SPEC_HASH,
      'token-renewer.io/issuer-hash': ISSUER_HASH,
      'token-renewer.io/data-hash': dataHash(secret.data),
    });
  });

  test('the handled renew-requested-at value is recorded when set', () => {
    const secret = build({ renewRequestedAt: '2026-12-04T14:00:00Z' });
    assert.equal(
      secret.metadata?.annotations?.['token-renewer.io/renew-requested-at'],
      '2026-12-04T14:00:00Z',
    );
  });

  const owners: { name: string; deletionPolicy: TokenRequestSecret['deletionPolicy']; owned: boolean }[] = [
    { name: 'deletionPolicy Delete adds a controller ownerReference', deletionPolicy: 'Delete', owned: true },
    {
      name: 'an unset deletionPolicy defaults to Delete like the CRD',
      deletionPolicy: undefined,
      owned: true,
    },
    { name: 'deletionPolicy Retain adds no ownerReference', deletionPolicy: 'Retain', owned: false },
  ];
  for (const c of owners) {
    test(c.name, () => {
      const refs = build({}, { deletionPolicy: c.deletionPolicy }).metadata?.ownerReferences;
      if (!c.owned) return assert.equal(refs, undefined);
      assert.deepEqual(refs, [
        {
          apiVersion: 'token-renewer.io/v1alpha1',
          kind: 'TokenRequest',
          name: 'orders-api',
          uid: 'uid-orders',
          controller: true,
          blockOwnerDeletion: false,
        },
      ]);
    });
  }

  test('the same input gives the same Secret', () => assert.deepEqual(build(), build()));
});

describe('currentToken', () => {
  test('the token is read back from a Secret we wrote', () => {
    assert.deepEqual(currentToken(build()), {
      accessToken: issued.accessToken,
      tokenType: 'Bearer',
      expiresAt: at(HOUR),
      renewAt: issued.renewAt,
      grantedScopes: ['orders.read'],
    });
  });

  test('the token facts for the status leave the token out', () => {
    const facts = tokenFacts(build());
    assert.ok(facts);
    assert.equal('accessToken' in facts, false);
    assert.deepEqual(facts, {
      tokenType: 'Bearer',
      expiresAt: at(HOUR),
      renewAt: issued.renewAt,
      grantedScopes: ['orders.read'],
    });
  });

  test('a Secret without a scope key gives no granted scopes', () => {
    assert.equal(
      currentToken(build({ token: { ...issued, grantedScopes: undefined } }))?.grantedScopes,
      undefined,
    );
  });

  const unusable: { name: string; edit: (secret: V1Secret) => void }[] = [
    {
      name: 'a Secret not managed by us',
      edit: (s) => delete s.metadata?.labels?.['app.kubernetes.io/managed-by'],
    },
    { name: 'a Secret without the token key', edit: (s) => delete s.data?.token },
    { name: 'a Secret with an empty token', edit: (s) => Object.assign(s.data ?? {}, { token: '' }) },
    {
      name: 'a Secret without the expires-at annotation',
      edit: (s) => delete s.metadata?.annotations?.['token-renewer.io/expires-at'],
    },
  ];
  for (const c of unusable) {
    test(`${c.name} gives no current token`, () => {
      const secret = build();
      c.edit(secret);
      assert.equal(currentToken(secret), undefined);
    });
  }
});
