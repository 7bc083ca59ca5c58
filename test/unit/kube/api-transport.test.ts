import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRequest } from '../../../src/kube/api-transport.ts';

describe('describeRequest', () => {
  const base = 'https://127.0.0.1:6443';
  const cases: [string, string, string, string][] = [
    ['GET', '/api/v1/namespaces/ns/secrets', 'list', 'secrets'],
    ['GET', '/api/v1/namespaces/ns/secrets?labelSelector=a%3Db&limit=500', 'list', 'secrets'],
    ['GET', '/api/v1/namespaces/ns/secrets/s1', 'get', 'secrets'],
    ['GET', '/api/v1/namespaces/ns/secrets?watch=true', 'watch', 'secrets'],
    ['PUT', '/api/v1/namespaces/ns/secrets/s1', 'update', 'secrets'],
    ['POST', '/api/v1/namespaces/ns/events', 'create', 'events'],
    ['DELETE', '/api/v1/namespaces/ns/secrets/s1', 'delete', 'secrets'],
    ['DELETE', '/api/v1/namespaces/ns/secrets', 'deletecollection', 'secrets'],
    ['GET', '/api/v1/namespaces', 'list', 'namespaces'],
    ['GET', '/api/v1/namespaces/ns', 'get', 'namespaces'],
    ['PUT', '/api/v1/namespaces/ns/status', 'update', 'namespaces/status'],
    [
      'PUT',
      '/apis/token-renewer.io/v1alpha1/namespaces/ns/tokenrequests/tr/status',
      'update',
      'tokenrequests/status',
    ],
    ['PATCH', '/apis/token-renewer.io/v1alpha1/namespaces/ns/tokenrequests/tr', 'patch', 'tokenrequests'],
    ['GET', '/apis/token-renewer.io/v1alpha1/clustertokenissuers/c', 'get', 'clustertokenissuers'],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l', 'update', 'leases'],
  ];
  for (const [method, path, verb, resource] of cases) {
    it(`${method} ${path} is ${verb} ${resource}`, () => {
      assert.deepEqual(describeRequest(method, `${base}${path}`), { verb, resource });
    });
  }

  it('names anything outside the resource paths `other`', () => {
    assert.deepEqual(describeRequest('GET', `${base}/version`), { verb: 'list', resource: 'other' });
  });
});
