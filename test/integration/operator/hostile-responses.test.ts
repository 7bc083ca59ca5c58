// A corpus of malformed and hostile token responses, each served by the fault proxy in place of
// the real authorization server's answer to a renewal, with a valid token already in the Secret
// (issue 5). For each: the TokenRequest says what is wrong in a short, sanitized message (the
// Renewing condition, lastFailureMessage, a RenewalFailed event and the operator's log line all
// carry exactly it), the Secret keeps its last good token byte for byte, and a marker planted in
// the hostile response appears nowhere the operator writes (status, events, logs, metrics, the
// Secret). Then the server behaves again and a manual renewal recovers at once. A few responses
// are odd but usable, and accepted as documented: a valid token labelled text/plain, a 200 that
// carries an `error` member next to a valid token, a gzip-compressed response, and an absurd
// `expires_in` (clamped to 10 years by src/renewal/expiry.ts; a JWT `exp` that comes earlier
// wins, and expires-at is never later than the JWT exp).
//
// One namespace, fault proxy and operator (under deploy/'s identity) per case, all in parallel on
// the shared control plane, against one real authorization server issuing one-hour tokens.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { V1Secret } from '@kubernetes/client-node';
import { decodeJwt } from 'jose';
import { Annotation, type TokenRequest, type TokenRequestSpec } from '../../../src/api/index.ts';
import { findCondition } from '../../../src/renewal/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { freshNamespace, testCluster } from '../../support/cluster.ts';
import { type Fault, type FaultProxy, startFaultProxy } from '../../support/fault-proxy.ts';
import { registerSecret } from '../../support/leak-check.ts';
import { waitFor } from '../../support/net.ts';
import { startTestOperator, type TestOperator } from '../../support/operator.ts';
import { scenario } from '../../support/scenario.ts';

const kc = testCluster().kubeConfig();
const TR = 'app';
/** The issuer's timeout in the slow-drip case, which must outlast it; the others keep the default (10 s). */
const DRIP_TIMEOUT_MS = 2000;

type Scenario = ReturnType<typeof scenario>;

interface Env {
  s: Scenario;
  ns: string;
  auth: AuthServer;
  proxy: FaultProxy;
  operator: TestOperator;
  /** The Secret as it was before the hostile response. */
  good: V1Secret;
}

interface RejectedCase {
  title: string;
  /** The hostile response; `marker` must end up nowhere but in it. */
  fault: (marker: string, auth: AuthServer) => Fault;
  /** What the TokenRequest must say: the whole message. */
  says: RegExp;
  /** Failed attempts to wait for (default 2: the retry is refused too). */
  attempts?: number;
  /** Extra TokenRequest spec. */
  spec?: Partial<TokenRequestSpec>;
  issuerTimeoutMs?: number;
}

interface AcceptedCase {
  title: string;
  fault: (marker: string, auth: AuthServer) => Fault;
  /** Checks on the Secret holding the accepted token. */
  accepted: (t: TestContext, env: Env, secret: V1Secret, token: string) => Promise<void> | void;
}

