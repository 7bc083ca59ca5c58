// From a resolved issuer description (plain data: Secrets already read) to an openid-client
// Configuration: discovered, or built from an explicit token endpoint without any network call.
import { createHmac, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { buildClientAuth, type ClientAuthSpec } from './client-auth.ts';
import { IssuerConfigCache } from './config-cache.ts';
import { discardBody, responseOf } from './error-causes.ts';
import { classifyError, TokenRequestError } from './errors.ts';
import type { Resolver } from './guarded-connector.ts';
import { createHttpClient, type HttpClient } from './http-client.ts';
import { endpointRefused, type OutboundPolicy, urlRefusal } from './outbound-policy.ts';

export interface IssuerDescription {
  /** Discovery (OpenID Connect, then RFC 8414) … */
  issuerURL?: string;
  /** … or an explicit token endpoint: exactly one of the two. */
  tokenEndpoint?: string;
  clientID: string;
  auth: ClientAuthSpec;
  caBundlePem?: string;
  timeoutMs: number;
  /** The operator-wide rules for where requests may go. */
  outbound: OutboundPolicy;
}

export interface BuildOptions {
  /** Clock for Retry-After dates in discovery errors. */
  now?: () => Date;
  /** Tests only: resolves host names instead of the system resolver. */
  resolve?: Resolver;
}

// What the OAuth client must remember about a Configuration but openid-client does not expose.
interface Internals {
  secrets: readonly string[];
  timeoutMs: number;
  http: HttpClient;
}
const internals = new WeakMap<client.Configuration, Internals>();

/** Builds a Configuration; throws TokenRequestError (`configuration`, `endpoint_refused` or `discovery_failed`). */
export async function buildConfiguration(
  issuer: IssuerDescription,
  options: BuildOptions = {},
): Promise<client.Configuration> {
  const now = options.now ?? (() => new Date());
  const endpoint = checkIssuer(issuer);
  const { auth } = issuer;
  const secrets = secretsOf(auth);
  const http = createHttpClient({
    timeoutMs: issuer.timeoutMs,
    outbound: issuer.outbound,
    resolve: options.resolve,
    caBundlePem: issuer.caBundlePem,
    clientCertificate: auth.method === 'tls_client_auth' ? auth : undefined,
  });
  try {
    const clientAuth = await buildClientAuth(auth, {
      assertionAudience: endpoint.kind === 'token' ? endpoint.url.href : undefined,
    });
    // RFC 8705: prefer the server's mTLS endpoint aliases when it publishes them.
    const metadata = auth.method === 'tls_client_auth' ? { use_mtls_endpoint_aliases: true } : undefined;
    const execute = issuer.outbound.allowInsecureHttp ? [client.allowInsecureRequests] : [];
    let config: client.Configuration;
    if (endpoint.kind === 'discovery') {
      config = await discover(endpoint.url, issuer, metadata, clientAuth, http, execute).catch((err) => {
        throw classifyError(err, now(), { phase: 'discovery', secrets, timeoutMs: issuer.timeoutMs });
      });
      if (!config.serverMetadata().token_endpoint) {
        const message = 'issuer discovery failed: metadata names no token_endpoint';
        throw new TokenRequestError('discovery_failed', message, { retryable: false });
      }
      checkDiscoveredEndpoints(config, issuer.outbound);
    } else {
      // The issuer is required but unknown here: the endpoint's origin stands in. It is used only as
      // the default `aud` of private_key_jwt assertions, which buildClientAuth overrides.
      const server = { issuer: endpoint.url.origin, token_endpoint: endpoint.url.href };
      config = new client.Configuration(server, issuer.clientID, metadata, clientAuth);
      config[client.customFetch] = http.fetch;
      config.timeout = issuer.timeoutMs / 1000;
      for (const extension of execute) extension(config);
    }
    internals.set(config, { secrets, timeoutMs: issuer.timeoutMs, http });
    return config;
  } catch (err) {
    await http.close();
    throw err instanceof TokenRequestError ? err : classifyError(err, now(), { secrets });
  }
}

async function discover(
  url: URL,
  issuer: IssuerDescription,
  metadata: Partial<client.ClientMetadata> | undefined,
  clientAuth: client.ClientAuth,
  http: HttpClient,
  execute: ((config: client.Configuration) => void)[],
): Promise<client.Configuration> {
  const options = { [client.customFetch]: http.fetch, timeout: issuer.timeoutMs / 1000, execute };
  try {
    return await client.discovery(url, issuer.clientID, metadata, clientAuth, options);
  } catch (err) {
    // Plain OAuth servers publish only RFC 8414 metadata.
    if (!(err instanceof client.ClientError) || responseOf(err)?.status !== 404) throw err;
    discardBody(err);
    return client.discovery(url, issuer.clientID, metadata, clientAuth, { ...options, algorithm: 'oauth2' });
  }
}

/** Values no message may contain, for the Configuration built by buildConfiguration. */
export function configurationSecrets(config: client.Configuration): readonly string[] {
  return internals.get(config)?.secrets ?? [];
}

export function configurationTimeoutMs(config: client.Configuration): number | undefined {
  return internals.get(config)?.timeoutMs;
}

/** Closes the Configuration's connection pool once its requests in flight are done. */
export async function closeConfiguration(config: client.Configuration): Promise<void> {
  await internals.get(config)?.http.close();
}

/** A cache that closes the configurations it drops. */
export function createIssuerConfigCache(): IssuerConfigCache<client.Configuration> {
  return new IssuerConfigCache({ dispose: closeConfiguration });
}

// Per process: fingerprints reveal nothing about low-entropy secrets even if logged.
const fingerprintKey = randomBytes(32);

/** Changes whenever anything the Configuration is built from changes (credentials included). */
export function credentialsFingerprint(issuer: IssuerDescription): string {
  const { auth } = issuer;
  const canonical = JSON.stringify([
    issuer.issuerURL ?? null,
    issuer.tokenEndpoint ?? null,
    issuer.clientID,
    auth.method,
    'clientSecret' in auth ? auth.clientSecret : null,
    'privateKeyPem' in auth ? [auth.privateKeyPem, auth.alg ?? null, auth.kid ?? null] : null,
    'certPem' in auth ? [auth.certPem, auth.keyPem] : null,
    issuer.caBundlePem ?? null,
    issuer.timeoutMs,
    issuer.outbound,
  ]);
  return createHmac('sha256', fingerprintKey).update(canonical).digest('base64url');
}

function secretsOf(auth: ClientAuthSpec): string[] {
  switch (auth.method) {
    case 'client_secret_basic':
    case 'client_secret_post':
      return [auth.clientSecret];
    case 'private_key_jwt':
      return [auth.privateKeyPem];
    case 'tls_client_auth':
      return [auth.keyPem];
    case 'none':
      return [];
  }
}

type Endpoint = { kind: 'discovery' | 'token'; url: URL };

function checkIssuer(issuer: IssuerDescription): Endpoint {
  const fail = (message: string) => new TokenRequestError('configuration', message, { retryable: false });
  if (issuer.clientID === '') throw fail('clientID is empty');
  if (!Number.isFinite(issuer.timeoutMs) || issuer.timeoutMs <= 0) throw fail('timeout must be positive');
  if ((issuer.issuerURL === undefined) === (issuer.tokenEndpoint === undefined)) {
    throw fail('exactly one of issuerURL and tokenEndpoint must be set');
  }
  const kind = issuer.issuerURL !== undefined ? 'discovery' : 'token';
  const field = kind === 'discovery' ? 'issuerURL' : 'tokenEndpoint';
  let url: URL;
  try {
    url = new URL(issuer.issuerURL ?? issuer.tokenEndpoint ?? '');
  } catch {
    throw fail(`${field} is not a URL`);
  }
  if (url.username !== '' || url.password !== '') throw fail(`${field} must not contain credentials`);
  // Scheme, host allowlist and IP literals are known now; names are checked when connecting.
  const refused = urlRefusal(issuer.outbound, url);
  if (refused) throw endpointRefused(kind === 'discovery' ? 'issuer URL' : 'token endpoint', url, refused);
  return { kind, url };
}

// What discovery names is the server's word: it passes the same rules before the issuer is ready.
function checkDiscoveredEndpoints(config: client.Configuration, outbound: OutboundPolicy): void {
  const metadata = config.serverMetadata();
  const endpoints = [metadata.token_endpoint, metadata.mtls_endpoint_aliases?.token_endpoint];
  for (const endpoint of endpoints) {
    if (endpoint === undefined) continue;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      const message = 'issuer discovery failed: token_endpoint is not a URL';
      throw new TokenRequestError('discovery_failed', message, { retryable: false });
    }
    const refused = urlRefusal(outbound, url);
    if (refused) throw endpointRefused('discovered token endpoint', url, refused);
  }
}
