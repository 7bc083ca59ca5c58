// End to end against the shared kube-apiserver and a real oidc-provider: a TokenRequest becomes a
// Secret with the right content for every client authentication method; tokens are renewed at
// expiresAt − lead, once per lifetime, before the old one expires; a reader lagging behind the
// Secret (as a kubelet does) never sees an expired token; a restarted operator requests nothing
// for fresh tokens and still renews on time; /metrics follows the TokenRequests.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { V1Secret } from '@kubernetes/client-node';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import {
  Annotation,
  apiVersion,
  DeletionPolicy,
  group,
  Label,
  managedBy,
  Plural,
  type TokenRequestSpec,
  version,
} from '../../../src/api/index.ts';
import { findCondition } from '../../../src/renewal/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { freshNamespace, testCluster } from '../../support/cluster.ts';
import { waitFor } from '../../support/net.ts';
import { startTestOperator, type TestOperator } from '../../support/operator.ts';
import { type ClientKind, scenario } from '../../support/scenario.ts';

const run = promisify(execFile);
const cluster = testCluster();
const kc = cluster.kubeConfig();
const verbose = Boolean(process.env.TOKEN_RENEWER_TEST_LOGS);
const report = (line: string) => {
  if (verbose) process.stderr.write(`[renewal.test] ${line}\n`);
};

type Scenario = ReturnType<typeof scenario>;

interface Environment {
  auth: AuthServer;
  ns: string;
  operator: TestOperator;
  s: Scenario;
}

/** An authorization server, a fresh namespace and an operator watching only it; torn down after the test. */
async function environment(
  t: TestContext,
  options: { ttlSeconds: number; prefix: string; flags?: string[] },
): Promise<Environment> {
  const auth = await startAuthServer({ tokenTTLSeconds: options.ttlSeconds });
  const ns = await freshNamespace(kc, options.prefix);
  const operator = await startTestOperator(kc, { namespaces: [ns], flags: options.flags });
  t.after(async () => {
    await operator.stop();
    await auth.close();
  });
  return { auth, ns, operator, s: scenario(kc, ns) };
}

const decoded = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');

function secretText(secret: V1Secret | undefined, key: string): string {
  const value = decoded(secret?.data?.[key]);
  assert.ok(value !== undefined, `Secret ${secret?.metadata?.name} has no key ${key}`);
  return value;
}

function timeOf(value: string | null | undefined, what: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  assert.ok(Number.isFinite(ms), `${what} is not a time: ${JSON.stringify(value)}`);
  return ms;
}

// ---- /metrics --------------------------------------------------------------------------------

interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1] ?? ''] = label[2] ?? '';
    }
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

const perObjectSeries = [
  'token_renewer_token_expiration_timestamp_seconds',
  'token_renewer_token_renewal_timestamp_seconds',
  'token_renewer_ready_status',
] as const;

function seriesOf(samples: MetricSample[], metric: string, ns: string, name: string): MetricSample[] {
  return samples.filter((m) => m.name === metric && m.labels.namespace === ns && m.labels.name === name);
}

function sumOf(samples: MetricSample[], metric: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((m) => m.name === metric && Object.entries(labels).every(([k, v]) => m.labels[k] === v))
    .reduce((total, m) => total + m.value, 0);
}

// ---- kubectl ---------------------------------------------------------------------------------

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(cluster.kubectl, ['--kubeconfig', cluster.kubeconfigPath(), ...args], {
    timeout: 60_000,
  });
  return stdout;
}

/** `kubectl get` as a table: header names → cell, per row. Cells never contain spaces here. */
function parseTable(text: string): Record<string, string>[] {
  const [header = '', ...rows] = text.trim().split('\n');
  const columns = header.trim().split(/\s+/);
  return rows.map((row) => {
    const cells = row.trim().split(/\s+/);
    return Object.fromEntries(columns.map((column, i) => [column, cells[i] ?? '']));
  });
}

// ---- recording what the Secret holds over time ---------------------------------------------

interface SecretVersion {
  token: string;
  /** JWT `exp`, ms. */
  jwtExp: number;
  /** `token-renewer.io/expires-at`, ms. */
  expiresAt: number;
  /** `token-renewer.io/renew-at`, ms. */
  renewAt: number;
  /** Data key `expires_at`, ms. */
  dataExpiresAt: number;
  /** End of the first poll that returned this version: it was in the Secret by then. */
  firstSeen: number;
  /** Start of the last poll that still returned this version: it was replaced only after that. */
  lastSeenStart: number;
  /** Token requests the server had counted for this client when the version was first seen. */
  requestsAtFirstSight: number;
  /** resourceVersions of the Secret seen while it held this token. */
  resourceVersions: Set<string>;
}

