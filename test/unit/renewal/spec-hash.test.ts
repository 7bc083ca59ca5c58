import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TokenRequestSpec } from '../../../src/api/generated/types.ts';
import { dataHash, type IssuerHashInput, issuerHash, specHash } from '../../../src/renewal/spec-hash.ts';

const spec: TokenRequestSpec = {
  issuerRef: { kind: 'TokenIssuer', name: 'corp-idp' },
  scopes: ['orders.read', 'orders.write'],
  audience: ['https://orders.example.com'],
  resource: ['https://orders.example.com/'],
  renewBefore: '10m',
};

describe('specHash', () => {
  const same: { name: string; other: TokenRequestSpec }[] = [
    { name: 'scope order does not matter', other: { ...spec, scopes: ['orders.write', 'orders.read'] } },
    {
      name: 'duplicate scopes do not matter',
      other: { ...spec, scopes: ['orders.read', 'orders.write', 'orders.read'] },
    },
    {
      name: 'audience and resource order does not matter',
      other: { ...spec, audience: ['https://orders.example.com'], resource: ['https://orders.example.com/'] },
    },
    {
      name: 'an omitted issuer kind is the default TokenIssuer',
      other: { ...spec, issuerRef: { name: 'corp-idp' } },
    },
    { name: 'renewBefore is compared as a duration', other: { ...spec, renewBefore: '600s' } },
    {
      name: 'the Secret name, labels, annotations, template and deletionPolicy do not matter',
      other: {
        ...spec,
        secret: {
          name: 'other',
          labels: { team: 'a' },
          annotations: { note: 'b' },
          template: { 'config.json': '{{ token }}' },
          deletionPolicy: 'Retain',
        },
      },
    },
  ];
  for (const c of same) {
    test(`${c.name}: the hash is the same`, () => assert.equal(specHash(c.other), specHash(spec)));
  }

  const different: { name: string; other: TokenRequestSpec }[] = [
    { name: 'a different scope', other: { ...spec, scopes: ['orders.read'] } },
    {
      name: 'a different issuer name',
      other: { ...spec, issuerRef: { kind: 'TokenIssuer', name: 'other' } },
    },
    {
      name: 'a ClusterTokenIssuer of the same name',
      other: { ...spec, issuerRef: { kind: 'ClusterTokenIssuer', name: 'corp-idp' } },
    },
    { name: 'a different audience', other: { ...spec, audience: ['https://other.example.com'] } },
    { name: 'no audience', other: { ...spec, audience: undefined } },
    { name: 'a different resource', other: { ...spec, resource: ['https://other.example.com/'] } },
    { name: 'a different renewBefore', other: { ...spec, renewBefore: '20m' } },
    {
      name: 'a percentage instead of renewBefore',
      other: { ...spec, renewBefore: undefined, renewBeforePercentage: 33 },
    },
  ];
  for (const c of different) {
    test(`${c.name} changes the hash`, () => assert.notEqual(specHash(c.other), specHash(spec)));
  }

  test('an unparseable renewBefore is hashed as written instead of throwing', () => {
    assert.notEqual(specHash({ ...spec, renewBefore: 'soon' }), specHash({ ...spec, renewBefore: 'later' }));
  });

  test('no scopes and an empty scope list are the same', () => {
    assert.equal(specHash({ ...spec, scopes: undefined }), specHash({ ...spec, scopes: [] }));
  });

  test('the hash is versioned hex sha256', () => assert.match(specHash(spec), /^v1:[0-9a-f]{64}$/));
});

describe('issuerHash', () => {
  const issuer: IssuerHashInput = {
    kind: 'TokenIssuer',
    name: 'corp-idp',
    tokenEndpoint: 'https://idp.example.com/token',
    clientID: 'orders',
    authMethod: 'client_secret_basic',
    credentialVersions: ['uid-1/100', 'uid-2/7'],
  };
  test('credential versions are compared as a set', () => {
    assert.equal(issuerHash({ ...issuer, credentialVersions: ['uid-2/7', 'uid-1/100'] }), issuerHash(issuer));
  });
  const different: { name: string; other: IssuerHashInput }[] = [
    {
      name: 'a rotated client secret (new resourceVersion)',
      other: { ...issuer, credentialVersions: ['uid-1/101', 'uid-2/7'] },
    },
    {
      name: 'a different token endpoint',
      other: { ...issuer, tokenEndpoint: 'https://idp2.example.com/token' },
    },
    { name: 'a different client', other: { ...issuer, clientID: 'billing' } },
    { name: 'a different authentication method', other: { ...issuer, authMethod: 'private_key_jwt' } },
    { name: 'a ClusterTokenIssuer of the same name', other: { ...issuer, kind: 'ClusterTokenIssuer' } },
  ];
  for (const c of different) {
    test(`${c.name} changes the fingerprint`, () => assert.notEqual(issuerHash(c.other), issuerHash(issuer)));
  }
});

describe('dataHash', () => {
  const data = { token: 'dG9rZW4=', token_type: 'QmVhcmVy' };
  test('key order does not matter', () => {
    assert.equal(dataHash({ token_type: 'QmVhcmVy', token: 'dG9rZW4=' }), dataHash(data));
  });
  test('undefined values are ignored', () =>
    assert.equal(dataHash({ ...data, extra: undefined }), dataHash(data)));
  test('no data and empty data hash the same', () => assert.equal(dataHash(undefined), dataHash({})));
  test('a changed value changes the hash', () =>
    assert.notEqual(dataHash({ ...data, token: 'eA==' }), dataHash(data)));
  test('an added key changes the hash', () =>
    assert.notEqual(dataHash({ ...data, extra: '' }), dataHash(data)));
  test('keys and values cannot be shifted into each other', () => {
    assert.notEqual(dataHash({ ab: 'c' }), dataHash({ a: 'bc' }));
  });
});
