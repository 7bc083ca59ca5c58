// Reads back what the operator wrote into a Secret: the ownership labels, the bookkeeping
// annotations and, for rewriting the Secret without a new token request, the token itself.
import { Label, managedBy, SecretDataKey } from '../api/constants.ts';
import { RenewalAnnotation } from './keys.ts';
import type { TokenFacts } from './status.ts';
import { parseTime } from './time.ts';

type StringMap = Readonly<Record<string, string | undefined>>;

export interface OwnerReferenceLike {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The parts of a V1Secret the renewal logic reads; a V1Secret is assignable to it. */
export interface SecretLike {
  metadata?: {
    name?: string;
    labels?: StringMap;
    annotations?: StringMap;
    ownerReferences?: readonly OwnerReferenceLike[];
  };
  type?: string;
  data?: StringMap;
}

export interface SecretState {
  /** Value of `app.kubernetes.io/managed-by`. */
  managedBy?: string;
  /** Value of `token-renewer.io/token-request`. */
  tokenRequest?: string;
  /** Undefined when the annotation is missing or not RFC 3339. */
  expiresAt?: Date;
  renewAt?: Date;
  specHash?: string;
  issuerHash?: string;
  dataHash?: string;
  renewRequestedAt?: string;
}

export function readSecretState(secret: SecretLike): SecretState {
  const labels = secret.metadata?.labels ?? {};
  const annotations = secret.metadata?.annotations ?? {};
  return {
    managedBy: labels[Label.ManagedBy],
    tokenRequest: labels[Label.TokenRequest],
    expiresAt: parseTime(annotations[RenewalAnnotation.ExpiresAt]),
    renewAt: parseTime(annotations[RenewalAnnotation.RenewAt]),
    specHash: annotations[RenewalAnnotation.SpecHash],
    issuerHash: annotations[RenewalAnnotation.IssuerHash],
    dataHash: annotations[RenewalAnnotation.DataHash],
    renewRequestedAt: annotations[RenewalAnnotation.RenewRequestedAt],
  };
}

export function isManagedByUs(state: SecretState): boolean {
  return state.managedBy === managedBy;
}

/** The token as written by desiredSecret, recovered from a Secret we manage. */
export interface CurrentToken extends TokenFacts {
  accessToken: string;
}

const decode = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');

/**
 * What the status says about the token in a Secret we manage, without touching the token
 * itself: for statusUpToDate when nothing is due. Undefined when anything needed is missing.
 */
export function tokenFacts(secret: SecretLike): TokenFacts | undefined {
  const state = readSecretState(secret);
  const tokenType = decode(secret.data?.[SecretDataKey.TokenType]);
  if (!isManagedByUs(state) || !tokenType || !state.expiresAt || !state.renewAt) return undefined;
  const grantedScopes = decode(secret.data?.[SecretDataKey.Scope])
    ?.split(' ')
    .filter((s) => s !== '');
  return {
    tokenType,
    expiresAt: state.expiresAt,
    renewAt: state.renewAt,
    ...(grantedScopes && grantedScopes.length > 0 ? { grantedScopes } : {}),
  };
}

/**
 * Recovers the token from a Secret we manage, so that a change to labels, annotations or
 * template can be applied by rewriting the Secret around the same token. Undefined when
 * anything needed is missing: the caller then renews instead.
 */
export function currentToken(secret: SecretLike): CurrentToken | undefined {
  const facts = tokenFacts(secret);
  const accessToken = decode(secret.data?.[SecretDataKey.Token]);
  return facts && accessToken ? { accessToken, ...facts } : undefined;
}