interface SecretRecorder {
  readonly versions: SecretVersion[];
  lastPollEnd(): number;
  /** Throws if polling failed. */
  check(): void;
  stop(): Promise<void>;
}

/** Polls the Secret every `intervalMs` and keeps each distinct token with the times it was seen. */
function recordSecret(s: Scenario, name: string, requests: () => number, intervalMs = 100): SecretRecorder {
  const versions: SecretVersion[] = [];
  let stopped = false;
  let lastPollEnd = 0;
  let failure: unknown;
  const loop = (async () => {
    while (!stopped) {
      const start = Date.now();
      const secret = await s.getSecret(name);
      const end = Date.now();
      lastPollEnd = end;
      const token = decoded(secret?.data?.token);
      if (secret && token !== undefined) {
        const last = versions.at(-1);
        const resourceVersion = secret.metadata?.resourceVersion ?? '';
        if (last?.token === token) {
          last.lastSeenStart = start;
          last.resourceVersions.add(resourceVersion);
        } else {
          const annotations = secret.metadata?.annotations ?? {};
          versions.push({
            token,
            jwtExp: (decodeJwt(token).exp ?? Number.NaN) * 1000,
            expiresAt: timeOf(annotations[Annotation.ExpiresAt], `${name} expires-at`),
            renewAt: timeOf(annotations[Annotation.RenewAt], `${name} renew-at`),
            dataExpiresAt: timeOf(secretText(secret, 'expires_at'), `${name} expires_at`),
            firstSeen: end,
            lastSeenStart: start,
            requestsAtFirstSight: requests(),
            resourceVersions: new Set([resourceVersion]),
          });
        }
      }
      await sleep(intervalMs);
    }
  })().catch((err: unknown) => {
    failure = err;
  });
  const check = () => {
    if (failure !== undefined) throw failure;
  };
  return {
    versions,
    lastPollEnd: () => lastPollEnd,
    check,
    async stop() {
      stopped = true;
      await loop;
      check();
    },
  };
}

/**
 * Polls `probe` every 100 ms until it returns true; unlike waitFor, an exception (a failed
 * assertion) ends the wait at once instead of being retried until the deadline.
 */
