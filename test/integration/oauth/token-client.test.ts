// The OAuth client against the real test authorization server (oidc-provider): every client
// authentication method, via discovery and via an explicit token endpoint, and the request
// parameters. Faults are in faults.test.ts, malformed responses in malformed-responses.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import {
  buildConfiguration,
  closeConfiguration,
  createIssuerConfigCache,
  credentialsFingerprint,
  requestToken,
  TokenRequestError,
} from '../../../src/oauth/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.ts';
import { freePort } from '../../support/net.ts';
import { type Endpoint, issuerFor, METHODS, type Method, now, tokenEndpointAt } from './issuers.ts';

const TTL = 90;
let server: AuthServer;
let proxy: FaultProxy;

before(async () => {
  server = await startAuthServer({ tokenTTLSeconds: TTL });
  proxy = await startFaultProxy(server.issuer);
});
after(async () => {
  await proxy.close();
  await server.close();
});

async function tokenFor(method: Method, endpoint: Endpoint, params = {}) {
  const config = await buildConfiguration(issuerFor(server, method, endpoint));
  try {
    return await requestToken(config, { scopes: ['orders.read'], now, ...params });
  } finally {
    await closeConfiguration(config);
  }
}

describe('requestToken: a token for every client authentication method', { timeout: 20_000 }, () => {
  const endpoints: [string, () => Endpoint][] = [
    ['discovery', () => ({ issuerURL: server.issuerIdentifier })],
    ['an explicit token endpoint', () => ({ tokenEndpoint: server.tokenEndpoint.href })],
    // The private_key_jwt assertion's `aud` is then the proxy's endpoint URL, which the server accepts.
    ['an explicit endpoint behind a proxy', () => ({ tokenEndpoint: tokenEndpointAt(server, proxy.url) })],
  ];
  for (const method of METHODS) {
    for (const [via, endpoint] of endpoints) {
      it(`${method} via ${via}`, async () => {
        const { clientId } = server.clients[method];
        const requestsBefore = server.tokenRequests(clientId);
        const token = await tokenFor(method, endpoint());
        const receivedAt = Date.now();

        assert.equal(server.tokenRequests(clientId), requestsBefore + 1);
        assert.equal(token.tokenType, 'Bearer');
        assert.deepEqual(token.grantedScopes, ['orders.read']);
        assert.equal(token.expiresInSeconds, TTL);
        const { jwtIatSeconds: iat = Number.NaN, jwtExpSeconds: exp = Number.NaN } = token;
        assert.equal(exp - iat, TTL);
        // Taken before the request left: never later than the server's issue time.
        assert.ok(Math.floor(token.requestStartedAt.getTime() / 1000) <= iat, 'requestStartedAt after iat');
        assert.ok(iat <= receivedAt / 1000);
        const { payload } = await jwtVerify(token.accessToken, createRemoteJWKSet(server.jwksUri), {
          issuer: server.issuerIdentifier,
        });
        assert.equal(payload.client_id, clientId);
      });
    }
  }

  it('private_key_jwt with an explicit alg', async () => {
    const issuer = issuerFor(server, 'privateKeyJwt', { tokenEndpoint: server.tokenEndpoint.href });
    const config = await buildConfiguration({
      ...issuer,
      auth: { ...issuer.auth, alg: 'ES256' } as typeof issuer.auth,
    });
    const token = await requestToken(config, { now }).finally(() => closeConfiguration(config));
    assert.equal(decodeJwt(token.accessToken).client_id, server.clients.privateKeyJwt.clientId);
  });
});

