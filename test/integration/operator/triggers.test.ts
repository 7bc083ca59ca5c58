// What makes the operator request a token, end to end against the real API server and the real
// authorization server: spec, issuer and credentials changes, manual renewal (annotation and
// CLI), a deleted or edited Secret each renew at once with exactly one token request; a change
// of only the Secret's metadata or template, and unrelated activity, request nothing. Problems a
// person must fix (a Secret in the way, a missing issuer, a namespace a ClusterTokenIssuer does
// not allow, missing credentials) show a condition that says so, request nothing, and heal by
// themselves once fixed.
//
// Every test has its own namespace, operator and authorization server, so the server's
// per-client counters count exactly that test's token requests. Tokens live an hour: nothing
// renews by itself while a test runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  Annotation,
  type ClusterTokenIssuerSpec,
  group,
  Label,
  managedBy,
  Plural,
  type TokenIssuer,
  type TokenRequest,
  version,
} from '../../../src/api/index.ts';
import { findCondition } from '../../../src/renewal/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { freshNamespace, testCluster } from '../../support/cluster.ts';
import { waitFor } from '../../support/net.ts';
import { startTestOperator, type TestOperator } from '../../support/operator.ts';
import { scenario } from '../../support/scenario.ts';

const run = promisify(execFile);
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const cluster = testCluster();
const kc = cluster.kubeConfig();
const TTL = 3600;
/** How long "nothing else happens" is watched for after each step. */
const QUIET_MS = 1500;

type Scenario = ReturnType<typeof scenario>;

interface Env {
  auth: AuthServer;
  ns: string;
  s: Scenario;
  operator: TestOperator;
  /** Token requests the server has seen from the `basic` client (the default issuer's). */
  count(): number;
}

async function setup(
  t: TestContext,
  prefix: string,
  options: { clusterResourceNamespace?: string } = {},
): Promise<Env> {
  const auth = await startAuthServer({ tokenTTLSeconds: TTL });
  t.after(() => auth.close());
  const ns = await freshNamespace(kc, prefix);
  const operator = await startTestOperator(kc, {
    namespaces: [ns],
    clusterResourceNamespace: options.clusterResourceNamespace,
  });
  t.after(() => operator.stop());
  return {
    auth,
    ns,
    s: scenario(kc, ns),
    operator,
    count: () => auth.tokenRequests(auth.clients.basic.clientId),
  };
}

/** Waits until `count()` reaches `expected`, then checks it stays there for a while. */
async function expectRequests(what: string, count: () => number, expected: number, quietMs = QUIET_MS) {
  await waitFor(`${what}: ${expected} token request(s)`, async () => count() >= expected, 15_000).catch(
    (err: Error) => {
      throw new Error(`${err.message}; saw ${count()}`);
    },
  );
  assert.equal(count(), expected, `${what}: expected exactly ${expected} token request(s)`);
  const until = Date.now() + quietMs;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(count(), expected, `${what}: an extra token request arrived (expected exactly ${expected})`);
  }
}

/** Checks that `probe` keeps returning true over `ms` (a state that must not change). */
async function expectSteady(what: string, probe: () => Promise<boolean>, ms = QUIET_MS) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    assert.ok(await probe(), `${what} changed`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** An issuer, a TokenRequest, and its first token: the starting point of most tests. */
async function freshToken(env: Env, name: string, spec: Partial<TokenRequest['spec']> = {}) {
  await env.s.createIssuer('idp', env.auth);
  await env.s.createTokenRequest(name, { issuerRef: { name: 'idp' }, scopes: ['orders.read'], ...spec });
  const tr = await env.s.waitForCondition(name, 'Ready', 'True');
  await expectRequests('first token', env.count, 1, 0);
  const token = await env.s.token(tr.status?.secretName ?? name);
  assert.ok(token, 'the Secret holds a token');
  return token;
}

/** Waits for a token different from `previous` and for the status to describe it. */
async function newToken(
  env: Env,
  name: string,
  previous: string,
): Promise<{ token: string; tr: TokenRequest }> {
  const token = await env.s.waitForNewToken(name, previous, 15_000);
  let tr: TokenRequest | undefined;
  await waitFor(
    `${name}: status Ready=True for the new token`,
    async () => {
      tr = await env.s.getTokenRequest(name);
      const ready = findCondition(tr.status?.conditions, 'Ready');
      const secret = await env.s.getSecret(name);
      return (
        ready?.status === 'True' &&
        tr.status?.observedGeneration === tr.metadata.generation &&
        tr.status?.expirationTime === secret?.metadata?.annotations?.[Annotation.ExpiresAt]
      );
    },
    15_000,
  );
  return { token, tr: tr as TokenRequest };
}

async function verifies(auth: AuthServer, token: string): Promise<void> {
  await jwtVerify(token, createRemoteJWKSet(auth.jwksUri), { issuer: auth.issuerIdentifier });
}

const decoded = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, 'base64').toString();

