// The one error type the OAuth client raises: classified (what failed, may it be retried, when)
// and safe to show anywhere. Its message is built only from the HTTP status, the OAuth error code
// and a sanitized description; it carries no `cause`, so nothing raw can leak through it.
import { ClientError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';
import {
  causeChain,
  discardBody,
  invalidAttribute,
  isRejectedTokenType,
  type ResponseLike,
  rejectedTokenType,
  responseOf,
  transportFailure,
} from './error-causes.ts';
import { parseRetryAfter } from './retry-after.ts';
import { sanitizeDescription, sanitizeErrorCode, sanitizeMachineCode } from './sanitize.ts';

export type TokenRequestErrorCode =
  | 'network' // connection refused/reset, DNS: retryable
  | 'tls' // certificate verification or handshake failed: retryable (the server may fix it)
  | 'timeout' // no complete response within the issuer's timeout: retryable
  | 'http_status' // an HTTP status without an OAuth error body: 5xx and 408 retryable
  | 'rate_limited' // 429: retryable, usually with retryAfterMs
  | 'oauth_error' // an OAuth error response (RFC 6749 §5.2)
  | 'invalid_response' // 2xx that is not a usable token response
  | 'unsupported_token_type' // e.g. DPoP: cannot be used as a bearer token from a file
  | 'discovery_failed' // the issuer's metadata could not be obtained or is unusable
  | 'configuration' // the issuer description itself is wrong: not retryable
  | 'endpoint_refused' // the outbound policy forbids the endpoint (scheme, host, address): not retryable
  | 'unexpected'; // anything not recognised (a bug): retryable, reported by name only

export interface TokenRequestErrorDetails {
  retryable: boolean;
  retryAfterMs?: number;
  httpStatus?: number;
  /** The OAuth `error` code, when the server sent one that is fit to repeat. */
  oauthError?: string;
  /** The underlying machine code (`ECONNRESET`, `OAUTH_RESPONSE_IS_NOT_JSON`, …) for logs. */
  causeCode?: string;
}

export class TokenRequestError extends Error {
  readonly code: TokenRequestErrorCode;
  readonly retryable: boolean;
  // `declare`: no field initialisers, so absent details stay absent (and out of `util.inspect`).
  declare readonly retryAfterMs?: number;
  declare readonly httpStatus?: number;
  declare readonly oauthError?: string;
  declare readonly causeCode?: string;

  /** `message` must already be safe: only this module and token-client build these. */
  constructor(code: TokenRequestErrorCode, message: string, details: TokenRequestErrorDetails) {
    super(message);
    this.code = code;
    this.retryable = details.retryable;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.oauthError !== undefined) this.oauthError = details.oauthError;
    if (details.causeCode !== undefined) this.causeCode = details.causeCode;
  }
}
// On the prototype, not per instance: keeps `util.inspect` output to the fields above.
Object.defineProperty(TokenRequestError.prototype, 'name', { value: 'TokenRequestError' });

export interface ClassifyOptions {
  /** Values that must never appear in a message (client secret, …): descriptions naming them are dropped. */
  secrets?: readonly string[];
  /** Which request failed; discovery failures other than configuration become `discovery_failed`. */
  phase?: 'token' | 'discovery';
  /** Named in timeout messages. */
  timeoutMs?: number;
}

// OAuth error codes that describe a transient server condition (RFC 6749 §5.2 / §4.1.2.1, RFC 8628).
const RETRYABLE_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error', 'slow_down']);

interface Context extends ClassifyOptions {
  now: Date;
}

/** Maps anything the OAuth client can throw to a TokenRequestError. Never throws. */
export function classifyError(err: unknown, now: Date, options: ClassifyOptions = {}): TokenRequestError {
  const ctx = { ...options, now };
  try {
    // Already classified (e.g. a refusal raised inside our fetch, which openid-client wraps).
    for (const e of causeChain(err)) if (e instanceof TokenRequestError) return e;
    discardBody(err);
    return classify(err, ctx);
  } catch {
    // Only a hostile object (throwing getters, a Proxy) gets here.
    return make(ctx, 'unexpected', 'unexpected error', { retryable: true });
  }
}

function classify(err: unknown, ctx: Context): TokenRequestError {
  if (err instanceof ResponseBodyError) {
    return fromOAuthError(ctx, err.status, err.error, err.error_description, responseOf(err));
  }
  if (err instanceof WWWAuthenticateChallengeError) {
    const challenge = err.cause.find((c) => typeof c.parameters.error === 'string');
    if (challenge) {
      const { error, error_description } = challenge.parameters;
      return fromOAuthError(ctx, err.status, error, error_description, responseOf(err));
    }
    return fromStatus(ctx, err.status, responseOf(err), 'OAUTH_WWW_AUTHENTICATE_CHALLENGE');
  }
  const transport = transportFailure(err);
  if (transport) {
    const code = sanitizeMachineCode(transport.code);
    const suffix = code ? ` (${code})` : '';
    switch (transport.kind) {
      case 'timeout': {
        const after = ctx.timeoutMs === undefined ? '' : ` after ${ctx.timeoutMs} ms`;
        return make(ctx, 'timeout', `timed out${after}`, { retryable: true, causeCode: code });
      }
      case 'tls':
        return make(ctx, 'tls', `TLS failure${suffix}`, { retryable: true, causeCode: code });
      case 'too_large':
        return make(ctx, 'invalid_response', 'response too large', { retryable: true, causeCode: code });
      case 'network':
        return make(ctx, 'network', `network error${suffix}`, { retryable: true, causeCode: code });
    }
  }
  if (err instanceof ClientError) return fromClientError(err, ctx);
  const { code } = (err ?? {}) as { code?: unknown };
  if (err instanceof TypeError && typeof code === 'string' && code.startsWith('ERR_INVALID_ARG')) {
    const causeCode = sanitizeMachineCode(code);
    return make(ctx, 'configuration', `invalid argument (${causeCode})`, { retryable: false, causeCode });
  }
  const name = err instanceof Error ? sanitizeMachineCode(err.constructor.name) : undefined;
  const causeCode = sanitizeMachineCode(code) ?? name;
  return make(ctx, 'unexpected', `unexpected error${causeCode ? ` (${causeCode})` : ''}`, {
    retryable: true,
    causeCode,
  });
}