const json = (value: unknown) => JSON.stringify(value);
/** The server's real response with these members replaced (and the marker in an extra one). */
const withFields =
  (fields: Record<string, unknown>) =>
  (marker: string): Fault => ({
    kind: 'rewrite',
    rewrite: (real) => ({ ...real, ...fields, x_debug: `request traced by ${marker}` }),
  });
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The messages are the operator's own words (src/oauth/errors.ts, src/oauth/token-client.ts,
// src/renewal/expiry.ts): status code, OAuth error code, a sanitized description, never a body.
const rejected: RejectedCase[] = [
  {
    title: 'an HTML error page with 200',
    fault: (m) => ({
      kind: 'respond',
      response: {
        headers: { 'content-type': 'text/html' },
        body: `<!doctype html><html><body><h1>Gateway error</h1><p>${m}</p></body></html>`,
      },
    }),
    says: /^token request failed: response is not JSON \(HTTP 200\)$/,
  },
  {
    title: 'an HTML error page with 502',
    fault: (m) => ({
      kind: 'respond',
      response: { status: 502, headers: { 'content-type': 'text/html' }, body: `<html>${m}</html>` },
    }),
    says: /^token request failed: HTTP 502$/,
  },
  {
    title: 'an empty body',
    // Nowhere to put the marker but a header.
    fault: (m) => ({ kind: 'respond', response: { headers: { 'x-request-id': m }, body: '' } }),
    says: /^token request failed: response body is not valid JSON$/,
  },
  {
    title: 'a huge body (2 MiB, streamed without content-length)',
    fault: (m) => ({
      kind: 'respond',
      response: { chunked: true, body: `{"access_token":"${`${m} `.repeat(200_000)}"}` },
    }),
    says: /^token request failed: response too large$/,
  },
  {
    title: 'a gzip bomb: 16 MiB of JSON in 16 KiB, around a valid-looking token',
    fault: (m) => ({
      kind: 'respond',
      response: {
        // Compressed once here, not per request: the proxy shares this process with the operator.
        headers: { 'content-encoding': 'gzip' },
        body: gzipSync(
          `{"access_token":"aaaa.bbbb.cccc","token_type":"Bearer","expires_in":3600,"pad":"${' '.repeat(16 << 20)}${m}"}`,
        ),
      },
    }),
    says: /^token request failed: response too large$/,
  },
  {
    title: 'truncated JSON',
    fault: (m) => ({
      kind: 'respond',
      response: { body: json({ access_token: `${m}.x.y`, token_type: 'Bearer' }).slice(0, 30) },
    }),
    says: /^token request failed: response body is not valid JSON$/,
  },
  {
    title: 'a JSON array',
    fault: (m) => ({
      kind: 'respond',
      response: { body: json([{ access_token: m, token_type: 'Bearer' }]) },
    }),
    says: /^token request failed: malformed response: body is not a JSON object$/,
  },
  {
    title: 'JSON nested 200 000 deep',
    fault: (m) => ({
      kind: 'respond',
      response: { body: `${'['.repeat(200_000)}"${m}"${']'.repeat(200_000)}` },
    }),
    says: /^token request failed: malformed response: body is not a JSON object$/,
  },
  {
    title: 'no access_token',
    fault: (m) => ({ kind: 'rewrite', rewrite: ({ access_token: _, ...rest }) => ({ ...rest, note: m }) }),
    says: /^token request failed: malformed response: access_token must be a string$/,
  },
  {
    title: 'a numeric access_token',
    fault: withFields({ access_token: 1234567890 }),
    says: /^token request failed: malformed response: access_token must be a string$/,
  },
  {
    title: 'an object as access_token',
    fault: (m) => withFields({ access_token: { value: m } })(m),
    says: /^token request failed: malformed response: access_token must be a string$/,
  },
  {
    title: 'an empty access_token',
    fault: withFields({ access_token: '' }),
    says: /^token request failed: malformed response: access_token must not be empty$/,
  },
  {
    title: 'an access_token with a newline and control characters',
    fault: (m) => ({
      kind: 'rewrite',
      rewrite: (real) => ({
        ...real,
        access_token: `${String(real.access_token)}\r\nX-Injected: ${m}\u0007`,
      }),
    }),
    says: /^token request failed: access_token is empty or contains characters not allowed in a bearer token$/,
  },
  {
    title: 'an access_token that is not ASCII',
    fault: (m) => ({ kind: 'rewrite', rewrite: (real) => ({ ...real, access_token: `${m}-tökén-🔑` }) }),
    says: /^token request failed: access_token is empty or contains characters not allowed in a bearer token$/,
  },
  {
    title: 'a negative expires_in',
    fault: withFields({ expires_in: -3600 }),
    says: /^token request failed: malformed response: expires_in must be a non-negative number$/,
  },
  {
    title: 'expires_in 0',
    fault: withFields({ expires_in: 0 }),
    says: /^token response rejected: token already expired on arrival: it expired at \S+Z \(from expires_in\)$/,
  },
  {
    title: 'expires_in "abc"',
    fault: withFields({ expires_in: 'abc' }),
    says: /^token request failed: malformed response: expires_in must be a number$/,
  },
  {
    title: 'expires_in 1e400 (Infinity once parsed)',
    fault: (m) => ({
      kind: 'rewrite',
      rewrite: (real) =>
        Buffer.from(
          json({ ...real, expires_in: 1, x_debug: m }).replace('"expires_in":1', '"expires_in":1e400'),
        ),
    }),
    says: /^token request failed: malformed response: expires_in must be a number$/,
  },
  {
    title: 'expires_in 2 (less than the minimum left on arrival)',
    fault: withFields({ expires_in: 2 }),
    says: /^token response rejected: token expires too soon: \S+Z \(from expires_in\), \S+ after it arrived; at least 5s is required$/,
  },
  {
    title: 'a token already expired',
    fault: () => ({ kind: 'expiredToken' }),
    says: /^token response rejected: token already expired on arrival: JWT exp \S+Z \(from jwt_exp\) is \S+ before the request was sent; the clocks of the operator and the authorization server may disagree$/,
  },
  {
    title: 'an unknown token_type',
    fault: withFields({ token_type: 'MAC' }),
    says: /^token request failed: token_type mac is not supported \(only Bearer\)$/,
  },
  {
    title: 'token_type DPoP',
    fault: withFields({ token_type: 'DPoP' }),
    says: /^token request failed: token_type DPoP requires a proof-of-possession key and cannot be used as a bearer token from a file$/,
  },
  {
    title: 'a token_type that looks like a credential',
    fault: (m) => ({ kind: 'rewrite', rewrite: (real) => ({ ...real, token_type: `${m}${randomHex(16)}` }) }),
    says: /^token request failed: token_type other than Bearer is not supported \(only Bearer\)$/,
  },
  {
    title: '200 with an error member and no token',
    fault: (m) => ({
      kind: 'respond',
      response: { body: json({ error: 'invalid_grant', error_description: `rejected: ${m}` }) },
    }),
    says: /^token request failed: malformed response: access_token must be a string$/,
  },
  {
    title: 'a slow drip past the issuer timeout',
    fault: (m) => ({
      kind: 'drip',
      intervalMs: 200,
      body: json({ access_token: `${m}${'x'.repeat(200)}`, token_type: 'Bearer' }),
    }),
    says: new RegExp(`^token request failed: timed out after ${DRIP_TIMEOUT_MS} ms$`),
    issuerTimeoutMs: DRIP_TIMEOUT_MS,
  },
  {
    title: 'a connection reset in the middle of the body',
    fault: (m) => ({
      kind: 'resetMidBody',
      body: json({ access_token: `${m}.${'x'.repeat(2000)}`, token_type: 'Bearer', expires_in: 3600 }),
      bytes: 40,
    }),
    says: /^token request failed: network error( \([A-Z_]+\))?$/,
  },
  {
    title: 'a 302 redirect',
    fault: (m) => ({
      kind: 'respond',
      response: { status: 302, headers: { location: `http://127.0.0.1:9/${m}` }, body: `moved to ${m}` },
    }),
    says: /^token request failed: HTTP 302 \(redirects are not followed\)$/,
  },
  {
    title: 'a 503 with an OAuth error body',
    fault: (m) => ({
      kind: 'respond',
      response: {
        status: 503,
        body: json({ error: 'temporarily_unavailable', error_description: `node ${m} is down` }),
      },
    }),
    says: /^token request failed: HTTP 503$/,
  },
  {
    title: 'a 400 JSON body without an error code',
    fault: (m) => ({ kind: 'respond', response: { status: 400, body: json({ message: m }) } }),
    says: /^token request failed: HTTP 400$/,
  },
  {
    title: 'an OAuth error whose description is too long',
    fault: (m) => ({
      kind: 'respond',
      response: {
        status: 400,
        body: json({
          error: 'invalid_scope',
          error_description: `${'the requested scope is not allowed '.repeat(7)}see ${m}`,
        }),
      },
    }),
    says: new RegExp(
      `^token request failed: HTTP 400, invalid_scope: ${escaped('the requested scope is not allowed '.repeat(7).slice(0, 199).trimEnd())}…$`,
    ),
  },
  {
    title: 'an OAuth error whose description carries a token',
    fault: (m) => ({
      kind: 'respond',
      response: {
        status: 400,
        body: json({
          error: 'invalid_client',
          error_description: `client ${m} presented eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig`,
        }),
      },
    }),
    says: /^token request failed: HTTP 400, invalid_client \(error_description withheld: it looked like a credential\)$/,
  },
  {
    title: 'a 700 KB access_token: with the template, the Secret would exceed 1 MiB',
    fault: (m) => ({
      kind: 'rewrite',
      rewrite: (real) => ({ ...real, access_token: `${m}${'x'.repeat(700_000)}` }),
    }),
    // Caught before the write, which the API server would refuse (422) again and again.
    says: /^the Secret would hold \d{7} bytes of data, more than the 1048576 a Secret may hold \(the access token is 700010 bytes\)$/,
    spec: { secret: { template: { 'config.json': '{"bearer":"{{ token }}"}' } } },
  },
  {
    title: 'a 429 with an absurd Retry-After',
    fault: (m) => ({
      kind: 'respond',
      response: { status: 429, headers: { 'retry-after': '99999999999' }, body: m },
    }),
    // As the server said; the retry itself comes at the latest when the good token expires.
    says: /^token request failed: HTTP 429 \(rate limited\), retry after 99999999999 s$/,
    attempts: 1,
  },
];

