import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ExpiryInput,
  type ExpiryResult,
  type ExpirySource,
  type ExpiryWarningCode,
  MAX_LIFETIME_MS,
  tokenExpiry,
} from '../../../src/renewal/expiry.ts';
import { at, DAY, epochSeconds, HOUR, MINUTE, SECOND, T0 } from './fixtures.ts';

// The request was sent at T0 and the response arrived 200 ms later.
const base: ExpiryInput = { requestStartedAt: T0, now: at(200), defaultLifetimeMs: 5 * MINUTE };

type Expected =
  | { ok: true; expiresAt: Date; source: ExpirySource; warnings?: ExpiryWarningCode[] }
  | { ok: false; message: RegExp; warnings?: ExpiryWarningCode[] };

const cases: { name: string; input: Partial<ExpiryInput>; expected: Expected }[] = [
  {
    name: 'expires_in is counted from when the request was sent, not when the response arrived',
    input: { expiresInSeconds: 3600 },
    expected: { ok: true, expiresAt: at(HOUR), source: 'expires_in' },
  },
  {
    name: 'without expires_in the JWT exp is used',
    input: { jwtExpSeconds: epochSeconds(1800) },
    expected: { ok: true, expiresAt: at(30 * MINUTE), source: 'jwt_exp' },
  },
  {
    name: 'with neither expires_in nor exp the default lifetime is used and flagged',
    input: {},
    expected: { ok: true, expiresAt: at(5 * MINUTE), source: 'default' },
  },
  {
    name: 'a JWT exp earlier than expires_in wins and the mismatch is reported',
    input: { expiresInSeconds: 3600, jwtExpSeconds: epochSeconds(1800) },
    expected: { ok: true, expiresAt: at(30 * MINUTE), source: 'jwt_exp', warnings: ['ExpiryMismatch'] },
  },
  {
    name: 'an expires_in earlier than the JWT exp wins',
    input: { expiresInSeconds: 600, jwtExpSeconds: epochSeconds(3600) },
    expected: { ok: true, expiresAt: at(10 * MINUTE), source: 'expires_in', warnings: ['ExpiryMismatch'] },
  },
  {
    name: 'an exp within a second of expires_in is agreement, reported as expires_in',
    input: { expiresInSeconds: 3600, jwtExpSeconds: epochSeconds(3600) },
    expected: { ok: true, expiresAt: at(HOUR), source: 'expires_in' },
  },
  {
    name: 'a fractional expires_in keeps its milliseconds',
    input: { expiresInSeconds: 59.5 },
    expected: { ok: true, expiresAt: at(59_500), source: 'expires_in' },
  },
  {
    name: 'a 90-day expires_in is exact, far beyond 32-bit milliseconds',
    input: { expiresInSeconds: 90 * 86_400 },
    expected: { ok: true, expiresAt: at(90 * DAY), source: 'expires_in' },
  },
  {
    name: 'a token that arrives after its expiry is a failure',
    input: { expiresInSeconds: 60, now: at(2 * MINUTE) },
    expected: { ok: false, message: /already expired on arrival/ },
  },
  {
    name: 'a token with 2 s left on arrival is a failure',
    input: { expiresInSeconds: 3, now: at(SECOND) },
    expected: { ok: false, message: /expires too soon: .*, 2s after it arrived; at least 5s is required/ },
  },
  {
    name: 'a token with exactly the minimum left is accepted',
    input: { expiresInSeconds: 6, now: at(SECOND) },
    expected: { ok: true, expiresAt: at(6 * SECOND), source: 'expires_in' },
  },
  {
    name: 'the minimum remaining time is configurable',
    input: { expiresInSeconds: 3, now: at(SECOND), minRemainingMs: SECOND },
    expected: { ok: true, expiresAt: at(3 * SECOND), source: 'expires_in' },
  },
  {
    name: 'an expires_in of 0 means the token is already expired',
    input: { expiresInSeconds: 0 },
    expected: { ok: false, message: /already expired on arrival/ },
  },
  {
    name: 'a negative expires_in means the token is already expired',
    input: { expiresInSeconds: -30 },
    expected: { ok: false, message: /already expired on arrival: it expired at 2026-12-04T15:00:00Z/ },
  },
  {
    name: 'a NaN expires_in is ignored with a warning and exp is used',
    input: { expiresInSeconds: Number.NaN, jwtExpSeconds: epochSeconds(600) },
    expected: { ok: true, expiresAt: at(10 * MINUTE), source: 'jwt_exp', warnings: ['ExpiresInInvalid'] },
  },
  {
    name: 'an infinite expires_in is ignored with a warning and the default is used',
    input: { expiresInSeconds: Number.POSITIVE_INFINITY },
    expected: { ok: true, expiresAt: at(5 * MINUTE), source: 'default', warnings: ['ExpiresInInvalid'] },
  },
  {
    name: 'a NaN JWT exp is ignored with a warning',
    input: { expiresInSeconds: 600, jwtExpSeconds: Number.NaN },
    expected: { ok: true, expiresAt: at(10 * MINUTE), source: 'expires_in', warnings: ['JwtExpInvalid'] },
  },
  {
    name: 'a huge expires_in is clamped to 10 years',
    input: { expiresInSeconds: 1e12 },
    expected: {
      ok: true,
      expiresAt: at(MAX_LIFETIME_MS),
      source: 'expires_in',
      warnings: ['LifetimeClamped'],
    },
  },
  {
    name: 'an expires_in beyond the Date range is clamped instead of overflowing',
    input: { expiresInSeconds: 1e300 },
    expected: {
      ok: true,
      expiresAt: at(MAX_LIFETIME_MS),
      source: 'expires_in',
      warnings: ['LifetimeClamped'],
    },
  },
  {
    name: 'a huge JWT exp is clamped to 10 years',
    input: { jwtExpSeconds: 1e20 },
    expected: { ok: true, expiresAt: at(MAX_LIFETIME_MS), source: 'jwt_exp', warnings: ['LifetimeClamped'] },
  },
  {
    name: 'a clamped lifetime that loses to a shorter one is not reported',
    input: { expiresInSeconds: 1e12, jwtExpSeconds: epochSeconds(3600) },
    expected: { ok: true, expiresAt: at(HOUR), source: 'jwt_exp', warnings: ['ExpiryMismatch'] },
  },
  {
    name: 'a huge default lifetime is clamped to 10 years',
    input: { defaultLifetimeMs: Number.MAX_VALUE },
    expected: { ok: true, expiresAt: at(MAX_LIFETIME_MS), source: 'default', warnings: ['LifetimeClamped'] },
  },
  {
    name: 'a default lifetime of 0 rejects the token rather than keeping it forever',
    input: { defaultLifetimeMs: 0 },
    expected: { ok: false, message: /already expired on arrival/ },
  },
  {
    name: 'a NaN default lifetime rejects the token',
    input: { defaultLifetimeMs: Number.NaN },
    expected: { ok: false, message: /already expired on arrival/ },
  },
  {
    name: 'a server clock 2 min ahead (iat in the future) is reported and expires_in is used',
    input: {
      expiresInSeconds: 3600,
      jwtIatSeconds: epochSeconds(120),
      jwtExpSeconds: epochSeconds(120 + 3600),
    },
    expected: {
      ok: true,
      expiresAt: at(HOUR),
      source: 'expires_in',
      warnings: ['ClockSkew', 'ExpiryMismatch'],
    },
  },
  {
    name: 'an iat a second ahead is rounding, not skew',
    input: { expiresInSeconds: 3600, jwtIatSeconds: epochSeconds(1) },
    expected: { ok: true, expiresAt: at(HOUR), source: 'expires_in' },
  },
  {
    name: 'a server clock 2 min behind gives an earlier exp, which is used',
    input: {
      expiresInSeconds: 3600,
      jwtIatSeconds: epochSeconds(-120),
      jwtExpSeconds: epochSeconds(3600 - 120),
    },
    expected: { ok: true, expiresAt: at(58 * MINUTE), source: 'jwt_exp', warnings: ['ExpiryMismatch'] },
  },
  {
    name: 'an exp far before the request was sent is reported as clock skew, not crashed on',
    input: { expiresInSeconds: 3600, jwtExpSeconds: epochSeconds(-HOUR / SECOND) },
    expected: {
      ok: false,
      message: /JWT exp .* is 1h0m0s before the request was sent; the clocks .* may disagree/,
      warnings: ['ExpiryMismatch'],
    },
  },
  {
    name: 'an exp decades in the past is reported without an invalid Date',
    input: { jwtExpSeconds: -1e15 },
    expected: { ok: false, message: /JWT exp .* before the request was sent/ },
  },
];

