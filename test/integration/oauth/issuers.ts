// Issuer descriptions for the test authorization server's clients, as the operator would resolve
// them from a TokenIssuer and its Secrets.
import type { ClientAuthSpec } from '../../../src/oauth/client-auth.ts';
import type { IssuerDescription } from '../../../src/oauth/issuer-config.ts';
import { DEFAULT_OUTBOUND_POLICY, type OutboundPolicy } from '../../../src/oauth/outbound-policy.ts';
import type { AuthServer } from '../../support/auth-server.ts';

export type Method = 'basic' | 'post' | 'privateKeyJwt' | 'none';
export const METHODS: readonly Method[] = ['basic', 'post', 'privateKeyJwt', 'none'];

/** The production policy with loopback exempted: the test servers listen on 127.0.0.1. */
export const LOOPBACK_HTTPS: OutboundPolicy = {
  ...DEFAULT_OUTBOUND_POLICY,
  allowEndpointCidrs: ['127.0.0.0/8'],
};
/** … and plain http allowed, as the development flags would. */
export const LOOPBACK_HTTP: OutboundPolicy = { ...LOOPBACK_HTTPS, allowInsecureHttp: true };

export type Endpoint = { issuerURL: string } | { tokenEndpoint: string };

export function authOf(server: AuthServer, method: Method): ClientAuthSpec {
  const { basic, post, privateKeyJwt } = server.clients;
  switch (method) {
    case 'basic':
      return { method: 'client_secret_basic', clientSecret: basic.clientSecret };
    case 'post':
      return { method: 'client_secret_post', clientSecret: post.clientSecret };
    case 'privateKeyJwt':
      // No alg: inferred from the key (ES256).
      return {
        method: 'private_key_jwt',
        privateKeyPem: privateKeyJwt.privateKeyPem,
        kid: privateKeyJwt.kid,
      };
    case 'none':
      return { method: 'none' };
  }
}

export function issuerFor(
  server: AuthServer,
  method: Method,
  endpoint: Endpoint,
  overrides: Partial<IssuerDescription> = {},
): IssuerDescription {
  return {
    ...endpoint,
    clientID: server.clients[method].clientId,
    auth: authOf(server, method),
    timeoutMs: 5000,
    outbound: LOOPBACK_HTTP,
    ...overrides,
  };
}

/** The token endpoint's path under another origin (a proxy in front of the server). */
export function tokenEndpointAt(server: AuthServer, origin: URL): string {
  return new URL(server.tokenEndpoint.pathname, origin).href;
}

export const now = () => new Date();