const accepted: AcceptedCase[] = [
  {
    title: 'valid JSON labelled text/plain (openid-client checks the type only when parsing fails)',
    fault: (m) => ({
      kind: 'rewrite',
      contentType: 'text/plain',
      rewrite: (real) => ({ ...real, x_debug: m }),
    }),
    accepted: (_t, _env, secret, token) => {
      assert.ok(jwtExpMs(token) > Date.now() + 3_000_000);
      assert.ok(expiresAtOf(secret) >= jwtExpMs(token) - 2000);
    },
  },
  {
    title: '200 with an error member next to a valid token (a success response; the member is ignored)',
    fault: (m) => ({
      kind: 'rewrite',
      rewrite: (real) => ({ ...real, error: 'server_error', error_description: `ignore ${m}` }),
    }),
    accepted: (_t, _env, secret, token) => {
      assert.ok(expiresAtOf(secret) >= jwtExpMs(token) - 2000, 'about an hour, from expires_in or exp');
    },
  },
  {
    title: 'a valid response gzip-compressed (the decoded-size limit leaves small bodies alone)',
    fault: (m) => ({ kind: 'rewrite', gzip: true, rewrite: (real) => ({ ...real, x_debug: m }) }),
    accepted: (_t, _env, secret, token) => {
      assert.ok(expiresAtOf(secret) >= jwtExpMs(token) - 2000);
    },
  },
  {
    title: 'an absurdly large expires_in (1e12 s) with a JWT: the JWT exp wins',
    fault: withFields({ expires_in: 1e12 }),
    accepted: async (_t, env, secret, token) => {
      // Clamped to 10 years, then the earlier JWT exp is used; expires-at is never past exp.
      assert.equal(expiresAtOf(secret), jwtExpMs(token));
      const events = await waitForEvents(env.s, ['ExpiryMismatch']);
      assert.ok(
        events.some((e) =>
          /^JWT exp is \S+ earlier than expires_in implies; using the earlier$/.test(e.message),
        ),
        JSON.stringify(events),
      );
    },
  },
  {
    title: 'an absurdly large expires_in (1e12 s) with an opaque token: clamped to 10 years',
    fault: (m) => {
      const opaque = `opaque-${randomHex(24)}`;
      registerSecret(opaque);
      return withFields({ access_token: opaque, expires_in: 1e12 })(m);
    },
    accepted: async (_t, env, secret, token) => {
      assert.match(token, /^opaque-[0-9a-f]{48}$/);
      const lastRenewal = Date.parse((await env.s.getTokenRequest(TR)).status?.lastRenewalTime ?? '');
      const tenYears = 3650 * 24 * 3600 * 1000;
      const expiresAt = expiresAtOf(secret);
      assert.ok(
        expiresAt >= lastRenewal + tenYears - 1000 && expiresAt <= Date.now() + tenYears,
        `expires-at ${new Date(expiresAt).toISOString()} is 10 years after the request`,
      );
      const events = await waitForEvents(env.s, ['LifetimeClamped']);
      assert.ok(
        events.some(
          (e) => e.message === 'token lifetime from expires_in exceeds 10 years; assuming 10 years',
        ),
        JSON.stringify(events),
      );
    },
  },
];

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function decode(secret: V1Secret | undefined, key = 'token'): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
}