function fromClientError(err: ClientError, ctx: Context): TokenRequestError {
  const causeCode = sanitizeMachineCode(err.code);
  const response = responseOf(err);
  // An unexpected status (with or without a JSON body): the status says it all.
  if (response && (response.status < 200 || response.status > 299)) {
    return fromStatus(ctx, response.status, response, causeCode);
  }
  const invalid = (what: string) => make(ctx, 'invalid_response', what, { retryable: true, causeCode });
  switch (err.code) {
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
      return invalid(`response is not JSON${response ? ` (HTTP ${response.status})` : ''}`);
    case 'OAUTH_PARSE_ERROR':
      return invalid('response body is not valid JSON');
    case 'OAUTH_INVALID_RESPONSE':
      return invalid(`malformed response${invalidAttribute(err)}`);
    case 'OAUTH_UNSUPPORTED_OPERATION':
      if (isRejectedTokenType(err)) {
        const tokenType = sanitizeErrorCode(rejectedTokenType(err), ctx.secrets) ?? 'other than Bearer';
        return make(ctx, 'unsupported_token_type', `token_type ${tokenType} is not supported (only Bearer)`, {
          retryable: false,
          causeCode,
        });
      }
      return make(ctx, 'configuration', 'unsupported key or algorithm', { retryable: false, causeCode });
    case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
      return make(ctx, 'configuration', 'only https endpoints are allowed', { retryable: false, causeCode });
    case 'OAUTH_REQUEST_PROTOCOL_FORBIDDEN':
      return make(ctx, 'configuration', 'only http(s) endpoints are allowed', {
        retryable: false,
        causeCode,
      });
    case 'OAUTH_MISSING_SERVER_METADATA':
    case 'OAUTH_INVALID_SERVER_METADATA':
      return make(ctx, 'configuration', 'issuer metadata has no usable token_endpoint', {
        retryable: false,
        causeCode,
      });
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
      return make(ctx, 'discovery_failed', 'discovered issuer does not match the issuer URL', {
        retryable: false,
        causeCode,
      });
    default:
      return make(ctx, 'unexpected', `client error${causeCode ? ` (${causeCode})` : ''}`, {
        retryable: true,
        causeCode,
      });
  }
}

function fromOAuthError(
  ctx: Context,
  status: number,
  rawError: unknown,
  rawDescription: unknown,
  response: ResponseLike | undefined,
): TokenRequestError {
  const oauthError = sanitizeErrorCode(rawError, ctx.secrets);
  const description = sanitizeDescription(rawDescription, ctx.secrets);
  const retryable =
    status === 429 || status === 408 || status >= 500 || RETRYABLE_OAUTH_ERRORS.has(oauthError ?? '');
  const retryAfterMs = retryable ? parseRetryAfter(response?.headers.get('retry-after'), ctx.now) : undefined;
  let text = `HTTP ${status}, ${oauthError ?? 'unrecognised OAuth error code'}`;
  if (description.kind === 'kept') text += `: ${description.text}`;
  if (description.kind === 'withheld') text += ' (error_description withheld: it looked like a credential)';
  return make(ctx, status === 429 ? 'rate_limited' : 'oauth_error', withRetryAfter(text, retryAfterMs), {
    retryable,
    retryAfterMs,
    httpStatus: status,
    oauthError,
    causeCode: 'OAUTH_RESPONSE_BODY_ERROR',
  });
}

function fromStatus(
  ctx: Context,
  status: number,
  response: ResponseLike | undefined,
  causeCode?: string,
): TokenRequestError {
  const retryable = status === 429 || status === 408 || status >= 500;
  const retryAfterMs = retryable ? parseRetryAfter(response?.headers.get('retry-after'), ctx.now) : undefined;
  let text = `HTTP ${status}`;
  if (status === 429) text += ' (rate limited)';
  else if (status >= 300 && status < 400) text += ' (redirects are not followed)';
  return make(ctx, status === 429 ? 'rate_limited' : 'http_status', withRetryAfter(text, retryAfterMs), {
    retryable,
    retryAfterMs,
    httpStatus: status,
    causeCode,
  });
}

function make(
  ctx: Context,
  code: TokenRequestErrorCode,
  what: string,
  details: TokenRequestErrorDetails,
): TokenRequestError {
  if (ctx.phase === 'discovery') {
    const finalCode = code === 'configuration' ? code : 'discovery_failed';
    return new TokenRequestError(finalCode, `issuer discovery failed: ${what}`, details);
  }
  return new TokenRequestError(code, `token request failed: ${what}`, details);
}

function withRetryAfter(text: string, retryAfterMs: number | undefined): string {
  return retryAfterMs === undefined ? text : `${text}, retry after ${Math.ceil(retryAfterMs / 1000)} s`;
}
