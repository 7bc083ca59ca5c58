// classifyError: timeouts, malformed responses, transport and configuration failures, leaks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { classifyError, TokenRequestError } from '../../../src/oauth/errors.ts';
import {
  bodyError,
  classifiesAs,
  clientError,
  coded,
  type Expected,
  fetchFailed,
  JWT,
  now,
  response,
  SECRET,
} from './library-errors.ts';

const cases: [string, unknown, Expected][] = [
  [
    'timeout',
    clientError(
      'OAUTH_TIMEOUT',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    ),
    { code: 'timeout', retryable: true },
  ],
  [
    'timeout while reading the body',
    clientError(
      'OAUTH_PARSE_ERROR',
      new Error('failed to parse', { cause: new DOMException('timeout', 'TimeoutError') }),
    ),
    { code: 'timeout', retryable: true },
  ],
  [
    '200 that is not JSON',
    clientError('OAUTH_RESPONSE_IS_NOT_JSON', response(200)),
    { code: 'invalid_response', retryable: true },
  ],
  [
    'unparsable JSON',
    clientError('OAUTH_PARSE_ERROR', new SyntaxError('Unexpected token')),
    { code: 'invalid_response' },
  ],
  [
    'missing access_token',
    clientError(
      'OAUTH_INVALID_RESPONSE',
      new Error('"response" body "access_token" property must be a string', { cause: { body: {} } }),
    ),
    { code: 'invalid_response', retryable: true },
  ],
  [
    'negative expires_in',
    clientError(
      'OAUTH_INVALID_RESPONSE',
      new Error('"response" body "expires_in" property must be a non-negative number', {
        cause: { body: { access_token: JWT } },
      }),
    ),
    { code: 'invalid_response' },
  ],
  [
    'token_type mac',
    clientError(
      'OAUTH_UNSUPPORTED_OPERATION',
      new Error('unsupported `token_type` value', {
        cause: { body: { token_type: 'mac', access_token: JWT } },
      }),
    ),
    { code: 'unsupported_token_type', retryable: false },
  ],
  [
    'unsupported key',
    clientError('OAUTH_UNSUPPORTED_OPERATION', new Error('unsupported CryptoKey algorithm name')),
    { code: 'configuration', retryable: false },
  ],
  [
    'plain http refused',
    clientError('OAUTH_HTTP_REQUEST_FORBIDDEN'),
    { code: 'configuration', retryable: false },
  ],
  [
    'no token endpoint',
    clientError('OAUTH_MISSING_SERVER_METADATA'),
    { code: 'configuration', retryable: false },
  ],
  [
    'issuer mismatch',
    clientError('OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED', { expected: 'x', body: {} }),
    { code: 'discovery_failed', retryable: false },
  ],
  [
    'connection refused',
    fetchFailed(coded('connect ECONNREFUSED 127.0.0.1:1234', 'ECONNREFUSED')),
    { code: 'network', retryable: true },
  ],
  [
    'socket closed',
    fetchFailed(coded('other side closed', 'UND_ERR_SOCKET')),
    { code: 'network', retryable: true },
  ],
  [
    'happy eyeballs',
    fetchFailed(new AggregateError([coded('a', 'ECONNREFUSED'), coded('b', 'ECONNREFUSED')])),
    { code: 'network', retryable: true },
  ],
  [
    'DNS',
    fetchFailed(coded('getaddrinfo ENOTFOUND idp.example', 'ENOTFOUND')),
    { code: 'network', retryable: true },
  ],
  ['fetch failed without a code', fetchFailed(new Error('bad port')), { code: 'network', retryable: true }],
  [
    'headers timeout',
    fetchFailed(coded('Headers Timeout Error', 'UND_ERR_HEADERS_TIMEOUT')),
    { code: 'timeout', retryable: true },
  ],
  [
    'response too large',
    fetchFailed(coded('Response content exceeded max size', 'UND_ERR_RES_EXCEEDED_MAX_SIZE')),
    { code: 'invalid_response' },
  ],
  [
    'untrusted certificate',
    fetchFailed(coded('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT')),
    { code: 'tls', retryable: true },
  ],
  [
    'wrong host name',
    fetchFailed(coded('Hostname/IP does not match', 'ERR_TLS_CERT_ALTNAME_INVALID')),
    { code: 'tls' },
  ],
  [
    'invalid argument',
    Object.assign(new TypeError('"server" must be an instance of URL'), { code: 'ERR_INVALID_ARG_TYPE' }),
    { code: 'configuration', retryable: false },
  ],
  ['anything else', new RangeError(`boom ${SECRET}`), { code: 'unexpected', retryable: true }],
  ['not an Error', `thrown ${SECRET}`, { code: 'unexpected', retryable: true }],
];

