// The test authorization server and fault proxy, exercised by the same real clients the operator
// uses (openid-client, jose), so later tests can trust what they see through them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, importPKCS8, errors as joseErrors, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { type AuthServer, startAuthServer } from '../support/auth-server.ts';
import { type Fault, type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';

type Method = 'basic' | 'post' | 'privateKeyJwt' | 'none';
const METHODS: readonly Method[] = ['basic', 'post', 'privateKeyJwt', 'none'];

let server: AuthServer;
let jwks: ReturnType<typeof createRemoteJWKSet>;
let metadata: client.ServerMetadata;

before(async () => {
  server = await startAuthServer();
  jwks = createRemoteJWKSet(server.jwksUri);
  // Discovery once, straight from the server; every other configuration is built from its result.
  const discovered = await client.discovery(
    server.issuer,
    server.clients.basic.clientId,
    undefined,
    undefined,
    {
      execute: [client.allowInsecureRequests],
    },
  );
  metadata = discovered.serverMetadata();
});

after(() => server.close());

async function clientAuth(method: Method): Promise<client.ClientAuth> {
  const { basic, post, privateKeyJwt } = server.clients;
  switch (method) {
    case 'basic':
      return client.ClientSecretBasic(basic.clientSecret);
    case 'post':
      return client.ClientSecretPost(post.clientSecret);
    case 'privateKeyJwt':
      return client.PrivateKeyJwt({
        key: await importPKCS8(privateKeyJwt.privateKeyPem, privateKeyJwt.alg),
        kid: privateKeyJwt.kid,
      });
    case 'none':
      return client.None();
  }
}

async function configure(method: Method, serverMetadata = metadata): Promise<client.Configuration> {
  const config = new client.Configuration(
    serverMetadata,
    server.clients[method].clientId,
    undefined,
    await clientAuth(method),
  );
  client.allowInsecureRequests(config);
  return config;
}

function verify(accessToken: string) {
  return jwtVerify(accessToken, jwks, {
    issuer: server.issuerIdentifier,
    audience: server.defaultResource,
    typ: 'at+jwt',
  });
}

describe('auth server', { timeout: 10_000 }, () => {
  for (const method of METHODS) {
    it(`issues a verifiable JWT to a ${method} client, counting one request`, async () => {
      const { clientId } = server.clients[method];
      const config = await configure(method);
      const requestsBefore = server.tokenRequests(clientId);

      const tokens = await client.clientCredentialsGrant(config, { scope: 'orders.read' });

      assert.equal(server.tokenRequests(clientId), requestsBefore + 1);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(tokens.scope, 'orders.read');
      assert.equal(tokens.expires_in, 3600);
      const { payload } = await verify(tokens.access_token);
      assert.equal(payload.client_id, clientId);
      assert.equal(payload.scope, 'orders.read');
      assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 3600);
    });
  }

  // oidc-provider answers a failed Basic authentication with a `WWW-Authenticate: Basic` challenge,
  // which openid-client raises as WWWAuthenticateChallengeError; other methods get a JSON body.
  it('counts rejected requests against the client they name', async () => {
    const wrongBasic = new client.Configuration(
      metadata,
      server.clients.basic.clientId,
      undefined,
      client.ClientSecretBasic('wrong'),
    );
    const wrongPost = new client.Configuration(
      metadata,
      server.clients.post.clientId,
      undefined,
      client.ClientSecretPost('wrong'),
    );
    client.allowInsecureRequests(wrongBasic);
    client.allowInsecureRequests(wrongPost);
    const basicBefore = server.tokenRequests(server.clients.basic.clientId);
    const postBefore = server.tokenRequests(server.clients.post.clientId);
    const totalBefore = server.totalTokenRequests();

    await assert.rejects(client.clientCredentialsGrant(wrongBasic), (err: unknown) => {
      assert.ok(err instanceof client.WWWAuthenticateChallengeError, `got ${String(err)}`);
      assert.equal(err.status, 401);
      assert.equal(err.cause[0]?.parameters.error, 'invalid_client');
      return true;
    });
    await assert.rejects(client.clientCredentialsGrant(wrongPost), (err: unknown) => {
      assert.ok(err instanceof client.ResponseBodyError, `got ${String(err)}`);
      assert.equal(err.error, 'invalid_client');
      return true;
    });

    assert.equal(server.tokenRequests(server.clients.basic.clientId), basicBefore + 1);
    assert.equal(server.tokenRequests(server.clients.post.clientId), postBefore + 1);
    assert.equal(server.totalTokenRequests(), totalBefore + 2);
  });

  it('puts a requested audience into the token', async () => {
    const config = await configure('basic');
    const tokens = await client.clientCredentialsGrant(config, { audience: 'https://orders.example.com' });
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      audience: 'https://orders.example.com',
    });
    assert.equal(payload.client_id, server.clients.basic.clientId);
  });

  it('honours a short lifetime set at start', async () => {
    const shortLived = await startAuthServer({ tokenTTLSeconds: 3 });
    try {
      const discovered = await client.discovery(
        shortLived.issuer,
        shortLived.clients.post.clientId,
        undefined,
        client.ClientSecretPost(shortLived.clients.post.clientSecret),
        { execute: [client.allowInsecureRequests] },
      );
      const startedAt = Math.floor(Date.now() / 1000);
      const tokens = await client.clientCredentialsGrant(discovered);

      assert.equal(tokens.expires_in, 3);
      const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(shortLived.jwksUri));
      assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 3);
      assert.ok(
        (payload.exp ?? 0) - startedAt <= 4,
        `exp ${payload.exp} is more than 3 s after ${startedAt}`,
      );
    } finally {
      await shortLived.close();
    }
  });

  it('applies a lifetime changed at runtime to the next token', async () => {
    const config = await configure('basic');
    server.setTokenTTL(5);
    try {
      const tokens = await client.clientCredentialsGrant(config);
      assert.equal(tokens.expires_in, 5);
      const { payload } = await verify(tokens.access_token);
      assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 5);
    } finally {
      server.setTokenTTL(3600);
    }
    assert.equal(server.tokenTTLSeconds(), 3600);
  });

  it('rejects a lifetime oidc-provider would refuse', () => {
    assert.throws(() => server.setTokenTTL(0), RangeError);
    assert.throws(() => server.setTokenTTL(1.5), RangeError);
  });

  it('re-signs a token as genuinely expired', async () => {
    const tokens = await client.clientCredentialsGrant(await configure('basic'), { scope: 'orders.read' });
    const expired = await server.expireToken(tokens.access_token);

    await assert.rejects(verify(expired), joseErrors.JWTExpired);
    const original = decodeJwt(tokens.access_token);
    const claims = decodeJwt(expired);
    assert.equal(claims.scope, original.scope);
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), (original.exp ?? 0) - (original.iat ?? 0));
  });
});

