// Error objects shaped exactly as openid-client 6.9 and undici 8 raise them (the shapes are
// checked against the real libraries in test/integration/oauth), and a table runner.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ClientError, ResponseBodyError } from 'openid-client';
import { classifyError, TokenRequestError } from '../../../src/oauth/errors.ts';

export const now = new Date('2026-12-04T15:00:00Z');
export const SECRET = 'sEcr3t-Value-that-must-not-leak';
export const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGllbnQiLCJleHAiOjE3OTY0MDAwMDB9.c2lnbmF0dXJlLWJ5dGVz';

export function response(status: number, headers: Record<string, string> = {}, body: string | null = null) {
  return new Response(body, { status, headers });
}

export function bodyError(status: number, error: string, description?: string, headers = {}) {
  const cause = { error, ...(description === undefined ? {} : { error_description: description }) };
  return new ResponseBodyError('server responded with an error in the response body', {
    cause,
    response: response(status, headers),
  });
}

export function clientError(code: string, cause?: unknown): ClientError {
  return Object.assign(new ClientError('library message', { cause }), { code });
}

export function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

export function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export type Expected = Partial<
  Pick<TokenRequestError, 'code' | 'retryable' | 'retryAfterMs' | 'httpStatus' | 'oauthError'>
>;

/** One test per row: classifying `err` gives a token-phase TokenRequestError with `expected`. */
export function classifiesAs(cases: [string, unknown, Expected][]): void {
  for (const [name, err, expected] of cases) {
    it(name, () => {
      const classified = classifyError(err, now, { secrets: [SECRET] });
      assert.ok(classified instanceof TokenRequestError);
      for (const [key, value] of Object.entries(expected)) {
        assert.equal(classified[key as keyof Expected], value, `${key} of ${classified.message}`);
      }
      assert.match(classified.message, /^token request failed: /);
    });
  }
}
