// Each fault the fault proxy injects in front of the real authorization server, as the operator
// sees it: classified, retryable or not, Retry-After honoured, and a message that names neither
// the client secret nor anything of the response body.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import type { Configuration } from 'openid-client';
import {
  buildConfiguration,
  closeConfiguration,
  requestToken,
  TokenRequestError,
} from '../../../src/oauth/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { type Fault, type FaultProxy, startFaultProxy } from '../../support/fault-proxy.ts';
import { freePort } from '../../support/net.ts';
import { issuerFor, now, tokenEndpointAt } from './issuers.ts';

const TIMEOUT_MS = 400;
const JWT_IN_DESCRIPTION = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl';
let server: AuthServer;
let proxy: FaultProxy;
let config: Configuration;
let secret: string;

before(async () => {
  server = await startAuthServer({ tokenTTLSeconds: 60 });
  proxy = await startFaultProxy(server.issuer, { expireToken: (token) => server.expireToken(token) });
  secret = server.clients.basic.clientSecret;
  // Discovery through the proxy keeps every request on it.
  config = await buildConfiguration(
    issuerFor(server, 'basic', { issuerURL: proxy.url.href }, { timeoutMs: TIMEOUT_MS }),
  );
});
after(async () => {
  await closeConfiguration(config);
  await proxy.close();
  await server.close();
});

/** Fails the next token request with `fault`; returns the error after checking it is safe. */
async function failWith(fault: Fault, bodyFragments: readonly string[]): Promise<TokenRequestError> {
  const before = proxy.tokenRequests();
  proxy.failNext(1, fault);
  const err = await requestToken(config, { scopes: ['orders.read'], now }).then(
    () => assert.fail(`${fault.kind}: expected an error`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TokenRequestError, `${fault.kind}: ${String(err)}`);
  assert.equal(proxy.tokenRequests(), before + 1, 'exactly one request, no hidden retry');
  const printed = `${err.message}\n${inspect(err, { depth: 10, showHidden: true })}`;
  for (const forbidden of [secret, ...bodyFragments]) {
    assert.ok(
      !printed.includes(forbidden),
      `${fault.kind}: ${JSON.stringify(forbidden)} leaked into ${printed}`,
    );
  }
  return err;
}

function expect(err: TokenRequestError, expected: Partial<Record<keyof TokenRequestError, unknown>>): void {
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(err[key as keyof TokenRequestError], value, `${key} of ${err.message}`);
  }
}

