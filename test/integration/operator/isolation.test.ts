// Namespace isolation, end to end (issue 4): a tenant who may create TokenRequests, TokenIssuers
// and Secrets in namespace B — and nothing else, a real RBAC identity — tries to reach namespace A
// or the cluster-resource namespace through the operator, whose own RBAC (deploy/'s ClusterRole)
// could read and write Secrets in all of them. Each attempt ends in a condition that says what is
// wrong, makes no token request with anybody else's client, and changes nothing: the
// resourceVersions of everything outside B stay as they were. Which credentials were used is
// proven by the authorization server's per-client counters (and by a wrong value that the server
// refuses); which Secrets the operator read, by the named watches its log reports. A last test
// lists every managed Secret in the cluster and checks that each lives in its TokenRequest's
// namespace.
//
// Every test has its own namespaces A and B, its own cluster-resource namespace, authorization
// server and operator (watching A and B). Tokens live an hour: nothing renews by itself.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import {
  ApiException,
  CoreV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  apiVersion,
  type ClusterTokenIssuer,
  type ClusterTokenIssuerSpec,
  type Condition,
  group,
  IssuerReason,
  Kind,
  Label,
  managedBy,
  Plural,
  type TokenIssuerSpec,
  type TokenRequest,
  TokenRequestReason,
  type TokenRequestSpec,
  version,
} from '../../../src/api/index.ts';
import { findCondition } from '../../../src/renewal/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { freshNamespace, testCluster } from '../../support/cluster.ts';
import { waitFor } from '../../support/net.ts';
import { startTestOperator, type TestOperator } from '../../support/operator.ts';
import { scenario } from '../../support/scenario.ts';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const cluster = testCluster();
const kc = cluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
/** The tenant: the static `restricted` user, granted a Role in namespace B only (see grantTenant). */
const tenantKc = cluster.kubeConfig('restricted');
const tenantUser = 'restricted';
/** How long "nothing else happens" is watched for after each step. */
const QUIET_MS = 1500;

type Scenario = ReturnType<typeof scenario>;
type SecretClient = 'basic' | 'post';

interface Env {
  auth: AuthServer;
  a: string;
  b: string;
  crn: string;
  /** Admin views of A, B and the cluster-resource namespace: for setup of A and all checks. */
  inA: Scenario;
  inB: Scenario;
  inCrn: Scenario;
  /** What the tenant does, as the tenant, in B. */
  tenant: Scenario;
  operator: TestOperator;
  /** Token requests the server has seen from one client. */
  requests(client: SecretClient): number;
}

// What the last test checks: every TokenRequest these tests created, the Secrets that must exist
// afterwards, and the namespaces these tests own.
const created: { namespace: string; name: string; uid: string }[] = [];
const expectedSecrets = new Set<string>();
const ourNamespaces = new Set<string>();

async function setup(t: TestContext, prefix: string): Promise<Env> {
  const auth = await startAuthServer({ tokenTTLSeconds: 3600 });
  t.after(() => auth.close());
  const [a, b, crn] = await Promise.all(
    ['a', 'b', 'crn'].map((suffix) => freshNamespace(kc, `${prefix}-${suffix}`)),
  );
  for (const ns of [a, b, crn]) ourNamespaces.add(ns);
  await grantTenant(b);
  const operator = await startTestOperator(kc, { namespaces: [a, b], clusterResourceNamespace: crn });
  t.after(() => operator.stop());
  return {
    auth,
    a,
    b,
    crn,
    inA: scenario(kc, a),
    inB: scenario(kc, b),
    inCrn: scenario(kc, crn),
    tenant: scenario(tenantKc, b),
    operator,
    requests: (client) => auth.tokenRequests(auth.clients[client].clientId),
  };
}