function jwtExpMs(token: string): number {
  const { exp } = decodeJwt(token);
  assert.equal(typeof exp, 'number', 'the token is a JWT with exp');
  return (exp ?? 0) * 1000;
}

function expiresAtOf(secret: V1Secret): number {
  const value = Date.parse(secret.metadata?.annotations?.[Annotation.ExpiresAt] ?? '');
  assert.ok(Number.isFinite(value), 'the Secret has an expires-at annotation');
  assert.equal(Date.parse(decode(secret, 'expires_at') ?? ''), value, 'expires_at key and annotation agree');
  return value;
}

async function waitForEvents(s: Scenario, reasons: readonly string[]) {
  let events: { type: string; reason: string; message: string }[] = [];
  await waitFor(
    `events ${reasons.join(', ')} in ${s.namespace}`,
    async () => {
      events = await s.events(TR);
      return reasons.every((reason) => events.some((e) => e.reason === reason));
    },
    15_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; events: ${JSON.stringify(events)}`);
  });
  return events;
}

const renewNow = (s: Scenario) =>
  s.patchTokenRequest(TR, {
    metadata: { annotations: { [Annotation.RenewRequestedAt]: new Date().toISOString() } },
  });

/**
 * Everywhere the operator writes or says anything about this TokenRequest: its log lines (debug
 * included), the namespace's events, the TokenRequest and TokenIssuer objects, the Secret (data
 * decoded) and a metrics scrape.
 */
async function everythingWritten(env: Env): Promise<Record<string, string>> {
  const { s, ns, operator } = env;
  const events = await s.core.listNamespacedEvent({ namespace: ns });
  const secret = await s.getSecret(TR);
  const secretData = Object.fromEntries(
    Object.keys(secret?.data ?? {}).map((key) => [key, decode(secret, key)]),
  );
  return {
    'operator logs': operator.logs.join(''),
    events: JSON.stringify(events.items),
    TokenRequest: JSON.stringify(await s.getTokenRequest(TR)),
    TokenIssuer: JSON.stringify(await s.getIssuer('idp')),
    Secret: JSON.stringify({ metadata: secret?.metadata, data: secretData }),
    metrics: await operator.scrape(),
  };
}

async function assertMarkerNowhere(env: Env, marker: string): Promise<void> {
  for (const [where, text] of Object.entries(await everythingWritten(env))) {
    assert.ok(!text.includes(marker), `the hostile response's marker appears in the ${where}`);
  }
}

