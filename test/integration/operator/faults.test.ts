// The operator under every fault the fault proxy can inject in front of the real authorization
// server (issue 3, "Failures"): the Secret keeps its last good token byte for byte, the
// TokenRequest says what is wrong in words a person can act on, retries follow the backoff policy
// (full jitter from 1 s, Retry-After honoured, never past expiry), recovery needs nobody, and
// nothing secret reaches a log line, an event or the status. Every status and Secret version is
// recorded by a watch, so a state that lasts a few milliseconds is still checked.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type KubeConfig, type V1Secret, Watch } from '@kubernetes/client-node';
import {
  Annotation,
  group,
  Plural,
  type TokenIssuerSpec,
  type TokenRequest,
  version,
} from '../../../src/api/index.ts';
import { findCondition } from '../../../src/renewal/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { freshNamespace, testCluster } from '../../support/cluster.ts';
import { type Fault, type FaultProxy, startFaultProxy } from '../../support/fault-proxy.ts';
import { waitFor } from '../../support/net.ts';
import { startTestOperator, type TestOperator } from '../../support/operator.ts';
import { scenario } from '../../support/scenario.ts';

const TR = 'app';
/** Anything shaped like a JWT (header.payload): no such string may appear outside the Secret. */
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;
/** Lateness allowed between a scheduled retry and its request reaching the proxy. */
const SLACK_MS = 500;

type Scenario = ReturnType<typeof scenario>;

interface Seen<T> {
  at: number;
  type: string;
  object: T;
}

interface Recorder<T> {
  readonly seen: Seen<T>[];
  /** Set when the watch ended before stop(): the history would be incomplete. */
  ended(): unknown;
  stop(): void;
}

/** Every version of one named object, as a watch delivers it, with the time it arrived. */
async function record<T>(kc: KubeConfig, path: string, name: string): Promise<Recorder<T>> {
  const seen: Seen<T>[] = [];
  let stopped = false;
  let ended: unknown;
  const controller = await new Watch(kc).watch(
    path,
    { fieldSelector: `metadata.name=${name}` },
    (type: string, object: unknown) => {
      seen.push({ at: Date.now(), type, object: object as T });
    },
    (err: unknown) => {
      if (!stopped) ended = err ?? new Error(`watch of ${path} ended`);
    },
  );
  return {
    seen,
    ended: () => ended,
    stop() {
      stopped = true;
      controller.abort();
    },
  };
}

interface Harness {
  ns: string;
  s: Scenario;
  auth: AuthServer;
  proxy: FaultProxy;
  operator: TestOperator;
  requests?: Recorder<TokenRequest>;
  secrets?: Recorder<V1Secret>;
}

const kc = testCluster().kubeConfig();

/** Its own namespace, fault proxy, issuer (through the proxy) and operator; torn down after `t`. */
async function harness(
  t: TestContext,
  prefix: string,
  auth: AuthServer,
  issuerSpec?: Partial<TokenIssuerSpec>,
): Promise<Harness> {
  const ns = await freshNamespace(kc, `faults-${prefix}`);
  const proxy = await startFaultProxy(auth.issuer, { expireToken: (token) => auth.expireToken(token) });
  let h: Harness | undefined;
  t.after(async () => {
    h?.requests?.stop();
    h?.secrets?.stop();
    await h?.operator.stop();
    await proxy.close();
  });
  h = { ns, s: scenario(kc, ns), auth, proxy, operator: await startTestOperator(kc, { namespaces: [ns] }) };
  await h.s.createIssuer('idp', auth, { issuerURL: proxy.url.href, spec: issuerSpec });
  return h;
}

async function startRecording(h: Harness): Promise<void> {
  h.requests = await record<TokenRequest>(
    kc,
    `/apis/${group}/${version}/namespaces/${h.ns}/${Plural.TokenRequest}`,
    TR,
  );
  h.secrets = await record<V1Secret>(kc, `/api/v1/namespaces/${h.ns}/secrets`, TR);
}

function stopRecording(h: Harness): { requests: Seen<TokenRequest>[]; secrets: Seen<V1Secret>[] } {
  const requests = h.requests;
  const secrets = h.secrets;
  assert.ok(requests && secrets, 'recording was started');
  requests.stop();
  secrets.stop();
  assert.equal(requests.ended(), undefined, 'the TokenRequest watch ran throughout');
  assert.equal(secrets.ended(), undefined, 'the Secret watch ran throughout');
  for (const { type } of [...requests.seen, ...secrets.seen]) assert.notEqual(type, 'ERROR');
  return { requests: requests.seen, secrets: secrets.seen };
}