describe('what triggers a token request', { concurrency: true }, () => {
  it('a spec change renews at once; a change of only the Secret metadata or template does not', async (t) => {
    const env = await setup(t, 'trig-spec');
    const { s } = env;
    const first = await freshToken(env, 'orders');
    assert.equal(decoded((await s.getSecret('orders'))?.data?.scope), 'orders.read');

    // New scopes: one new token, granted the new scope.
    await s.patchTokenRequest('orders', { spec: { scopes: ['orders.read', 'orders.write'] } });
    const { token: second, tr } = await newToken(env, 'orders', first);
    await expectRequests('after a scopes change', env.count, 2);
    assert.deepEqual([...(tr.status?.grantedScopes ?? [])].sort(), ['orders.read', 'orders.write']);
    const scope = decoded((await s.getSecret('orders'))?.data?.scope) ?? '';
    assert.deepEqual(scope.split(' ').sort(), ['orders.read', 'orders.write']);
    assert.match(
      JSON.stringify(await s.events('orders')),
      /TokenIssued.*new token issued \(the token was issued for an earlier spec\)/,
    );
    await verifies(env.auth, second);

    // Only spec.secret labels, annotations and template: the same token, rewritten in place.
    const patched = await s.patchTokenRequest('orders', {
      spec: {
        secret: {
          labels: { team: 'shop' },
          annotations: { 'example.com/owner': 'shop-team' },
          template: { 'config.json': '{"bearer":"{{ token }}","type":"{{ token_type }}"}' },
        },
      },
    });
    await waitFor(
      'the Secret rewritten with the new labels, annotations and template key',
      async () => {
        const secret = await s.getSecret('orders');
        return (
          secret?.metadata?.labels?.team === 'shop' &&
          secret.metadata.annotations?.['example.com/owner'] === 'shop-team' &&
          secret.data?.['config.json'] !== undefined
        );
      },
      15_000,
    );
    const secret = await s.getSecret('orders');
    assert.equal(decoded(secret?.data?.token), second, 'the Secret keeps the same token');
    assert.equal(decoded(secret?.data?.['config.json']), JSON.stringify({ bearer: second, type: 'Bearer' }));
    assert.equal(secret?.metadata?.labels?.[Label.ManagedBy], managedBy);
    await expectRequests('after a change of only spec.secret', env.count, 2);
    await waitFor(
      'status observes the new generation',
      async () =>
        (await s.getTokenRequest('orders')).status?.observedGeneration === patched.metadata.generation,
      15_000,
    );
    assert.equal(await s.token('orders'), second);
  });

  it('a change of the credentials Secret or of the issuer renews at once', async (t) => {
    const env = await setup(t, 'trig-cred');
    const { s } = env;
    const first = await freshToken(env, 'orders');

    // The same client secret, rotated in place (a new label is enough to make it a new version).
    await s.core.patchNamespacedSecret(
      { namespace: env.ns, name: 'idp-credentials', body: { metadata: { labels: { rotated: 'yes' } } } },
      merge,
    );
    const { token: second } = await newToken(env, 'orders', first);
    await expectRequests('after the credentials Secret changed', env.count, 2);
    assert.match(
      JSON.stringify(await s.events('orders')),
      /new token issued \(the issuer or its credentials changed since the token was issued\)/,
    );

    // Another client altogether: credentials first, then the issuer, as a person would.
    const post = env.auth.clients.post;
    await s.core.patchNamespacedSecret(
      {
        namespace: env.ns,
        name: 'idp-credentials',
        body: { stringData: { 'post-secret': post.clientSecret } },
      },
      merge,
    );
    const { token: third } = await newToken(env, 'orders', second);
    await expectRequests('after a key was added to the credentials Secret', env.count, 3);
    const postCount = () => env.auth.tokenRequests(post.clientId);
    await s.patchIssuer('idp', {
      spec: {
        clientID: post.clientId,
        clientAuth: {
          method: post.authMethod,
          clientSecretRef: { name: 'idp-credentials', key: 'post-secret' },
        },
      },
    });
    const { token: fourth } = await newToken(env, 'orders', third);
    await expectRequests('after the issuer switched clients', postCount, 1);
    assert.equal(env.count(), 3, 'no more requests from the old client');
    const claims = await jwtVerify(fourth, createRemoteJWKSet(env.auth.jwksUri));
    assert.equal(claims.payload.client_id, post.clientId);

    // An issuer spec change that is not about credentials at all: its timeout.
    await s.patchIssuer('idp', { spec: { timeout: '20s' } });
    await newToken(env, 'orders', fourth);
    await expectRequests('after the issuer timeout changed', postCount, 2);
  });

  it('a manual renewal (annotation or CLI) renews exactly once', async (t) => {
    const env = await setup(t, 'trig-manual');
    const { s } = env;
    const first = await freshToken(env, 'orders');

    await s.patchTokenRequest('orders', {
      metadata: { annotations: { [Annotation.RenewRequestedAt]: '2030-01-01T00:00:00Z' } },
    });
    const { token: second } = await newToken(env, 'orders', first);
    await expectRequests('after renew-requested-at was set', env.count, 2);
    assert.equal(
      (await s.getSecret('orders'))?.metadata?.annotations?.[Annotation.RenewRequestedAt],
      '2030-01-01T00:00:00Z',
      'the Secret records the request as handled',
    );

    // The same value again, together with a label so that the operator does see an update.
    await s.patchTokenRequest('orders', {
      metadata: {
        labels: { poke: '1' },
        annotations: { [Annotation.RenewRequestedAt]: '2030-01-01T00:00:00Z' },
      },
    });
    await waitFor(
      'the label change reached the API server',
      async () => (await s.getTokenRequest('orders')).metadata.labels?.poke === '1',
      5000,
    );
    await expectRequests('after the same renew-requested-at again', env.count, 2);
    assert.equal(await s.token('orders'), second);

    // The CLI, as a user runs it.
    const cli = ['src/cli/main.ts'];
    const cliEnv = { ...process.env, KUBECONFIG: cluster.kubeconfigPath() };
    const renew = await run(process.execPath, [...cli, 'renew', 'orders', '-n', env.ns], { env: cliEnv });
    assert.match(renew.stdout, new RegExp(`renewal of ${env.ns}/orders requested at `));
    await newToken(env, 'orders', second);
    await expectRequests('after `token-renewer renew`', env.count, 3);

    const status = await run(process.execPath, [...cli, 'status', '-n', env.ns], { env: cliEnv });
    const lines = status.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^NAMESPACE\s+NAME\s+READY\s+REASON\s+SECRET/);
    const row = lines.find((line) => line.split(/\s+/)[1] === 'orders');
    assert.ok(row, `status lists the TokenRequest:\n${status.stdout}`);
    assert.deepEqual(row.split(/\s+/).slice(0, 5), [env.ns, 'orders', 'True', 'TokenIssued', 'orders']);
  });

  it('a Secret deleted or edited by hand is restored at once', async (t) => {
    const env = await setup(t, 'trig-secret');
    const { s } = env;
    const first = await freshToken(env, 'orders');

    await s.core.deleteNamespacedSecret({ namespace: env.ns, name: 'orders' });
    const { token: second } = await newToken(env, 'orders', first);
    await expectRequests('after the Secret was deleted', env.count, 2);
    await verifies(env.auth, second);

    // The token replaced by hand.
    const live = await s.getSecret('orders');
    assert.ok(live);
    await s.core.replaceNamespacedSecret({
      namespace: env.ns,
      name: 'orders',
      body: { ...live, data: { ...live.data, token: Buffer.from('tampered').toString('base64') } },
    });
    const { token: third } = await newToken(env, 'orders', 'tampered');
    assert.notEqual(third, second);
    await verifies(env.auth, third);
    await expectRequests('after data.token was edited', env.count, 3);

    // A key added by hand.
    await s.core.patchNamespacedSecret(
      { namespace: env.ns, name: 'orders', body: { stringData: { extra: 'by hand' } } },
      merge,
    );
    const { token: fourth } = await newToken(env, 'orders', third);
    await expectRequests('after a data key was added', env.count, 4);
    const restored = await s.getSecret('orders');
    assert.deepEqual(Object.keys(restored?.data ?? {}).sort(), [
      'expires_at',
      'scope',
      'token',
      'token_type',
    ]);
    assert.equal(decoded(restored?.data?.token), fourth);
  });

  it('a Secret the operator does not manage is never taken over', async (t) => {
    const env = await setup(t, 'trig-conflict');
    const { s } = env;
    await s.createIssuer('idp', env.auth);
    const theirs = await s.core.createNamespacedSecret({
      namespace: env.ns,
      body: {
        metadata: { name: 'orders-token', labels: { app: 'theirs' } },
        stringData: { password: 'hunter2' },
      },
    });
    await s.createTokenRequest('orders', { issuerRef: { name: 'idp' }, secret: { name: 'orders-token' } });
    const tr = await s.waitForCondition('orders', 'Ready', 'False', 'SecretConflict');
    const message = findCondition(tr.status?.conditions, 'Ready')?.message ?? '';
    assert.match(message, /Secret \S*orders-token exists and is not managed by token-renewer/);
    await waitFor(
      'a SecretConflict warning event',
      async () =>
        (await s.events('orders')).some((e) => e.type === 'Warning' && e.reason === 'SecretConflict'),
      10_000,
    );
    await expectRequests('with a Secret in the way', env.count, 0);
    const after = await s.getSecret('orders-token');
    assert.deepEqual(after?.data, theirs.data, 'their data is untouched');
    assert.deepEqual(after?.metadata?.labels, { app: 'theirs' });
    assert.equal(
      after?.metadata?.resourceVersion,
      theirs.metadata?.resourceVersion,
      'their Secret was not written',
    );

    // Out of the way: the operator creates its own.
    await s.core.deleteNamespacedSecret({ namespace: env.ns, name: 'orders-token' });
    await s.waitForCondition('orders', 'Ready', 'True', 'TokenIssued', 20_000);
    const ours = await s.getSecret('orders-token');
    assert.equal(ours?.metadata?.labels?.[Label.ManagedBy], managedBy);
    assert.equal(ours?.data?.password, undefined);
    await expectRequests('once the Secret is out of the way', env.count, 1);

    // Two TokenRequests naming one Secret: the first keeps it.
    const token = await s.token('orders-token');
    await s.createTokenRequest('orders-copy', {
      issuerRef: { name: 'idp' },
      secret: { name: 'orders-token' },
    });
    const copy = await s.waitForCondition('orders-copy', 'Ready', 'False', 'SecretConflict');
    assert.match(
      findCondition(copy.status?.conditions, 'Ready')?.message ?? '',
      /Secret \S*orders-token belongs to TokenRequest orders\b/,
    );
    await expectRequests('with a second TokenRequest for the same Secret', env.count, 1);
    assert.equal(await s.token('orders-token'), token);
    assert.equal((await s.getSecret('orders-token'))?.metadata?.labels?.[Label.TokenRequest], 'orders');
    await expectSteady('the first TokenRequest', async () => {
      const ready = findCondition((await s.getTokenRequest('orders')).status?.conditions, 'Ready');
      return ready?.status === 'True';
    });
  });

  it('a missing issuer is reported, and creating it is all it takes', async (t) => {
    const env = await setup(t, 'trig-noissuer');
    const { s } = env;
    await s.createTokenRequest('orders', { issuerRef: { name: 'later' } });
    const tr = await s.waitForCondition('orders', 'Ready', 'False', 'IssuerNotFound');
    assert.equal(
      findCondition(tr.status?.conditions, 'Ready')?.message,
      `TokenIssuer later not found in namespace ${env.ns}`,
    );
    assert.equal(await s.getSecret('orders'), undefined);
    await expectRequests('without an issuer', () => env.auth.totalTokenRequests(), 0);

    await s.createIssuer('later', env.auth);
    await s.waitForCondition('orders', 'Ready', 'True', 'TokenIssued', 20_000);
    await expectRequests('once the issuer exists', env.count, 1);
  });

  it('a ClusterTokenIssuer serves only the namespaces it allows', async (t) => {
    const crNs = await freshNamespace(kc, 'trig-cr');
    const env = await setup(t, 'trig-cti', { clusterResourceNamespace: crNs });
    const { s, auth } = env;
    const suffix = randomBytes(4).toString('hex');
    const label = `trig-cti-${suffix}`;
    const clusterIssuer = async (
      name: string,
      client: 'basic' | 'post' | 'none',
      allowedNamespaces: ClusterTokenIssuerSpec['allowedNamespaces'],
    ) => {
      const c = auth.clients[client];
      await s.createCredentials(name, auth, client, crNs);
      await s.createClusterIssuer(name, {
        issuerURL: auth.issuerIdentifier,
        clientID: c.clientId,
        clientAuth:
          c.authMethod === 'none'
            ? { method: c.authMethod }
            : { method: c.authMethod, clientSecretRef: { name: `${name}-credentials` } },
        allowedNamespaces,
      });
      t.after(() =>
        s.custom.deleteClusterCustomObject({ group, version, plural: Plural.ClusterTokenIssuer, name }),
      );
    };
    const byName = `by-name-${suffix}`;
    const byLabel = `by-label-${suffix}`;
    const elsewhere = `elsewhere-${suffix}`;
    await clusterIssuer(byName, 'basic', { names: [env.ns] });
    await clusterIssuer(byLabel, 'post', { selector: { matchLabels: { [label]: 'yes' } } });
    await clusterIssuer(elsewhere, 'none', { names: [crNs], selector: { matchLabels: { [label]: 'no' } } });
    const ref = (name: string) => ({ issuerRef: { kind: 'ClusterTokenIssuer' as const, name } });

    await s.createTokenRequest('a', ref(byName));
    await s.createTokenRequest('b', ref(byLabel));
    await s.createTokenRequest('c', ref(elsewhere));
    await s.waitForCondition('a', 'Ready', 'True');
    await expectRequests('allowed by name', env.count, 1, 0);
    assert.ok(await s.token('a'));

    for (const [name, issuer] of [
      ['b', byLabel],
      ['c', elsewhere],
    ] as const) {
      const tr = await s.waitForCondition(name, 'Ready', 'False', 'NamespaceNotAllowed');
      assert.equal(
        findCondition(tr.status?.conditions, 'Ready')?.message,
        `ClusterTokenIssuer ${issuer} does not allow namespace ${env.ns} (see its spec.allowedNamespaces)`,
      );
      assert.equal(await s.getSecret(name), undefined);
    }
    const postCount = () => auth.tokenRequests(auth.clients.post.clientId);
    const noneCount = () => auth.tokenRequests(auth.clients.none.clientId);
    await expectRequests('not allowed by label (yet)', postCount, 0, 0);
    await expectRequests('not allowed at all', noneCount, 0, 0);

    // The namespace gets the label the second issuer selects.
    await s.core.patchNamespace({ name: env.ns, body: { metadata: { labels: { [label]: 'yes' } } } }, merge);
    await s.waitForCondition('b', 'Ready', 'True', 'TokenIssued', 20_000);
    await expectRequests('allowed by label', postCount, 1);
    assert.ok(await s.token('b'));
    assert.equal(
      findCondition((await s.getTokenRequest('c')).status?.conditions, 'Ready')?.reason,
      'NamespaceNotAllowed',
    );
    assert.equal(noneCount(), 0);
    assert.equal(env.count(), 1);
  });

  it('missing credentials make the issuer and its TokenRequests not ready until they appear', async (t) => {
    const env = await setup(t, 'trig-nocred');
    const { s, auth } = env;
    const basic = auth.clients.basic;
    await s.custom.createNamespacedCustomObject({
      group,
      version,
      namespace: env.ns,
      plural: Plural.TokenIssuer,
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TokenIssuer',
        metadata: { name: 'idp' },
        spec: {
          issuerURL: auth.issuerIdentifier,
          clientID: basic.clientId,
          clientAuth: { method: basic.authMethod, clientSecretRef: { name: 'idp-credentials' } },
        },
      },
    });
    await s.createTokenRequest('orders', { issuerRef: { name: 'idp' } });
    const missing = `Secret ${env.ns}/idp-credentials (client secret) not found`;
    let issuer: TokenIssuer | undefined;
    await waitFor(
      'TokenIssuer Ready=False/CredentialsNotFound',
      async () => {
        issuer = await s.getIssuer('idp');
        const ready = findCondition(issuer.status?.conditions, 'Ready');
        return ready?.status === 'False' && ready.reason === 'CredentialsNotFound';
      },
      15_000,
    );
    assert.equal(findCondition(issuer?.status?.conditions, 'Ready')?.message, missing);
    const tr = await s.waitForCondition('orders', 'Ready', 'False', 'IssuerNotReady');
    const message = findCondition(tr.status?.conditions, 'Ready')?.message ?? '';
    assert.match(message, /TokenIssuer idp is not ready/);
    assert.ok(message.includes(missing), `the TokenRequest says why: ${message}`);
    await expectRequests('without credentials', () => auth.totalTokenRequests(), 0);

    await s.createCredentials('idp', auth, 'basic');
    await s.waitForCondition('orders', 'Ready', 'True', 'TokenIssued', 20_000);
    const recovered = await s.getIssuer('idp');
    assert.equal(findCondition(recovered.status?.conditions, 'Ready')?.status, 'True');
    await expectRequests('once the credentials exist', env.count, 1);
  });

  it('nothing else requests a token while the current one is fresh', async (t) => {
    const env = await setup(t, 'trig-quiet');
    const { s } = env;
    const token = await freshToken(env, 'orders');
    const before = (await s.getSecret('orders'))?.metadata?.resourceVersion;

    // Reads, an unrelated Secret, metadata-only changes of the TokenRequest and the issuer,
    // and a full resync: a restarted operator lists and reconciles everything again.
    for (let i = 0; i < 5; i++) await s.getTokenRequest('orders');
    await s.core.createNamespacedSecret({
      namespace: env.ns,
      body: { metadata: { name: 'unrelated' }, stringData: { a: 'b' } },
    });
    await s.patchTokenRequest('orders', { metadata: { labels: { touched: 'yes' } } });
    await s.patchIssuer('idp', { metadata: { annotations: { 'example.com/note': 'unrelated' } } });
    await expectRequests('after unrelated activity', env.count, 1, 2000);
    await env.operator.restart();
    await expectRequests('after a resync', env.count, 1, 2000);
    assert.equal(await s.token('orders'), token);
    assert.equal(
      (await s.getSecret('orders'))?.metadata?.resourceVersion,
      before,
      'the Secret was not rewritten',
    );
    const tr = await s.getTokenRequest('orders');
    assert.equal(findCondition(tr.status?.conditions, 'Ready')?.status, 'True');
  });
});