/** Lets the tenant manage TokenRequests, TokenIssuers and Secrets in `namespace`, and nothing more. */
async function grantTenant(namespace: string): Promise<void> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'tenant' },
      rules: [
        { apiGroups: [group], resources: [Plural.TokenRequest, Plural.TokenIssuer], verbs },
        { apiGroups: [''], resources: ['secrets'], verbs },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'tenant' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: tenantUser }],
    },
  });
  const tenantCore = tenantKc.makeApiClient(CoreV1Api);
  await waitFor(
    `the tenant's Role in ${namespace} in effect`,
    async () => {
      await tenantCore.listNamespacedSecret({ namespace });
      return true;
    },
    10_000,
  );
}

/** Creates a TokenRequest and remembers it for the last test. */
async function createTokenRequest(s: Scenario, name: string, spec: TokenRequestSpec): Promise<TokenRequest> {
  const tr = await s.createTokenRequest(name, spec);
  created.push({ namespace: s.namespace, name, uid: tr.metadata.uid ?? '' });
  return tr;
}

/** Waits for Ready=True and records the Secret the TokenRequest must have written. */
async function waitForToken(s: Scenario, name: string): Promise<string> {
  const tr = await s.waitForCondition(name, 'Ready', 'True', TokenRequestReason.TokenIssued, 20_000);
  const secretName = tr.status?.secretName ?? name;
  expectedSecrets.add(`${s.namespace}/${secretName}`);
  const token = await s.token(secretName);
  assert.ok(token, `${s.namespace}/${secretName} holds a token`);
  return token;
}

/** A TokenIssuer spec for one of the server's secret-based clients and a named credentials Secret. */
function secretIssuerSpec(auth: AuthServer, client: SecretClient, secretName: string): TokenIssuerSpec {
  const c = auth.clients[client];
  return {
    issuerURL: auth.issuerIdentifier,
    clientID: c.clientId,
    clientAuth: { method: c.authMethod, clientSecretRef: { name: secretName } },
  };
}

async function createTokenIssuer(s: Scenario, name: string, spec: TokenIssuerSpec): Promise<void> {
  await s.custom.createNamespacedCustomObject({
    group,
    version,
    namespace: s.namespace,
    plural: Plural.TokenIssuer,
    body: { apiVersion, kind: Kind.TokenIssuer, metadata: { name }, spec },
  });
}

async function createClientSecret(s: Scenario, name: string, value: string): Promise<void> {
  await s.core.createNamespacedSecret({
    namespace: s.namespace,
    body: { metadata: { name }, stringData: { 'client-secret': value } },
  });
}

/** A ClusterTokenIssuer, deleted when the test ends. */
async function createClusterIssuer(t: TestContext, name: string, spec: ClusterTokenIssuerSpec) {
  await scenario(kc, 'default').createClusterIssuer(name, spec);
  t.after(() =>
    scenario(kc, 'default').custom.deleteClusterCustomObject({
      group,
      version,
      plural: Plural.ClusterTokenIssuer,
      name,
    }),
  );
}

async function getClusterIssuer(name: string): Promise<ClusterTokenIssuer> {
  return (await scenario(kc, 'default').custom.getClusterCustomObject({
    group,
    version,
    plural: Plural.ClusterTokenIssuer,
    name,
  })) as ClusterTokenIssuer;
}

