// When a freshly issued token expires, and whether it is worth keeping at all. Everything is
// measured from when the request was *sent*, so network and server time only make the result
// more conservative.
import { formatDuration } from './duration.ts';
import { DAY_MS, formatTime, msOf, SECOND_MS } from './time.ts';

/** No lifetime is believed beyond this (10 × 365 days): keeps Dates valid and schedules sane. */
export const MAX_LIFETIME_MS = 3_650 * DAY_MS;
/** A token with less than this left on arrival is rejected as already expired. */
export const DEFAULT_MIN_REMAINING_MS = 5 * SECOND_MS;
/** Disagreements between our clock and the server's below this are rounding, not skew. */
export const CLOCK_SKEW_TOLERANCE_MS = 5 * SECOND_MS;

export type ExpirySource = 'expires_in' | 'jwt_exp' | 'default';

export type ExpiryWarningCode =
  | 'ExpiresInInvalid'
  | 'JwtExpInvalid'
  | 'ClockSkew'
  | 'ExpiryMismatch'
  | 'LifetimeClamped';

export interface ExpiryWarning {
  code: ExpiryWarningCode;
  message: string;
}

export interface ExpiryInput {
  /** When the token request was sent. */
  requestStartedAt: Date;
  /** When the response arrived. */
  now: Date;
  /** `expires_in` of the token response, in seconds. */
  expiresInSeconds?: number;
  /** `exp` claim when the access token is a JWT, in seconds since the epoch. */
  jwtExpSeconds?: number;
  /** `iat` claim when the access token is a JWT; used only to report clock skew. */
  jwtIatSeconds?: number;
  /** The issuer's `defaultTokenLifetime`, used when there is neither `expires_in` nor `exp`. */
  defaultLifetimeMs: number;
  minRemainingMs?: number;
}

export type ExpiryResult =
  | { ok: true; expiresAt: Date; lifetimeMs: number; source: ExpirySource; warnings: ExpiryWarning[] }
  | { ok: false; reason: 'AlreadyExpired'; message: string; warnings: ExpiryWarning[] };

interface Candidate {
  ms: number;
  source: ExpirySource;
  clamped: boolean;
}

/** `start + lifetime` with the lifetime kept in [minLifetimeMs, MAX_LIFETIME_MS]. */
function fromLifetime(start: number, lifetimeMs: number, source: ExpirySource, minLifetimeMs = 0): Candidate {
  const clamped = lifetimeMs > MAX_LIFETIME_MS;
  return { ms: start + Math.min(Math.max(lifetimeMs, minLifetimeMs), MAX_LIFETIME_MS), source, clamped };
}

/**
 * Decides when a token expires: `requestStartedAt + expires_in`, or the JWT `exp` if earlier,
 * or (with neither) `requestStartedAt + defaultLifetimeMs` with `source: 'default'` so the
 * caller can emit an event. Total over its numeric inputs:
 * - `expires_in` or `exp` that is NaN or ±Infinity is ignored, with a warning;
 * - `expires_in` ≤ 0 means a zero lifetime, so the token is rejected as already expired;
 * - any lifetime above MAX_LIFETIME_MS (10 years) is clamped to it, with a warning;
 * - a default lifetime that is not a finite positive number counts as zero (rejected).
 * A token with less than `minRemainingMs` (default 5 s) left on arrival is a failure.
 */
