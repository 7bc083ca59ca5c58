// Shared builders for the renewal unit tests: a fixed clock, constant randomness, and a
// TokenRequest with the Secret desiredSecret writes for it.
import type { V1Secret } from '@kubernetes/client-node';
import type {
  TokenRequest,
  TokenRequestSecret,
  TokenRequestStatus,
} from '../../../src/api/generated/types.ts';
import { desiredSecret, type IssuedToken } from '../../../src/renewal/desired-secret.ts';
import { statusAfterRenewal, type TokenFacts } from '../../../src/renewal/status.ts';

export const T0 = new Date('2026-12-04T15:00:00.000Z');

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** T0 shifted by `ms`. */
export const at = (ms: number): Date => new Date(T0.getTime() + ms);

/** T0 in epoch seconds shifted by `seconds`, as a JWT claim would carry it. */
export const epochSeconds = (seconds: number): number => T0.getTime() / SECOND + seconds;

export const constant =
  (value: number): (() => number) =>
  () =>
    value;

/** The largest double below 1, i.e. the upper end of Math.random(). */
export const ALMOST_ONE = 1 - Number.EPSILON / 2;

export const SPEC_HASH = 'v1:spec';
export const ISSUER_HASH = 'v1:issuer';

/** A TokenRequest as the API server would return it (the generated type). */
export function tokenRequest(secret: TokenRequestSecret = {}): TokenRequest {
  return {
    apiVersion: 'token-renewer.io/v1alpha1',
    kind: 'TokenRequest',
    metadata: { name: 'orders-api', namespace: 'shop', uid: 'uid-orders', generation: 3 },
    spec: { issuerRef: { name: 'corp-idp' }, scopes: ['orders.read'], secret },
  };
}

/** A one-hour token issued at T0, renewed at 40 min. */
export const issued: IssuedToken = {
  accessToken: 'eyJhbGciOi.payload.sig',
  tokenType: 'Bearer',
  expiresAt: at(HOUR),
  renewAt: at(40 * MINUTE),
  grantedScopes: ['orders.read'],
};

/** The Secret desiredSecret writes for `tokenRequest()` and `issued`. */
export function writtenSecret(
  overrides: { renewRequestedAt?: string; secret?: TokenRequestSecret } = {},
): V1Secret {
  const result = desiredSecret({
    tokenRequest: tokenRequest(overrides.secret),
    token: issued,
    specHash: SPEC_HASH,
    issuerHash: ISSUER_HASH,
    renewRequestedAt: overrides.renewRequestedAt,
  });
  if (!result.ok) throw new Error(result.message);
  return result.secret;
}

export const decode = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');

/** What the status records about `issued`. */
export const statusToken: TokenFacts = {
  tokenType: 'Bearer',
  grantedScopes: ['orders.read'],
  expiresAt: at(HOUR),
  renewAt: at(40 * MINUTE),
};

/** The status right after `issued` was written at T0, for generation 3. */
export const renewedStatus = (): TokenRequestStatus =>
  statusAfterRenewal(undefined, {
    now: T0,
    generation: 3,
    secretName: 'orders-api',
    token: statusToken,
    issuedAt: T0,
  });