/** Waits until an issuer's Ready condition has `status` and `reason`; returns its message. */
async function issuerReady(
  what: string,
  get: () => Promise<{ status?: { conditions?: readonly Condition[] } }>,
  status: 'True' | 'False',
  reason: string,
): Promise<string> {
  let last: ReturnType<typeof findCondition>;
  await waitFor(
    `${what} Ready=${status}/${reason}`,
    async () => {
      const issuer = await get();
      last = findCondition(issuer.status?.conditions, 'Ready');
      return last?.status === status && last.reason === reason;
    },
    20_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last Ready: ${JSON.stringify(last)}`);
  });
  return last?.message ?? '';
}

const readyMessage = (tr: TokenRequest) => findCondition(tr.status?.conditions, 'Ready')?.message ?? '';

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

/** name → resourceVersion of every Secret in a namespace: equal snapshots mean nothing was written. */
async function secretVersions(namespace: string): Promise<Record<string, string>> {
  const list = await core.listNamespacedSecret({ namespace });
  return Object.fromEntries(
    list.items.map((secret) => [secret.metadata?.name ?? '', secret.metadata?.resourceVersion ?? '']),
  );
}

/**
 * `namespace/name` of every Secret the operator has watched by name (the credentials of its
 * issuers), from its log: the only way a Secret that is not its own reaches its memory.
 */
function watchedSecrets(operator: TestOperator): Set<string> {
  const watched = new Set<string>();
  for (const line of operator.logs) {
    const entry = JSON.parse(line) as { msg?: string; resource?: string };
    if (entry.msg === 'watch listed' && entry.resource?.startsWith('secret ')) {
      watched.add(entry.resource.slice('secret '.length));
    }
  }
  return watched;
}

function assertForbidden(err: unknown): true {
  assert.ok(err instanceof ApiException, `expected an API error, got ${String(err)}`);
  assert.equal(err.code, 403);
  return true;
}

async function clientIdOf(auth: AuthServer, token: string): Promise<unknown> {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(auth.jwksUri), {
    issuer: auth.issuerIdentifier,
  });
  return payload.client_id;
}

async function hasEvent(s: Scenario, name: string, reason: string): Promise<void> {
  await waitFor(
    `a ${reason} warning event for ${s.namespace}/${name}`,
    async () => (await s.events(name)).some((e) => e.type === 'Warning' && e.reason === reason),
    10_000,
  );
}

// One test at a time: every operator sees every ClusterTokenIssuer in the cluster and resolves
// its credentials in its own cluster-resource namespace, so operators with different ones,
// running side by side, would each write their own view into a ClusterTokenIssuer's status.
describe('namespace isolation', { timeout: 300_000 }, () => {
  it('a TokenIssuer in another namespace is not found, and nothing of it is used or touched', async (t) => {
    const env = await setup(t, 'iso-issuer');
    const { auth, a, b, inA, inB, tenant } = env;

    // Namespace A: an issuer for the basic client, and a token through it.
    await inA.createIssuer('idp', auth);
    await createTokenRequest(inA, 'orders', { issuerRef: { name: 'idp' } });
    const tokenA = await waitForToken(inA, 'orders');
    await expectRequests("A's own token", () => env.requests('basic'), 1, 0);
    const issuerA = await inA.getIssuer('idp');
    assert.equal(findCondition(issuerA.status?.conditions, 'Ready')?.status, 'True');
    const versionsA = await secretVersions(a);
    assert.deepEqual(Object.keys(versionsA).sort(), ['idp-credentials', 'orders']);

    // The tenant cannot read A's Secrets or issuers itself...
    await assert.rejects(
      tenant.core.readNamespacedSecret({ namespace: a, name: 'idp-credentials' }),
      assertForbidden,
    );
    await assert.rejects(
      tenant.custom.getNamespacedCustomObject({
        group,
        version,
        namespace: a,
        plural: Plural.TokenIssuer,
        name: 'idp',
      }),
      assertForbidden,
    );

    // ...and naming A's issuer through the operator gets it nothing: the name means B's issuer.
    await createTokenRequest(tenant, 'orders', { issuerRef: { name: 'idp' } });
    const tr = await inB.waitForCondition('orders', 'Ready', 'False', TokenRequestReason.IssuerNotFound);
    assert.equal(readyMessage(tr), `TokenIssuer idp not found in namespace ${b}`);
    await hasEvent(inB, 'orders', TokenRequestReason.IssuerNotFound);
    // Nor is a namespaced issuer found under the other kind.
    await createTokenRequest(tenant, 'as-cluster', {
      issuerRef: { kind: Kind.ClusterTokenIssuer, name: 'idp' },
    });
    const asCluster = await inB.waitForCondition(
      'as-cluster',
      'Ready',
      'False',
      TokenRequestReason.IssuerNotFound,
    );
    assert.equal(readyMessage(asCluster), 'ClusterTokenIssuer idp not found');

    // An issuerRef has no namespace field: strict field validation rejects one, and the API
    // server's default drops it, leaving a reference into B.
    const withNamespace = {
      apiVersion,
      kind: Kind.TokenRequest,
      metadata: { name: 'explicit' },
      spec: { issuerRef: { name: 'idp', namespace: a } },
    };
    const target = { group, version, namespace: b, plural: Plural.TokenRequest };
    await assert.rejects(
      tenant.custom.createNamespacedCustomObject({
        ...target,
        body: withNamespace,
        fieldValidation: 'Strict',
      }),
      /strict decoding error: unknown field .{1,4}spec\.issuerRef\.namespace/,
    );
    const pruned = (await tenant.custom.createNamespacedCustomObject({
      ...target,
      body: withNamespace,
    })) as TokenRequest;
    created.push({ namespace: b, name: 'explicit', uid: pruned.metadata.uid ?? '' });
    assert.deepEqual(pruned.spec.issuerRef, { kind: Kind.TokenIssuer, name: 'idp' });
    const explicit = await inB.waitForCondition(
      'explicit',
      'Ready',
      'False',
      TokenRequestReason.IssuerNotFound,
    );
    assert.equal(readyMessage(explicit), `TokenIssuer idp not found in namespace ${b}`);
    // A Secret name cannot name a namespace either.
    await assert.rejects(
      tenant.createTokenRequest('slash', { issuerRef: { name: 'idp' }, secret: { name: `${a}/orders` } }),
      /spec\.secret\.name: Invalid value.*must be a valid object name/,
    );

    // Nothing happened anywhere: no token request, no write in A, no Secret in B.
    await expectRequests("B naming A's issuer", () => auth.totalTokenRequests(), 1);
    assert.deepEqual(await secretVersions(a), versionsA, 'no Secret in A was written');
    assert.equal((await inA.getIssuer('idp')).metadata.resourceVersion, issuerA.metadata.resourceVersion);
    assert.deepEqual(await secretVersions(b), {}, 'no Secret in B was written');
    assert.equal(await inA.token('orders'), tokenA);

    // Control: B's own issuer of that name is what the name meant all along.
    await tenant.createIssuer('idp', auth, { client: 'post' });
    const tokenB = await waitForToken(inB, 'orders');
    await waitForToken(inB, 'explicit');
    await expectRequests('once B has its own issuer', () => env.requests('post'), 2);
    assert.equal(env.requests('basic'), 1, "never a request with A's client");
    assert.equal(await clientIdOf(auth, tokenB), auth.clients.post.clientId);
    assert.equal(
      readyMessage(await inB.getTokenRequest('as-cluster')),
      'ClusterTokenIssuer idp not found',
      'the kind still decides',
    );
    assert.deepEqual(await secretVersions(a), versionsA, 'still no Secret in A was written');
  });

  it('a ClusterTokenIssuer that does not allow the namespace serves nothing there', async (t) => {
    const env = await setup(t, 'iso-allow');
    const { auth, a, b, crn, inA, inB, inCrn, tenant } = env;
    const suffix = randomBytes(4).toString('hex');
    const label = `iso-tier-${suffix}`;
    await core.patchNamespace({ name: a, body: { metadata: { labels: { [label]: 'gold' } } } }, merge);
    const byName = `iso-by-name-${suffix}`;
    const byLabel = `iso-by-label-${suffix}`;
    await inCrn.createCredentials(byName, auth, 'basic');
    await inCrn.createCredentials(byLabel, auth, 'post');
    await createClusterIssuer(t, byName, {
      ...secretIssuerSpec(auth, 'basic', `${byName}-credentials`),
      allowedNamespaces: { names: [a] },
    });
    await createClusterIssuer(t, byLabel, {
      ...secretIssuerSpec(auth, 'post', `${byLabel}-credentials`),
      allowedNamespaces: { selector: { matchLabels: { [label]: 'gold' } } },
    });
    const ref = (name: string) => ({ issuerRef: { kind: Kind.ClusterTokenIssuer, name } });

    // A is allowed, by name and by label.
    await createTokenRequest(inA, 'by-name', ref(byName));
    await createTokenRequest(inA, 'by-label', ref(byLabel));
    await waitForToken(inA, 'by-name');
    await waitForToken(inA, 'by-label');
    await expectRequests('A, allowed by name', () => env.requests('basic'), 1, 0);
    await expectRequests('A, allowed by label', () => env.requests('post'), 1, 0);
    const issuerVersions = {
      [byName]: (await getClusterIssuer(byName)).metadata.resourceVersion,
      [byLabel]: (await getClusterIssuer(byLabel)).metadata.resourceVersion,
    };
    const versionsA = await secretVersions(a);
    const versionsCrn = await secretVersions(crn);

    // The tenant cannot give its namespace the label the selector wants: namespaces are not its own.
    await assert.rejects(
      tenant.core.patchNamespace({ name: b, body: { metadata: { labels: { [label]: 'gold' } } } }, merge),
      assertForbidden,
    );

    // B is allowed by neither.
    await createTokenRequest(tenant, 'by-name', ref(byName));
    await createTokenRequest(tenant, 'by-label', ref(byLabel));
    for (const [name, issuer] of [
      ['by-name', byName],
      ['by-label', byLabel],
    ] as const) {
      const tr = await inB.waitForCondition(name, 'Ready', 'False', TokenRequestReason.NamespaceNotAllowed);
      assert.equal(
        readyMessage(tr),
        `ClusterTokenIssuer ${issuer} does not allow namespace ${b} (see its spec.allowedNamespaces)`,
      );
      await hasEvent(inB, name, TokenRequestReason.NamespaceNotAllowed);
    }
    await expectRequests('B, not allowed by name', () => env.requests('basic'), 1);
    await expectRequests('B, not allowed by label', () => env.requests('post'), 1, 0);
    assert.deepEqual(await secretVersions(b), {}, 'no Secret in B was written');
    assert.deepEqual(await secretVersions(a), versionsA, "A's Secrets were not written");
    assert.deepEqual(await secretVersions(crn), versionsCrn, 'the credentials were not written');
    for (const name of [byName, byLabel]) {
      assert.equal((await getClusterIssuer(name)).metadata.resourceVersion, issuerVersions[name]);
    }
  });

  it('a Secret that belongs to another TokenRequest, or to nobody, is not taken', async (t) => {
    const env = await setup(t, 'iso-secret');
    const { auth, a, inA, inB, tenant } = env;

    // B: the tenant's issuer (basic) and TokenRequest `orders`. A: the same names, another client.
    await tenant.createIssuer('idp', auth);
    await createTokenRequest(tenant, 'orders', { issuerRef: { name: 'idp' }, scopes: ['orders.read'] });
    const tokenB = await waitForToken(inB, 'orders');
    await inA.createIssuer('idp', auth, { client: 'post' });
    await createTokenRequest(inA, 'orders', { issuerRef: { name: 'idp' } });
    const tokenA = await waitForToken(inA, 'orders');
    await expectRequests("B's token", () => env.requests('basic'), 1, 0);
    await expectRequests("A's token", () => env.requests('post'), 1, 0);
    assert.notEqual(tokenA, tokenB, 'the same Secret name in two namespaces is two Secrets');
    assert.equal(await clientIdOf(auth, tokenA), auth.clients.post.clientId);
    assert.equal(await clientIdOf(auth, tokenB), auth.clients.basic.clientId);
    const ordersB = await inB.getSecret('orders');
    const credentialsB = await inB.getSecret('idp-credentials');
    const versionsA = await secretVersions(a);

    // Another TokenRequest naming `orders`, with a template that would copy the token elsewhere
    // in the Secret; and one naming the issuer's credentials Secret.
    await createTokenRequest(tenant, 'thief', {
      issuerRef: { name: 'idp' },
      scopes: ['orders.write'],
      secret: { name: 'orders', labels: { stolen: 'yes' }, template: { copy: '{{ token }}' } },
    });
    await createTokenRequest(tenant, 'creds-thief', {
      issuerRef: { name: 'idp' },
      secret: { name: 'idp-credentials' },
    });
    const thief = await inB.waitForCondition('thief', 'Ready', 'False', TokenRequestReason.SecretConflict);
    assert.equal(
      readyMessage(thief),
      `Secret orders belongs to TokenRequest orders (label ${Label.TokenRequest})`,
    );
    const credsThief = await inB.waitForCondition(
      'creds-thief',
      'Ready',
      'False',
      TokenRequestReason.SecretConflict,
    );
    assert.equal(
      readyMessage(credsThief),
      `Secret idp-credentials exists and is not managed by token-renewer (no label ${Label.ManagedBy}=${managedBy})`,
    );
    await hasEvent(inB, 'thief', TokenRequestReason.SecretConflict);
    await hasEvent(inB, 'creds-thief', TokenRequestReason.SecretConflict);

    await expectRequests('with two TokenRequests in the way', () => env.requests('basic'), 1);
    const after = await inB.getSecret('orders');
    assert.equal(
      after?.metadata?.resourceVersion,
      ordersB?.metadata?.resourceVersion,
      'orders was not written',
    );
    assert.deepEqual(after?.data, ordersB?.data);
    assert.equal(after?.metadata?.labels?.[Label.TokenRequest], 'orders');
    assert.equal(after?.metadata?.labels?.stolen, undefined);
    assert.equal(
      (await inB.getSecret('idp-credentials'))?.metadata?.resourceVersion,
      credentialsB?.metadata?.resourceVersion,
      'the credentials were not written',
    );
    assert.deepEqual(await secretVersions(a), versionsA, "A's Secrets were not written");
    assert.equal(
      findCondition((await inB.getTokenRequest('orders')).status?.conditions, 'Ready')?.status,
      'True',
      'the owner keeps its Secret and its readiness',
    );
  });

  it('a TokenIssuer reads its credentials only from its own namespace', async (t) => {
    const env = await setup(t, 'iso-creds');
    const { auth, a, b, crn, inA, inB, inCrn, tenant, operator } = env;
    // A's Secret (the post client's) and a Secret in the cluster-resource namespace (basic's).
    await createClientSecret(inA, 'idp-credentials', auth.clients.post.clientSecret);
    await createClientSecret(inCrn, 'shared-credentials', auth.clients.basic.clientSecret);
    await assert.rejects(
      tenant.core.readNamespacedSecret({ namespace: a, name: 'idp-credentials' }),
      assertForbidden,
    );
    await assert.rejects(
      tenant.core.readNamespacedSecret({ namespace: crn, name: 'shared-credentials' }),
      assertForbidden,
    );

    // B's issuers name those Secrets, and those clients.
    await createTokenIssuer(tenant, 'borrowed', secretIssuerSpec(auth, 'post', 'idp-credentials'));
    await createTokenIssuer(tenant, 'from-crn', secretIssuerSpec(auth, 'basic', 'shared-credentials'));
    await createTokenRequest(tenant, 'borrowed', { issuerRef: { name: 'borrowed' } });
    await createTokenRequest(tenant, 'from-crn', { issuerRef: { name: 'from-crn' } });
    for (const [issuer, secret] of [
      ['borrowed', 'idp-credentials'],
      ['from-crn', 'shared-credentials'],
    ] as const) {
      const missing = `Secret ${b}/${secret} (client secret) not found`;
      const message = await issuerReady(
        `TokenIssuer ${b}/${issuer}`,
        () => inB.getIssuer(issuer),
        'False',
        IssuerReason.CredentialsNotFound,
      );
      assert.equal(message, missing);
      const tr = await inB.waitForCondition(issuer, 'Ready', 'False', TokenRequestReason.IssuerNotReady);
      assert.equal(readyMessage(tr), `TokenIssuer ${issuer} is not ready: ${missing}`);
    }
    await expectRequests('with credentials only elsewhere', () => auth.totalTokenRequests(), 0);
    const watched = watchedSecrets(operator);
    assert.ok(
      watched.has(`${b}/idp-credentials`) && watched.has(`${b}/shared-credentials`),
      [...watched].join(),
    );
    for (const ns of [a, crn]) {
      for (const name of ['idp-credentials', 'shared-credentials']) {
        assert.ok(!watched.has(`${ns}/${name}`), `the operator watched ${ns}/${name}`);
      }
    }

    // A's own issuer brings A's Secret into the operator's memory: B still does not get it.
    const versionsCrn = await secretVersions(crn);
    await createTokenIssuer(inA, 'idp', secretIssuerSpec(auth, 'post', 'idp-credentials'));
    await createTokenRequest(inA, 'orders', { issuerRef: { name: 'idp' } });
    const tokenA = await waitForToken(inA, 'orders');
    await expectRequests("A's own token", () => env.requests('post'), 1);
    assert.ok(
      watchedSecrets(operator).has(`${a}/idp-credentials`),
      'control: the log shows a watched Secret',
    );
    assert.equal(
      findCondition((await inB.getIssuer('borrowed')).status?.conditions, 'Ready')?.reason,
      IssuerReason.CredentialsNotFound,
    );
    assert.equal(await inB.getSecret('borrowed'), undefined);
    assert.equal(env.requests('basic'), 0);
    const versionsA = await secretVersions(a);

    // B's issuer reads B's Secret: the tenant's own value, which the server refuses. Had A's
    // (valid) secret been used, this would succeed.
    await createClientSecret(tenant, 'idp-credentials', `not-the-secret-${randomBytes(8).toString('hex')}`);
    await issuerReady(
      `TokenIssuer ${b}/borrowed`,
      () => inB.getIssuer('borrowed'),
      'True',
      IssuerReason.Ready,
    );
    const refused = await inB.waitForCondition(
      'borrowed',
      'Ready',
      'False',
      TokenRequestReason.TokenRequestFailed,
      20_000,
    );
    assert.match(readyMessage(refused), /invalid_client/);
    assert.equal(await inB.getSecret('borrowed'), undefined);
    assert.equal(await inA.token('orders'), tokenA);
    assert.deepEqual(await secretVersions(a), versionsA, "A's Secrets were not written");
    assert.deepEqual(
      await secretVersions(crn),
      versionsCrn,
      'the cluster-resource namespace was not written',
    );
    assert.equal(env.requests('basic'), 0, "never a request with the cluster-resource namespace's client");
    assert.ok(!watchedSecrets(operator).has(`${crn}/shared-credentials`), 'never watched');
  });

  it('a ClusterTokenIssuer reads its credentials only from the cluster-resource namespace', async (t) => {
    const env = await setup(t, 'iso-cti-creds');
    const { auth, b, crn, inB, inCrn, tenant, operator } = env;
    const name = `iso-shared-${randomBytes(4).toString('hex')}`;
    const secret = `${name}-credentials`;

    // The tenant plants a Secret of the name the ClusterTokenIssuer references, holding a real
    // credential of another client, before the ClusterTokenIssuer and its own Secret exist.
    await createClientSecret(tenant, secret, auth.clients.post.clientSecret);
    await createClusterIssuer(t, name, {
      ...secretIssuerSpec(auth, 'basic', secret),
      allowedNamespaces: { names: [b] },
    });
    await createTokenRequest(tenant, 'shared', { issuerRef: { kind: Kind.ClusterTokenIssuer, name } });
    const missing = `Secret ${crn}/${secret} (client secret) not found`;
    const message = await issuerReady(
      `ClusterTokenIssuer ${name}`,
      () => getClusterIssuer(name),
      'False',
      IssuerReason.CredentialsNotFound,
    );
    assert.equal(message, missing);
    const waiting = await inB.waitForCondition('shared', 'Ready', 'False', TokenRequestReason.IssuerNotReady);
    assert.equal(readyMessage(waiting), `ClusterTokenIssuer ${name} is not ready: ${missing}`);
    await expectRequests(
      "with the credentials only in the tenant's namespace",
      () => auth.totalTokenRequests(),
      0,
    );

    // The cluster admin's Secret: one request, with the basic client's own secret, succeeds.
    await createClientSecret(inCrn, secret, auth.clients.basic.clientSecret);
    const token = await waitForToken(inB, 'shared');
    await expectRequests('once the credentials exist', () => env.requests('basic'), 1);
    assert.equal(env.requests('post'), 0);
    assert.equal(auth.totalTokenRequests(), 1, 'one request in all, and it succeeded');
    assert.equal(await clientIdOf(auth, token), auth.clients.basic.clientId);
    assert.equal((await inB.getTokenRequest('shared')).status?.failedAttempts ?? 0, 0);
    const managed = (await inB.getSecret('shared'))?.metadata?.resourceVersion;

    // The tenant's Secret changing or vanishing changes nothing; the cluster admin's changing renews.
    await tenant.core.patchNamespacedSecret(
      { namespace: b, name: secret, body: { stringData: { 'client-secret': 'changed-by-the-tenant' } } },
      merge,
    );
    await expectRequests('after the tenant changed its Secret', () => auth.totalTokenRequests(), 1);
    await tenant.core.deleteNamespacedSecret({ namespace: b, name: secret });
    await expectRequests('after the tenant deleted its Secret', () => auth.totalTokenRequests(), 1);
    assert.equal(await inB.token('shared'), token);
    assert.equal((await inB.getSecret('shared'))?.metadata?.resourceVersion, managed);
    await inCrn.core.patchNamespacedSecret(
      { namespace: crn, name: secret, body: { metadata: { labels: { rotated: 'yes' } } } },
      merge,
    );
    await inB.waitForNewToken('shared', token, 15_000);
    await expectRequests('after the cluster admin rotated the credentials', () => env.requests('basic'), 2);
    assert.equal(env.requests('post'), 0);

    const watched = watchedSecrets(operator);
    assert.ok(watched.has(`${crn}/${secret}`), [...watched].join());
    assert.ok(!watched.has(`${b}/${secret}`), "the tenant's Secret was never watched");
  });
});

// Runs after the describe above has finished, so after every operator in it has stopped.
describe('where the operator wrote', () => {
  it('every managed Secret lives in the namespace of its TokenRequest', async () => {
    assert.ok(created.length > 0, 'the tests above created TokenRequests');
    const byUid = new Map(created.map((tr) => [tr.uid, tr]));
    const all = await core.listSecretForAllNamespaces({ labelSelector: `${Label.ManagedBy}=${managedBy}` });
    const found = new Set<string>();
    for (const secret of all.items) {
      const namespace = secret.metadata?.namespace ?? '';
      const where = `${namespace}/${secret.metadata?.name}`;
      const owner = secret.metadata?.labels?.[Label.TokenRequest];
      // Anywhere in the cluster: a Secret of one of our TokenRequests is in its namespace.
      for (const ref of secret.metadata?.ownerReferences ?? []) {
        const tr = byUid.get(ref.uid);
        if (!tr) continue;
        assert.equal(namespace, tr.namespace, `${where} belongs to TokenRequest ${tr.namespace}/${tr.name}`);
        assert.equal(owner, tr.name, `${where} is labelled for its owner`);
      }
      // In our namespaces: every managed Secret belongs to a TokenRequest of that namespace.
      if (!ourNamespaces.has(namespace)) continue;
      const tr = created.find((c) => c.namespace === namespace && c.name === owner);
      assert.ok(tr, `${where} names TokenRequest ${owner}, which is not in ${namespace}`);
      assert.deepEqual(
        (secret.metadata?.ownerReferences ?? []).map((ref) => ref.uid),
        [tr.uid],
        `${where} is owned by ${namespace}/${owner}`,
      );
      found.add(where);
    }
    assert.deepEqual(
      [...found].sort(),
      [...expectedSecrets].sort(),
      'exactly the Secrets of ready TokenRequests',
    );

    // Events too: each one the operator recorded is about an object of its own namespace.
    let events = 0;
    for (const namespace of ourNamespaces) {
      for (const event of (await core.listNamespacedEvent({ namespace })).items) {
        if (event.source?.component !== 'token-renewer') continue;
        events++;
        assert.equal(event.involvedObject.namespace, namespace, `event ${namespace}/${event.metadata?.name}`);
      }
    }
    assert.ok(events > 0, 'the operator recorded events in these namespaces');
  });
});
