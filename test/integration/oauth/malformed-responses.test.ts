// What openid-client (and then the OAuth client) makes of malformed token responses: the real
// server's response, rewritten by a proxy, reaches the real client stack.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Configuration } from 'openid-client';
import {
  buildConfiguration,
  closeConfiguration,
  requestToken,
  TokenRequestError,
  type TokenResponse,
} from '../../../src/oauth/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { type FrontProxy, type Rewrite, type Rewritten, startFrontProxy } from './front-proxy.ts';
import { issuerFor, now, tokenEndpointAt } from './issuers.ts';

let server: AuthServer;
let proxy: FrontProxy;
let config: Configuration;

before(async () => {
  server = await startAuthServer({ tokenTTLSeconds: 60 });
  proxy = await startFrontProxy(server.issuer, { tokenPath: server.tokenEndpoint.pathname });
  config = await buildConfiguration(
    issuerFor(server, 'basic', { tokenEndpoint: tokenEndpointAt(server, proxy.url) }),
  );
});
after(async () => {
  await closeConfiguration(config);
  await proxy.close();
  await server.close();
});

const json = (body: unknown, rest: Omit<Rewritten, 'body'> = {}): Rewritten => ({
  body: JSON.stringify(body),
  ...rest,
});

function withFields(fields: Record<string, unknown>): Rewrite {
  return ({ json: real }) => json({ ...real, ...fields });
}

async function succeeds(rewrite: Rewrite): Promise<TokenResponse> {
  proxy.rewriteNext(rewrite);
  return requestToken(config, { now });
}

async function fails(rewrite: Rewrite, expected: Partial<TokenRequestError>): Promise<TokenRequestError> {
  const before = proxy.tokenRequests();
  proxy.rewriteNext(rewrite);
  const err = await requestToken(config, { now }).then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TokenRequestError, String(err));
  assert.equal(proxy.tokenRequests(), before + 1);
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(err[key as keyof TokenRequestError], value, `${key} of ${err.message}`);
  }
  assert.ok(!err.message.includes(server.clients.basic.clientSecret));
  assert.doesNotMatch(err.message, /eyJ/);
  return err;
}

describe('token_type', { timeout: 10_000 }, () => {
  it('DPoP is refused: it cannot be used as a bearer token from a file', async () => {
    const err = await fails(withFields({ token_type: 'DPoP' }), {
      code: 'unsupported_token_type',
      retryable: false,
    });
    assert.match(
      err.message,
      /token_type DPoP requires a proof-of-possession key and cannot be used as a bearer token from a file/,
    );
  });

  it('an unknown type is refused by openid-client (OAUTH_UNSUPPORTED_OPERATION)', async () => {
    const err = await fails(withFields({ token_type: 'MAC' }), {
      code: 'unsupported_token_type',
      retryable: false,
      causeCode: 'OAUTH_UNSUPPORTED_OPERATION',
    });
    assert.equal(err.message, 'token request failed: token_type mac is not supported (only Bearer)');
  });

  it('bearer in any case is accepted', async () => {
    assert.equal((await succeeds(withFields({ token_type: 'BEARER' }))).tokenType, 'Bearer');
  });

  it('a missing token_type is malformed', async () => {
    const err = await fails(({ json: { token_type: _, ...rest } }) => json(rest), {
      code: 'invalid_response',
    });
    assert.equal(err.message, 'token request failed: malformed response: token_type must be a string');
  });
});

describe('access_token', { timeout: 10_000 }, () => {
  it('empty is malformed (openid-client)', async () => {
    const err = await fails(withFields({ access_token: '' }), {
      code: 'invalid_response',
      causeCode: 'OAUTH_INVALID_RESPONSE',
    });
    assert.equal(err.message, 'token request failed: malformed response: access_token must not be empty');
  });

  it('not usable in an Authorization header is malformed (ours)', async () => {
    const err = await fails(withFields({ access_token: 'abc def\r\n' }), { code: 'invalid_response' });
    assert.match(err.message, /access_token is empty or contains characters not allowed/);
  });

  it('an opaque token has no JWT times', async () => {
    const token = await succeeds(withFields({ access_token: 'opaque-token-value' }));
    assert.deepEqual([token.jwtExpSeconds, token.jwtIatSeconds], [undefined, undefined]);
  });
});

