// Names shared by the CRD schema, the controller and the CLI. String-literal `as const` objects
// (not enums) so they erase cleanly under Node's type stripping and narrow to literal types.

export const group = 'token-renewer.io';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}` as const;
/** `kubectl get token-renewer` lists every kind of the API. */
export const category = 'token-renewer';

export const Kind = {
  TokenRequest: 'TokenRequest',
  TokenIssuer: 'TokenIssuer',
  ClusterTokenIssuer: 'ClusterTokenIssuer',
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Kinds a TokenRequest's issuerRef may name. */
export const IssuerKind = {
  TokenIssuer: Kind.TokenIssuer,
  ClusterTokenIssuer: Kind.ClusterTokenIssuer,
} as const;
export type IssuerKind = (typeof IssuerKind)[keyof typeof IssuerKind];

export const Plural = {
  TokenRequest: 'tokenrequests',
  TokenIssuer: 'tokenissuers',
  ClusterTokenIssuer: 'clustertokenissuers',
} as const satisfies Record<Kind, string>;
export type Plural = (typeof Plural)[keyof typeof Plural];

/** Labels the operator puts on every Secret it manages; users may not set them. */
export const Label = {
  ManagedBy: 'app.kubernetes.io/managed-by',
  TokenRequest: 'token-renewer.io/token-request',
} as const;
export type Label = (typeof Label)[keyof typeof Label];
/** Value of the `app.kubernetes.io/managed-by` label. */
export const managedBy = 'token-renewer';

export const Annotation = {
  /** On the Secret: when the token in it expires (RFC 3339). */
  ExpiresAt: 'token-renewer.io/expires-at',
  /** On the Secret: when the operator will renew the token (RFC 3339). */
  RenewAt: 'token-renewer.io/renew-at',
  /** On the Secret: hash of the TokenRequest/issuer spec that produced the token. */
  SpecHash: 'token-renewer.io/spec-hash',
  /** On the TokenRequest: a new value asks for one immediate renewal. */
  RenewRequestedAt: 'token-renewer.io/renew-requested-at',
} as const;
export type Annotation = (typeof Annotation)[keyof typeof Annotation];
/** Annotation keys under this prefix are the operator's; users may not set them on the Secret. */
export const annotationPrefix = `${group}/` as const;

/** Keys the operator writes into the Secret's data; template keys may not reuse them. */
export const SecretDataKey = {
  Token: 'token',
  TokenType: 'token_type',
  ExpiresAt: 'expires_at',
  Scope: 'scope',
} as const;
export type SecretDataKey = (typeof SecretDataKey)[keyof typeof SecretDataKey];
export const reservedSecretDataKeys: readonly SecretDataKey[] = Object.values(SecretDataKey);

export const DeletionPolicy = {
  /** The Secret carries an ownerReference to the TokenRequest and is garbage-collected with it. */
  Delete: 'Delete',
  /** The Secret is left behind when the TokenRequest is deleted. */
  Retain: 'Retain',
} as const;
export type DeletionPolicy = (typeof DeletionPolicy)[keyof typeof DeletionPolicy];

export const ClientAuthMethod = {
  ClientSecretBasic: 'client_secret_basic',
  ClientSecretPost: 'client_secret_post',
  PrivateKeyJWT: 'private_key_jwt',
  TLSClientAuth: 'tls_client_auth',
  None: 'none',
} as const;
export type ClientAuthMethod = (typeof ClientAuthMethod)[keyof typeof ClientAuthMethod];

/** Asymmetric JWS algorithms accepted for private_key_jwt client assertions. */
export const privateKeyJWTAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type PrivateKeyJWTAlgorithm = (typeof privateKeyJWTAlgorithms)[number];

export const ConditionType = {
  /** TokenRequest: a valid token is in the Secret. Issuers: endpoint resolved, credentials present. */
  Ready: 'Ready',
  /** TokenRequest: a renewal is due or being retried. */
  Renewing: 'Renewing',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const ConditionStatus = {
  True: 'True',
  False: 'False',
  Unknown: 'Unknown',
} as const;
export type ConditionStatus = (typeof ConditionStatus)[keyof typeof ConditionStatus];

/** Condition reasons of a TokenRequest (CamelCase, as metav1.Condition requires). */
export const TokenRequestReason = {
  // Ready
  TokenIssued: 'TokenIssued',
  Expired: 'Expired',
  SecretConflict: 'SecretConflict',
  IssuerNotFound: 'IssuerNotFound',
  IssuerNotReady: 'IssuerNotReady',
  NamespaceNotAllowed: 'NamespaceNotAllowed',
  TokenRequestFailed: 'TokenRequestFailed',
  InvalidTokenResponse: 'InvalidTokenResponse',
  // Renewing (while a renewal is blocked by the issuer, Renewing carries the issuer reason)
  RetryingAfterFailure: 'RetryingAfterFailure',
  UpToDate: 'UpToDate',
} as const;
export type TokenRequestReason = (typeof TokenRequestReason)[keyof typeof TokenRequestReason];

/** Condition reasons of a TokenIssuer or ClusterTokenIssuer. */
export const IssuerReason = {
  Ready: 'Ready',
  DiscoveryFailed: 'DiscoveryFailed',
  CredentialsNotFound: 'CredentialsNotFound',
  InvalidCredentials: 'InvalidCredentials',
  EndpointNotAllowed: 'EndpointNotAllowed',
} as const;
export type IssuerReason = (typeof IssuerReason)[keyof typeof IssuerReason];
