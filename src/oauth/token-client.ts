// One client_credentials request: the token and the facts its expiry is computed from, or a
// TokenRequestError. Deciding whether the token is still fresh enough is not done here.
import { inspect } from 'node:util';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { classifyError, TokenRequestError } from './errors.ts';
import { configurationSecrets, configurationTimeoutMs } from './issuer-config.ts';

export interface TokenRequestParams {
  scopes?: readonly string[];
  /** Sent as repeated `audience` parameters, for servers that support it. */
  audience?: readonly string[];
  /** RFC 8707 resource indicators, sent as repeated `resource` parameters. */
  resource?: readonly string[];
  now: () => Date;
}

export interface TokenResponse {
  accessToken: string;
  tokenType: 'Bearer';
  /** As sent by the server; 0 means the server says the token is already expired. */
  expiresInSeconds?: number;
  /** `exp` and `iat` of a JWT access token, decoded without verification (we are not its audience). */
  jwtExpSeconds?: number;
  jwtIatSeconds?: number;
  /** The `scope` the server says it granted; absent when it did not say. */
  grantedScopes?: string[];
  /** Taken before the request was sent: expiry counted from here is conservative. */
  requestStartedAt: Date;
}

const DPOP_MESSAGE =
  'token request failed: token_type DPoP requires a proof-of-possession key and cannot be used as a bearer token from a file';
// RFC 6750 allows only visible ASCII in a bearer credential; anything else breaks the header.
const HEADER_SAFE = /^[\x21-\x7E]+$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Performs the client_credentials grant with a Configuration from buildConfiguration. */
export async function requestToken(
  config: client.Configuration,
  params: TokenRequestParams,
): Promise<TokenResponse> {
  const body = tokenParameters(params);
  const requestStartedAt = params.now();
  let response: client.TokenEndpointResponse;
  try {
    response = await client.clientCredentialsGrant(config, body);
  } catch (err) {
    throw classifyError(err, params.now(), {
      secrets: configurationSecrets(config),
      timeoutMs: configurationTimeoutMs(config),
    });
  }
  return toTokenResponse(response, requestStartedAt);
}

function tokenParameters({ scopes = [], audience = [], resource = [] }: TokenRequestParams): URLSearchParams {
  const body = new URLSearchParams();
  const badScope = scopes.find((scope) => !SCOPE_TOKEN.test(scope));
  if (badScope !== undefined) {
    throw new TokenRequestError(
      'configuration',
      'token request failed: a scope is empty or contains spaces',
      {
        retryable: false,
      },
    );
  }
  if (scopes.length > 0) body.set('scope', scopes.join(' '));
  for (const value of resource) body.append('resource', value);
  for (const value of audience) body.append('audience', value);
  return body;
}

// openid-client has already checked: access_token and token_type are non-empty strings,
// token_type is lowercased and one of bearer/dpop, expires_in a finite number >= 0, scope a string.
function toTokenResponse(response: client.TokenEndpointResponse, requestStartedAt: Date): TokenResponse {
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = response;
  if (tokenType.toLowerCase() === 'dpop') throw unsupported(DPOP_MESSAGE);
  if (tokenType.toLowerCase() !== 'bearer') {
    throw unsupported('token request failed: token_type is not Bearer and cannot be used from a file');
  }
  if (typeof accessToken !== 'string' || !HEADER_SAFE.test(accessToken)) {
    throw invalid('access_token is empty or contains characters not allowed in a bearer token');
  }
  // Repeated for the contract's sake; 0 is kept: an already-expired token is the caller's decision.
  if (expiresIn !== undefined && !(Number.isFinite(expiresIn) && expiresIn >= 0)) {
    throw invalid('expires_in is not a non-negative number');
  }
  const result: TokenResponse = { accessToken, tokenType: 'Bearer', requestStartedAt };
  if (expiresIn !== undefined) result.expiresInSeconds = expiresIn;
  const { exp, iat } = jwtTimes(accessToken);
  if (exp !== undefined) result.jwtExpSeconds = exp;
  if (iat !== undefined) result.jwtIatSeconds = iat;
  if (typeof scope === 'string') result.grantedScopes = scope.split(' ').filter((s) => s !== '');
  return redactWhenPrinted(result);
}

function jwtTimes(token: string): { exp?: number; iat?: number } {
  // Opaque tokens and JWEs (five segments) carry nothing readable.
  if (!COMPACT_JWS.test(token)) return {};
  try {
    const { exp, iat } = decodeJwt(token);
    return { exp: numericDate(exp), iat: numericDate(iat) };
  } catch {
    return {};
  }
}

function numericDate(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

// A response that ends up in a log line or a JSON dump shows everything but the token.
function redactWhenPrinted(result: TokenResponse): TokenResponse {
  const redacted = () => ({ ...result, accessToken: '[redacted]' });
  Object.defineProperty(result, inspect.custom, { value: redacted });
  Object.defineProperty(result, 'toJSON', { value: redacted });
  return result;
}

function unsupported(message: string): TokenRequestError {
  return new TokenRequestError('unsupported_token_type', message, { retryable: false });
}

function invalid(what: string): TokenRequestError {
  return new TokenRequestError('invalid_response', `token request failed: ${what}`, { retryable: true });
}
