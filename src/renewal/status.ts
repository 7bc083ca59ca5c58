// The TokenRequest status after each kind of outcome. Ready means "a valid token is in the
// Secret"; Renewing means "a renewal is due, failing, or blocked". These functions never see
// a token, and every caller-supplied message is sanitized again before it is stored.
import { ConditionStatus, ConditionType, TokenRequestReason } from '../api/constants.ts';
import type { TokenRequestStatus } from '../api/generated/types.ts';
import { setCondition } from './conditions.ts';
import { formatTime } from './time.ts';

export const MAX_MESSAGE_LENGTH = 1024;

/** One line, control characters and runs of whitespace collapsed, at most `max` characters. */
export function sanitizeMessage(message: string, max: number = MAX_MESSAGE_LENGTH): string {
  const flat = message.replace(/[\p{Cc}\s]+/gu, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

interface Observation {
  now: Date;
  /** metadata.generation of the TokenRequest the decision was made for. */
  generation?: number;
}

export interface TokenFacts {
  tokenType: string;
  grantedScopes?: readonly string[];
  expiresAt: Date;
  renewAt: Date;
}

export type FailureReason =
  | typeof TokenRequestReason.TokenRequestFailed
  | typeof TokenRequestReason.InvalidTokenResponse;
export type IssuerProblemReason =
  | typeof TokenRequestReason.IssuerNotFound
  | typeof TokenRequestReason.IssuerNotReady
  | typeof TokenRequestReason.NamespaceNotAllowed;

/** Drops undefined fields, so results compare and serialize cleanly. */
function compact(status: TokenRequestStatus): TokenRequestStatus {
  return Object.fromEntries(Object.entries(status).filter(([, value]) => value !== undefined));
}

function update(
  prev: TokenRequestStatus | undefined,
  at: Observation,
  ready: { status: 'True' | 'False'; reason: string; message: string },
  renewing: { status: 'True' | 'False'; reason: string; message: string },
  fields: TokenRequestStatus,
): TokenRequestStatus {
  const observedGeneration = at.generation;
  let conditions = setCondition(
    prev?.conditions,
    { type: ConditionType.Ready, observedGeneration, ...ready },
    at.now,
  );
  conditions = setCondition(
    conditions,
    { type: ConditionType.Renewing, observedGeneration, ...renewing },
    at.now,
  );
  return compact({
    ...prev,
    ...fields,
    conditions,
    observedGeneration: observedGeneration ?? prev?.observedGeneration,
  });
}

const validUntil = (expiresAt: Date): string => `token valid until ${formatTime(expiresAt)}`;
const isValid = (at: Observation, expiresAt: Date | undefined): expiresAt is Date =>
  expiresAt !== undefined && at.now.getTime() < expiresAt.getTime();

/**
 * A valid token is in the Secret and nothing is due (the decision was `wait`): Ready=True,
 * Renewing=False, token fields from the Secret, failure fields cleared (they belonged to a
 * renewal that is no longer needed). Also restores the status after a resolved conflict.
 */
export function statusUpToDate(
  prev: TokenRequestStatus | undefined,
  at: Observation & { secretName: string; token: TokenFacts },
): TokenRequestStatus {
  const { token } = at;
  return update(
    prev,
    at,
    {
      status: ConditionStatus.True,
      reason: TokenRequestReason.TokenIssued,
      message: validUntil(token.expiresAt),
    },
    {
      status: ConditionStatus.False,
      reason: TokenRequestReason.UpToDate,
      message: `next renewal at ${formatTime(token.renewAt)}`,
    },
    {
      secretName: at.secretName,
      tokenType: token.tokenType,
      grantedScopes: token.grantedScopes ? [...token.grantedScopes] : undefined,
      expirationTime: formatTime(token.expiresAt),
      renewalTime: formatTime(token.renewAt),
      failedAttempts: 0,
      // null and '' rather than absent, so that a merge patch clears them too.
      lastFailureTime: null,
      lastFailureMessage: '',
    },
  );
}

/** A new token was written to the Secret. lastRenewalTime is when its request was sent. */
export function statusAfterRenewal(
  prev: TokenRequestStatus | undefined,
  at: Observation & { secretName: string; token: TokenFacts; issuedAt: Date },
): TokenRequestStatus {
  return { ...statusUpToDate(prev, at), lastRenewalTime: formatTime(at.issuedAt) };
}

/**
 * A renewal attempt failed; the Secret keeps its token. Ready stays True while that token is
 * valid and turns False (Expired) only once it has expired, or (TokenRequestFailed or
 * InvalidTokenResponse) when there never was one. renewalTime becomes the retry time, which
 * is where failureFromStatus finds it after a restart.
 */
export function statusAfterFailure(
  prev: TokenRequestStatus | undefined,
  at: Observation & { message: string; retryAt: Date; reason?: FailureReason; tokenExpiresAt?: Date },
): TokenRequestStatus {
  const failedAttempts = (prev?.failedAttempts ?? 0) + 1;
  const message = sanitizeMessage(at.message);
  const expiresAt = at.tokenExpiresAt;
  const ready = isValid(at, expiresAt)
    ? { status: ConditionStatus.True, reason: TokenRequestReason.TokenIssued, message: validUntil(expiresAt) }
    : expiresAt
      ? {
          status: ConditionStatus.False,
          reason: TokenRequestReason.Expired,
          message: `token expired at ${formatTime(expiresAt)}; renewal failing: ${message}`,
        }
      : {
          status: ConditionStatus.False,
          reason: at.reason ?? TokenRequestReason.TokenRequestFailed,
          message: `no token yet: ${message}`,
        };
  return update(
    prev,
    at,
    ready,
    {
      status: ConditionStatus.True,
      reason: TokenRequestReason.RetryingAfterFailure,
      message: `attempt ${failedAttempts} failed: ${message}; next attempt at ${formatTime(at.retryAt)}`,
    },
    {
      failedAttempts,
      // To the millisecond, not rounded down to the second like the other times: backoffUntil
      // reads both back, and a rounded retry time would end the backoff up to 1 s early (at
      // once, for a retry due within the same second); a rounded failure time would make a
      // manual renewal requested earlier in that second look newer and skip the backoff.
      lastFailureTime: at.now.toISOString(),
      lastFailureMessage: message,
      renewalTime: at.retryAt.toISOString(),
    },
  );
}

/**
 * The Secret is not ours (decision `conflict`). The token fields are cleared: they would
 * describe a Secret we no longer manage. statusUpToDate restores them once resolved.
 */
export function statusAfterConflict(
  prev: TokenRequestStatus | undefined,
  at: Observation & { secretName: string; message: string },
): TokenRequestStatus {
  const message = sanitizeMessage(at.message);
  const conflict = { status: ConditionStatus.False, reason: TokenRequestReason.SecretConflict, message };
  return update(prev, at, conflict, conflict, {
    secretName: at.secretName,
    tokenType: undefined,
    grantedScopes: undefined,
    expirationTime: undefined,
    renewalTime: undefined,
  });
}

/**
 * The issuer cannot be used (missing, not ready, or not allowed for this namespace). Like a
 * failed attempt, Ready stays True while the token in the Secret is still valid: an issuer
 * blip must not report every token as broken. Renewing=True says renewals are blocked.
 */
export function statusAfterIssuerProblem(
  prev: TokenRequestStatus | undefined,
  at: Observation & { reason: IssuerProblemReason; message: string; tokenExpiresAt?: Date },
): TokenRequestStatus {
  const message = sanitizeMessage(at.message);
  const expiresAt = at.tokenExpiresAt;
  const ready = isValid(at, expiresAt)
    ? { status: ConditionStatus.True, reason: TokenRequestReason.TokenIssued, message: validUntil(expiresAt) }
    : {
        status: ConditionStatus.False,
        reason: at.reason,
        message: expiresAt ? `token expired at ${formatTime(expiresAt)}; ${message}` : message,
      };
  return update(prev, at, ready, { status: ConditionStatus.True, reason: at.reason, message }, {});
}

/** Canonical form for comparison: no undefined or null fields, conditions sorted by type. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined && v !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, canonical(v)]);
  return Object.fromEntries(entries);
}

/** True when writing `next` would change the stored status `current`. */
export function statusDiffers(current: TokenRequestStatus | undefined, next: TokenRequestStatus): boolean {
  const byType = (s: TokenRequestStatus | undefined) => ({
    ...s,
    conditions: [...(s?.conditions ?? [])].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)),
  });
  return JSON.stringify(canonical(byType(current))) !== JSON.stringify(canonical(byType(next)));
}