function check(result: ExpiryResult, expected: Expected): void {
  assert.deepEqual(
    result.warnings.map((w) => w.code),
    expected.warnings ?? [],
  );
  if (expected.ok) {
    assert.ok(result.ok, result.ok ? '' : result.message);
    assert.equal(result.expiresAt.toISOString(), expected.expiresAt.toISOString());
    assert.equal(result.lifetimeMs, expected.expiresAt.getTime() - T0.getTime());
    assert.equal(result.source, expected.source);
  } else {
    assert.ok(!result.ok, 'expected a failure');
    assert.equal(result.reason, 'AlreadyExpired');
    assert.match(result.message, expected.message);
  }
}

describe('tokenExpiry', () => {
  for (const c of cases) {
    test(c.name, () => check(tokenExpiry({ ...base, ...c.input }), c.expected));
  }

  test('an invalid request start is a programming error', () => {
    assert.throws(() => tokenExpiry({ ...base, requestStartedAt: new Date(Number.NaN) }), RangeError);
  });

  test('warnings and messages carry numbers and times only', () => {
    const result = tokenExpiry({ ...base, expiresInSeconds: Number.NaN, jwtIatSeconds: epochSeconds(600) });
    for (const warning of result.warnings) assert.match(warning.message, /^[\w\s.,:;'()-]+$/);
  });
});
