// The outbound policy on the real HTTP client (openid-client over undici), against listeners on
// loopback: each rule refuses with a clear, classified message, and a listener standing at the
// refused target records that nothing reached it, not even a TCP connection. Only loopback
// addresses are ever connected to: names that stand for other addresses go through an injected
// resolver and are refused before any connection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  AddressRefusedError,
  guardedConnector,
  type Resolver,
} from '../../../src/oauth/guarded-connector.ts';
import {
  buildConfiguration,
  closeConfiguration,
  DEFAULT_OUTBOUND_POLICY,
  deniedClass,
  type IssuerDescription,
  type OutboundPolicy,
  requestToken,
  TokenRequestError,
} from '../../../src/oauth/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { type Endpoint, issuerFor, now } from './issuers.ts';
import {
  huge,
  redirectTo,
  silent,
  startHttpServer,
  startTripwire,
  type TestServer,
  type Tripwire,
  trickle,
} from './listeners.ts';

const SECRET = 'outbound-test-secret-7Qx';
const HTTP: OutboundPolicy = { ...DEFAULT_OUTBOUND_POLICY, allowInsecureHttp: true };
/** As the in-process test operators run: loopback exempt, plain http allowed. */
const DEV: OutboundPolicy = { ...HTTP, allowEndpointCidrs: ['127.0.0.0/8'] };

function issuer(endpoint: Endpoint, outbound: OutboundPolicy, timeoutMs = 3000): IssuerDescription {
  return {
    ...endpoint,
    clientID: 'orders',
    auth: { method: 'client_secret_basic', clientSecret: SECRET },
    timeoutMs,
    outbound,
  };
}

/** Builds the configuration and requests a token; returns the TokenRequestError either step raised. */
async function refusal(description: IssuerDescription, resolve?: Resolver): Promise<TokenRequestError> {
  const err = await buildConfiguration(description, { now, resolve }).then(
    (config) =>
      requestToken(config, { now })
        .then(
          () => assert.fail('expected the request to fail'),
          (e: unknown) => e,
        )
        .finally(() => closeConfiguration(config)),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TokenRequestError, inspect(err));
  assert.ok(!inspect(err, { showHidden: true, depth: 5 }).includes(SECRET), 'the secret leaked');
  return err;
}

function assertRefused(err: TokenRequestError, message: string | RegExp): void {
  assert.equal(err.code, 'endpoint_refused', err.message);
  assert.equal(err.retryable, false);
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
}

