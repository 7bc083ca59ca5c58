// deploy/ as a user applies it, and the operator under exactly the identity it creates: the
// cluster-wide variant runs every operator test (global setup); here its limits are probed,
// the same operator without the binding fails with clear errors, and the namespaced variant
// (Roles only) is run end to end.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/config.ts';
import { createOperator } from '../../src/controller/operator.ts';
import { jsonLogger } from '../../src/log/logger.ts';
import { type AuthServer, startAuthServer } from '../support/auth-server.ts';
import { freshNamespace, testCluster } from '../support/cluster.ts';
import { deployDir, kubectl, serviceAccountKubeConfig } from '../support/deploy.ts';
import { waitFor } from '../support/net.ts';
import { startTestOperator } from '../support/operator.ts';
import { scenario } from '../support/scenario.ts';

const cluster = testCluster();
const admin = cluster.kubeConfig();
const k = (args: string[], stdin?: string) => kubectl(cluster.binDir, cluster.kubeconfigPath(), args, stdin);
const operatorUser = 'system:serviceaccount:token-renewer:token-renewer';

describe('deploy/', () => {
  let auth: AuthServer;
  before(async () => {
    auth = await startAuthServer({ tokenTTLSeconds: 3600 });
  });
  after(() => auth?.close());

  it('renders with kustomize and passes server-side validation, both variants', async () => {
    // The namespaced example watches team-a, which must exist for its Role to validate.
    await admin
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: 'team-a' } } })
      .catch(() => {});
    for (const dir of [deployDir, join(deployDir, 'namespaced')]) {
      const rendered = await k(['kustomize', dir]);
      const kinds = parseAllDocuments(rendered).map((doc) => (doc.toJSON() as { kind: string }).kind);
      assert.ok(
        kinds.includes('Deployment') && kinds.includes('ServiceAccount'),
        `${dir}: ${kinds.join(',')}`,
      );
      const applied = await k(['apply', '--dry-run=server', '-f', '-'], rendered);
      assert.match(
        applied,
        /deployment.apps\/token-renewer (created|configured|unchanged) \(server dry run\)/,
      );
    }
  });

  it('grants the operator what it uses and nothing more', async () => {
    const can = async (verb: string, resource: string) => {
      const [name, subresource] = resource.split('/');
      const args = ['auth', 'can-i', verb, name, '-n', 'default', '--as', operatorUser];
      return (
        await k(subresource ? [...args, `--subresource=${subresource}`] : args).catch(() => 'no')
      ).trim();
    };
    for (const [verb, resource] of [
      ['watch', 'tokenrequests.token-renewer.io'],
      ['update', 'tokenrequests.token-renewer.io/status'],
      ['create', 'secrets'],
      ['update', 'secrets'],
      ['create', 'events'],
    ]) {
      assert.equal(await can(verb, resource), 'yes', `${verb} ${resource}`);
    }
    for (const [verb, resource] of [
      ['delete', 'secrets'],
      ['patch', 'secrets'],
      ['update', 'tokenrequests.token-renewer.io'],
      ['delete', 'tokenrequests.token-renewer.io'],
      ['get', 'pods'],
      ['create', 'serviceaccounts/token'],
      ['update', 'clusterroles.rbac.authorization.k8s.io'],
    ]) {
      assert.equal(await can(verb, resource), 'no', `${verb} ${resource} must be denied`);
    }
    // Leader election: its Lease in the operator's namespace, and no other Lease anywhere.
    for (const [ns, verb, expected] of [
      ['token-renewer', 'get', 'yes'],
      ['token-renewer', 'create', 'yes'],
      ['token-renewer', 'update', 'yes'],
      ['token-renewer', 'delete', 'no'],
      ['default', 'update', 'no'],
      ['kube-system', 'get', 'no'],
    ]) {
      const answer = await k([
        'auth',
        'can-i',
        verb,
        'leases.coordination.k8s.io',
        '-n',
        ns,
        '--as',
        operatorUser,
      ])
        .catch(() => 'no')
        .then((out) => out.trim());
      assert.equal(answer, expected, `${verb} leases in ${ns}`);
    }
  });

  it('without the binding, the operator reports the missing permissions and never becomes ready', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const ns = await freshNamespace(admin, 'unbound');
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: 'token-renewer' } },
    });
    const unbound = await serviceAccountKubeConfig(admin, ns, 'token-renewer');
    const parsed = parseConfig([`--namespaces=${ns}`, `--cluster-resource-namespace=${ns}`], {});
    assert.ok(parsed.ok);
    const logs: string[] = [];
    const operator = createOperator({
      kubeConfig: unbound,
      config: parsed.config,
      log: jsonLogger('info', (l) => logs.push(l)),
    });
    // start() waits for the caches, which never fill without permissions.
    void operator.start();
    try {
      await waitFor(
        'a forbidden error in the logs',
        async () => logs.some((line) => /403.*tokenrequests.*forbidden|forbidden.*tokenrequests/i.test(line)),
        20_000,
      );
      const line = logs.find((l) => /forbidden/i.test(l)) ?? '';
      assert.match(
        line,
        new RegExp(`system:serviceaccount:${ns}:token-renewer`),
        'the message names who lacks the permission',
      );
      assert.match(line, /cannot list resource/);
      assert.equal(operator.synced(), false, '/readyz stays not ready');
    } finally {
      await operator.stop();
    }
  });

  it('the namespaced variant (Roles) runs the operator end to end', async () => {
    const ns = await freshNamespace(admin, 'team');
    const crn = await freshNamespace(admin, 'crn');
    const sa = `token-renewer-${ns}`;
    await admin
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccount({ namespace: 'token-renewer', body: { metadata: { name: sa } } });
    // The example names team-a and token-renewer; this test's namespaces and ServiceAccount stand in.
    const manifest = (await readFile(join(deployDir, 'namespaced/rbac.yaml'), 'utf8'))
      .replaceAll('team-a', ns)
      .replaceAll('namespace: token-renewer\n', `namespace: ${crn}\n`)
      .replaceAll('name: token-renewer-namespaced', `name: token-renewer-namespaced-${ns}`)
      .replaceAll(`name: token-renewer\n    namespace: ${crn}`, `name: ${sa}\n    namespace: token-renewer`)
      .replaceAll(
        'name: token-renewer-events\n  namespace: default',
        `name: token-renewer-events-${ns}\n  namespace: default`,
      );
    await k(['apply', '-f', '-'], manifest);
    const identity = await serviceAccountKubeConfig(admin, 'token-renewer', sa);

    const s = scenario(admin, ns);
    await s.createIssuer('idp', auth);
    await s.createTokenRequest('orders', { issuerRef: { name: 'idp' }, scopes: ['orders.read'] });
    const operator = await startTestOperator(admin, {
      namespaces: [ns],
      clusterResourceNamespace: crn,
      operatorKubeConfig: identity,
    });
    try {
      const tr = await s.waitForCondition('orders', 'Ready', 'True');
      assert.equal(tr.status?.secretName, 'orders');
      assert.match((await s.token('orders')) ?? '', /^ey/);
      assert.ok(!operator.logs.some((line) => /forbidden/i.test(line)), 'no permission was missing');
    } finally {
      await operator.stop();
    }
  });
});
