// When to retry after a failed renewal: exponential backoff with full jitter ("Exponential
// Backoff And Jitter", AWS Architecture Blog), bounded by the server's Retry-After and by the
// expiry of the token still in the Secret.
import { ceilToSecond, HOUR_MS, MINUTE_MS, msOf, SECOND_MS, unitInterval } from './time.ts';

export const DEFAULT_BACKOFF_BASE_MS = SECOND_MS;
export const DEFAULT_BACKOFF_CAP_MS = 5 * MINUTE_MS;
/** A longer Retry-After is taken as this: a broken or hostile server must not stall renewals for good. */
export const MAX_RETRY_AFTER_MS = 24 * HOUR_MS;

export interface RetryInput {
  /** Consecutive failures including this one: 1 after the first. Non-integers round down; < 1 or NaN counts as 1. */
  failedAttempts: number;
  now: Date;
  /** Uniform in [0, 1); values outside are clamped into [0, 1]. */
  random: () => number;
  baseMs?: number;
  capMs?: number;
  /** From a `Retry-After` response header; ignored unless a finite positive number. */
  retryAfterMs?: number;
  /** Expiry of the token currently in the Secret (valid or not), if there is one. */
  expiresAt?: Date;
}

/** Which constraint chose the time: the jittered backoff, Retry-After, or the token's expiry. */
export type RetryBound = 'backoff' | 'retryAfter' | 'expiry';

export interface Retry {
  at: Date;
  delayMs: number;
  bound: RetryBound;
}

/** The upper end of the jitter window: min(cap, base × 2^(attempts−1)), without overflow. */
export function backoffCeilingMs(failedAttempts: number, baseMs: number, capMs: number): number {
  // NaN and values below 1 count as the first failure; +Infinity simply reaches the cap.
  const attempts = failedAttempts >= 1 ? Math.floor(failedAttempts) : 1;
  // 2^1023 is the largest finite power of two; a larger exponent cannot change min() anyway.
  return Math.min(capMs, baseMs * 2 ** Math.min(attempts - 1, 1023));
}

/**
 * delay = random × min(cap, base × 2^(attempts−1), W), where W is max(base, remaining validity / 4)
 * while the current token is valid and max(base, time since it expired) once it has expired; when
 * W is the smaller, the delay is drawn from [W/2, W] instead, so a small window is no hot loop.
 * Then, in this order of precedence:
 * 1. never sooner than Retry-After (rounded up to the second, as it is stored that way), even
 *    beyond the cap: the cap limits our own backoff, not the server's instruction (but a
 *    Retry-After above MAX_RETRY_AFTER_MS, 24 h, counts as 24 h);
 * 2. while the current token is still valid, never after its expiry: the retry happens at the
 *    latest when the token expires, so Ready turns False exactly then if it fails. This beats
 *    Retry-After: one early request when the token runs out is better than no valid token.
 * Once the token has expired, only the cap and Retry-After apply.
 */
export function retryAt(input: RetryInput): Retry {
  const now = msOf(input.now, 'now');
  const baseMs = input.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const capMs = input.capMs ?? DEFAULT_BACKOFF_CAP_MS;
  if (!(Number.isFinite(baseMs) && baseMs > 0 && Number.isFinite(capMs) && capMs >= baseMs)) {
    throw new RangeError(`invalid backoff: base ${baseMs} ms, cap ${capMs} ms`);
  }

  const expires = input.expiresAt === undefined ? undefined : msOf(input.expiresAt, 'expiresAt');
  // While a valid token is in place, retries must land inside what is left of it: the window
  // shrinks to a quarter of the remaining validity (not below the base), so a fault that ends
  // during the lead is followed by a retry soon enough for pods to get the new token in time.
  // Once it has expired, the window never exceeds how long it has been expired: those many
  // quick retries must not make the first wait after an outage jump to the count-based size.
  const timeCeiling =
    expires === undefined ? capMs : Math.max(baseMs, expires > now ? (expires - now) / 4 : now - expires);
  const countCeiling = backoffCeilingMs(input.failedAttempts, baseMs, capMs);
  const ceiling = Math.min(countCeiling, timeCeiling);
  // Where time, not the count, bounds the window, the window is small and stays small: the
  // draw takes its upper half ("equal jitter"), so retries never come faster than two a window.
  const floor = timeCeiling < countCeiling ? ceiling / 2 : 0;
  // Whole milliseconds, rounded down: a Date holds no more, and down keeps random < 1 below the ceiling.
  let at = now + Math.floor(floor + unitInterval(input.random()) * (ceiling - floor));
  let bound: RetryBound = 'backoff';

  const { retryAfterMs } = input;
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0) {
    const earliestAllowed = ceilToSecond(now + Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
    if (earliestAllowed > at) {
      at = earliestAllowed;
      bound = 'retryAfter';
    }
  }

  if (expires !== undefined && expires > now && at > expires) {
    at = expires;
    bound = 'expiry';
  }
  return { at: new Date(at), delayMs: at - now, bound };
}
