// classifyError: OAuth error responses and HTTP statuses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WWWAuthenticateChallengeError } from 'openid-client';
import { classifyError } from '../../../src/oauth/errors.ts';
import {
  bodyError,
  classifiesAs,
  clientError,
  type Expected,
  now,
  response,
  SECRET,
} from './library-errors.ts';

const cases: [string, unknown, Expected][] = [
  [
    'invalid_client (401)',
    bodyError(401, 'invalid_client'),
    { code: 'oauth_error', retryable: false, httpStatus: 401, oauthError: 'invalid_client' },
  ],
  [
    'temporarily_unavailable honours Retry-After',
    bodyError(400, 'temporarily_unavailable', 'later', { 'retry-after': '5' }),
    { code: 'oauth_error', retryable: true, retryAfterMs: 5000 },
  ],
  ['server_error', bodyError(400, 'server_error'), { code: 'oauth_error', retryable: true }],
  [
    'OAuth error with 429 and an HTTP date',
    bodyError(429, 'slow_down', undefined, { 'retry-after': 'Fri, 04 Dec 2026 15:01:00 GMT' }),
    { code: 'rate_limited', retryable: true, retryAfterMs: 60_000, oauthError: 'slow_down' },
  ],
  [
    'unrecognisable error code',
    bodyError(400, 'bad code\nX-Injected: 1'),
    { code: 'oauth_error', retryable: false, oauthError: undefined },
  ],
  [
    'challenge with an OAuth error',
    new WWWAuthenticateChallengeError('challenge', {
      cause: [
        {
          scheme: 'basic',
          parameters: {
            realm: 'x',
            error: 'invalid_client',
            error_description: 'client authentication failed',
          },
        },
      ],
      response: response(401, { 'www-authenticate': 'Basic' }),
    }),
    { code: 'oauth_error', retryable: false, httpStatus: 401, oauthError: 'invalid_client' },
  ],
  [
    'challenge without an error',
    new WWWAuthenticateChallengeError('challenge', {
      cause: [{ scheme: 'basic', parameters: {} }],
      response: response(401),
    }),
    { code: 'http_status', retryable: false, httpStatus: 401 },
  ],
  [
    '503 with Retry-After',
    clientError('OAUTH_RESPONSE_IS_NOT_CONFORM', response(503, { 'retry-after': '2' })),
    { code: 'http_status', retryable: true, retryAfterMs: 2000, httpStatus: 503 },
  ],
  [
    '500',
    clientError('OAUTH_RESPONSE_IS_NOT_CONFORM', response(500)),
    { code: 'http_status', retryable: true, httpStatus: 500 },
  ],
  ['408', clientError('OAUTH_RESPONSE_IS_NOT_JSON', response(408)), { code: 'http_status', retryable: true }],
  [
    '429 without Retry-After',
    clientError('OAUTH_RESPONSE_IS_NOT_JSON', response(429)),
    { code: 'rate_limited', retryable: true, retryAfterMs: undefined },
  ],
  [
    '429 with garbage Retry-After',
    clientError('OAUTH_RESPONSE_IS_NOT_JSON', response(429, { 'retry-after': 'soon' })),
    { code: 'rate_limited', retryable: true, retryAfterMs: undefined },
  ],
  [
    '404 as text',
    clientError('OAUTH_RESPONSE_IS_NOT_JSON', response(404)),
    { code: 'http_status', retryable: false, httpStatus: 404 },
  ],
  [
    '302 (never followed)',
    clientError('OAUTH_RESPONSE_IS_NOT_CONFORM', response(302, { location: '/x' })),
    { code: 'http_status', retryable: false },
  ],
];

describe('classifyError: HTTP and OAuth errors', () => {
  classifiesAs(cases);

  it('non-retryable OAuth errors', () => {
    for (const error of [
      'invalid_request',
      'invalid_client',
      'invalid_grant',
      'unauthorized_client',
      'unsupported_grant_type',
      'invalid_scope',
      'invalid_target',
    ]) {
      assert.equal(classifyError(bodyError(400, error), now).retryable, false, error);
    }
  });

  it('says only status, OAuth error code and a short description', () => {
    const classified = classifyError(bodyError(400, 'invalid_scope', 'scope orders.admin is unknown'), now);
    assert.equal(
      classified.message,
      'token request failed: HTTP 400, invalid_scope: scope orders.admin is unknown',
    );
    const limited = classifyError(
      clientError('OAUTH_RESPONSE_IS_NOT_JSON', response(429, { 'retry-after': '7' })),
      now,
    );
    assert.equal(limited.message, 'token request failed: HTTP 429 (rate limited), retry after 7 s');
  });

  it('says when a description was withheld', () => {
    const classified = classifyError(bodyError(401, 'invalid_client', `bad ${SECRET}`), now, {
      secrets: [SECRET],
    });
    assert.equal(
      classified.message,
      'token request failed: HTTP 401, invalid_client (error_description withheld: it looked like a credential)',
    );
  });

  it('releases the body of a response nobody reads', async () => {
    let cancelled = false;
    const body = new ReadableStream({
      cancel() {
        cancelled = true;
      },
    });
    classifyError(clientError('OAUTH_RESPONSE_IS_NOT_CONFORM', new Response(body, { status: 502 })), now);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(cancelled, true);
  });
});