describe('requestToken: request parameters', { timeout: 10_000 }, () => {
  const viaDiscovery = () => ({ issuerURL: server.issuerIdentifier });

  it('sends all scopes space-separated and reports what was granted', async () => {
    const token = await tokenFor('basic', viaDiscovery(), { scopes: ['orders.read', 'orders.write'] });
    assert.deepEqual(token.grantedScopes, ['orders.read', 'orders.write']);
  });

  it('sends audience', async () => {
    const token = await tokenFor('basic', viaDiscovery(), { audience: ['https://orders.example.com'] });
    assert.equal(decodeJwt(token.accessToken).aud, 'https://orders.example.com');
  });

  it('sends resource indicators (RFC 8707)', async () => {
    const token = await tokenFor('post', viaDiscovery(), { resource: ['https://orders.test/'] });
    assert.equal(decodeJwt(token.accessToken).aud, 'https://orders.test/');
  });

  it('repeats resource parameters; the server refuses two for this grant, not retryable', async () => {
    const resource = ['https://orders.test/', 'https://billing.test/'];
    await assert.rejects(tokenFor('post', viaDiscovery(), { resource }), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError, String(err));
      assert.deepEqual([err.code, err.oauthError, err.retryable], ['oauth_error', 'invalid_target', false]);
      return true;
    });
  });
});

describe('requestToken: rejected credentials', { timeout: 10_000 }, () => {
  for (const method of ['basic', 'post'] as const) {
    it(`a wrong ${method} secret is invalid_client, not retryable, and never named`, async () => {
      const wrong = 'wrong-secret-0123456789';
      const issuer = issuerFor(server, method, { issuerURL: server.issuerIdentifier });
      const config = await buildConfiguration({
        ...issuer,
        auth: { ...issuer.auth, clientSecret: wrong } as typeof issuer.auth,
      });
      await assert.rejects(
        requestToken(config, { now }).finally(() => closeConfiguration(config)),
        (err: unknown) => {
          assert.ok(err instanceof TokenRequestError, String(err));
          assert.deepEqual(
            [err.code, err.oauthError, err.httpStatus, err.retryable],
            ['oauth_error', 'invalid_client', 401, false],
          );
          assert.ok(
            !err.message.includes(wrong) && !err.message.includes(server.clients[method].clientSecret),
          );
          return true;
        },
      );
    });
  }
});

describe('buildConfiguration: discovery failures', { timeout: 10_000 }, () => {
  it('an issuer without metadata (404 under both well-known paths) is not retryable', async () => {
    const issuer = issuerFor(server, 'basic', { issuerURL: `${server.issuerIdentifier}/no-such-realm` });
    await assert.rejects(buildConfiguration(issuer), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError, String(err));
      assert.deepEqual([err.code, err.httpStatus, err.retryable], ['discovery_failed', 404, false]);
      assert.match(err.message, /^issuer discovery failed: HTTP 404/);
      return true;
    });
  });

  it('an unreachable issuer is retryable', async () => {
    const issuer = issuerFor(server, 'basic', { issuerURL: `http://127.0.0.1:${await freePort()}` });
    await assert.rejects(buildConfiguration(issuer), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError, String(err));
      assert.deepEqual([err.code, err.retryable, err.causeCode], ['discovery_failed', true, 'ECONNREFUSED']);
      return true;
    });
  });
});

describe('IssuerConfigCache with real configurations', { timeout: 10_000 }, () => {
  it('reuses a discovered configuration until the credentials change', async () => {
    const cache = createIssuerConfigCache();
    const issuer = issuerFor(server, 'basic', { issuerURL: server.issuerIdentifier });
    const build = () => buildConfiguration(issuer);
    try {
      const first = await cache.get('TokenIssuer/shop/idp', credentialsFingerprint(issuer), build);
      assert.equal(
        await cache.get('TokenIssuer/shop/idp', credentialsFingerprint({ ...issuer }), build),
        first,
      );
      const rotated = {
        ...issuer,
        auth: { method: 'client_secret_basic' as const, clientSecret: 'rotated' },
      };
      const second = await cache.get('TokenIssuer/shop/idp', credentialsFingerprint(rotated), () =>
        buildConfiguration(rotated),
      );
      assert.notEqual(second, first);
      await requestToken(first, { now }).then(
        () => assert.fail('a replaced configuration is closed'),
        (err: unknown) => assert.ok(err instanceof TokenRequestError && err.code === 'network', String(err)),
      );
    } finally {
      await cache.clear();
    }
  });
});
