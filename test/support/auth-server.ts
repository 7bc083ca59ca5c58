// A real OAuth 2.0 authorization server (oidc-provider) on loopback for tests: client_credentials
// with JWT access tokens, clients for each auth method, per-client request counters.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, exportJWK, exportPKCS8, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import type { Adapter, AdapterPayload, KoaContextWithOIDC } from 'oidc-provider';
import Provider from 'oidc-provider';
import { registerSecret } from './leak-check.ts';

export interface AuthServerOptions {
  /** Lifetime of issued access tokens; changeable later with `setTokenTTL`. */
  tokenTTLSeconds?: number;
  /** Resource (and JWT `aud`) used when a request names none. */
  defaultResource?: string;
  /** Scopes the resource server knows; requested scopes outside it are dropped, as oidc-provider does. */
  scopes?: readonly string[];
}

export interface SecretClient {
  clientId: string;
  clientSecret: string;
  authMethod: 'client_secret_basic' | 'client_secret_post';
}

export interface PrivateKeyJwtClient {
  clientId: string;
  authMethod: 'private_key_jwt';
  /** PKCS#8 PEM of the client's signing key. */
  privateKeyPem: string;
  kid: string;
  alg: 'ES256';
}

export interface PublicClient {
  clientId: string;
  authMethod: 'none';
}

export interface AuthServerClients {
  basic: SecretClient;
  post: SecretClient;
  privateKeyJwt: PrivateKeyJwtClient;
  /** oidc-provider 9 accepts `none` with client_credentials (nothing in its client schema forbids it). */
  none: PublicClient;
}

export interface AuthServer {
  /** Issuer as a URL (its `href` gains a trailing slash; `issuerIdentifier` is the exact `iss` string). */
  readonly issuer: URL;
  readonly issuerIdentifier: string;
  readonly tokenEndpoint: URL;
  readonly jwksUri: URL;
  readonly defaultResource: string;
  readonly scopes: readonly string[];
  readonly clients: AuthServerClients;
  tokenTTLSeconds(): number;
  setTokenTTL(seconds: number): void;
  /** Requests that reached the token endpoint for this client id, successful or not. */
  tokenRequests(clientId: string): number;
  totalTokenRequests(): number;
  resetCounters(): void;
  /**
   * Re-signs an access token this server issued with the same claims and key, but with `exp` in
   * the past (`secondsAgo`, default 60) and the same lifetime: a genuinely expired token.
   */
  expireToken(accessToken: string, secondsAgo?: number): Promise<string>;
  close(): Promise<void>;
}

const SIGNING_ALG = 'RS256';
const CLIENT_ALG = 'ES256';
const DEFAULT_SCOPES = ['orders.read', 'orders.write'] as const;

export async function startAuthServer(options: AuthServerOptions = {}): Promise<AuthServer> {
  let ttl = checkTTL(options.tokenTTLSeconds ?? 3600);
  const defaultResource = options.defaultResource ?? 'https://api.test/';
  const scopes = [...(options.scopes ?? DEFAULT_SCOPES)];

  const signingKeys = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const signingKid = randomUUID();
  const clientKeys = await generateKeyPair(CLIENT_ALG, { extractable: true });
  const clientKid = randomUUID();

  const clients: AuthServerClients = {
    basic: { clientId: 'basic-client', clientSecret: randomUUID(), authMethod: 'client_secret_basic' },
    post: { clientId: 'post-client', clientSecret: randomUUID(), authMethod: 'client_secret_post' },
    privateKeyJwt: {
      clientId: 'jwt-client',
      authMethod: 'private_key_jwt',
      privateKeyPem: await exportPKCS8(clientKeys.privateKey),
      kid: clientKid,
      alg: CLIENT_ALG,
    },
    none: { clientId: 'public-client', authMethod: 'none' },
  };

  registerSecret(clients.basic.clientSecret);
  registerSecret(clients.post.clientSecret);
  registerSecret(clients.privateKeyJwt.privateKeyPem);

  // The issuer needs the port, so listen first and attach the provider afterwards.
  const http = createServer();
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const issuerIdentifier = `http://127.0.0.1:${port}`;

  const store = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const common = {
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: scopes.join(' '),
  };
  const provider = new Provider(issuerIdentifier, {
    // Own in-memory adapter and keys: the built-in ones print development-only warnings.
    adapter: (name: string) => memoryAdapter(store, name),
    jwks: {
      keys: [{ ...(await exportJWK(signingKeys.privateKey)), kid: signingKid, alg: SIGNING_ALG, use: 'sig' }],
    },
    clients: [
      {
        ...common,
        client_id: clients.basic.clientId,
        client_secret: clients.basic.clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        ...common,
        client_id: clients.post.clientId,
        client_secret: clients.post.clientSecret,
        token_endpoint_auth_method: 'client_secret_post',
      },
      {
        ...common,
        client_id: clients.privateKeyJwt.clientId,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: CLIENT_ALG,
        jwks: {
          keys: [{ ...(await exportJWK(clientKeys.publicKey)), kid: clientKid, alg: CLIENT_ALG, use: 'sig' }],
        },
      },
      { ...common, client_id: clients.none.clientId, token_endpoint_auth_method: 'none' },
    ],
    scopes,
    clientBasedCORS: () => true,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Without a resource the token would be opaque: always resolve one.
        defaultResource: () => defaultResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx: KoaContextWithOIDC, resource: string) => {
          // `audience` is not a parameter oidc-provider keeps for this grant; read it from the raw body.
          const requested = ctx.oidc.body?.audience;
          return {
            scope: scopes.join(' '),
            audience: typeof requested === 'string' && requested !== '' ? requested : resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: ttl,
          };
        },
      },
    },
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl,
    },
  });

  acceptAssertionsForProxiedOrigin(provider);

  const tokenPath = provider.pathFor('token');
  const counters = new Map<string, number>();
  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    if (ctx.method !== 'POST' || ctx.path !== tokenPath) return next();
    try {
      await next();
      // Every issued token joins the leak check (test/support/leak-check.ts).
      const body = ctx.body as { access_token?: unknown } | undefined;
      if (typeof body?.access_token === 'string') registerSecret(body.access_token);
    } finally {
      const id = requestClientId(ctx);
      counters.set(id, (counters.get(id) ?? 0) + 1);
    }
  });

  http.on('request', provider.callback());

  return {
    issuer: new URL(issuerIdentifier),
    issuerIdentifier,
    tokenEndpoint: new URL(tokenPath, issuerIdentifier),
    jwksUri: new URL(provider.pathFor('jwks'), issuerIdentifier),
    defaultResource,
    scopes,
    clients,
    tokenTTLSeconds: () => ttl,
    setTokenTTL(seconds) {
      ttl = checkTTL(seconds);
    },
    tokenRequests: (clientId) => counters.get(clientId) ?? 0,
    totalTokenRequests: () => [...counters.values()].reduce((a, b) => a + b, 0),
    resetCounters: () => counters.clear(),
    async expireToken(accessToken, secondsAgo = 60) {
      const { payload } = await jwtVerify(accessToken, signingKeys.publicKey, { issuer: issuerIdentifier });
      const { typ } = decodeProtectedHeader(accessToken);
      const lifetime = (payload.exp ?? 0) - (payload.iat ?? 0);
      const exp = Math.floor(Date.now() / 1000) - secondsAgo;
      const expired = await new SignJWT({ ...payload, exp, iat: exp - lifetime, jti: randomUUID() })
        .setProtectedHeader({ alg: SIGNING_ALG, kid: signingKid, ...(typ ? { typ } : {}) })
        .sign(signingKeys.privateKey);
      registerSecret(expired);
      return expired;
    },
    close() {
      return new Promise((resolve, reject) => {
        http.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets from fetch would otherwise hold close() open.
        http.closeAllConnections();
      });
    },
  };
}