describe('expires_in and scope', { timeout: 10_000 }, () => {
  it('negative or non-numeric expires_in is malformed (openid-client)', async () => {
    for (const [value, wording] of [
      [-1, 'must be a non-negative number'],
      ['soon', 'must be a number'],
    ] as const) {
      const err = await fails(withFields({ expires_in: value }), {
        code: 'invalid_response',
        retryable: true,
      });
      assert.equal(err.message, `token request failed: malformed response: expires_in ${wording}`);
    }
  });

  it('a numeric string is accepted as a number (openid-client parses it)', async () => {
    assert.equal((await succeeds(withFields({ expires_in: '45' }))).expiresInSeconds, 45);
  });

  it('0 and absent are surfaced, the JWT exp still read', async () => {
    const zero = await succeeds(withFields({ expires_in: 0 }));
    assert.equal(zero.expiresInSeconds, 0);
    const absent = await succeeds(({ json: { expires_in: _, ...rest } }) => json(rest));
    assert.equal(absent.expiresInSeconds, undefined);
    assert.equal((absent.jwtExpSeconds ?? 0) - (absent.jwtIatSeconds ?? 0), 60);
  });

  it('a non-string scope is malformed; an absent scope is not reported', async () => {
    await fails(withFields({ scope: ['orders.read'] }), { code: 'invalid_response' });
    const token = await succeeds(({ json: { scope: _, ...rest } }) => json(rest));
    assert.equal(token.grantedScopes, undefined);
  });
});

describe('bodies and statuses', { timeout: 10_000 }, () => {
  it('a JSON array is malformed', async () => {
    const err = await fails(() => json([]), { code: 'invalid_response' });
    assert.equal(err.message, 'token request failed: malformed response: body is not a JSON object');
  });

  it('invalid JSON labelled as JSON is a parse error', async () => {
    await fails(() => ({ body: '{"access_token": "eyJ' }), {
      code: 'invalid_response',
      causeCode: 'OAUTH_PARSE_ERROR',
    });
  });

  it('valid JSON with a wrong content-type is accepted (openid-client checks the type only when parsing fails)', async () => {
    const token = await succeeds(({ json: real }) => json(real, { contentType: 'text/plain' }));
    assert.equal(token.tokenType, 'Bearer');
  });

  it('an OAuth error body with a 5xx is not parsed by openid-client: http_status, retryable', async () => {
    const err = await fails(
      () => json({ error: 'temporarily_unavailable' }, { status: 503, headers: { 'retry-after': '3' } }),
      {
        code: 'http_status',
        httpStatus: 503,
        retryable: true,
        retryAfterMs: 3000,
        oauthError: undefined,
      },
    );
    assert.doesNotMatch(err.message, /temporarily_unavailable/);
  });

  it('a 4xx JSON body without `error` is an unexpected status', async () => {
    await fails(() => json({ message: 'nope' }, { status: 400 }), {
      code: 'http_status',
      httpStatus: 400,
      retryable: false,
    });
  });

  it('a redirect is not followed', async () => {
    const err = await fails(
      () => ({ status: 302, headers: { location: server.tokenEndpoint.href }, body: '' }),
      {
        code: 'http_status',
        httpStatus: 302,
        retryable: false,
      },
    );
    assert.match(err.message, /redirects are not followed/);
  });

  it('a response over the size limit is refused', async () => {
    const huge = Buffer.alloc(2 * 1024 * 1024, 'a');
    await fails(() => ({ body: huge }), {
      code: 'invalid_response',
      causeCode: 'UND_ERR_RES_EXCEEDED_MAX_SIZE',
    });
  });
});