/** Maps names to addresses; records every lookup. */
function fakeDNS(records: Record<string, string[]>) {
  const lookups: string[] = [];
  const resolve: Resolver = async (hostname) => {
    lookups.push(hostname);
    const addresses = records[hostname];
    if (!addresses) throw Object.assign(new Error(`fake DNS: no ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, lookups };
}

let tripwire: Tripwire;
// On 127.0.0.2: still loopback, but outside an exemption of 127.0.0.1/32.
let tripwire2: Tripwire;

before(async () => {
  tripwire = await startTripwire('127.0.0.1');
  tripwire2 = await startTripwire('127.0.0.2');
});
after(async () => {
  await Promise.all([tripwire.close(), tripwire2.close()]);
  assert.equal(
    tripwire.connections() + tripwire2.connections(),
    1,
    'only the control test reached a tripwire',
  );
});

describe('outbound policy: refused targets see nothing', { timeout: 20_000 }, () => {
  it('control: the tripwire does count a connection that the policy lets through', async () => {
    const exempt = { ...HTTP, allowEndpointCidrs: ['127.0.0.2/32'] };
    const err = await refusal(issuer({ tokenEndpoint: `http://127.0.0.2:${tripwire2.port}/token` }, exempt));
    assert.equal(err.code, 'network', err.message);
    assert.equal(tripwire2.connections(), 1);
  });

  it('plain http without --allow-insecure-http', async () => {
    const httpsOnly = { ...DEFAULT_OUTBOUND_POLICY, allowEndpointCidrs: ['127.0.0.0/8'] };
    const token = `http://127.0.0.1:${tripwire.port}/token`;
    assertRefused(
      await refusal(issuer({ tokenEndpoint: token }, httpsOnly)),
      `token endpoint ${token} refused: plain http is allowed only with --allow-insecure-http`,
    );
    assertRefused(
      await refusal(issuer({ issuerURL: `http://127.0.0.1:${tripwire.port}` }, httpsOnly)),
      `issuer URL http://127.0.0.1:${tripwire.port}/ refused: plain http is allowed only with --allow-insecure-http`,
    );
    assert.equal(tripwire.connections(), 0);
  });

  it('a loopback address without an exemption', async () => {
    assertRefused(
      await refusal(issuer({ issuerURL: `http://127.0.0.1:${tripwire.port}` }, HTTP)),
      `issuer URL http://127.0.0.1:${tripwire.port}/ refused: 127.0.0.1 is a loopback address`,
    );
    // Exempting one loopback address leaves the others refused.
    const oneExempt = { ...HTTP, allowEndpointCidrs: ['127.0.0.1/32'] };
    assertRefused(
      await refusal(issuer({ tokenEndpoint: `http://127.0.0.2:${tripwire2.port}/token` }, oneExempt)),
      `token endpoint http://127.0.0.2:${tripwire2.port}/token refused: 127.0.0.2 is a loopback address`,
    );
    assert.equal(tripwire.connections(), 0);
    assert.equal(tripwire2.connections(), 1, 'only the control connection');
  });

  it('a host name that resolves to loopback (localhost, system resolver)', async () => {
    const origin = `http://localhost:${tripwire.port}`;
    // Discovery: refused when connecting, so the issuer is never ready.
    assertRefused(
      await refusal(issuer({ issuerURL: origin }, HTTP)),
      new RegExp(
        `^discovery endpoint ${origin}/\\.well-known/openid-configuration refused: resolves to (127\\.0\\.0\\.1|::1), a loopback address$`,
      ),
    );
    // An explicit token endpoint: nothing is resolved at build time; the token request is refused.
    assertRefused(
      await refusal(issuer({ tokenEndpoint: `${origin}/token` }, HTTP)),
      new RegExp(
        `^token endpoint ${origin}/token refused: resolves to (127\\.0\\.0\\.1|::1), a loopback address$`,
      ),
    );
    assert.equal(tripwire.connections(), 0);
  });

  it('a name that resolves to several addresses is refused if any one is denied', async () => {
    const dns = fakeDNS({ 'mixed.test': ['127.0.0.1', '127.0.0.2'] });
    const oneExempt = { ...HTTP, allowEndpointCidrs: ['127.0.0.1/32'] };
    assertRefused(
      await refusal(
        issuer({ tokenEndpoint: `http://mixed.test:${tripwire.port}/token` }, oneExempt),
        dns.resolve,
      ),
      `token endpoint http://mixed.test:${tripwire.port}/token refused: resolves to 127.0.0.2, a loopback address`,
    );
    assert.deepEqual(dns.lookups, ['mixed.test']);
    assert.equal(tripwire.connections(), 0);
  });

  it('the metadata address behind a name is refused before connecting', async () => {
    // Never send anything outside loopback: go on only if the policy denies the address and the
    // same checks (system and injected resolver) have let nothing through to a tripwire so far.
    assert.equal(deniedClass(DEV, '169.254.169.254'), 'link-local');
    assert.equal(
      tripwire.connections(),
      0,
      'an earlier refusal leaked: not risking a packet to 169.254.169.254',
    );
    const dns = fakeDNS({ 'metadata.test': ['169.254.169.254'], 'mapped.test': ['::ffff:169.254.169.254'] });
    assertRefused(
      await refusal(issuer({ tokenEndpoint: 'https://metadata.test/latest/token' }, DEV), dns.resolve),
      'token endpoint https://metadata.test/latest/token refused: resolves to 169.254.169.254, a link-local address',
    );
    assertRefused(
      await refusal(issuer({ issuerURL: 'https://mapped.test' }, DEV), dns.resolve),
      'discovery endpoint https://mapped.test/.well-known/openid-configuration refused: resolves to ::ffff:169.254.169.254, a link-local address',
    );
    assert.deepEqual(dns.lookups, ['metadata.test', 'mapped.test']);
  });

  it('the connector itself refuses a denied IP literal (below the URL check)', async () => {
    const dns = fakeDNS({});
    const connect = guardedConnector(HTTP, dns.resolve, {});
    const err = await new Promise<Error | null>((resolve) =>
      connect({ hostname: '127.0.0.2', protocol: 'http:', port: String(tripwire2.port) }, (e, socket) => {
        socket?.destroy();
        resolve(e);
      }),
    );
    assert.ok(err instanceof AddressRefusedError, String(err));
    assert.equal(err.reason, '127.0.0.2 is a loopback address');
    assert.deepEqual(dns.lookups, []);
    assert.equal(tripwire2.connections(), 1, 'only the control connection');
  });

  it('a host not on --allowed-endpoint-hosts is refused before any DNS lookup', async () => {
    const dns = fakeDNS({ 'idp.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'] });
    const allowlisted = { ...DEV, allowedEndpointHosts: ['idp.test'] };
    for (const endpoint of [
      { tokenEndpoint: `http://other.test:${tripwire.port}/token` },
      { issuerURL: `http://other.test:${tripwire.port}` },
    ]) {
      assertRefused(
        await refusal(issuer(endpoint, allowlisted), dns.resolve),
        /^(token endpoint|issuer URL) http:\/\/other\.test:\d+\/(token)? refused: host other\.test is not in --allowed-endpoint-hosts$/,
      );
    }
    assert.deepEqual(dns.lookups, []);
    assert.equal(tripwire.connections(), 0);
  });
});