describe('fault proxy', { timeout: 10_000 }, () => {
  let proxy: FaultProxy;
  let config: client.Configuration;

  before(async () => {
    proxy = await startFaultProxy(server.issuer, { expireToken: (token) => server.expireToken(token) });
    config = await client.discovery(
      proxy.url,
      server.clients.basic.clientId,
      undefined,
      client.ClientSecretBasic(server.clients.basic.clientSecret),
      { execute: [client.allowInsecureRequests] },
    );
  });

  after(() => proxy.close());

  it('rewrites discovery so the client stays on the proxy', () => {
    const discovered = config.serverMetadata();
    assert.equal(new URL(discovered.issuer).origin, proxy.url.origin);
    assert.equal(new URL(discovered.token_endpoint ?? '').origin, proxy.url.origin);
    assert.equal(new URL(discovered.jwks_uri ?? '').origin, proxy.url.origin);
  });

  it('passes token requests of every auth method through', async () => {
    for (const method of METHODS) {
      const proxied = await configure(method, config.serverMetadata());
      const before = proxy.tokenRequests();
      const tokens = await client.clientCredentialsGrant(proxied, { scope: 'orders.write' });
      assert.equal(proxy.tokenRequests(), before + 1, method);
      const { payload } = await verify(tokens.access_token);
      assert.equal(payload.client_id, server.clients[method].clientId);
    }
  });

  // Fails the next `n` token requests with `fault`, checks each failure, then checks that the
  // following request succeeds and that only that one reached the server.
  async function failThenRecover(
    fault: Fault,
    n: number,
    check: (err: unknown) => void,
    clientConfig = config,
  ) {
    const proxiedBefore = proxy.tokenRequests();
    const servedBefore = server.tokenRequests(server.clients.basic.clientId);
    proxy.failNext(n, fault);
    assert.equal(proxy.pendingFaults(), n);

    for (let i = 0; i < n; i++) {
      await assert.rejects(
        client.clientCredentialsGrant(clientConfig, { scope: 'orders.read' }),
        (err: unknown) => {
          check(err);
          return true;
        },
      );
    }

    assert.equal(proxy.pendingFaults(), 0);
    const tokens = await client.clientCredentialsGrant(clientConfig, { scope: 'orders.read' });
    await verify(tokens.access_token);
    assert.equal(proxy.tokenRequests(), proxiedBefore + n + 1);
    assert.equal(server.tokenRequests(server.clients.basic.clientId), servedBefore + 1);
  }

  function responseOf(err: unknown): Response {
    assert.ok(err instanceof client.ClientError, `expected a ClientError, got ${String(err)}`);
    assert.ok(err.cause instanceof Response, 'expected the HTTP response as the cause');
    return err.cause;
  }

  it('status: the client sees the 5xx', async () => {
    await failThenRecover({ kind: 'status', status: 503 }, 2, (err) => {
      assert.equal(responseOf(err).status, 503);
    });
  });

  it('rateLimited: the client sees 429 and Retry-After', async () => {
    await failThenRecover({ kind: 'rateLimited', retryAfterSeconds: 7 }, 1, (err) => {
      const response = responseOf(err);
      assert.equal(response.status, 429);
      assert.equal(response.headers.get('retry-after'), '7');
    });
  });

  it('rateLimited: a raw request sees the same', async () => {
    proxy.failNext(1, { kind: 'rateLimited', retryAfterSeconds: 2 });
    const response = await fetch(new URL(config.serverMetadata().token_endpoint ?? ''), {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    await response.body?.cancel();
    assert.equal(response.status, 429);
    assert.equal(response.headers.get('retry-after'), '2');
    assert.equal(proxy.pendingFaults(), 0);
  });

  it('oauthError: invalid_client surfaces as a ResponseBodyError', async () => {
    await failThenRecover({ kind: 'oauthError', error: 'invalid_client' }, 1, (err) => {
      assert.ok(err instanceof client.ResponseBodyError);
      assert.equal(err.error, 'invalid_client');
      assert.equal(err.status, 401);
      assert.equal(typeof err.error_description, 'string');
    });
  });

  it('hang: the client times out', async () => {
    const impatient = new client.Configuration(
      config.serverMetadata(),
      server.clients.basic.clientId,
      undefined,
      client.ClientSecretBasic(server.clients.basic.clientSecret),
    );
    client.allowInsecureRequests(impatient);
    impatient.timeout = 0.5;
    await failThenRecover(
      { kind: 'hang' },
      1,
      (err) => {
        assert.ok(err instanceof client.ClientError);
        assert.equal(err.code, 'OAUTH_TIMEOUT');
      },
      impatient,
    );
  });

  it('reset: the client sees a network error', async () => {
    await failThenRecover({ kind: 'reset' }, 1, (err) => {
      assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`);
      assert.equal(err.message, 'fetch failed');
    });
  });

  it('nonJson: the client rejects the HTML body', async () => {
    await failThenRecover({ kind: 'nonJson' }, 1, (err) => {
      assert.ok(err instanceof client.ClientError);
      assert.equal(err.code, 'OAUTH_RESPONSE_IS_NOT_JSON');
      assert.equal(responseOf(err).headers.get('content-type'), 'text/html');
    });
  });

  it('missingAccessToken: the client rejects the response', async () => {
    await failThenRecover({ kind: 'missingAccessToken' }, 1, (err) => {
      assert.ok(err instanceof client.ClientError);
      assert.equal(err.code, 'OAUTH_INVALID_RESPONSE');
      assert.match(err.message + String(err.cause), /access_token/);
    });
  });

  it('expiredToken: the client receives a token that has already expired', async () => {
    const { clientId } = server.clients.basic;
    const servedBefore = server.tokenRequests(clientId);
    proxy.failNext(1, { kind: 'expiredToken' });

    const tokens = await client.clientCredentialsGrant(config, { scope: 'orders.read' });

    assert.equal(tokens.expires_in, 0);
    assert.ok((decodeJwt(tokens.access_token).exp ?? Number.POSITIVE_INFINITY) < Date.now() / 1000);
    await assert.rejects(verify(tokens.access_token), joseErrors.JWTExpired);
    // It came from the real server, so that request was served.
    assert.equal(server.tokenRequests(clientId), servedBefore + 1);

    const fresh = await client.clientCredentialsGrant(config, { scope: 'orders.read' });
    assert.equal(fresh.expires_in, 3600);
    await verify(fresh.access_token);
  });

  it('queues faults in order and refuses expiredToken without a way to mint one', async () => {
    proxy.failNext(1, { kind: 'status', status: 500 });
    // openid-client parses OAuth error bodies only on 4xx: keep this one a 400.
    proxy.failNext(1, { kind: 'oauthError', error: 'invalid_scope' });
    await assert.rejects(
      client.clientCredentialsGrant(config),
      (err: unknown) => responseOf(err).status === 500,
    );
    await assert.rejects(
      client.clientCredentialsGrant(config),
      (err: unknown) =>
        err instanceof client.ResponseBodyError && err.error === 'invalid_scope' && err.status === 400,
    );
    assert.equal(proxy.pendingFaults(), 0);

    const bare = await startFaultProxy(server.issuer);
    try {
      assert.throws(() => bare.failNext(1, { kind: 'expiredToken' }), /expireToken/);
      assert.equal(bare.pendingFaults(), 0);
    } finally {
      await bare.close();
    }
  });

  it('close ends a request that is still hanging', async () => {
    const doomed = await startFaultProxy(server.issuer);
    const doomedConfig = await client.discovery(
      doomed.url,
      server.clients.post.clientId,
      undefined,
      client.ClientSecretPost(server.clients.post.clientSecret),
      { execute: [client.allowInsecureRequests] },
    );
    doomed.failNext(1, { kind: 'hang' });
    const pending = client.clientCredentialsGrant(doomedConfig);
    // Wait for the condition (the request has reached the proxy), not for time.
    while (doomed.tokenRequests() === 0) await new Promise((resolve) => setImmediate(resolve));

    await doomed.close();
    await assert.rejects(pending, TypeError);
  });
});
