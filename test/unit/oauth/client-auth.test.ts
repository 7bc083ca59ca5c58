// Client authentication as it lands in the request: the ClientAuth functions are applied to a
// request body and headers directly (no HTTP), and assertions are verified with the public key.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { ClientAuth } from 'openid-client';
import { buildClientAuth, inferAssertionAlg } from '../../../src/oauth/client-auth.ts';
import { TokenRequestError } from '../../../src/oauth/errors.ts';

const server = { issuer: 'https://idp.example', token_endpoint: 'https://idp.example/oauth2/token' };

async function apply(auth: ClientAuth) {
  const body = new URLSearchParams();
  const headers = new Headers();
  await auth(server, { client_id: 'orders' }, body, headers);
  return { body, headers };
}

const keys = {
  rsa: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  p256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  p384: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  p521: () => generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  ed25519: () => generateKeyPairSync('ed25519'),
};

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function isConfigError(message: RegExp) {
  return (err: unknown) =>
    err instanceof TokenRequestError && err.code === 'configuration' && message.test(err.message);
}

describe('inferAssertionAlg', () => {
  it('follows the key type and curve', () => {
    assert.equal(inferAssertionAlg(keys.rsa().privateKey), 'RS256');
    assert.equal(inferAssertionAlg(keys.p256().privateKey), 'ES256');
    assert.equal(inferAssertionAlg(keys.p384().privateKey), 'ES384');
    assert.equal(inferAssertionAlg(keys.p521().privateKey), 'ES512');
    assert.equal(inferAssertionAlg(keys.ed25519().privateKey), 'EdDSA');
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha384' });
    assert.equal(inferAssertionAlg(pss.privateKey), 'PS384');
  });

  it('refuses keys WebCrypto cannot sign assertions with', () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
    assert.throws(() => inferAssertionAlg(k1), isConfigError(/elliptic curve/));
    assert.throws(() => inferAssertionAlg(generateKeyPairSync('ed448').privateKey), isConfigError(/type/));
  });
});

describe('buildClientAuth: private_key_jwt', () => {
  for (const [name, alg] of [
    ['rsa', 'RS256'],
    ['p256', 'ES256'],
    ['p384', 'ES384'],
    ['ed25519', 'EdDSA'],
  ] as const) {
    it(`signs a verifiable ${alg} assertion with an inferred alg (${name})`, async () => {
      const { privateKey, publicKey } = keys[name]();
      const { body } = await apply(
        await buildClientAuth({ method: 'private_key_jwt', privateKeyPem: pkcs8(privateKey), kid: 'k1' }),
      );
      const assertion = body.get('client_assertion') ?? '';
      assert.deepEqual(decodeProtectedHeader(assertion), { alg, kid: 'k1' });
      const { payload } = await jwtVerify(assertion, publicKey, { issuer: 'orders', subject: 'orders' });
      assert.equal(payload.aud, server.issuer, 'openid-client uses the issuer as audience');
      assert.equal(body.get('client_id'), 'orders');
    });
  }

  it('accepts PKCS#1 and SEC1 PEM, as cert-manager writes them', async () => {
    const rsa = keys.rsa().privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const ec = keys.p256().privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    for (const privateKeyPem of [rsa, ec]) {
      const { body } = await apply(await buildClientAuth({ method: 'private_key_jwt', privateKeyPem }));
      assert.ok(body.get('client_assertion'));
    }
  });

  it('puts the given audience (the token endpoint) into the assertion', async () => {
    const { privateKey, publicKey } = keys.p256();
    const auth = await buildClientAuth(
      { method: 'private_key_jwt', privateKeyPem: pkcs8(privateKey), alg: 'ES256' },
      { assertionAudience: server.token_endpoint },
    );
    const { body } = await apply(auth);
    await jwtVerify(body.get('client_assertion') ?? '', publicKey, { audience: server.token_endpoint });
    assert.equal(decodeProtectedHeader(body.get('client_assertion') ?? '').kid, undefined);
  });

  it('refuses an alg that does not fit the key, an unknown alg and an unreadable key', async () => {
    const privateKeyPem = pkcs8(keys.p256().privateKey);
    await assert.rejects(
      buildClientAuth({ method: 'private_key_jwt', privateKeyPem, alg: 'RS256' }),
      isConfigError(/alg RS256/),
    );
    await assert.rejects(
      buildClientAuth({ method: 'private_key_jwt', privateKeyPem, alg: 'HS256' }),
      isConfigError(/alg must be one of/),
    );
    const garbage = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n';
    await assert.rejects(
      buildClientAuth({ method: 'private_key_jwt', privateKeyPem: garbage }),
      (err: unknown) => {
        assert.ok(isConfigError(/cannot be parsed/)(err));
        assert.ok(!(err as Error).message.includes('c2VjcmV0'));
        return true;
      },
    );
  });
});

describe('buildClientAuth: other methods', () => {
  it('client_secret_basic puts the secret in the Authorization header only', async () => {
    const { body, headers } = await apply(
      await buildClientAuth({ method: 'client_secret_basic', clientSecret: 's3cret' }),
    );
    assert.equal(headers.get('authorization'), `Basic ${btoa('orders:s3cret')}`);
    assert.equal(body.get('client_secret'), null);
  });

  it('client_secret_post puts it in the body', async () => {
    const { body, headers } = await apply(
      await buildClientAuth({ method: 'client_secret_post', clientSecret: 's3cret' }),
    );
    assert.equal(body.get('client_secret'), 's3cret');
    assert.equal(headers.get('authorization'), null);
  });

  it('none and tls_client_auth send only the client id', async () => {
    for (const auth of [
      await buildClientAuth({ method: 'none' }),
      await buildClientAuth({ method: 'tls_client_auth', certPem: '', keyPem: '' }),
    ]) {
      const { body, headers } = await apply(auth);
      assert.deepEqual([...body.keys()], ['client_id']);
      assert.equal(headers.get('authorization'), null);
    }
  });

  it('refuses an empty secret', async () => {
    await assert.rejects(
      buildClientAuth({ method: 'client_secret_basic', clientSecret: '' }),
      isConfigError(/empty/),
    );
  });
});