describe('classifyError: transport, responses, configuration', () => {
  classifiesAs(cases);

  it('names the token_type it refuses, never the token', () => {
    const [, err] = cases.find(([name]) => name === 'token_type mac') ?? [];
    const classified = classifyError(err, now);
    assert.match(classified.message, /token_type mac/);
    assert.doesNotMatch(inspect(classified), /eyJ/);
  });

  it('leaks no secret, token, body, URL or cause, not even through util.inspect', () => {
    const leaky: unknown[] = [
      bodyError(401, 'invalid_client', `client secret ${SECRET} is wrong`),
      bodyError(400, 'invalid_request', `assertion ${JWT} rejected`),
      bodyError(400, SECRET),
      clientError(
        'OAUTH_INVALID_RESPONSE',
        new Error(`"response" body has ${JWT}`, { cause: { body: { access_token: JWT } } }),
      ),
      clientError('OAUTH_RESPONSE_IS_NOT_CONFORM', response(503, {}, `<html>${SECRET}</html>`)),
      fetchFailed(coded(`connect ECONNREFUSED https://user:${SECRET}@idp.example/token`, 'ECONNREFUSED')),
      new Error(`something ${SECRET} ${JWT}`),
    ];
    for (const err of leaky) {
      const classified = classifyError(err, now, { secrets: [SECRET] });
      const printed = `${classified.message}\n${inspect(classified, { depth: 10, showHidden: true })}`;
      for (const forbidden of [
        SECRET,
        JWT.slice(0, 20),
        '<html>',
        'idp.example',
        'library message',
        '[cause]',
      ]) {
        assert.ok(!printed.includes(forbidden), `${forbidden} in ${printed}`);
      }
      assert.equal(Object.hasOwn(classified, 'cause'), false);
    }
  });

  it('marks discovery failures, keeping retryability', () => {
    const network = classifyError(fetchFailed(coded('x', 'ECONNRESET')), now, { phase: 'discovery' });
    assert.equal(network.code, 'discovery_failed');
    assert.equal(network.retryable, true);
    assert.match(network.message, /^issuer discovery failed: network error \(ECONNRESET\)$/);
    const notFound = classifyError(clientError('OAUTH_RESPONSE_IS_NOT_JSON', response(404)), now, {
      phase: 'discovery',
    });
    assert.deepEqual(
      [notFound.code, notFound.retryable, notFound.httpStatus],
      ['discovery_failed', false, 404],
    );
    const insecure = classifyError(clientError('OAUTH_HTTP_REQUEST_FORBIDDEN'), now, { phase: 'discovery' });
    assert.equal(insecure.code, 'configuration');
  });

  it('names the timeout it was given', () => {
    const classified = classifyError(clientError('OAUTH_TIMEOUT'), now, { timeoutMs: 1500 });
    assert.equal(classified.message, 'token request failed: timed out after 1500 ms');
  });

  it('never throws, even for a hostile object', () => {
    const hostile = new Proxy(new Error('x'), {
      get() {
        throw new Error(`getter ${SECRET}`);
      },
      getPrototypeOf() {
        throw new Error('no prototype');
      },
    });
    const classified = classifyError(hostile, now);
    assert.deepEqual(
      [classified.code, classified.message],
      ['unexpected', 'token request failed: unexpected error'],
    );
  });

  it('returns a TokenRequestError unchanged', () => {
    const original = new TokenRequestError('configuration', 'x', { retryable: false });
    assert.equal(classifyError(original, now), original);
  });
});