export function tokenExpiry(input: ExpiryInput): ExpiryResult {
  const start = msOf(input.requestStartedAt, 'requestStartedAt');
  const now = msOf(input.now, 'now');
  const warnings: ExpiryWarning[] = [];
  const found = fromResponse(input, start, warnings);
  warnings.push(...skewWarnings(found, input.jwtIatSeconds, now));
  const lifetime = Number.isFinite(input.defaultLifetimeMs) ? input.defaultLifetimeMs : 0;
  const candidates = found.length > 0 ? found : [fromLifetime(start, lifetime, 'default')];

  // The earliest wins; on a tie the first (expires_in) is reported.
  const chosen = candidates.reduce((best, next) => (next.ms < best.ms ? next : best));
  if (chosen.clamped) {
    warnings.push({
      code: 'LifetimeClamped',
      message: `token lifetime from ${chosen.source} exceeds 10 years; assuming 10 years`,
    });
  }
  const minRemainingMs = input.minRemainingMs ?? DEFAULT_MIN_REMAINING_MS;
  if (chosen.ms - now < minRemainingMs) {
    const message = expiredMessage(chosen, start, now, minRemainingMs);
    return { ok: false, reason: 'AlreadyExpired', message, warnings };
  }
  return {
    ok: true,
    expiresAt: new Date(chosen.ms),
    lifetimeMs: chosen.ms - start,
    source: chosen.source,
    warnings,
  };
}

/** The expiry candidates from `expires_in` and `exp`, ignoring (and reporting) non-numbers. */
function fromResponse(input: ExpiryInput, start: number, warnings: ExpiryWarning[]): Candidate[] {
  const candidates: Candidate[] = [];
  const { expiresInSeconds: expiresIn, jwtExpSeconds: exp } = input;
  if (expiresIn !== undefined && Number.isFinite(expiresIn)) {
    candidates.push(fromLifetime(start, expiresIn * SECOND_MS, 'expires_in'));
  } else if (expiresIn !== undefined) {
    warnings.push({ code: 'ExpiresInInvalid', message: `expires_in ${expiresIn} is not a number; ignored` });
  }
  if (exp !== undefined && Number.isFinite(exp)) {
    // A past exp is kept (down to -10 years, for a valid Date) so the skew can be reported.
    candidates.push(fromLifetime(start, exp * SECOND_MS - start, 'jwt_exp', -MAX_LIFETIME_MS));
  } else if (exp !== undefined) {
    warnings.push({ code: 'JwtExpInvalid', message: `JWT exp ${exp} is not a number; ignored` });
  }
  return candidates;
}

/** Signs that our clock and the server's disagree: an iat in the future, exp vs expires_in. */
function skewWarnings(candidates: Candidate[], iat: number | undefined, now: number): ExpiryWarning[] {
  const warnings: ExpiryWarning[] = [];
  if (iat !== undefined && Number.isFinite(iat) && iat * SECOND_MS > now + CLOCK_SKEW_TOLERANCE_MS) {
    warnings.push({
      code: 'ClockSkew',
      message: `JWT iat is ${formatDuration(iat * SECOND_MS - now)} in the future: the authorization server's clock is ahead of the operator's`,
    });
  }
  const [fromExpiresIn, fromExp] = candidates;
  const gap = candidates.length === 2 ? fromExpiresIn.ms - fromExp.ms : 0;
  if (Math.abs(gap) > CLOCK_SKEW_TOLERANCE_MS) {
    warnings.push({
      code: 'ExpiryMismatch',
      message: `JWT exp is ${formatDuration(Math.abs(gap))} ${gap > 0 ? 'earlier' : 'later'} than expires_in implies; using the earlier`,
    });
  }
  return warnings;
}

function expiredMessage(chosen: Candidate, start: number, now: number, minRemainingMs: number): string {
  const at = `${formatTime(new Date(chosen.ms))} (from ${chosen.source})`;
  if (chosen.source === 'jwt_exp' && start - chosen.ms > CLOCK_SKEW_TOLERANCE_MS) {
    return (
      `token already expired on arrival: JWT exp ${at} is ${formatDuration(start - chosen.ms)} before the ` +
      'request was sent; the clocks of the operator and the authorization server may disagree'
    );
  }
  if (chosen.ms <= now) return `token already expired on arrival: it expired at ${at}`;
  return (
    `token expires too soon: ${at}, ${formatDuration(chosen.ms - now)} after it arrived; ` +
    `at least ${formatDuration(minRemainingMs)} is required`
  );
}
