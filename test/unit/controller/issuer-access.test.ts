import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterTokenIssuer, TokenIssuer, TokenRequest } from '../../../src/api/index.ts';
import { issuerKeyOf, resolveIssuer } from '../../../src/controller/issuer-access.ts';
import { matchesLabelSelector } from '../../../src/kube/label-selector.ts';

const tokenRequest = (issuerRef: TokenRequest['spec']['issuerRef'], namespace = 'shop'): TokenRequest => ({
  apiVersion: 'token-renewer.io/v1alpha1',
  kind: 'TokenRequest',
  metadata: { name: 'orders', namespace },
  spec: { issuerRef },
});
const tokenIssuer: TokenIssuer = {
  apiVersion: 'token-renewer.io/v1alpha1',
  kind: 'TokenIssuer',
  metadata: { name: 'idp', namespace: 'shop' },
  spec: { tokenEndpoint: 'https://idp.example/token', clientID: 'c' },
};
const clusterIssuer = (
  allowedNamespaces: ClusterTokenIssuer['spec']['allowedNamespaces'],
): ClusterTokenIssuer => ({
  apiVersion: 'token-renewer.io/v1alpha1',
  kind: 'ClusterTokenIssuer',
  metadata: { name: 'corp' },
  spec: { tokenEndpoint: 'https://idp.example/token', clientID: 'c', allowedNamespaces },
});
const lookup = (cluster?: ClusterTokenIssuer, labels: Record<string, string> = {}) => ({
  tokenIssuer: (ns: string, name: string) => (ns === 'shop' && name === 'idp' ? tokenIssuer : undefined),
  clusterTokenIssuer: (name: string) => (name === cluster?.metadata.name ? cluster : undefined),
  namespaceLabels: () => labels,
});

describe('resolveIssuer', () => {
  it('finds a TokenIssuer in the TokenRequest namespace', () => {
    const access = resolveIssuer(tokenRequest({ name: 'idp' }), lookup());
    assert.ok(access.ok);
    assert.equal(access.key, 'TokenIssuer/shop/idp');
  });

  it('never looks in another namespace for a TokenIssuer', () => {
    const access = resolveIssuer(tokenRequest({ name: 'idp' }, 'billing'), lookup());
    assert.equal(access.ok, false);
    assert.deepEqual(access.ok ? undefined : [access.reason, access.message], [
      'IssuerNotFound',
      'TokenIssuer idp not found in namespace billing',
    ]);
  });

  it('refuses a ClusterTokenIssuer that does not allow the namespace', () => {
    const access = resolveIssuer(
      tokenRequest({ kind: 'ClusterTokenIssuer', name: 'corp' }),
      lookup(clusterIssuer({ names: ['billing'] })),
    );
    assert.equal(access.ok ? undefined : access.reason, 'NamespaceNotAllowed');
    assert.match(access.ok ? '' : access.message, /does not allow namespace shop/);
  });

  it('accepts a ClusterTokenIssuer allowing the namespace by name or by selector', () => {
    const byName = lookup(clusterIssuer({ names: ['shop'] }));
    assert.ok(resolveIssuer(tokenRequest({ kind: 'ClusterTokenIssuer', name: 'corp' }), byName).ok);
    const bySelector = lookup(clusterIssuer({ selector: { matchLabels: { team: 'shop' } } }), {
      team: 'shop',
    });
    assert.ok(resolveIssuer(tokenRequest({ kind: 'ClusterTokenIssuer', name: 'corp' }), bySelector).ok);
  });

  it('keys issuers by kind, namespace and name', () => {
    assert.equal(
      issuerKeyOf(tokenRequest({ kind: 'ClusterTokenIssuer', name: 'corp' })),
      'ClusterTokenIssuer/corp',
    );
    assert.equal(issuerKeyOf(tokenRequest({ name: 'idp' })), 'TokenIssuer/shop/idp');
  });
});

describe('matchesLabelSelector', () => {
  const labels = { team: 'shop', tier: 'prod' };
  const cases: [string, Parameters<typeof matchesLabelSelector>[1], boolean][] = [
    ['an empty selector matches everything', {}, true],
    ['matchLabels that agree', { matchLabels: { team: 'shop' } }, true],
    ['matchLabels that differ', { matchLabels: { team: 'billing' } }, false],
    [
      'In with the value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['prod', 'staging'] }] },
      true,
    ],
    ['In without the label', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    [
      'NotIn with the value',
      { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['prod'] }] },
      false,
    ],
    [
      'NotIn without the label',
      { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
      true,
    ],
    ['Exists', { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, false],
    [
      'labels and expressions are ANDed',
      { matchLabels: { team: 'shop' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['dev'] }] },
      false,
    ],
  ];
  for (const [what, selector, expected] of cases) {
    it(what, () => assert.equal(matchesLabelSelector(labels, selector), expected));
  }
});