async function pollUntil(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

/**
 * Checks one transition old → new against the renewal policy: the new token appeared before the
 * old one expired, no earlier than the old renew-at (the lower bound is the last poll that still
 * saw the old token) and at most `maxLateMs` after it. Returns the measured lateness (upper bound).
 */
function checkTransition(label: string, old: SecretVersion, next: SecretVersion, maxLateMs: number): number {
  assert.ok(
    old.expiresAt > next.firstSeen && old.jwtExp > next.firstSeen,
    `${label}: the new token appeared at ${new Date(next.firstSeen).toISOString()}, not before the old one expired (${new Date(old.expiresAt).toISOString()})`,
  );
  const late = next.firstSeen - old.renewAt;
  assert.ok(
    late <= maxLateMs,
    `${label}: renewed ${seconds(late)} after renew-at (at most ${seconds(maxLateMs)})`,
  );
  return late;
}

// ---- the tests -------------------------------------------------------------------------------

describe('TokenRequest renewal end to end', { concurrency: true }, () => {
  const issuance: { client: ClientKind; endpoint: 'discovery' | 'tokenEndpoint'; policy: DeletionPolicy }[] =
    [
      { client: 'basic', endpoint: 'discovery', policy: DeletionPolicy.Delete },
      { client: 'post', endpoint: 'discovery', policy: DeletionPolicy.Delete },
      { client: 'privateKeyJwt', endpoint: 'discovery', policy: DeletionPolicy.Delete },
      { client: 'none', endpoint: 'discovery', policy: DeletionPolicy.Retain },
      { client: 'basic', endpoint: 'tokenEndpoint', policy: DeletionPolicy.Retain },
    ];

  for (const { client, endpoint, policy } of issuance) {
    it(`issues a verifiable token into the Secret (${client}, ${endpoint}, deletionPolicy ${policy})`, async (t) => {
      const ttlSeconds = 600;
      const { auth, ns, operator, s } = await environment(t, { ttlSeconds, prefix: 'issue' });
      const clientId = auth.clients[client].clientId;
      await s.createIssuer('idp', auth, {
        client,
        ...(endpoint === 'tokenEndpoint' ? { tokenEndpoint: auth.tokenEndpoint.href } : {}),
      });
      const name = 'orders';
      const secretName = 'orders-token';
      const spec: TokenRequestSpec = {
        issuerRef: { name: 'idp' },
        scopes: ['orders.read'],
        renewBefore: '3m',
        secret: {
          name: secretName,
          labels: { 'example.com/team': 'shop' },
          annotations: { 'example.com/owner': 'orders-team' },
          template: { 'config.json': '{"bearer":"{{ token }}","type":"{{ token_type }}"}' },
          deletionPolicy: policy,
        },
      };
      const created = await s.createTokenRequest(name, spec);
      const createdAt = Date.now();
      // Started while the TokenRequest is not yet Ready: it really waits for the condition.
      const waited = kubectl(
        'wait',
        '--for=condition=Ready',
        `tokenrequest/${name}`,
        '-n',
        ns,
        '--timeout=30s',
      );

      const tr = await s.waitForCondition(name, 'Ready', 'True');
      assert.match(await waited, /condition met/);
      const secret = await s.getSecret(secretName);
      assert.ok(secret, 'the Secret exists');
      const now = Date.now();

      // Keys and their values.
      assert.deepEqual(Object.keys(secret.data ?? {}).sort(), [
        'config.json',
        'expires_at',
        'scope',
        'token',
        'token_type',
      ]);
      const token = secretText(secret, 'token');
      assert.equal(secretText(secret, 'token_type'), 'Bearer');
      assert.equal(secretText(secret, 'scope'), 'orders.read');
      assert.deepEqual(JSON.parse(secretText(secret, 'config.json')), { bearer: token, type: 'Bearer' });

      // The token is a JWT the authorization server signed, for this client and scope.
      const { payload } = await jwtVerify(token, createRemoteJWKSet(auth.jwksUri), {
        issuer: auth.issuerIdentifier,
        audience: auth.defaultResource,
      });
      assert.equal(payload.client_id, clientId);
      assert.equal(payload.scope, 'orders.read');
      const jwtExp = (payload.exp ?? 0) * 1000;

      // Labels, annotations, owner.
      const labels = secret.metadata?.labels ?? {};
      assert.equal(labels[Label.ManagedBy], managedBy);
      assert.equal(labels[Label.TokenRequest], name);
      assert.equal(labels['example.com/team'], 'shop');
      const annotations = secret.metadata?.annotations ?? {};
      assert.equal(annotations['example.com/owner'], 'orders-team');
      assert.match(annotations[Annotation.SpecHash] ?? '', /\S/, 'spec-hash annotation');
      const expiresAt = timeOf(annotations[Annotation.ExpiresAt], 'expires-at annotation');
      const renewAt = timeOf(annotations[Annotation.RenewAt], 'renew-at annotation');
      assert.equal(timeOf(secretText(secret, 'expires_at'), 'expires_at key'), expiresAt);
      assert.ok(expiresAt <= jwtExp, 'expires-at is not later than the JWT exp');
      assert.ok(expiresAt > now + (ttlSeconds - 10) * 1000, 'expires-at is about a lifetime away');
      const leadMs = expiresAt - renewAt;
      assert.ok(
        leadMs >= 180_000 && leadMs <= 180_000 * 1.1 + 1000,
        `lead ${seconds(leadMs)} for renewBefore 3m`,
      );
      if (policy === DeletionPolicy.Delete) {
        assert.deepEqual(
          secret.metadata?.ownerReferences?.map((o) => ({ ...o })),
          [
            {
              apiVersion,
              kind: 'TokenRequest',
              name,
              uid: created.metadata.uid,
              controller: true,
              blockOwnerDeletion: false,
            },
          ],
        );
      } else {
        assert.equal(secret.metadata?.ownerReferences?.length ?? 0, 0, 'no ownerReference with Retain');
      }

      // Status.
      const status = tr.status;
      assert.ok(status);
      assert.equal(status.secretName, secretName);
      assert.equal(status.tokenType, 'Bearer');
      assert.deepEqual(status.grantedScopes, ['orders.read']);
      assert.equal(timeOf(status.expirationTime, 'status.expirationTime'), expiresAt);
      assert.equal(timeOf(status.renewalTime, 'status.renewalTime'), renewAt);
      const lastRenewal = timeOf(status.lastRenewalTime, 'status.lastRenewalTime');
      assert.ok(
        lastRenewal >= createdAt - 2000 && lastRenewal <= now,
        'lastRenewalTime is when the token was requested',
      );
      const lifetime = expiresAt - lastRenewal;
      assert.ok(
        lifetime >= (ttlSeconds - 1) * 1000 && lifetime <= ttlSeconds * 1000,
        `lifetime ${seconds(lifetime)}`,
      );
      assert.equal(status.failedAttempts, 0);
      assert.equal(status.observedGeneration, tr.metadata.generation);
      const ready = findCondition(status.conditions, 'Ready');
      const renewing = findCondition(status.conditions, 'Renewing');
      assert.equal(ready?.status, 'True');
      assert.equal(ready?.reason, 'TokenIssued');
      assert.equal(renewing?.status, 'False');
      assert.equal(renewing?.reason, 'UpToDate');

      // Printer columns.
      const rows = parseTable(await kubectl('get', 'tokenrequests', '-n', ns));
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.NAME, name);
      assert.equal(rows[0]?.READY, 'True');
      assert.equal(rows[0]?.SECRET, secretName);
      report(`kubectl get tokenrequests: ${JSON.stringify(rows[0])}`);
      // Expiry and next renewal as the status has them (string columns: a `date` column would
      // show a future time as <invalid>).
      assert.equal(rows[0]?.EXPIRES, status.expirationTime);
      assert.equal(rows[0]?.RENEWS, status.renewalTime);

      // One token request, and no warning for this healthy setup.
      assert.equal(auth.tokenRequests(clientId), 1);
      const warnings = (await s.events(name)).filter((e) => e.type === 'Warning');
      assert.deepEqual(warnings, []);

      // Metrics follow the TokenRequest, and forget it when it goes.
      let samples: MetricSample[] = [];
      await waitFor(
        'the operator to export Ready for the TokenRequest',
        async () => {
          samples = parseMetrics(await operator.scrape());
          return seriesOf(samples, 'token_renewer_ready_status', ns, name)[0]?.value === 1;
        },
        10_000,
      );
      assert.deepEqual(
        seriesOf(samples, 'token_renewer_token_expiration_timestamp_seconds', ns, name).map((m) => m.value),
        [expiresAt / 1000],
      );
      assert.deepEqual(
        seriesOf(samples, 'token_renewer_token_renewal_timestamp_seconds', ns, name).map((m) => m.value),
        [renewAt / 1000],
      );
      assert.ok(sumOf(samples, 'token_renewer_renewals_total', { result: 'success' }) >= 1);
      assert.equal(sumOf(samples, 'token_renewer_renewals_total', { result: 'failure' }), 0);
      assert.equal(sumOf(samples, 'token_renewer_tokenrequests'), 1);

      await s.custom.deleteNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural: Plural.TokenRequest,
        name,
      });
      await waitFor(
        'the per-TokenRequest series to disappear',
        async () => {
          samples = parseMetrics(await operator.scrape());
          return perObjectSeries.every((metric) => seriesOf(samples, metric, ns, name).length === 0);
        },
        10_000,
      );
      assert.equal(sumOf(samples, 'token_renewer_tokenrequests'), 0);
      assert.equal(auth.tokenRequests(clientId), 1, 'deleting the TokenRequest requests no token');
    });
  }

  it('renews at expiresAt − lead, once per lifetime, before expiry; a lagging reader never sees an expired token', async (t) => {
    const ttlSeconds = 12;
    const leadMs = 4000;
    const maxJitterMs = leadMs * 0.1;
    const maxLateMs = 1500;
    const readerLagMs = 2000; // d < lead
    const renewals = 3; // four tokens: three complete lifetimes
    const { auth, s, operator } = await environment(t, {
      ttlSeconds,
      prefix: 'lifetimes',
      flags: ['--min-safe-lead=1s'],
    });
    const requests = [
      { name: 'alpha', client: 'basic' as const },
      { name: 'beta', client: 'post' as const },
    ].map((r) => ({ ...r, clientId: auth.clients[r.client].clientId }));
    for (const r of requests) await s.createIssuer(`idp-${r.client}`, auth, { client: r.client });
    const recorders = requests.map((r) => recordSecret(s, r.name, () => auth.tokenRequests(r.clientId)));
    try {
      for (const r of requests) {
        await s.createTokenRequest(r.name, {
          issuerRef: { name: `idp-${r.client}` },
          scopes: ['orders.read'],
          renewBefore: '4s',
        });
      }
      await pollUntil(
        `${renewals + 1} tokens in each Secret`,
        () => {
          for (const recorder of recorders) recorder.check();
          return recorders.every((recorder) => recorder.versions.length >= renewals + 1);
        },
        (ttlSeconds * (renewals + 2) + 10) * 1000,
      );
      // Keep watching past the last renewal, so the lagging reader covers it too.
      const until = Math.max(
        ...recorders.map((r) => (r.versions.at(-1)?.firstSeen ?? 0) + readerLagMs + 500),
      );
      await pollUntil('the observation window to close', () => Date.now() >= until, 10_000);
    } finally {
      for (const recorder of recorders) await recorder.stop();
    }

    const lateness: number[] = [];
    const margins: number[] = [];
    let expiredReadsWithLongLag = 0;
    for (const [i, r] of requests.entries()) {
      const recorder = recorders[i];
      assert.ok(recorder);
      const { versions } = recorder;
      const label = (k: number) => `${r.name} token ${k}`;
      for (const [k, v] of versions.entries()) {
        // Exactly one token request per lifetime: the k-th token is the k-th request.
        assert.equal(v.requestsAtFirstSight, k + 1, `${label(k)}: token requests when it appeared`);
        // One write per token: nothing rewrites the Secret between renewals.
        assert.equal(v.resourceVersions.size, 1, `${label(k)}: Secret versions ${[...v.resourceVersions]}`);
        assert.equal(v.dataExpiresAt, v.expiresAt);
        assert.ok(v.expiresAt <= v.jwtExp);
        const lead = v.expiresAt - v.renewAt;
        assert.ok(
          lead >= leadMs && lead <= leadMs + maxJitterMs + 1000,
          `${label(k)}: renew-at is ${seconds(lead)} before expires-at (lead ${seconds(leadMs)}, jitter ≤ ${seconds(maxJitterMs)}, whole seconds)`,
        );
        // Expiry counts from when the token was requested, before it was seen; it came well before renew-at.
        const left = v.expiresAt - v.firstSeen;
        assert.ok(
          left <= ttlSeconds * 1000 && left > leadMs + maxJitterMs,
          `${label(k)}: expires ${seconds(left)} after it appeared`,
        );
      }
      for (let k = 1; k < versions.length; k++) {
        const old = versions[k - 1];
        const next = versions[k];
        assert.ok(old && next);
        lateness.push(checkTransition(`${label(k - 1)} → ${k}`, old, next, maxLateMs));
        // Not early: the old token was still there at a moment no earlier than renew-at − max jitter.
        assert.ok(
          old.lastSeenStart >= old.renewAt - maxJitterMs,
          `${label(k - 1)} was replaced before ${new Date(old.lastSeenStart).toISOString()}, earlier than renew-at ${new Date(old.renewAt).toISOString()} − ${seconds(maxJitterMs)}`,
        );
        margins.push(old.jwtExp - next.firstSeen);
      }
      assert.equal(
        auth.tokenRequests(r.clientId),
        versions.length,
        `${r.name}: token requests at the server vs tokens written`,
      );

      // A reader that sees the Secret as it was `lag` ms ago, sampled every 100 ms.
      const expiredReads = (lagMs: number) => {
        const first = versions[0]?.firstSeen ?? 0;
        let count = 0;
        let samples = 0;
        for (let at = first + lagMs; at <= recorder.lastPollEnd(); at += 100) {
          const seen = versions.findLast((v) => v.firstSeen <= at - lagMs);
          assert.ok(seen);
          samples++;
          if (seen.jwtExp <= at) count++;
        }
        return { count, samples };
      };
      const lagging = expiredReads(readerLagMs);
      assert.equal(
        lagging.count,
        0,
        `${r.name}: a reader ${seconds(readerLagMs)} behind read an expired token`,
      );
      assert.ok(
        lagging.samples >= ((renewals * (ttlSeconds * 1000 - leadMs - maxJitterMs - 1000)) / 100) * 0.9,
      );
      // The same reader further behind than the lead does read expired tokens: the check has teeth.
      expiredReadsWithLongLag += expiredReads(leadMs + maxJitterMs + 2000).count;

      const warnings = (await s.events(r.name)).filter((e) => e.type === 'Warning');
      assert.deepEqual(warnings, [], `${r.name}: no warning events`);
    }
    assert.ok(
      expiredReadsWithLongLag > 0,
      'a reader lagging by more than the lead would have read an expired token',
    );

    const samples = parseMetrics(await operator.scrape());
    const scheduledRenewals = requests.length * renewals;
    assert.ok(
      sumOf(samples, 'token_renewer_renewals_total', { result: 'success', reason: 'RenewalDue' }) >=
        scheduledRenewals,
    );
    assert.equal(sumOf(samples, 'token_renewer_renewals_total', { result: 'failure' }), 0);
    const latenessCount = sumOf(samples, 'token_renewer_renewal_lateness_seconds_count');
    const latenessSum = sumOf(samples, 'token_renewer_renewal_lateness_seconds_sum');
    report(
      `lateness seen in the Secret (new version seen − renew-at): min ${seconds(Math.min(...lateness))}, max ${seconds(Math.max(...lateness))}; ` +
        `old token validity left when the new one appeared: min ${seconds(Math.min(...margins))}; ` +
        `operator-side lateness mean ${seconds((latenessSum / Math.max(1, latenessCount)) * 1000)} over ${latenessCount}; ` +
        `requests ${requests.map((r, i) => `${r.name}=${auth.tokenRequests(r.clientId)}/${recorders[i]?.versions.length} tokens`).join(', ')}`,
    );
  });

  it('a restarted operator requests no token while it is fresh and renews on time', async (t) => {
    const ttlSeconds = 20;
    const maxLateMs = 1500;
    const { auth, s, operator } = await environment(t, {
      ttlSeconds,
      prefix: 'restart',
      flags: ['--min-safe-lead=1s'],
    });
    const clientId = auth.clients.basic.clientId;
    await s.createIssuer('idp', auth);
    await s.createTokenRequest('orders', { issuerRef: { name: 'idp' }, renewBefore: '4s' });
    await s.waitForCondition('orders', 'Ready', 'True');
    const recorder = recordSecret(s, 'orders', () => auth.tokenRequests(clientId));
    try {
      await pollUntil(
        'the recorder to see the token',
        () => {
          recorder.check();
          return recorder.versions.length === 1;
        },
        5_000,
      );
      const first = recorder.versions[0];
      assert.ok(first);
      assert.equal(auth.tokenRequests(clientId), 1);

      await operator.stop();
      const logsBefore = operator.logs.length;
      await operator.restart();
      await waitFor(
        'the restarted operator to be ready',
        async () => (await fetch(`${operator.healthURL()}/readyz`)).status === 200,
        10_000,
      );
      // It has looked at the TokenRequest and decided to wait.
      await waitFor(
        'the restarted operator to reconcile the TokenRequest',
        async () =>
          operator.logs.slice(logsBefore).some((line) => {
            const entry = JSON.parse(line) as Record<string, unknown>;
            return entry.msg === 'decided' && entry.name === 'orders' && entry.action === 'wait';
          }),
        10_000,
      );
      // Watch the counter until shortly before renew-at: nothing may be requested.
      const quietUntil = first.renewAt - 500;
      const quietMs = quietUntil - Date.now();
      assert.ok(quietMs >= 3000, `only ${seconds(quietMs)} left to observe before renew-at`);
      await pollUntil(
        'renew-at to come close',
        () => {
          assert.equal(auth.tokenRequests(clientId), 1, 'a token request for a fresh token after restart');
          recorder.check();
          return Date.now() >= quietUntil;
        },
        quietMs + 5000,
      );
      assert.equal(recorder.versions.length, 1, 'the Secret still holds the first token');
      report(`restart: no token request over ${seconds(quietMs)} before renew-at`);

      await pollUntil(
        'the renewal after restart',
        () => {
          recorder.check();
          return recorder.versions.length >= 2;
        },
        ttlSeconds * 1000,
      );
      const next = recorder.versions[1];
      assert.ok(next);
      const late = checkTransition('after restart', first, next, maxLateMs);
      assert.ok(first.lastSeenStart >= first.renewAt - 400, 'not renewed before renew-at');
      assert.equal(next.requestsAtFirstSight, 2);
      report(`restart: renewed ${seconds(late)} after renew-at`);
    } finally {
      await recorder.stop();
    }
    assert.equal(auth.tokenRequests(clientId), 2);
  });
});