const condition = (tr: TokenRequest, type: string) => findCondition(tr.status?.conditions, type);

const decode = (secret: V1Secret | undefined): string | undefined => {
  const value = secret?.data?.token;
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
};

/** The JWT's `exp`, in ms. */
function jwtExpMs(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    exp?: number;
  };
  assert.equal(typeof payload.exp, 'number', 'the token is a JWT with exp');
  return (payload.exp ?? 0) * 1000;
}

interface FailureLog {
  time: number;
  retryAt: number;
  failedAttempts: number;
  message: string;
}

/** The operator's "renewal failed" log lines, in order. */
function failureLogs(operator: TestOperator): FailureLog[] {
  return operator.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.msg === 'renewal failed')
    .map((entry) => ({
      time: Date.parse(String(entry.time)),
      retryAt: Date.parse(String(entry.retryAt)),
      failedAttempts: Number(entry.failedAttempts),
      message: String(entry.message),
    }));
}

/** Waits until the namespace has events for the TokenRequest with each of these reasons. */
async function waitForEvents(s: Scenario, reasons: readonly string[]) {
  let events: { type: string; reason: string; message: string }[] = [];
  await waitFor(
    `events ${reasons.join(', ')} for ${s.namespace}/${TR}`,
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

/**
 * Nothing secret outside the Secret: neither the client secret nor any token (seen in the Secret
 * at any time, or shaped like a JWT at all, which covers tokens the operator rejected) appears in
 * the operator's log lines, in any event of the namespace or in any recorded status.
 */
async function assertNoLeaks(h: Harness, statuses: readonly unknown[], tokens: Iterable<string>) {
  const forbidden = [h.auth.clients.basic.clientSecret, ...tokens].flatMap((v) => [
    v,
    Buffer.from(v).toString('base64'),
  ]);
  const events = await h.s.core.listNamespacedEvent({ namespace: h.ns });
  const current = await h.s.getTokenRequest(TR);
  const places: Record<string, string> = {
    'operator logs': h.operator.logs.join(''),
    events: JSON.stringify(events.items),
    'TokenRequest status': JSON.stringify([...statuses, current.status]),
  };
  // Not vacuous: the failures were logged, reported and recorded.
  assert.match(places['operator logs'] ?? '', /renewal failed/);
  assert.match(places.events ?? '', /RenewalFailed/);
  assert.match(places['TokenRequest status'] ?? '', /RetryingAfterFailure/);
  for (const [where, text] of Object.entries(places)) {
    // Messages name the place only: a failing assertion must not print the secret either.
    for (const value of forbidden)
      assert.ok(!text.includes(value), `${where} contain a client secret or token`);
    assert.ok(!JWT_SHAPE.test(text), `${where} contain a JWT-shaped string`);
  }
}

/**
 * Retry timing against the policy, from the operator's own schedule (the "renewal failed" log
 * line, with the exact retry time) and from when the requests reached the proxy: after failure
 * k the retry is drawn in [0, 2^(k−1) s] (or at least Retry-After), and the next request arrives
 * at that time — not earlier (no retry that skips the backoff), not much later.
 */
function assertRetryTiming(
  t: TestContext,
  failures: readonly FailureLog[],
  arrivals: readonly number[],
  options: { requestMs: number; retryAfterMs?: number },
): void {
  assert.equal(
    arrivals.length,
    failures.length + 1,
    'one request per failed attempt, plus the one that succeeded',
  );
  const rows: string[] = [];
  failures.forEach((failure, i) => {
    const k = i + 1;
    const ceiling = 1000 * 2 ** (k - 1);
    const took = failure.time - (arrivals[i] ?? 0);
    const drawn = failure.retryAt - failure.time;
    const gap = (arrivals[i + 1] ?? 0) - (arrivals[i] ?? 0);
    const lateness = (arrivals[i + 1] ?? 0) - failure.retryAt;
    const bound =
      options.retryAfterMs === undefined ? `ceiling ${ceiling}` : `Retry-After ${options.retryAfterMs}`;
    rows.push(
      `#${k}: failed after ${took} ms, retry drawn ${drawn} ms (${bound}), request gap ${gap} ms, lateness ${lateness} ms`,
    );
    assert.equal(failure.failedAttempts, k, 'failedAttempts counts up by one per failure');
    // The failing request itself: answered at once, or given up at the issuer's timeout.
    assert.ok(
      took >= options.requestMs - 100 && took <= options.requestMs + SLACK_MS,
      `attempt ${k} took ${took} ms`,
    );
    if (options.retryAfterMs === undefined) {
      assert.ok(drawn <= ceiling, `attempt ${k}: retry ${drawn} ms after the failure exceeds ${ceiling} ms`);
      assert.ok(
        gap <= options.requestMs + ceiling + SLACK_MS,
        `attempt ${k}: ${gap} ms between requests exceeds the full-jitter bound`,
      );
    } else {
      // Retry-After is a floor (rounded up to the second); the jitter may still draw later.
      assert.ok(gap >= options.retryAfterMs, `attempt ${k}: retried ${gap} ms after a 429 with Retry-After`);
      assert.ok(
        gap <= Math.max(options.retryAfterMs + 1000, ceiling) + SLACK_MS,
        `attempt ${k}: ${gap} ms between requests: Retry-After rounded up to the second, not more`,
      );
    }
    // At the scheduled time: not before (a retry that skips the backoff), not much after.
    assert.ok(lateness >= -20, `attempt ${k}: the request came ${-lateness} ms before its scheduled retry`);
    assert.ok(
      lateness <= SLACK_MS,
      `attempt ${k}: the request came ${lateness} ms after its scheduled retry`,
    );
  });
  t.diagnostic(rows.join('; '));
}

interface RenewalFaultCase {
  title: string;
  prefix: string;
  fault: Fault;
  /** How many consecutive requests fail. */
  count: number;
  /** What the condition, status and event must say. */
  says: RegExp;
  issuerSpec?: Partial<TokenIssuerSpec>;
  /** How long a failing request itself takes (the hang lasts until the issuer's timeout). */
  requestMs?: number;
  retryAfterMs?: number;
}

const renewalFaults: RenewalFaultCase[] = [
  {
    title: '5xx',
    prefix: '5xx',
    fault: { kind: 'status', status: 503 },
    count: 3,
    says: /^token request failed: HTTP 503$/,
  },
  {
    title: '429 with Retry-After: 3',
    prefix: '429',
    fault: { kind: 'rateLimited', retryAfterSeconds: 3 },
    count: 2,
    says: /^token request failed: HTTP 429 \(rate limited\), retry after 3 s$/,
    retryAfterMs: 3000,
  },
  {
    title: 'invalid_client',
    prefix: 'client',
    fault: { kind: 'oauthError', error: 'invalid_client' },
    count: 3,
    says: /^token request failed: HTTP 401, invalid_client: injected by fault proxy$/,
  },
  {
    title: 'a hang past the issuer timeout (1s)',
    prefix: 'hang',
    fault: { kind: 'hang' },
    count: 2,
    says: /^token request failed: timed out after 1000 ms$/,
    issuerSpec: { timeout: '1s' },
    requestMs: 1000,
  },
  {
    title: 'a connection reset',
    prefix: 'reset',
    fault: { kind: 'reset' },
    count: 3,
    says: /^token request failed: network error( \([A-Z_]+\))?$/,
  },
  {
    title: 'a non-JSON body',
    prefix: 'nonjson',
    fault: { kind: 'nonJson' },
    count: 3,
    says: /^token request failed: response is not JSON \(HTTP 200\)$/,
  },
  {
    title: 'a body without access_token',
    prefix: 'noat',
    fault: { kind: 'missingAccessToken' },
    count: 3,
    says: /^token request failed: malformed response: access_token must be a string$/,
  },
  {
    title: 'an already-expired token',
    prefix: 'expired',
    fault: { kind: 'expiredToken' },
    count: 3,
    says: /^token response rejected: token already expired on arrival: JWT exp \S+ \(from jwt_exp\) is /,
  },
];

interface FirstTokenCase {
  title: string;
  prefix: string;
  fault: Fault;
  reason: 'TokenRequestFailed' | 'InvalidTokenResponse';
  says: RegExp;
}

const firstTokenFaults: FirstTokenCase[] = [
  {
    title: '5xx',
    prefix: 'first-5xx',
    fault: { kind: 'status', status: 502 },
    reason: 'TokenRequestFailed',
    says: /^token request failed: HTTP 502$/,
  },
  {
    title: 'a body without access_token',
    prefix: 'first-noat',
    fault: { kind: 'missingAccessToken' },
    reason: 'InvalidTokenResponse',
    says: /^token request failed: malformed response: access_token must be a string$/,
  },
  {
    title: 'an already-expired token',
    prefix: 'first-expired',
    fault: { kind: 'expiredToken' },
    reason: 'InvalidTokenResponse',
    says: /^token response rejected: token already expired on arrival/,
  },
];

describe('operator under injected token-endpoint faults', { concurrency: true, timeout: 120_000 }, () => {
  let auth: AuthServer;
  /** Tokens of 6 s, for the outage that outlasts a token. */
  let shortAuth: AuthServer;
  before(async () => {
    auth = await startAuthServer({ tokenTTLSeconds: 3600 });
    shortAuth = await startAuthServer({ tokenTTLSeconds: 8 });
  });
  after(async () => {
    await auth?.close();
    await shortAuth?.close();
  });

  for (const c of renewalFaults) {
    it(`renewal failing with ${c.title}: keeps the token, says why, backs off, recovers`, async (t) => {
      const h = await harness(t, c.prefix, auth, c.issuerSpec);
      const { s, proxy } = h;
      await s.createTokenRequest(TR, { issuerRef: { name: 'idp' }, scopes: ['orders.read'] });
      await s.waitForCondition(TR, 'Ready', 'True');
      const good = await s.getSecret(TR);
      const goodToken = decode(good);
      assert.ok(good?.data && goodToken, 'the first token is in the Secret');
      assert.equal(proxy.tokenRequests(), 1);

      await startRecording(h);
      await waitFor(
        'the recorders to see the current objects',
        async () => {
          return (h.requests?.seen.length ?? 0) > 0 && (h.secrets?.seen.length ?? 0) > 0;
        },
        10_000,
      );
      proxy.failNext(c.count, c.fault);
      await s.patchTokenRequest(TR, {
        metadata: { annotations: { [Annotation.RenewRequestedAt]: new Date().toISOString() } },
      });

      const fresh = await s.waitForNewToken(TR, goodToken, 45_000);
      const recovered = await s.waitForCondition(TR, 'Renewing', 'False', 'UpToDate');
      const history = stopRecording(h);
      const arrivals = proxy.tokenRequestTimes().slice(1);
      assert.equal(proxy.pendingFaults(), 0, 'every injected fault was used');

      // The Secret: the last good data, byte for byte, until the one write of the new token.
      const firstNew = history.secrets.findIndex((v) => decode(v.object) !== goodToken);
      assert.ok(firstNew > 0, 'the recorder saw the good Secret, then the new one');
      for (const v of history.secrets.slice(0, firstNew)) {
        assert.deepEqual(v.object.data, good.data, 'the Secret keeps its last good data while failing');
        assert.equal(
          v.object.metadata?.resourceVersion,
          good.metadata?.resourceVersion,
          'no write while failing',
        );
      }
      assert.equal(decode(history.secrets[firstNew]?.object), fresh);
      assert.ok(
        (history.secrets[firstNew]?.at ?? 0) >= (arrivals.at(-1) ?? Number.POSITIVE_INFINITY),
        'the new token came from the request after the faults',
      );
      assert.ok(jwtExpMs(fresh) > Date.now() + 60_000, 'the new token is valid');

      // The TokenRequest: Ready=True throughout; one failure status per attempt saying why.
      const failing = history.requests.filter(
        (v) => condition(v.object, 'Renewing')?.reason === 'RetryingAfterFailure',
      );
      for (const v of history.requests) {
        const ready = condition(v.object, 'Ready');
        assert.equal(
          ready?.status,
          'True',
          `Ready stays True while the token is valid: ${JSON.stringify(ready)}`,
        );
        assert.equal(ready?.reason, 'TokenIssued');
      }
      assert.deepEqual(
        [...new Set(failing.map((v) => v.object.status?.failedAttempts))],
        Array.from({ length: c.count }, (_, i) => i + 1),
        'a failure status for each attempt',
      );
      for (const v of failing) {
        const renewing = condition(v.object, 'Renewing');
        const n = v.object.status?.failedAttempts ?? 0;
        assert.equal(renewing?.status, 'True');
        const [, said = ''] =
          /^attempt \d+ failed: (.*); next attempt at \S+Z$/.exec(renewing?.message ?? '') ?? [];
        assert.match(renewing?.message ?? '', new RegExp(`^attempt ${n} failed: `));
        assert.match(said, c.says, 'the Renewing message names the cause');
        assert.match(v.object.status?.lastFailureMessage ?? '', c.says);
        assert.ok(v.object.status?.lastFailureTime, 'lastFailureTime is set');
      }

      // Recovered by itself.
      assert.equal(condition(recovered, 'Ready')?.status, 'True');
      assert.equal(recovered.status?.failedAttempts, 0);
      assert.equal(recovered.status?.lastFailureMessage, '');
      const events = await waitForEvents(s, ['RenewalFailed', 'Recovered']);
      const failed = events.filter((e) => e.reason === 'RenewalFailed');
      assert.ok(failed.length > 0 && failed.every((e) => e.type === 'Warning' && c.says.test(e.message)));
      assert.ok(
        events.some(
          (e) => e.type === 'Normal' && e.message === `renewal succeeded after ${c.count} failed attempts`,
        ),
        JSON.stringify(events),
      );

      // Retries as specified, and no request beyond them.
      const failures = failureLogs(h.operator);
      assert.equal(failures.length, c.count, 'one "renewal failed" log line per attempt');
      for (const f of failures) assert.match(f.message, c.says);
      assertRetryTiming(t, failures, arrivals, { requestMs: c.requestMs ?? 0, retryAfterMs: c.retryAfterMs });

      await assertNoLeaks(
        h,
        history.requests.map((v) => v.object.status),
        [goodToken, fresh],
      );
      assert.equal(proxy.tokenRequests(), c.count + 2, 'no token request after the recovery');
    });
  }

  it('an outage longer than the remaining validity: Ready=False/Expired, the Secret kept, then recovery', async (t) => {
    const h = await harness(t, 'outage', shortAuth);
    const { s, proxy } = h;
    await s.createTokenRequest(TR, { issuerRef: { name: 'idp' }, renewBefore: '2s' });
    await s.waitForCondition(TR, 'Ready', 'True');
    // Everything fails from now on, starting with the renewal about 6 s into the 8 s lifetime
    // (8 s, not less: a token arriving with under 5 s left counts as already expired).
    proxy.failNext(1000, { kind: 'status', status: 503 });
    const good = await s.getSecret(TR);
    const goodToken = decode(good);
    assert.ok(good?.data && goodToken);
    assert.equal(proxy.tokenRequests(), 1, 'the renewal was not due yet when the outage began');
    const expiresAt = Date.parse(good.metadata?.annotations?.[Annotation.ExpiresAt] ?? '');
    assert.ok(
      expiresAt <= jwtExpMs(goodToken),
      'the operator does not think the token lives longer than it does',
    );
    await startRecording(h);

    const expired = await s.waitForCondition(TR, 'Ready', 'False', 'Expired', 20_000);
    assert.match(
      condition(expired, 'Ready')?.message ?? '',
      /^token expired at \S+Z; renewal failing: token request failed: HTTP 503$/,
    );
    assert.equal(condition(expired, 'Renewing')?.reason, 'RetryingAfterFailure');
    assert.deepEqual((await s.getSecret(TR))?.data, good.data, 'the expired token stays in the Secret');
    const failedBeforeExpiry = proxy.tokenRequests() - 1;

    proxy.clearFaults();
    const fresh = await s.waitForNewToken(TR, goodToken, 40_000);
    const recovered = await s.waitForCondition(TR, 'Ready', 'True');
    const history = stopRecording(h);

    // Ready was True until the token expired, and turned False within 2 s of that.
    const turned = history.requests.find((v) => condition(v.object, 'Ready')?.status === 'False');
    assert.ok(turned, 'Ready turned False');
    assert.equal(condition(turned.object, 'Ready')?.reason, 'Expired');
    assert.ok(turned.at >= expiresAt, `Ready=False ${expiresAt - turned.at} ms before the expiry`);
    assert.ok(turned.at - expiresAt <= 2000, `Ready=False ${turned.at - expiresAt} ms after the expiry`);
    for (const v of history.requests.filter((v) => v.at < expiresAt)) {
      assert.equal(condition(v.object, 'Ready')?.status, 'True', 'Ready while the token was valid');
    }
    // The Secret kept the last token (never deleted, never blanked) until the new one.
    const firstNew = history.secrets.findIndex((v) => decode(v.object) !== goodToken);
    assert.ok(firstNew > 0);
    for (const v of history.secrets.slice(0, firstNew)) {
      assert.equal(v.type === 'DELETED', false, 'the Secret is never deleted');
      assert.deepEqual(v.object.data, good.data);
    }
    assert.equal(decode(history.secrets[firstNew]?.object), fresh);

    // The retries before the expiry stayed within it: the last one came at the expiry, not later.
    const arrivals = proxy.tokenRequestTimes();
    const beforeExpiry = arrivals.filter((a) => a < expiresAt);
    const atExpiry = arrivals.find((a) => a >= expiresAt);
    assert.ok(atExpiry !== undefined && atExpiry - expiresAt <= SLACK_MS, 'a retry at the expiry');
    const failures = failureLogs(h.operator);
    const gaps = arrivals.slice(1).map((a, i) => a - (arrivals[i] ?? 0));
    t.diagnostic(
      `token expired ${new Date(expiresAt).toISOString()}; ${failedBeforeExpiry} failed requests by Ready=False ` +
        `(${beforeExpiry.length - 1} before the expiry); Ready=False ${turned.at - expiresAt} ms after the expiry; ` +
        `request gaps ${gaps.join(', ')} ms; scheduled retries ${failures.map((f) => `${f.retryAt - f.time}`).join(', ')} ms`,
    );
    // Every retry at its scheduled time, within the full-jitter bound; none past the expiry of
    // the token that was still valid when it was scheduled.
    assertRetryTiming(t, failures, arrivals.slice(1), { requestMs: 0 });
    for (const f of failures) {
      if (f.time < expiresAt)
        assert.ok(f.retryAt <= expiresAt, 'never retried past the expiry of a valid token');
    }

    assert.equal(recovered.status?.failedAttempts, 0);
    assert.equal(condition(recovered, 'Renewing')?.status, 'False');
    assert.ok(jwtExpMs(fresh) > Date.now(), 'the new token is valid');
    const events = await waitForEvents(s, ['RenewalFailed', 'Recovered']);
    assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'RenewalFailed'));
    await assertNoLeaks(
      h,
      history.requests.map((v) => v.object.status),
      [goodToken, fresh],
    );
  });

  for (const c of firstTokenFaults) {
    it(`the first token failing with ${c.title}: Ready=False/${c.reason}, no Secret, then recovery`, async (t) => {
      const h = await harness(t, c.prefix, auth);
      const { s, proxy } = h;
      const count = 2;
      proxy.failNext(count, c.fault);
      await startRecording(h);
      await s.createTokenRequest(TR, { issuerRef: { name: 'idp' } });

      const failing = await s.waitForCondition(TR, 'Ready', 'False', c.reason);
      const ready = condition(failing, 'Ready');
      const [, said = ''] = /^no token yet: (.*)$/.exec(ready?.message ?? '') ?? [];
      assert.match(said, c.says, 'the Ready message names the cause');
      assert.equal(condition(failing, 'Renewing')?.reason, 'RetryingAfterFailure');
      assert.equal(await s.getSecret(TR), undefined, 'no Secret without a good token');

      const token = await s.waitForNewToken(TR, undefined, 30_000);
      const recovered = await s.waitForCondition(TR, 'Ready', 'True');
      const history = stopRecording(h);
      const arrivals = proxy.tokenRequestTimes();
      assert.equal(arrivals.length, count + 1);
      assert.equal(history.secrets[0]?.type, 'ADDED');
      assert.equal(decode(history.secrets[0]?.object), token, 'the first Secret holds the good token');
      assert.ok((history.secrets[0]?.at ?? 0) >= (arrivals.at(-1) ?? Number.POSITIVE_INFINITY));
      assert.ok(jwtExpMs(token) > Date.now() + 60_000);
      for (const v of history.requests.filter((v) => (v.object.status?.failedAttempts ?? 0) > 0)) {
        assert.equal(condition(v.object, 'Ready')?.status, 'False');
        assert.match(v.object.status?.lastFailureMessage ?? '', c.says);
      }
      assert.equal(recovered.status?.failedAttempts, 0);
      assert.equal(condition(recovered, 'Renewing')?.status, 'False');

      await waitForEvents(s, ['RenewalFailed', 'Recovered']);
      assertRetryTiming(t, failureLogs(h.operator), arrivals, { requestMs: 0 });
      await assertNoLeaks(
        h,
        history.requests.map((v) => v.object.status),
        [token],
      );
    });
  }
});
