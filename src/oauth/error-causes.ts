// Reading what failed out of the errors openid-client, undici and Node raise, without ever copying
// their messages: those can quote a response body or a URL with credentials.

/** The parts of a fetch Response the classifier needs (undici's and Node's classes both fit). */
export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly bodyUsed?: boolean;
  readonly body?: { cancel(): Promise<void> } | null;
}

export function isResponseLike(value: unknown): value is ResponseLike {
  if (typeof value !== 'object' || value === null) return false;
  const { status, headers } = value as { status?: unknown; headers?: { get?: unknown } };
  return typeof status === 'number' && typeof headers?.get === 'function';
}

/** The HTTP response an error came from, wherever openid-client put it. */
export function responseOf(err: unknown): ResponseLike | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  // ResponseBodyError and WWWAuthenticateChallengeError keep it non-enumerable in `response`;
  // ClientError (unexpected status, not JSON) carries it as `cause`.
  const { response, cause } = err as { response?: unknown; cause?: unknown };
  if (isResponseLike(response)) return response;
  if (isResponseLike(cause)) return cause;
  return undefined;
}

/** Frees the connection behind a response nobody will read. Never throws. */
export function discardBody(err: unknown): void {
  const response = responseOf(err);
  if (response && !response.bodyUsed) response.body?.cancel().catch(() => {});
}

/** Each error in a cause chain (and AggregateError members), the error itself first. */
export function* causeChain(err: unknown): Generator<object> {
  const queue: unknown[] = [err];
  // Bounded: a cause chain can be cyclic or arbitrarily deep.
  for (let seen = 0; queue.length > 0 && seen < 16; seen++) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null || isResponseLike(current)) continue;
    yield current;
    const { cause, errors } = current as { cause?: unknown; errors?: unknown };
    queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
}

/** Every string `code` (and DOMException name) along the cause chain. */
export function chainCodes(err: unknown): string[] {
  const codes: string[] = [];
  for (const e of causeChain(err)) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string') codes.push(code);
    if (e instanceof DOMException && typeof name === 'string') codes.push(name);
  }
  return codes;
}

export type TransportFailure = { kind: 'timeout' | 'network' | 'tls' | 'too_large'; code?: string };

const TIMEOUT_CODES = new Set([
  'OAUTH_TIMEOUT',
  'TimeoutError',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'OAUTH_ABORT',
]);
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/** How the transport failed, if it did: the first recognised code along the chain wins. */
export function transportFailure(err: unknown): TransportFailure | undefined {
  for (const code of chainCodes(err)) {
    if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', code };
    if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return { kind: 'too_large', code };
    if (TLS_CODE.test(code)) return { kind: 'tls', code };
    if (NETWORK_CODES.has(code) || code.startsWith('UND_ERR')) return { kind: 'network', code };
  }
  // undici reports every transport failure as TypeError('fetch failed'), sometimes without a code.
  for (const e of causeChain(err)) {
    if (e instanceof TypeError && (e.message === 'fetch failed' || e.message === 'terminated'))
      return { kind: 'network' };
  }
  return undefined;
}

// openid-client's own wording names the offending attribute: `"response" body "expires_in"
// property must be a non-negative number`. Only that shape is repeated, never a value.
export function invalidAttribute(err: Error): string {
  const message = err.cause instanceof Error ? err.cause.message : '';
  const match = /^"response" body "([a-z_]{1,32})" property (must [a-z -]{1,40})$/.exec(message);
  if (match) return `: ${match[1]} ${match[2]}`;
  return message === '"response" body must be a top level object' ? ': body is not a JSON object' : '';
}

export function isRejectedTokenType(err: Error): boolean {
  return err.cause instanceof Error && err.cause.message === 'unsupported `token_type` value';
}

// The parsed body hangs off the library error; only `token_type` is read from it, then sanitized.
export function rejectedTokenType(err: Error): unknown {
  const inner = (err.cause as { cause?: { body?: { token_type?: unknown } } }).cause;
  return inner?.body?.token_type;
}
