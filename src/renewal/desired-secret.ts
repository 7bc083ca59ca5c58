// The Secret the operator wants for a TokenRequest and a token: the token keys, the rendered
// template keys, our labels and bookkeeping annotations, and (for deletionPolicy Delete) an
// ownerReference. Pure: the controller compares it with the live Secret and writes on change.
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import {
  apiVersion,
  DeletionPolicy,
  Kind,
  Label,
  managedBy,
  reservedSecretDataKeys,
  SecretDataKey,
} from '../api/constants.ts';
import type { TokenRequestSecret } from '../api/generated/types.ts';
import { RenewalAnnotation } from './keys.ts';
import { dataHash } from './spec-hash.ts';
import { renderTemplate } from './template.ts';
import { formatTime } from './time.ts';

export interface IssuedToken {
  accessToken: string;
  tokenType: string;
  expiresAt: Date;
  renewAt: Date;
  grantedScopes?: readonly string[];
}

export interface DesiredSecretInput {
  /** A TokenRequest (or its relevant parts). */
  tokenRequest: {
    metadata?: { name?: string; namespace?: string; uid?: string };
    spec: { secret?: TokenRequestSecret };
  };
  token: IssuedToken;
  specHash: string;
  issuerHash: string;
  /** The TokenRequest's renew-requested-at annotation now: recorded on the Secret as handled. */
  renewRequestedAt?: string;
}

export type DesiredSecretResult =
  | { ok: true; secret: V1Secret }
  | { ok: false; reason: 'InvalidTokenRequest' | 'InvalidToken' | 'InvalidTemplate'; message: string };

const maxLabelValue = 63;
/** What the API server accepts in a Secret's data, summed over the decoded values (1 MiB). */
export const MAX_SECRET_DATA_BYTES = 1024 * 1024;
// A Secret data key as the API server validates it (IsConfigMapKey).
const isDataKey = (key: string): boolean =>
  /^[-._a-zA-Z0-9]+$/.test(key) && key.length <= 253 && key !== '.' && key !== '..';

const base64 = (value: string): string => Buffer.from(value, 'utf8').toString('base64');

/** Drops undefined values (the generated types allow them in string maps). */
function defined(map: Readonly<Record<string, string | undefined>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map ?? {})) if (value !== undefined) out[key] = value;
  return out;
}

type Failure = Extract<DesiredSecretResult, { ok: false }>;

function renderData(
  token: IssuedToken,
  template: TokenRequestSecret['template'],
): { ok: true; data: Record<string, string> } | Failure {
  const scope = token.grantedScopes?.join(' ') ?? '';
  const values = {
    token: token.accessToken,
    token_type: token.tokenType,
    expires_at: formatTime(token.expiresAt),
    scope,
  };
  const plain: Record<string, string> = {
    [SecretDataKey.Token]: values.token,
    [SecretDataKey.TokenType]: values.token_type,
    [SecretDataKey.ExpiresAt]: values.expires_at,
  };
  if (scope !== '') plain[SecretDataKey.Scope] = scope;
  for (const [key, text] of Object.entries(defined(template))) {
    if ((reservedSecretDataKeys as readonly string[]).includes(key) || !isDataKey(key)) {
      return {
        ok: false,
        reason: 'InvalidTemplate',
        message: `template key ${JSON.stringify(key)} is not allowed`,
      };
    }
    const rendered = renderTemplate(text, values);
    if (!rendered.ok) {
      return {
        ok: false,
        reason: 'InvalidTemplate',
        message: `template key ${JSON.stringify(key)}: ${rendered.message}`,
      };
    }
    plain[key] = rendered.value;
  }
  // The API server refuses a larger Secret (422); say so here, where the cause is known, instead
  // of failing every write. It counts the decoded bytes of the values, as this does.
  const size = Object.values(plain).reduce((total, value) => total + Buffer.byteLength(value, 'utf8'), 0);
  if (size > MAX_SECRET_DATA_BYTES) {
    return {
      ok: false,
      reason: 'InvalidToken',
      message: `the Secret would hold ${size} bytes of data, more than the ${MAX_SECRET_DATA_BYTES} a Secret may hold (the access token is ${Buffer.byteLength(token.accessToken, 'utf8')} bytes)`,
    };
  }
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(plain)) data[key] = base64(value);
  return { ok: true, data };
}

/**
 * Builds the Secret. `data` is base64 (not stringData) so it compares directly with what the
 * API server returns. Our labels and annotations override the user's. The result is an
 * error, never a throw, for an unknown placeholder, a reserved template key, an empty token,
 * data larger than a Secret may hold, or a TokenRequest without name/namespace/uid or with a
 * name too long for a label value.
 */
export function desiredSecret(input: DesiredSecretInput): DesiredSecretResult {
  const { name, namespace, uid } = input.tokenRequest.metadata ?? {};
  if (!name || !namespace || !uid) {
    return {
      ok: false,
      reason: 'InvalidTokenRequest',
      message: 'the TokenRequest has no name, namespace or uid',
    };
  }
  if (name.length > maxLabelValue) {
    return {
      ok: false,
      reason: 'InvalidTokenRequest',
      message: `the TokenRequest name is longer than ${maxLabelValue} characters and cannot be the value of label ${Label.TokenRequest}`,
    };
  }
  const { token } = input;
  if (token.accessToken === '' || token.tokenType === '') {
    return { ok: false, reason: 'InvalidToken', message: 'the access token or its token_type is empty' };
  }
  const spec = input.tokenRequest.spec.secret ?? {};
  const rendered = renderData(token, spec.template);
  if (!rendered.ok) return rendered;
  const { data } = rendered;

  const annotations: Record<string, string> = {
    ...defined(spec.annotations),
    [RenewalAnnotation.ExpiresAt]: formatTime(token.expiresAt),
    [RenewalAnnotation.RenewAt]: formatTime(token.renewAt),
    [RenewalAnnotation.SpecHash]: input.specHash,
    [RenewalAnnotation.IssuerHash]: input.issuerHash,
    [RenewalAnnotation.DataHash]: dataHash(data),
  };
  if (input.renewRequestedAt) annotations[RenewalAnnotation.RenewRequestedAt] = input.renewRequestedAt;

  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: spec.name ?? name,
      namespace,
      labels: { ...defined(spec.labels), [Label.ManagedBy]: managedBy, [Label.TokenRequest]: name },
      annotations,
    },
    type: 'Opaque',
    data,
  };
  if ((spec.deletionPolicy ?? DeletionPolicy.Delete) === DeletionPolicy.Delete) {
    secret.metadata = { ...secret.metadata, ownerReferences: [ownerReference(name, uid)] };
  }
  return { ok: true, secret };
}

/**
 * controller: true so the Secret shows up as the TokenRequest's and garbage collection deletes
 * it with the TokenRequest. blockOwnerDeletion: false because true needs extra RBAC (update
 * on tokenrequests/finalizers, enforced by the OwnerReferencesPermissionEnforcement admission
 * plugin) and nothing gains from a foreground deletion waiting on the Secret.
 */
export function ownerReference(name: string, uid: string): V1OwnerReference {
  return { apiVersion, kind: Kind.TokenRequest, name, uid, controller: true, blockOwnerDeletion: false };
}
