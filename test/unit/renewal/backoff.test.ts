import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backoffCeilingMs,
  DEFAULT_BACKOFF_CAP_MS,
  MAX_RETRY_AFTER_MS,
  type RetryBound,
  type RetryInput,
  retryAt,
} from '../../../src/renewal/backoff.ts';
import { ALMOST_ONE, at, constant, HOUR, MINUTE, SECOND, T0 } from './fixtures.ts';

describe('backoffCeilingMs', () => {
  const cases: { name: string; attempts: number; ceiling: number }[] = [
    { name: 'the first failure waits up to the base', attempts: 1, ceiling: SECOND },
    { name: 'the second failure doubles it', attempts: 2, ceiling: 2 * SECOND },
    { name: 'the ninth failure is 256 s', attempts: 9, ceiling: 256 * SECOND },
    { name: 'the tenth failure reaches the 5-minute cap', attempts: 10, ceiling: 5 * MINUTE },
    { name: 'a thousand failures stay at the cap', attempts: 1_000, ceiling: 5 * MINUTE },
    { name: 'a billion failures do not overflow', attempts: 1e9, ceiling: 5 * MINUTE },
    {
      name: 'the largest safe integer does not overflow',
      attempts: Number.MAX_SAFE_INTEGER,
      ceiling: 5 * MINUTE,
    },
    {
      name: 'infinitely many failures stay at the cap',
      attempts: Number.POSITIVE_INFINITY,
      ceiling: 5 * MINUTE,
    },
    { name: '0 attempts counts as the first failure', attempts: 0, ceiling: SECOND },
    { name: 'NaN attempts counts as the first failure', attempts: Number.NaN, ceiling: SECOND },
    { name: 'a fractional count rounds down', attempts: 2.9, ceiling: 2 * SECOND },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(backoffCeilingMs(c.attempts, SECOND, DEFAULT_BACKOFF_CAP_MS), c.ceiling));
  }
});

