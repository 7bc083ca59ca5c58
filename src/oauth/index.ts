// The OAuth client: an issuer description and a request in, a token response or a classified,
// sanitized TokenRequestError out. Built on openid-client (protocol) and jose (JWT claims).

export type { ClientAuthMethod, ClientAuthSpec } from './client-auth.ts';
export { inferAssertionAlg, SUPPORTED_ASSERTION_ALGS } from './client-auth.ts';
export type { IssuerConfigCacheOptions } from './config-cache.ts';
export { IssuerConfigCache } from './config-cache.ts';
export type { ClassifyOptions, TokenRequestErrorCode, TokenRequestErrorDetails } from './errors.ts';
export { classifyError, TokenRequestError } from './errors.ts';
export type { ResolvedAddress, Resolver } from './guarded-connector.ts';
export type { BuildOptions, IssuerDescription } from './issuer-config.ts';
export {
  buildConfiguration,
  closeConfiguration,
  createIssuerConfigCache,
  credentialsFingerprint,
} from './issuer-config.ts';
export type { DeniedClass, OutboundPolicy } from './outbound-policy.ts';
export {
  addressRefusal,
  DEFAULT_OUTBOUND_POLICY,
  deniedClass,
  outboundPolicyProblems,
  parseCidr,
  urlRefusal,
} from './outbound-policy.ts';
export { parseRetryAfter } from './retry-after.ts';
export type { TokenRequestParams, TokenResponse } from './token-client.ts';
export { requestToken } from './token-client.ts';