describe('faults, classified', { timeout: 15_000 }, () => {
  it('5xx: http_status, retryable', async () => {
    const err = await failWith({ kind: 'status', status: 503 }, ['injected failure']);
    expect(err, { code: 'http_status', httpStatus: 503, retryable: true, retryAfterMs: undefined });
    assert.equal(err.message, 'token request failed: HTTP 503');
  });

  it('other 4xx without an OAuth body: http_status, not retryable', async () => {
    const err = await failWith({ kind: 'status', status: 404 }, ['injected failure']);
    expect(err, { code: 'http_status', httpStatus: 404, retryable: false });
  });

  it('429: rate_limited with Retry-After', async () => {
    const err = await failWith({ kind: 'rateLimited', retryAfterSeconds: 7 }, ['too many requests']);
    expect(err, { code: 'rate_limited', httpStatus: 429, retryable: true, retryAfterMs: 7000 });
  });

  it('invalid_client: oauth_error, not retryable, with the short description', async () => {
    const err = await failWith(
      { kind: 'oauthError', error: 'invalid_client', errorDescription: 'unknown client' },
      [],
    );
    expect(err, { code: 'oauth_error', oauthError: 'invalid_client', httpStatus: 401, retryable: false });
    assert.equal(err.message, 'token request failed: HTTP 401, invalid_client: unknown client');
  });

  it('a description quoting the client secret or a JWT is withheld', async () => {
    for (const errorDescription of [
      `client secret ${secret} is expired`,
      `assertion ${JWT_IN_DESCRIPTION} rejected`,
    ]) {
      const err = await failWith({ kind: 'oauthError', error: 'invalid_client', errorDescription }, [
        JWT_IN_DESCRIPTION,
        'expired',
        'rejected',
      ]);
      assert.match(err.message, /error_description withheld/);
    }
  });

  it('a description with control characters is flattened', async () => {
    const err = await failWith(
      {
        kind: 'oauthError',
        error: 'invalid_scope',
        errorDescription: 'scope\r\nX-Injected: 1\u0000 unknown',
      },
      [],
    );
    expect(err, { code: 'oauth_error', oauthError: 'invalid_scope', retryable: false });
    assert.equal(err.message, 'token request failed: HTTP 400, invalid_scope: scope X-Injected: 1 unknown');
  });

  it('temporarily_unavailable: oauth_error, retryable', async () => {
    const err = await failWith(
      { kind: 'oauthError', error: 'temporarily_unavailable', errorDescription: 'maintenance' },
      [],
    );
    expect(err, { code: 'oauth_error', oauthError: 'temporarily_unavailable', retryable: true });
  });

  it('an OAuth error with 429: rate_limited', async () => {
    const err = await failWith({ kind: 'oauthError', error: 'slow_down', status: 429 }, []);
    expect(err, { code: 'rate_limited', oauthError: 'slow_down', retryable: true });
  });

  it('hang: timeout, retryable, after about timeoutMs', async () => {
    const started = performance.now();
    const err = await failWith({ kind: 'hang' }, []);
    const elapsed = performance.now() - started;
    expect(err, { code: 'timeout', retryable: true });
    assert.equal(err.message, `token request failed: timed out after ${TIMEOUT_MS} ms`);
    assert.ok(elapsed >= TIMEOUT_MS - 20 && elapsed < TIMEOUT_MS + 1500, `took ${elapsed} ms`);
  });

  it('reset: network, retryable', async () => {
    const err = await failWith({ kind: 'reset' }, []);
    expect(err, { code: 'network', retryable: true });
  });

  it('nonJson: invalid_response, retryable', async () => {
    const err = await failWith({ kind: 'nonJson' }, ['html', 'Service temporarily unavailable']);
    expect(err, { code: 'invalid_response', retryable: true, causeCode: 'OAUTH_RESPONSE_IS_NOT_JSON' });
  });

  it('missingAccessToken: invalid_response', async () => {
    const err = await failWith({ kind: 'missingAccessToken' }, ['Bearer', '3600']);
    expect(err, { code: 'invalid_response', causeCode: 'OAUTH_INVALID_RESPONSE' });
    assert.equal(err.message, 'token request failed: malformed response: access_token must be a string');
  });

  it('expiredToken: a token whose JWT exp is already past is surfaced as data', async () => {
    proxy.failNext(1, { kind: 'expiredToken' });
    const token = await requestToken(config, { now });
    assert.equal(token.expiresInSeconds, 0);
    assert.ok((token.jwtExpSeconds ?? Number.POSITIVE_INFINITY) < Date.now() / 1000);
    assert.ok((token.jwtIatSeconds ?? 0) < (token.jwtExpSeconds ?? 0));
  });

  it('recovers on the next request', async () => {
    const token = await requestToken(config, { now });
    assert.equal(token.expiresInSeconds, 60);
  });

  it('connection refused: network, retryable', async () => {
    const dead = new URL(`http://127.0.0.1:${await freePort()}`);
    const refused = await buildConfiguration(
      issuerFor(server, 'basic', { tokenEndpoint: tokenEndpointAt(server, dead) }),
    );
    const err = await requestToken(refused, { now }).then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    await closeConfiguration(refused);
    assert.ok(err instanceof TokenRequestError);
    expect(err, { code: 'network', retryable: true, causeCode: 'ECONNREFUSED' });
  });
});