describe('retryAt', () => {
  const base: RetryInput = { failedAttempts: 1, now: T0, random: constant(0.5) };
  const cases: { name: string; input: Partial<RetryInput>; delayMs: number; bound: RetryBound }[] = [
    {
      name: 'full jitter with random 0 retries at once',
      input: { random: constant(0) },
      delayMs: 0,
      bound: 'backoff',
    },
    {
      name: 'full jitter with random 0.5 waits half the window',
      input: { failedAttempts: 3 },
      delayMs: 2 * SECOND,
      bound: 'backoff',
    },
    {
      name: 'full jitter with random just below 1 stays below the window',
      input: { failedAttempts: 3, random: constant(ALMOST_ONE) },
      delayMs: 4 * SECOND - 1,
      bound: 'backoff',
    },
    {
      name: 'a random source returning 2 is held to the window',
      input: { failedAttempts: 3, random: constant(2) },
      delayMs: 4 * SECOND,
      bound: 'backoff',
    },
    {
      name: 'the cap bounds the window after many failures',
      input: { failedAttempts: 50, random: constant(ALMOST_ONE) },
      delayMs: 5 * MINUTE - 1,
      bound: 'backoff',
    },
    {
      name: 'custom base and cap are used',
      input: { failedAttempts: 4, baseMs: 100, capMs: 500, random: constant(1) },
      delayMs: 500,
      bound: 'backoff',
    },
    {
      name: 'Retry-After longer than the backoff is honoured',
      input: { retryAfterMs: 30 * SECOND },
      delayMs: 30 * SECOND,
      bound: 'retryAfter',
    },
    {
      name: 'Retry-After is honoured beyond the cap',
      input: { failedAttempts: 50, random: constant(1), retryAfterMs: 10 * MINUTE },
      delayMs: 10 * MINUTE,
      bound: 'retryAfter',
    },
    {
      name: 'Retry-After shorter than the backoff does not shorten it',
      input: { failedAttempts: 10, retryAfterMs: SECOND },
      delayMs: 150 * SECOND,
      bound: 'backoff',
    },
    {
      name: 'Retry-After is rounded up to the second, never down',
      input: { now: at(300), retryAfterMs: 2 * SECOND },
      delayMs: 2_700,
      bound: 'retryAfter',
    },
    {
      name: 'an absurd Retry-After is taken as 24 hours',
      input: { retryAfterMs: 1e300 },
      delayMs: MAX_RETRY_AFTER_MS,
      bound: 'retryAfter',
    },
    {
      name: 'a negative or NaN Retry-After is ignored',
      input: { retryAfterMs: Number.NaN },
      delayMs: 500,
      bound: 'backoff',
    },
    {
      name: 'while the token is valid, the retry comes within a quarter of its remaining validity',
      input: { failedAttempts: 50, random: constant(1), expiresAt: at(90 * SECOND) },
      delayMs: 22.5 * SECOND,
      bound: 'backoff',
    },
    {
      name: 'the quarter of the remaining validity never shrinks the window below the base',
      input: { failedAttempts: 50, random: constant(0), expiresAt: at(2 * SECOND) },
      delayMs: 500,
      bound: 'backoff',
    },
    {
      name: 'a window bounded by time takes its upper half, so small windows do not make a hot loop',
      input: { failedAttempts: 50, random: constant(0.5), expiresAt: at(-10 * SECOND) },
      delayMs: 7.5 * SECOND,
      bound: 'backoff',
    },
    {
      name: 'the retry never goes past the expiry of the still-valid token',
      input: { failedAttempts: 50, random: constant(1), expiresAt: at(600) },
      delayMs: 600,
      bound: 'expiry',
    },
    {
      name: 'the expiry of the valid token beats a longer Retry-After',
      input: { retryAfterMs: 10 * MINUTE, expiresAt: at(2 * MINUTE) },
      delayMs: 2 * MINUTE,
      bound: 'expiry',
    },
    {
      name: 'an expiry later than the backoff does not change it',
      input: { failedAttempts: 3, expiresAt: at(HOUR) },
      delayMs: 2 * SECOND,
      bound: 'backoff',
    },
    {
      name: 'once the token has expired the wait never exceeds how long it has been expired',
      input: { failedAttempts: 50, random: constant(1), expiresAt: at(-MINUTE) },
      delayMs: MINUTE,
      bound: 'backoff',
    },
    {
      name: 'long after the expiry the cap applies',
      input: { failedAttempts: 50, random: constant(1), expiresAt: at(-HOUR) },
      delayMs: 5 * MINUTE,
      bound: 'backoff',
    },
    {
      name: 'a token expiring exactly now counts as expired: the next try comes within the base',
      input: { failedAttempts: 50, random: constant(1), expiresAt: T0 },
      delayMs: SECOND,
      bound: 'backoff',
    },
    {
      name: 'after expiry Retry-After still applies',
      input: { retryAfterMs: 10 * MINUTE, expiresAt: at(-MINUTE) },
      delayMs: 10 * MINUTE,
      bound: 'retryAfter',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const input = { ...base, ...c.input };
      const result = retryAt(input);
      assert.equal(result.delayMs, c.delayMs);
      assert.equal(result.at.getTime(), input.now.getTime() + c.delayMs);
      assert.equal(result.bound, c.bound);
    });
  }

  test('bounds hold for every attempt count, random value, Retry-After and expiry', () => {
    const randoms = [0, 0.001, 0.5, 0.999, ALMOST_ONE];
    const retryAfters = [undefined, 500, 3 * SECOND, 10 * MINUTE];
    const expiries = [undefined, at(-SECOND), at(10 * SECOND), at(HOUR)];
    for (let attempts = 1; attempts <= 64; attempts++) {
      for (const r of randoms) {
        for (const retryAfterMs of retryAfters) {
          for (const expiresAt of expiries) {
            const { delayMs, at: when } = retryAt({
              failedAttempts: attempts,
              now: T0,
              random: constant(r),
              retryAfterMs,
              expiresAt,
            });
            const label = JSON.stringify({ attempts, r, retryAfterMs, expiresAt });
            assert.ok(delayMs >= 0, `never below 0: ${label}`);
            assert.ok(Number.isFinite(when.getTime()), `a valid Date: ${label}`);
            const valid = expiresAt !== undefined && expiresAt.getTime() > T0.getTime();
            if (valid) assert.ok(when.getTime() <= expiresAt.getTime(), `never past expiry: ${label}`);
            if (retryAfterMs !== undefined && !(valid && expiresAt.getTime() < T0.getTime() + retryAfterMs)) {
              assert.ok(delayMs >= retryAfterMs, `never sooner than Retry-After: ${label}`);
            }
            if (retryAfterMs === undefined)
              assert.ok(delayMs < DEFAULT_BACKOFF_CAP_MS, `below the cap: ${label}`);
          }
        }
      }
    }
  });

  test('a misconfigured base or cap is a programming error', () => {
    assert.throws(() => retryAt({ ...base, baseMs: 0 }), RangeError);
    assert.throws(() => retryAt({ ...base, baseMs: 10, capMs: 5 }), RangeError);
    assert.throws(() => retryAt({ ...base, capMs: Number.NaN }), RangeError);
  });
});
