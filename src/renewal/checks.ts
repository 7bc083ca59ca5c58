// The "renew now?" decision as a chain of small pure checks, after cert-manager's
// internal/controller/certificates/policies/checks.go. The controller gathers a CheckInput;
// each check looks at one thing and either hits (renew, or a conflict we must not touch) or
// passes. The chain order is the precedence. No I/O, no clock: `now` is in the input.
import { Label, managedBy } from '../api/constants.ts';
import { isManagedByUs, readSecretState, type SecretLike } from './secret-state.ts';
import { dataHash } from './spec-hash.ts';
import { formatTime } from './time.ts';

export const CheckReason = {
  /** A Secret with our name exists but is not ours: never overwritten. */
  SecretNotManaged: 'SecretNotManaged',
  /** The Secret is ours but labelled for another TokenRequest: never overwritten. */
  SecretOwnedByOther: 'SecretOwnedByOther',
  SecretMissing: 'SecretMissing',
  SecretAnnotationsMissing: 'SecretAnnotationsMissing',
  SecretDataMismatch: 'SecretDataMismatch',
  SpecChanged: 'SpecChanged',
  IssuerChanged: 'IssuerChanged',
  ManualRenewal: 'ManualRenewal',
  Expired: 'Expired',
  RenewalDue: 'RenewalDue',
} as const;
export type CheckReason = (typeof CheckReason)[keyof typeof CheckReason];

/** State of the last failed attempts, from the TokenRequest's status (see failureFromStatus). */
export interface FailureState {
  failedAttempts: number;
  lastFailureTime?: Date;
  /** When the next attempt is allowed (status.renewalTime while failing). */
  nextRetryAt?: Date;
  /** status.observedGeneration: the generation the last attempt was made for. */
  observedGeneration?: number;
}

export interface CheckInput {
  now: Date;
  tokenRequest: {
    name: string;
    generation?: number;
    /** The TokenRequest's `token-renewer.io/renew-requested-at` annotation. */
    renewRequestedAt?: string;
  };
  /** specHash() of the TokenRequest's current spec. */
  specHash: string;
  /** issuerHash() of the issuer the TokenRequest currently resolves to. */
  issuerHash: string;
  /** The Secret as observed; undefined when it does not exist. */
  secret?: SecretLike;
  failure?: FailureState;
}

export interface Hit {
  action: 'renew' | 'conflict';
  reason: CheckReason;
  message: string;
}

export type Check = (input: CheckInput) => Hit | undefined;

const renew = (reason: CheckReason, message: string): Hit => ({ action: 'renew', reason, message });
const secretName = (input: CheckInput): string => `Secret ${input.secret?.metadata?.name ?? '(unnamed)'}`;

// Taking over a Secret someone else created could destroy their data: conflict, never renew.
export const secretNotManaged: Check = (input) => {
  if (!input.secret || isManagedByUs(readSecretState(input.secret))) return undefined;
  return {
    action: 'conflict',
    reason: CheckReason.SecretNotManaged,
    message: `${secretName(input)} exists and is not managed by token-renewer (no label ${Label.ManagedBy}=${managedBy})`,
  };
};

// Two TokenRequests naming the same Secret would overwrite each other's token in turn.
export const secretOwnedByOther: Check = (input) => {
  if (!input.secret) return undefined;
  const owner = readSecretState(input.secret).tokenRequest;
  if (owner === input.tokenRequest.name) return undefined;
  return {
    action: 'conflict',
    reason: CheckReason.SecretOwnedByOther,
    message: `${secretName(input)} belongs to TokenRequest ${owner ?? '(none)'} (label ${Label.TokenRequest})`,
  };
};

// Deleted (or never created): renew even if the token would still be fresh, it is gone.
export const secretMissing: Check = (input) =>
  input.secret ? undefined : renew(CheckReason.SecretMissing, 'the Secret does not exist');

// Without our bookkeeping we cannot tell what the Secret holds or when it expires.
export const secretAnnotationsMissing: Check = (input) => {
  if (!input.secret) return undefined;
  const state = readSecretState(input.secret);
  const missing = Object.entries({
    'expires-at': state.expiresAt,
    'renew-at': state.renewAt,
    'spec-hash': state.specHash,
    'issuer-hash': state.issuerHash,
    'data-hash': state.dataHash,
  })
    .filter(([, value]) => value === undefined)
    .map(([key]) => key);
  if (missing.length === 0) return undefined;
  return renew(
    CheckReason.SecretAnnotationsMissing,
    `${secretName(input)} lacks valid annotations: ${missing.join(', ')}`,
  );
};

// Edited by hand: we do not keep the token in memory, so the Secret is restored by renewing.
export const secretDataMismatch: Check = (input) => {
  if (!input.secret) return undefined;
  if (dataHash(input.secret.data) === readSecretState(input.secret).dataHash) return undefined;
  return renew(CheckReason.SecretDataMismatch, `${secretName(input)} data was changed outside the operator`);
};

export const specChanged: Check = (input) =>
  input.secret && readSecretState(input.secret).specHash !== input.specHash
    ? renew(CheckReason.SpecChanged, 'the token was issued for an earlier spec')
    : undefined;

export const issuerChanged: Check = (input) =>
  input.secret && readSecretState(input.secret).issuerHash !== input.issuerHash
    ? renew(CheckReason.IssuerChanged, 'the issuer or its credentials changed since the token was issued')
    : undefined;

// A new value of the annotation asks for one renewal; the Secret records the value handled last.
export const manualRenewal: Check = (input) => {
  const requested = input.tokenRequest.renewRequestedAt;
  if (!input.secret || !requested || readSecretState(input.secret).renewRequestedAt === requested) {
    return undefined;
  }
  return renew(CheckReason.ManualRenewal, `renewal requested at ${requested}`);
};

export const expired: Check = (input) => {
  const expiresAt = input.secret && readSecretState(input.secret).expiresAt;
  if (!expiresAt || input.now.getTime() < expiresAt.getTime()) return undefined;
  return renew(CheckReason.Expired, `the token expired at ${formatTime(expiresAt)}`);
};

export const renewalDue: Check = (input) => {
  const renewAt = input.secret && readSecretState(input.secret).renewAt;
  if (!renewAt || input.now.getTime() < renewAt.getTime()) return undefined;
  return renew(CheckReason.RenewalDue, `renewal was due at ${formatTime(renewAt)}`);
};

/** Conflicts first (they are terminal), then what makes the Secret unusable, then timing. */
export const defaultChain: readonly Check[] = [
  secretNotManaged,
  secretOwnedByOther,
  secretMissing,
  secretAnnotationsMissing,
  secretDataMismatch,
  specChanged,
  issuerChanged,
  manualRenewal,
  expired,
  renewalDue,
];

/** The first hit of the chain, or undefined when every check passes. */
export function evaluate(chain: readonly Check[], input: CheckInput): Hit | undefined {
  for (const check of chain) {
    const hit = check(input);
    if (hit) return hit;
  }
  return undefined;
}
