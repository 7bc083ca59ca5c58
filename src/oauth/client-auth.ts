// Client authentication for the token endpoint, always explicit: openid-client would otherwise
// default to client_secret_post, which most servers do not expect.

import { createPrivateKey, type KeyObject } from 'node:crypto';
import { importPKCS8 } from 'jose';
import * as client from 'openid-client';
import { privateKeyJWTAlgorithms } from '../api/constants.ts';
import { TokenRequestError } from './errors.ts';

export type ClientAuthSpec =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientSecret: string }
  | { method: 'private_key_jwt'; privateKeyPem: string; alg?: string; kid?: string }
  | { method: 'none' }
  | { method: 'tls_client_auth'; certPem: string; keyPem: string };

export type ClientAuthMethod = ClientAuthSpec['method'];

/**
 * JWS algorithms openid-client can sign client assertions with (WebCrypto): those the CRD
 * accepts, plus `Ed25519`, the name openid-client itself uses for EdDSA keys.
 */
export const SUPPORTED_ASSERTION_ALGS: readonly string[] = [...privateKeyJWTAlgorithms, 'Ed25519'];

export interface ClientAuthOptions {
  /**
   * `aud` of private_key_jwt assertions. openid-client uses the issuer identifier; with an explicit
   * token endpoint there is no known issuer, and the token endpoint URL is what RFC 7523 names
   * and what servers accept most widely.
   */
  assertionAudience?: string;
}

export async function buildClientAuth(
  spec: ClientAuthSpec,
  options: ClientAuthOptions = {},
): Promise<client.ClientAuth> {
  switch (spec.method) {
    case 'client_secret_basic':
      return client.ClientSecretBasic(requireSecret(spec.clientSecret));
    case 'client_secret_post':
      return client.ClientSecretPost(requireSecret(spec.clientSecret));
    case 'private_key_jwt':
      return privateKeyJwt(spec.privateKeyPem, spec.alg, spec.kid, options.assertionAudience);
    case 'none':
      return client.None();
    case 'tls_client_auth':
      // The certificate travels in the TLS handshake (see http-client.ts); the body names the client.
      return client.TlsClientAuth();
  }
}

/** The JWS algorithm a key signs with by default: RSA→RS256, P-256→ES256, P-384→ES384, Ed25519→EdDSA. */
export function inferAssertionAlg(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'rsa-pss': {
      const hash = details.hashAlgorithm?.replace('sha', '').replace('-', '');
      return hash === '384' || hash === '512' ? `PS${hash}` : 'PS256';
    }
    case 'ec':
      switch (details.namedCurve) {
        case 'prime256v1':
          return 'ES256';
        case 'secp384r1':
          return 'ES384';
        case 'secp521r1':
          return 'ES512';
      }
      throw configError('privateKey uses an elliptic curve not supported for client assertions');
    case 'ed25519':
      return 'EdDSA';
  }
  throw configError('privateKey type not supported for client assertions (RSA, EC P-256/384/521, Ed25519)');
}

async function privateKeyJwt(
  pem: string,
  requestedAlg: string | undefined,
  kid: string | undefined,
  audience: string | undefined,
): Promise<client.ClientAuth> {
  let keyObject: KeyObject;
  try {
    // Accepts PKCS#1 and SEC1 too (cert-manager writes RSA keys as PKCS#1); jose wants PKCS#8.
    keyObject = createPrivateKey(pem);
  } catch {
    throw configError('privateKey cannot be parsed (unencrypted PKCS#8, PKCS#1 or SEC1 PEM expected)');
  }
  if (requestedAlg !== undefined && !SUPPORTED_ASSERTION_ALGS.includes(requestedAlg)) {
    throw configError(`alg must be one of ${SUPPORTED_ASSERTION_ALGS.join(', ')}`);
  }
  const alg = requestedAlg ?? inferAssertionAlg(keyObject);
  let key: client.CryptoKey;
  try {
    const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'pem' }).toString();
    key = await importPKCS8(pkcs8, alg);
  } catch {
    throw configError(`privateKey cannot be used with alg ${alg}`);
  }
  return client.PrivateKeyJwt(
    { key, ...(kid ? { kid } : {}) },
    {
      [client.modifyAssertion]: (header, payload) => {
        // openid-client writes the fully-specified `Ed25519`; servers registered for `EdDSA` expect that.
        header.alg = alg;
        if (audience !== undefined) payload.aud = audience;
      },
    },
  );
}

function requireSecret(secret: string): string {
  if (secret === '') throw configError('client secret is empty');
  return secret;
}

function configError(message: string): TokenRequestError {
  return new TokenRequestError('configuration', message, { retryable: false });
}
