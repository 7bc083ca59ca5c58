// What to do next for one TokenRequest: the checks chain plus failure backoff. The scheduler
// (src/kube) only needs `until` from a wait or backoff; the controller acts on renew/conflict.
import type { TokenRequestStatus } from '../api/generated/types.ts';
import {
  type Check,
  type CheckInput,
  type CheckReason,
  defaultChain,
  evaluate,
  type FailureState,
  type Hit,
} from './checks.ts';
import { readSecretState, type SecretState } from './secret-state.ts';
import { earliest, formatTime, parseTime } from './time.ts';

export type Decision =
  /** Obtain a new token now. */
  | { action: 'renew'; reason: CheckReason; message: string }
  /** The Secret is not ours to write: report SecretConflict, schedule nothing, wait for events. */
  | { action: 'conflict'; reason: CheckReason; message: string }
  /** A renewal is due but held back by failure backoff; try again at `until`. */
  | { action: 'backoff'; reason: CheckReason; message: string; until: Date }
  /** Nothing to do; look again at `until` (the Secret's renew-at). */
  | { action: 'wait'; until: Date };

/**
 * The failure state as the status records it: status.renewalTime holds the next retry time
 * while failing (statusAfterFailure writes it), so backoff survives a restart or failover.
 */
export function failureFromStatus(status: TokenRequestStatus | undefined): FailureState | undefined {
  const failedAttempts = status?.failedAttempts ?? 0;
  if (!status || failedAttempts < 1) return undefined;
  return {
    failedAttempts,
    lastFailureTime: parseTime(status.lastFailureTime),
    nextRetryAt: parseTime(status.renewalTime),
    observedGeneration: status.observedGeneration,
  };
}

/**
 * When the backoff after failed attempts ends, or undefined when it does not apply. It is
 * skipped once after the user acts: a spec change since the last attempt (the generation
 * differs from status.observedGeneration), or a manual renewal requested after the last
 * failure (the annotation parses as a time later than lastFailureTime). Each skip ends with the
 * next attempt, whose failure records the new generation and time: no tight retry loop.
 */
export function backoffUntil(input: CheckInput): Date | undefined {
  const failure = input.failure;
  if (!failure || failure.failedAttempts < 1 || !failure.nextRetryAt) return undefined;
  if (input.now.getTime() >= failure.nextRetryAt.getTime()) return undefined;
  const { generation } = input.tokenRequest;
  if (
    generation !== undefined &&
    failure.observedGeneration !== undefined &&
    generation !== failure.observedGeneration
  ) {
    return undefined;
  }
  const requested = parseTime(input.tokenRequest.renewRequestedAt);
  const handled = input.secret && readSecretState(input.secret).renewRequestedAt;
  if (
    requested &&
    input.tokenRequest.renewRequestedAt !== handled &&
    failure.lastFailureTime &&
    requested.getTime() > failure.lastFailureTime.getTime()
  ) {
    return undefined;
  }
  return failure.nextRetryAt;
}

function held(hit: Hit, until: Date, failedAttempts: number): Decision {
  return {
    action: 'backoff',
    reason: hit.reason,
    message: `${hit.message}; backing off after ${failedAttempts} failed attempt${failedAttempts === 1 ? '' : 's'} until ${formatTime(until)}`,
    until,
  };
}

/**
 * Evaluates the chain (conflicts first), holds a renewal back while in backoff, and otherwise
 * waits until the Secret's renew-at (or expires-at, if that were earlier).
 */
export function decide(input: CheckInput, chain: readonly Check[] = defaultChain): Decision {
  const hit = evaluate(chain, input);
  if (hit?.action === 'conflict') return { action: 'conflict', reason: hit.reason, message: hit.message };
  if (hit) {
    const until = backoffUntil(input);
    if (until) return held(hit, until, input.failure?.failedAttempts ?? 0);
    return { action: 'renew', reason: hit.reason, message: hit.message };
  }
  const state: SecretState = input.secret ? readSecretState(input.secret) : {};
  // With the default chain both are set here; a custom chain without those checks wakes at once.
  return { action: 'wait', until: earliest(state.renewAt, state.expiresAt) ?? input.now };
}