describe('hostile token responses through the operator', { concurrency: true, timeout: 120_000 }, () => {
  let auth: AuthServer;
  before(async () => {
    auth = await startAuthServer({ tokenTTLSeconds: 3600 });
  });
  after(async () => {
    await auth?.close();
  });

  /** A namespace, fault proxy, issuer through it and operator; a TokenRequest with a good token. */
  async function environment(
    t: TestContext,
    spec: Partial<TokenRequestSpec> = {},
    issuerTimeoutMs?: number,
  ): Promise<Env> {
    const ns = await freshNamespace(kc, 'hostile');
    const proxy = await startFaultProxy(auth.issuer, { expireToken: (token) => auth.expireToken(token) });
    let operator: TestOperator | undefined;
    t.after(async () => {
      await operator?.stop();
      await proxy.close();
    });
    operator = await startTestOperator(kc, { namespaces: [ns] });
    const s = scenario(kc, ns);
    await s.createIssuer('idp', auth, {
      issuerURL: proxy.url.href,
      spec: issuerTimeoutMs === undefined ? {} : { timeout: `${issuerTimeoutMs / 1000}s` },
    });
    await s.createTokenRequest(TR, { issuerRef: { name: 'idp' }, scopes: ['orders.read'], ...spec });
    await s.waitForCondition(TR, 'Ready', 'True', 'TokenIssued');
    const good = await s.getSecret(TR);
    assert.ok(good?.data?.token, 'the first token is in the Secret');
    return { s, ns, auth, proxy, operator, good };
  }

  for (const c of rejected) {
    it(`${c.title}: a clear message, the last good token kept, nothing of the body anywhere`, async (t) => {
      const env = await environment(t, c.spec, c.issuerTimeoutMs);
      const { s, proxy, operator, good } = env;
      const attempts = c.attempts ?? 2;
      const marker = `mk${randomHex(4)}`;
      const requestsBefore = proxy.tokenRequests();
      // Every request gets the hostile response until it is cleared: retries see it too.
      proxy.setStandingFault(c.fault(marker, auth));
      await renewNow(s);

      let tr: TokenRequest | undefined;
      await waitFor(
        `${attempts} failed attempts`,
        async () => {
          tr = await s.getTokenRequest(TR);
          return (tr.status?.failedAttempts ?? 0) >= attempts;
        },
        30_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; status: ${JSON.stringify(tr?.status)}`);
      });
      assert.ok(tr?.status);
      const { status } = tr;
      const message = status.lastFailureMessage ?? '';
      t.diagnostic(`message: ${message}`);
      assert.match(message, c.says);
      assert.ok(message.length <= 300, 'a short message');
      assert.ok(status.lastFailureTime, 'lastFailureTime is set');
      const renewing = findCondition(status.conditions, 'Renewing');
      assert.equal(renewing?.status, 'True');
      assert.equal(renewing?.reason, 'RetryingAfterFailure');
      assert.equal(
        renewing?.message?.replace(/; next attempt at \S+Z$/, ''),
        `attempt ${status.failedAttempts} failed: ${message}`,
      );
      const nextAttempt = Date.parse(/next attempt at (\S+Z)$/.exec(renewing?.message ?? '')?.[1] ?? '');
      assert.ok(nextAttempt <= expiresAtOf(good), 'the next attempt is not after the good token expires');
      const ready = findCondition(status.conditions, 'Ready');
      assert.equal(ready?.status, 'True', 'Ready while the last good token is valid');
      assert.equal(ready?.reason, 'TokenIssued');

      const events = await waitForEvents(s, ['RenewalFailed']);
      for (const e of events.filter((e) => e.reason === 'RenewalFailed')) {
        assert.equal(e.type, 'Warning');
        assert.match(e.message, c.says);
      }
      const logged = operator.logs
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry.msg === 'renewal failed');
      t.diagnostic(`attempts: ${logged.map((entry) => `${entry.time} ${entry.message}`).join(' | ')}`);
      assert.ok(logged.length >= attempts);
      for (const entry of logged) assert.match(String(entry.message), c.says);

      // The Secret: untouched, byte for byte.
      const kept = await s.getSecret(TR);
      assert.deepEqual(kept?.data, good.data, 'the Secret keeps its last good data');
      assert.equal(kept?.metadata?.resourceVersion, good.metadata?.resourceVersion, 'no write at all');
      assert.ok(proxy.tokenRequests() - requestsBefore >= attempts);
      await assertMarkerNowhere(env, marker);

      // The server behaves again; a manual renewal skips the backoff and recovers.
      proxy.clearFaults();
      await renewNow(s);
      const fresh = await s.waitForNewToken(TR, decode(good), 20_000);
      const recovered = await s.waitForCondition(TR, 'Renewing', 'False', 'UpToDate');
      assert.equal(recovered.status?.failedAttempts, 0);
      assert.equal(recovered.status?.lastFailureMessage, '');
      assert.ok(jwtExpMs(fresh) > Date.now() + 3_000_000);
      await assertMarkerNowhere(env, marker);
    });
  }

  for (const c of accepted) {
    it(`${c.title}: accepted as documented`, async (t) => {
      const env = await environment(t);
      const { s, proxy, good } = env;
      const marker = `mk${randomHex(4)}`;
      proxy.setStandingFault(c.fault(marker, auth));
      await renewNow(s);
      const token = await s.waitForNewToken(TR, decode(good), 20_000).catch(async (err: Error) => {
        const failures = env.operator.logs.filter((line) => line.includes('failed'));
        throw new Error(
          `${err.message}; status: ${JSON.stringify((await s.getTokenRequest(TR)).status)}; failures logged: ${failures.join('')}`,
        );
      });
      proxy.clearFaults();
      const tr = await s.waitForCondition(TR, 'Renewing', 'False', 'UpToDate');
      assert.equal(tr.status?.failedAttempts, 0);
      assert.equal(findCondition(tr.status?.conditions, 'Ready')?.status, 'True');
      const secret = await s.getSecret(TR);
      assert.ok(secret);
      await c.accepted(t, env, secret, token);
      const expiresAt = expiresAtOf(secret);
      if (token.split('.').length === 3) assert.ok(expiresAt <= jwtExpMs(token), 'expires-at ≤ JWT exp');
      assert.equal(Date.parse(tr.status?.expirationTime ?? ''), expiresAt);
      await assertMarkerNowhere(env, marker);
    });
  }
});
