// The fetch openid-client uses for one issuer: undici's own fetch with a dedicated Agent, so a
// custom CA bundle, a client certificate (tls_client_auth), connection limits and the response
// size limit apply to that issuer only. undici's fetch, not Node's global one: Node bundles an
// older undici, and mixing an Agent of one version with the fetch of another is not supported.
// Every request passes the outbound policy: its URL before anything is sent, the addresses its
// host resolves to at connect time.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { CustomFetch } from 'openid-client';
import { Agent, errors, Response as UndiciResponse, fetch as undiciFetch } from 'undici';
import { causeChain } from './error-causes.ts';
import { TokenRequestError } from './errors.ts';
import { AddressRefusedError, guardedConnector, type Resolver, systemResolver } from './guarded-connector.ts';
import { endpointRefused, type OutboundPolicy, urlRefusal } from './outbound-policy.ts';

/** Token and discovery responses are a few KiB; anything far larger is not one. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export interface HttpClientOptions {
  /** Total time for one request: connect, headers and the whole body. */
  timeoutMs: number;
  outbound: OutboundPolicy;
  /** Tests only: resolves host names instead of the system resolver. */
  resolve?: Resolver;
  /** PEM bundle that replaces the system trust store for this issuer. */
  caBundlePem?: string;
  /** Presented during the TLS handshake (RFC 8705 tls_client_auth). */
  clientCertificate?: { certPem: string; keyPem: string };
  maxResponseBytes?: number;
}

export interface HttpClient {
  readonly fetch: CustomFetch;
  /** Closes idle connections; requests in flight complete first. */
  close(): Promise<void>;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { timeoutMs, caBundlePem, clientCertificate, outbound } = options;
  if (caBundlePem !== undefined) checkCaBundle(caBundlePem);
  if (clientCertificate) checkClientCertificate(clientCertificate.certPem, clientCertificate.keyPem);
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;

  const agent = new Agent({
    connect: guardedConnector(outbound, options.resolve ?? systemResolver, {
      timeout: timeoutMs,
      ...(caBundlePem !== undefined ? { ca: caBundlePem } : {}),
      ...(clientCertificate ? { cert: clientCertificate.certPem, key: clientCertificate.keyPem } : {}),
    }),
    // The deadline below is the real limit; these only stop undici from waiting longer.
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxResponseSize: maxResponseBytes,
  });

  const fetch: CustomFetch = async (url, init) => {
    const target = new URL(url);
    const reason = urlRefusal(outbound, target);
    if (reason) throw refused(target, reason);
    // One deadline for the whole exchange: it stays attached to the body, which openid-client
    // reads after this returns, so a server trickling bytes cannot outlast it.
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    try {
      const response = await undiciFetch(url, {
        ...init,
        signal,
        // A 3xx is returned as is and classified as an error naming its status; never followed.
        redirect: 'manual',
        dispatcher: agent,
      });
      // A different class from the global Response with the same shape; openid-client checks by tag.
      return limitDecodedBody(response, maxResponseBytes) as unknown as Response;
    } catch (err) {
      const refusal = [...causeChain(err)].find((e) => e instanceof AddressRefusedError);
      if (refusal instanceof AddressRefusedError) throw refused(target, refusal.reason);
      throw err;
    }
  };

  return { fetch, close: () => agent.close() };
}

// The Agent's maxResponseSize counts the bytes on the wire; fetch then decompresses a gzip,
// deflate or br body, so a small compressed body can expand without limit. Count what comes out.
function limitDecodedBody(response: UndiciResponse, maxBytes: number): UndiciResponse {
  const { body } = response;
  if (!body || !response.headers.get('content-encoding')) return response;
  let seen = 0;
  const limited = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) controller.error(new errors.ResponseExceededMaxSizeError());
        else controller.enqueue(chunk);
      },
    }),
  );
  return new UndiciResponse(limited, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

// Node's TLS ignores unparsable CA entries; fail at configuration time instead of at handshake.
function checkCaBundle(pem: string): void {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw configError('caBundle contains no PEM certificate');
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch {
      throw configError(`caBundle certificate #${i + 1} cannot be parsed`);
    }
  });
}

function checkClientCertificate(certPem: string, keyPem: string): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    throw configError('client certificate cannot be parsed');
  }
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    throw configError('client certificate key cannot be parsed');
  }
  if (!matches) throw configError('client certificate and key do not match');
}

// The operator fetches only discovery documents and token endpoints (it never verifies tokens,
// so never a JWKS): the path says which.
function refused(url: URL, reason: string): TokenRequestError {
  const what = url.pathname.includes('/.well-known/') ? 'discovery endpoint' : 'token endpoint';
  return endpointRefused(what, url, reason);
}

function configError(message: string): TokenRequestError {
  return new TokenRequestError('configuration', message, { retryable: false });
}