describe('outbound policy: what discovery names', { timeout: 20_000 }, () => {
  let idp: TestServer;
  before(async () => {
    // Discovery itself is allowed (127.0.0.1 exempt); the token endpoint it names is not.
    idp = await startHttpServer((_req, res) => {
      const issuer = `http://127.0.0.1:${(res.socket?.localPort ?? 0).toString()}`;
      const metadata = { issuer, token_endpoint: `http://127.0.0.2:${tripwire2.port}/token` };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metadata));
    });
  });
  after(() => idp.close());

  it('a discovered token endpoint at a denied address is refused before the issuer is ready', async () => {
    const oneExempt = { ...HTTP, allowEndpointCidrs: ['127.0.0.1/32'] };
    assertRefused(
      await refusal(issuer({ issuerURL: idp.origin }, oneExempt)),
      `discovered token endpoint http://127.0.0.2:${tripwire2.port}/token refused: 127.0.0.2 is a loopback address`,
    );
    assert.equal(idp.requests(), 1);
    assert.equal(tripwire2.connections(), 1, 'only the control connection');
  });
});

describe('outbound policy: redirects are not followed', { timeout: 20_000 }, () => {
  let redirector: TestServer;
  before(async () => {
    redirector = await startHttpServer(redirectTo(`http://127.0.0.2:${tripwire2.port}/token`), '127.0.0.1');
  });
  after(() => redirector.close());

  const allowed = { ...HTTP, allowEndpointCidrs: ['127.0.0.1/32'] };

  it('a 302 from the token endpoint is a classified error naming the status', async () => {
    const err = await refusal(issuer({ tokenEndpoint: `${redirector.origin}/token` }, allowed));
    assert.deepEqual(
      [err.code, err.httpStatus, err.retryable, err.message],
      ['http_status', 302, false, 'token request failed: HTTP 302 (redirects are not followed)'],
    );
  });

  it('a 302 from discovery fails discovery, naming the status', async () => {
    const err = await refusal(issuer({ issuerURL: redirector.origin }, allowed));
    assert.deepEqual(
      [err.code, err.httpStatus, err.retryable, err.message],
      ['discovery_failed', 302, false, 'issuer discovery failed: HTTP 302 (redirects are not followed)'],
    );
  });

  it('the redirect target saw nothing', () => {
    assert.equal(redirector.requests(), 2);
    assert.equal(tripwire2.connections(), 1, 'only the control connection');
  });
});

describe('outbound policy: size and time limits', { timeout: 20_000 }, () => {
  it('a response larger than 1 MiB is cut off: response too large', async () => {
    const written = { bytes: 0 };
    const server = await startHttpServer(huge(256 * 1024 * 1024, written));
    try {
      const err = await refusal(issuer({ tokenEndpoint: `${server.origin}/token` }, DEV));
      assert.deepEqual(
        [err.code, err.message],
        ['invalid_response', 'token request failed: response too large'],
      );
      // The client stopped reading soon after the limit: the server never got far.
      assert.ok(written.bytes < 32 * 1024 * 1024, `server wrote ${written.bytes} bytes`);
    } finally {
      await server.close();
    }
  });

  it('a server that never answers: timed out after the issuer timeout', async () => {
    const server = await startHttpServer(silent);
    try {
      const started = Date.now();
      const err = await refusal(issuer({ tokenEndpoint: `${server.origin}/token` }, DEV, 500));
      const elapsed = Date.now() - started;
      assert.deepEqual(
        [err.code, err.retryable, err.message],
        ['timeout', true, 'token request failed: timed out after 500 ms'],
      );
      assert.ok(elapsed < 2500, `took ${elapsed} ms`);
      assert.equal(server.requests(), 1);
    } finally {
      await server.close();
    }
  });

  it('a body trickling in forever: the limit is total, not per chunk', async () => {
    const server = await startHttpServer(trickle);
    try {
      const started = Date.now();
      const err = await refusal(issuer({ tokenEndpoint: `${server.origin}/token` }, DEV, 500));
      const elapsed = Date.now() - started;
      assert.deepEqual([err.code, err.message], ['timeout', 'token request failed: timed out after 500 ms']);
      assert.ok(elapsed < 2500, `took ${elapsed} ms`);
    } finally {
      await server.close();
    }
  });
});

describe('outbound policy: what it lets through', { timeout: 20_000 }, () => {
  let auth: AuthServer;
  before(async () => {
    auth = await startAuthServer();
  });
  after(() => auth.close());

  it('a name resolved by the policy is connected to at exactly the checked address', async () => {
    // `idp.test` exists only in the injected resolver: the token arriving shows that the connection
    // used the addresses the policy checked, with no second lookup to rebind.
    const dns = fakeDNS({ 'idp.test': ['127.0.0.1'] });
    const tokenEndpoint = new URL(auth.tokenEndpoint.pathname, `http://idp.test:${auth.tokenEndpoint.port}`)
      .href;
    const description = issuerFor(
      auth,
      'basic',
      { tokenEndpoint },
      { outbound: { ...HTTP, allowEndpointCidrs: ['127.0.0.1/32'] } },
    );
    const config = await buildConfiguration(description, { now, resolve: dns.resolve });
    try {
      const token = await requestToken(config, { now });
      assert.equal(token.tokenType, 'Bearer');
    } finally {
      await closeConfiguration(config);
    }
    assert.deepEqual(dns.lookups, ['idp.test']);
  });
});
