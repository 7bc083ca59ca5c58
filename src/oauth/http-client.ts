// The fetch openid-client uses for one issuer: undici's own fetch with a dedicated Agent, so a
// custom CA bundle, a client certificate (tls_client_auth), connection limits and the response
// size limit apply to that issuer only. undici's fetch, not Node's global one: Node bundles an
// older undici, and mixing an Agent of one version with the fetch of another is not supported.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { CustomFetch } from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { TokenRequestError } from './errors.ts';

/** Token and discovery responses are a few KiB; anything far larger is not one. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export interface HttpClientOptions {
  timeoutMs: number;
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
  const { timeoutMs, caBundlePem, clientCertificate } = options;
  if (caBundlePem !== undefined) checkCaBundle(caBundlePem);
  if (clientCertificate) checkClientCertificate(clientCertificate.certPem, clientCertificate.keyPem);

  const agent = new Agent({
    connect: {
      timeout: timeoutMs,
      ...(caBundlePem !== undefined ? { ca: caBundlePem } : {}),
      ...(clientCertificate ? { cert: clientCertificate.certPem, key: clientCertificate.keyPem } : {}),
    },
    // openid-client's AbortSignal is the real limit; these only stop undici from waiting longer.
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxResponseSize: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
  });

  const fetch: CustomFetch = async (url, init) => {
    const response = await undiciFetch(url, {
      ...init,
      // openid-client already asks for this; restated because following redirects is a security matter.
      redirect: 'manual',
      dispatcher: agent,
    });
    // A different class from the global Response with the same shape; openid-client checks by tag.
    return response as unknown as Response;
  };

  return { fetch, close: () => agent.close() };
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

function configError(message: string): TokenRequestError {
  return new TokenRequestError('configuration', message, { retryable: false });
}
