// buildConfiguration without network: validation, and the explicit-endpoint path (no discovery).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { customFetch } from 'openid-client';
import { TokenRequestError } from '../../../src/oauth/errors.ts';
import {
  buildConfiguration,
  closeConfiguration,
  configurationSecrets,
  configurationTimeoutMs,
  credentialsFingerprint,
  type IssuerDescription,
} from '../../../src/oauth/issuer-config.ts';
import { DEFAULT_OUTBOUND_POLICY } from '../../../src/oauth/outbound-policy.ts';

const SECRET = 'kT9-very-secret';
const base: IssuerDescription = {
  tokenEndpoint: 'https://idp.example/realms/prod/protocol/openid-connect/token',
  clientID: 'orders',
  auth: { method: 'client_secret_basic', clientSecret: SECRET },
  timeoutMs: 2500,
  outbound: DEFAULT_OUTBOUND_POLICY,
};

function configurationError(message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TokenRequestError, String(err));
    assert.equal(err.code, 'configuration');
    assert.equal(err.retryable, false);
    assert.match(err.message, message);
    assert.ok(!err.message.includes(SECRET));
    return true;
  };
}

describe('buildConfiguration: explicit token endpoint', () => {
  it('needs no network and uses the endpoint origin as issuer', async () => {
    const config = await buildConfiguration(base);
    try {
      const metadata = config.serverMetadata();
      assert.equal(metadata.issuer, 'https://idp.example');
      assert.equal(metadata.token_endpoint, base.tokenEndpoint);
      assert.equal(config.timeout, 2.5);
      assert.equal(typeof config[customFetch], 'function');
      assert.deepEqual(configurationSecrets(config), [SECRET]);
      assert.equal(configurationTimeoutMs(config), 2500);
    } finally {
      await closeConfiguration(config);
    }
  });

  it('allows plain http only when told to', async () => {
    const insecure = { ...base, tokenEndpoint: 'http://idp.example:8080/token' };
    await assert.rejects(
      buildConfiguration(insecure),
      endpointRefused(
        'token endpoint http://idp.example:8080/token refused: plain http is allowed only with --allow-insecure-http',
      ),
    );
    const outbound = { ...DEFAULT_OUTBOUND_POLICY, allowInsecureHttp: true };
    await closeConfiguration(await buildConfiguration({ ...insecure, outbound }));
  });
});

function endpointRefused(message: string) {
  return (err: unknown) => {
    assert.ok(err instanceof TokenRequestError, String(err));
    assert.deepEqual([err.code, err.retryable, err.message], ['endpoint_refused', false, message]);
    return true;
  };
}

describe('buildConfiguration: the outbound policy, before any request', () => {
  const cases: [string, Partial<IssuerDescription>, string][] = [
    [
      'another scheme',
      { tokenEndpoint: 'ftp://idp.example/token' },
      'token endpoint ftp://idp.example/token refused: only https endpoints are allowed',
    ],
    [
      'a plain-http issuer URL',
      { tokenEndpoint: undefined, issuerURL: 'http://idp.example/realms/prod' },
      'issuer URL http://idp.example/realms/prod refused: plain http is allowed only with --allow-insecure-http',
    ],
    [
      'the metadata address as an IP literal',
      { tokenEndpoint: 'https://169.254.169.254/latest/token' },
      'token endpoint https://169.254.169.254/latest/token refused: 169.254.169.254 is a link-local address',
    ],
    [
      'an IPv4-mapped IPv6 loopback literal',
      { tokenEndpoint: 'https://[::ffff:127.0.0.1]/token' },
      'token endpoint https://[::ffff:7f00:1]/token refused: ::ffff:7f00:1 is a loopback address',
    ],
    [
      'a host outside the allowlist',
      {
        tokenEndpoint: 'https://evil.example/token',
        outbound: { ...DEFAULT_OUTBOUND_POLICY, allowedEndpointHosts: ['idp.example', '*.corp.example'] },
      },
      'token endpoint https://evil.example/token refused: host evil.example is not in --allowed-endpoint-hosts',
    ],
  ];
  for (const [name, change, message] of cases) {
    it(name, async () => {
      await assert.rejects(buildConfiguration({ ...base, ...change }), endpointRefused(message));
    });
  }

  it('a host on the allowlist builds', async () => {
    const outbound = { ...DEFAULT_OUTBOUND_POLICY, allowedEndpointHosts: ['idp.example', '*.corp.example'] };
    for (const tokenEndpoint of ['https://idp.example/token', 'https://login.eu.corp.example/token']) {
      await closeConfiguration(await buildConfiguration({ ...base, tokenEndpoint, outbound }));
    }
  });
});

describe('buildConfiguration: refuses a wrong description before any request', () => {
  const cases: [string, Partial<IssuerDescription>, RegExp][] = [
    ['both endpoints', { issuerURL: 'https://idp.example' }, /exactly one of/],
    ['no endpoint', { tokenEndpoint: undefined }, /exactly one of/],
    ['not a URL', { tokenEndpoint: 'idp.example/token' }, /tokenEndpoint is not a URL/],
    [
      'credentials in the URL',
      { tokenEndpoint: `https://orders:${SECRET}@idp.example/token` },
      /credentials/,
    ],
    ['an empty client id', { clientID: '' }, /clientID/],
    ['a zero timeout', { timeoutMs: 0 }, /timeout/],
    ['an empty secret', { auth: { method: 'client_secret_post', clientSecret: '' } }, /secret is empty/],
    ['an unparsable CA bundle', { caBundlePem: 'not a certificate' }, /caBundle contains no PEM/],
    [
      'a broken CA certificate',
      { caBundlePem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' },
      /caBundle certificate #1 cannot be parsed/,
    ],
    [
      'an unparsable client certificate',
      { auth: { method: 'tls_client_auth', certPem: 'x', keyPem: SECRET } },
      /client certificate/,
    ],
  ];
  for (const [name, change, message] of cases) {
    it(name, async () => {
      await assert.rejects(buildConfiguration({ ...base, ...change }), configurationError(message));
    });
  }
});

describe('credentialsFingerprint', () => {
  it('is stable, changes with any input and reveals no secret', () => {
    const fingerprint = credentialsFingerprint(base);
    assert.equal(credentialsFingerprint({ ...base }), fingerprint);
    assert.ok(!fingerprint.includes(SECRET));
    const variants: IssuerDescription[] = [
      { ...base, auth: { method: 'client_secret_basic', clientSecret: `${SECRET}2` } },
      { ...base, auth: { method: 'client_secret_post', clientSecret: SECRET } },
      { ...base, clientID: 'other' },
      { ...base, tokenEndpoint: undefined, issuerURL: 'https://idp.example' },
      { ...base, caBundlePem: 'pem' },
      { ...base, timeoutMs: 3000 },
      { ...base, outbound: { ...DEFAULT_OUTBOUND_POLICY, allowInsecureHttp: true } },
      { ...base, outbound: { ...DEFAULT_OUTBOUND_POLICY, allowEndpointCidrs: ['127.0.0.1/32'] } },
    ];
    const all = new Set([fingerprint, ...variants.map(credentialsFingerprint)]);
    assert.equal(all.size, variants.length + 1);
  });
});
