// When to renew a token: `expiresAt − lead`, moved a little earlier by jitter so that tokens
// issued together are not all renewed in the same second. All arithmetic is on epoch
// milliseconds in doubles: exact far beyond any token lifetime (no 32-bit timer limits here).
import { floorToSecond, MINUTE_MS, msOf, unitInterval } from './time.ts';

/** Jitter is at most this fraction of the lead, and only ever makes the renewal earlier. */
export const MAX_JITTER_FRACTION = 0.1;
/** Leads shorter than this risk pods reading the old token after kubelet's sync delay (--min-safe-lead). */
export const DEFAULT_MIN_SAFE_LEAD_MS = 2 * MINUTE_MS;

export type LeadSource = 'renewBefore' | 'percentage' | 'default';

export interface RenewalTimeInput {
  /** When the request that obtained the token was sent (the start of its lifetime). */
  issuedAt: Date;
  expiresAt: Date;
  /** `spec.renewBefore`, already parsed; ignored unless a finite positive number. */
  renewBeforeMs?: number;
  /** `spec.renewBeforePercentage` (1–99); ignored unless a finite positive number. */
  renewBeforePercentage?: number;
  /** Uniform in [0, 1); values outside are clamped into [0, 1]. */
  random: () => number;
}

export interface RenewalTime {
  /** Whole second, never later than `expiresAt − leadMs − jitterMs`. */
  renewAt: Date;
  /** The effective lead before jitter: the guaranteed minimum time between renewal and expiry. */
  leadMs: number;
  leadSource: LeadSource;
  /** The requested lead did not fit in the lifetime, so the token is renewed at half-life. */
  halfLife: boolean;
  jitterMs: number;
  lifetimeMs: number;
}

const usable = (value: number | undefined): value is number =>
  value !== undefined && Number.isFinite(value) && value > 0;

/**
 * Lead = renewBefore, else renewBeforePercentage of the lifetime, else a third of the lifetime
 * (renewBefore wins if both are set, which the CRD forbids anyway). A lead that is not shorter
 * than the lifetime would renew at or before issue time, so half-life is used instead and
 * `halfLife` is set for the caller to warn. Rounding to the second goes down (earlier).
 */
export function renewalTime(input: RenewalTimeInput): RenewalTime {
  const issued = msOf(input.issuedAt, 'issuedAt');
  const expires = msOf(input.expiresAt, 'expiresAt');
  const lifetimeMs = Math.max(0, expires - issued);

  let requested: number;
  let leadSource: LeadSource;
  if (usable(input.renewBeforeMs)) {
    requested = input.renewBeforeMs;
    leadSource = 'renewBefore';
  } else if (usable(input.renewBeforePercentage)) {
    requested = (lifetimeMs * input.renewBeforePercentage) / 100;
    leadSource = 'percentage';
  } else {
    requested = lifetimeMs / 3;
    leadSource = 'default';
  }

  const halfLife = requested >= lifetimeMs;
  const leadMs = halfLife ? lifetimeMs / 2 : requested;
  const jitterMs = unitInterval(input.random()) * MAX_JITTER_FRACTION * leadMs;
  const renewAt = new Date(floorToSecond(expires - leadMs - jitterMs));
  return { renewAt, leadMs, leadSource, halfLife, jitterMs, lifetimeMs };
}

/**
 * Whether the effective lead leaves too little time for kubelet to deliver the new token to
 * pods before the old one expires; the controller emits a warning event when true.
 */
export function isLeadUnsafe(leadMs: number, minSafeLeadMs: number = DEFAULT_MIN_SAFE_LEAD_MS): boolean {
  return leadMs < minSafeLeadMs;
}