function checkTTL(seconds: number): number {
  // oidc-provider rejects anything but a positive safe integer.
  if (!Number.isSafeInteger(seconds) || seconds < 1)
    throw new RangeError(`token TTL must be a positive integer: ${seconds}`);
  return seconds;
}

// Best effort: oidc-provider sets the client entity once it has found the client; before that
// (unknown client, malformed request) fall back to what the request names.
function requestClientId(ctx: KoaContextWithOIDC): string {
  const oidc = ctx.oidc as KoaContextWithOIDC['oidc'] | undefined;
  if (oidc?.client) return oidc.client.clientId;
  const fromBody = oidc?.body?.client_id;
  if (typeof fromBody === 'string') return fromBody;
  const auth = ctx.get('authorization');
  if (auth.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString();
    const colon = decoded.indexOf(':');
    if (colon > 0) return decodeURIComponent(decoded.slice(0, colon));
  }
  return '(unknown)';
}

// A client that discovers through a fault proxy sees the proxy's origin as the issuer and signs
// private_key_jwt assertions with that `aud`. oidc-provider accepts only its own issuer and
// endpoint URLs (built from the Host header, which the proxy passes through), so also accept the
// issuer identifier as seen under the request's origin. Per-provider class: no global effect.
function acceptAssertionsForProxiedOrigin(provider: Provider): void {
  const proto = provider.OIDCContext.prototype;
  const original = proto.clientJwtAuthExpectedAudience;
  proto.clientJwtAuthExpectedAudience = function (this: InstanceType<Provider['OIDCContext']>) {
    const accepted = original.call(this);
    const requestOrigin = new URL(this.urlFor('token')).origin;
    accepted.add(this.issuer.replace(new URL(this.issuer).origin, requestOrigin));
    return accepted;
  };
}

// Enough of an adapter for client_credentials: JWT access tokens are not stored, only
// private_key_jwt replay-detection entries are. Expiry is checked on read: no timers to leak.
function memoryAdapter(
  store: Map<string, { payload: AdapterPayload; expiresAt: number }>,
  name: string,
): Adapter {
  const key = (id: string) => `${name}:${id}`;
  const read = (id: string): AdapterPayload | undefined => {
    const entry = store.get(key(id));
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(key(id));
      return undefined;
    }
    return entry.payload;
  };
  const findBy = (field: 'userCode' | 'uid', value: string) => {
    for (const [k, entry] of store) {
      if (k.startsWith(`${name}:`) && entry.payload[field] === value) return read(k.slice(name.length + 1));
    }
    return undefined;
  };
  return {
    async upsert(id, payload, expiresIn) {
      store.set(key(id), {
        payload,
        expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY,
      });
    },
    async find(id) {
      return read(id);
    },
    async findByUserCode(userCode) {
      return findBy('userCode', userCode);
    },
    async findByUid(uid) {
      return findBy('uid', uid);
    },
    async consume(id) {
      const payload = read(id);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id) {
      store.delete(key(id));
    },
    async revokeByGrantId(grantId) {
      for (const [k, entry] of store) if (entry.payload.grantId === grantId) store.delete(k);
    },
  };
}
