// Hashes stored as Secret annotations so that a restarted operator can tell, from the Secret
// alone, whether the token in it is still the one the current spec and issuer would produce,
// and whether anyone edited it. sha256 over a canonical JSON form, prefixed with a version so
// the encoding can change without silently matching old hashes.
import { createHash } from 'node:crypto';
import { Kind } from '../api/constants.ts';
import { parseDuration } from './duration.ts';

export interface SpecHashInput {
  issuerRef: { kind?: string; name: string };
  scopes?: readonly string[];
  audience?: readonly string[];
  resource?: readonly string[];
  renewBefore?: string;
  renewBeforePercentage?: number;
}

export interface IssuerHashInput {
  kind: string;
  name: string;
  /** The token endpoint actually used (explicit or discovered). */
  tokenEndpoint?: string;
  issuerURL?: string;
  clientID: string;
  authMethod?: string;
  /**
   * Version markers of the credential Secrets (client secret, private key, client
   * certificate), e.g. `<uid>/<resourceVersion>`. Never the secret values: a hash of a weak
   * client secret in an annotation could be brute-forced offline.
   */
  credentialVersions?: readonly string[];
  /**
   * `<uid>/<generation>` of the issuer object itself: any change of its spec (even one that does
   * not alter the token, such as `timeout`) renews at once, as a change of the issuer should.
   */
  objectVersion?: string;
}

function sha256(value: unknown): string {
  return `v1:${createHash('sha256').update(JSON.stringify(value)).digest('hex')}`;
}

// Scopes (RFC 6749 §3.3), audiences and resource indicators are sets: order and duplicates
// do not change the token that is issued.
const asSet = (values: readonly string[] | undefined): string[] => [...new Set(values ?? [])].sort();

function normalizedRenewBefore(value: string | undefined): number | string | null {
  if (value === undefined) return null;
  try {
    return parseDuration(value); // `60m` and `1h` are the same policy
  } catch {
    return value;
  }
}

/**
 * Hash of what the token and its schedule depend on: issuer reference, scopes, audience,
 * resource, and the renewal policy (renewBefore, renewBeforePercentage). The renewal time,
 * including its jitter, is fixed when a token is issued, so a policy change takes effect by
 * renewing at once, like any other spec change.
 *
 * Not hashed: the Secret's name, labels, annotations, template and deletionPolicy. They change
 * the Secret, not the token: the controller rewrites the Secret with the token already in it
 * (see currentToken in secret-state.ts) when secretDiffers says the desired Secret changed.
 */
export function specHash(spec: SpecHashInput): string {
  return sha256({
    issuerKind: spec.issuerRef.kind ?? Kind.TokenIssuer,
    issuerName: spec.issuerRef.name,
    scopes: asSet(spec.scopes),
    audience: asSet(spec.audience),
    resource: asSet(spec.resource),
    renewBefore: normalizedRenewBefore(spec.renewBefore),
    renewBeforePercentage: spec.renewBeforePercentage ?? null,
  });
}

/** Fingerprint of the issuer as far as it affects issued tokens; a change renews at once. */
export function issuerHash(issuer: IssuerHashInput): string {
  return sha256({
    kind: issuer.kind,
    name: issuer.name,
    tokenEndpoint: issuer.tokenEndpoint ?? null,
    issuerURL: issuer.issuerURL ?? null,
    clientID: issuer.clientID,
    authMethod: issuer.authMethod ?? null,
    credentialVersions: asSet(issuer.credentialVersions),
    objectVersion: issuer.objectVersion ?? null,
  });
}

/**
 * Hash of a Secret's `data` exactly as stored (base64 values), sorted by key; absent and empty
 * data hash the same. Compared with the data-hash annotation to notice hand edits.
 */
export function dataHash(data: Readonly<Record<string, string | undefined>> | undefined): string {
  const entries = Object.entries(data ?? {})
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(entries);
}
