// The custom CA bundle and tls_client_auth over real TLS: an https proxy, with and without a
// client-certificate requirement, in front of the real authorization server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuerDescription } from '../../../src/oauth/index.ts';
import {
  buildConfiguration,
  closeConfiguration,
  requestToken,
  TokenRequestError,
} from '../../../src/oauth/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { type FrontProxy, startFrontProxy } from './front-proxy.ts';
import { issuerFor, LOOPBACK_HTTPS, now, tokenEndpointAt } from './issuers.ts';
import { createTlsMaterial, type TlsMaterial } from './tls-material.ts';

let server: AuthServer;
let pki: TlsMaterial;
let httpsOnly: FrontProxy; // server authentication only
let mutual: FrontProxy; // requires a client certificate issued by the CA

before(async () => {
  [server, pki] = await Promise.all([startAuthServer(), createTlsMaterial()]);
  const tokenPath = server.tokenEndpoint.pathname;
  httpsOnly = await startFrontProxy(server.issuer, { tokenPath, tls: pki.server });
  mutual = await startFrontProxy(server.issuer, {
    tokenPath,
    tls: { ...pki.server, clientCaPem: pki.caPem },
  });
});
after(async () => {
  await Promise.all([httpsOnly.close(), mutual.close()]);
  await server.close();
});

// https endpoints: plain http stays refused, as in production.
function tlsClientAuth(
  proxy: FrontProxy,
  client = pki.client,
  caBundlePem: string | undefined = pki.caPem,
): IssuerDescription {
  return {
    tokenEndpoint: tokenEndpointAt(server, proxy.url),
    // The test server has no mTLS client: its public client accepts the client_id-only body.
    clientID: server.clients.none.clientId,
    auth: { method: 'tls_client_auth', ...client },
    caBundlePem,
    timeoutMs: 5000,
    outbound: LOOPBACK_HTTPS,
  };
}

async function attempt(issuer: IssuerDescription) {
  const config = await buildConfiguration(issuer);
  try {
    return await requestToken(config, { now });
  } finally {
    await closeConfiguration(config);
  }
}

function isTransportFailure(err: unknown): boolean {
  assert.ok(err instanceof TokenRequestError, String(err));
  assert.ok(err.code === 'tls' || err.code === 'network', err.message);
  assert.equal(err.retryable, true);
  return true;
}

describe('TLS', { timeout: 15_000 }, () => {
  it('trusts the server through the issuer CA bundle', async () => {
    const issuer = issuerFor(server, 'basic', { tokenEndpoint: tokenEndpointAt(server, httpsOnly.url) });
    const token = await attempt({ ...issuer, caBundlePem: pki.caPem, outbound: LOOPBACK_HTTPS });
    assert.equal(token.tokenType, 'Bearer');
  });

  it('without the CA bundle the server is not trusted: tls, retryable', async () => {
    const issuer = issuerFor(server, 'basic', { tokenEndpoint: tokenEndpointAt(server, httpsOnly.url) });
    await assert.rejects(attempt({ ...issuer, outbound: LOOPBACK_HTTPS }), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError, String(err));
      assert.deepEqual(
        [err.code, err.retryable, err.causeCode],
        ['tls', true, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      );
      return true;
    });
  });

  it('tls_client_auth presents the client certificate', async () => {
    const before = mutual.clientCertificates().length;
    const token = await attempt(tlsClientAuth(mutual));
    assert.equal(token.tokenType, 'Bearer');
    assert.deepEqual(mutual.clientCertificates().slice(before), ['orders-client']);
  });

  it('a certificate no CA vouches for is rejected in the handshake', async () => {
    await assert.rejects(attempt(tlsClientAuth(mutual, pki.stranger)), isTransportFailure);
  });

  it('no certificate at all is rejected in the handshake', async () => {
    const issuer = issuerFor(server, 'basic', { tokenEndpoint: tokenEndpointAt(server, mutual.url) });
    await assert.rejects(
      attempt({ ...issuer, caBundlePem: pki.caPem, outbound: LOOPBACK_HTTPS }),
      isTransportFailure,
    );
  });

  it('a certificate with the wrong key is a configuration error before any request', async () => {
    const mismatched = { certPem: pki.client.certPem, keyPem: pki.stranger.keyPem };
    await assert.rejects(buildConfiguration(tlsClientAuth(mutual, mismatched)), (err: unknown) => {
      assert.ok(err instanceof TokenRequestError);
      assert.equal(err.code, 'configuration');
      assert.equal(err.message, 'client certificate and key do not match');
      return true;
    });
  });
});
