// The outbound policy as a user of the operator sees it (issue 4): an issuer pointing at a refused
// endpoint is Ready=False/EndpointNotAllowed with a message naming the endpoint and the rule, its
// TokenRequests say so too, and a listener standing at the refused target is never reached. The
// operator runs without loopback exemptions, so its own loopback listener is a refused target.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  group,
  IssuerReason,
  Plural,
  type TokenIssuer,
  TokenRequestReason,
  version,
} from '../../../src/api/index.ts';
import { findCondition } from '../../../src/renewal/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { freshNamespace, testCluster } from '../../support/cluster.ts';
import { waitFor } from '../../support/net.ts';
import { startTestOperator, type TestOperator } from '../../support/operator.ts';
import { scenario } from '../../support/scenario.ts';
import { startTripwire, type Tripwire } from '../oauth/listeners.ts';

describe('outbound policy in the operator', { timeout: 60_000 }, () => {
  const kc = testCluster().kubeConfig();
  let auth: AuthServer;
  let tripwire: Tripwire;
  let operator: TestOperator;
  let s: ReturnType<typeof scenario>;

  before(async () => {
    // The auth server only provides client credentials for the Secrets; nothing may reach it either.
    auth = await startAuthServer();
    tripwire = await startTripwire('127.0.0.1');
    const ns = await freshNamespace(kc, 'outbound');
    s = scenario(kc, ns);
    // An empty list replaces the test operators' default loopback exemption: production settings.
    operator = await startTestOperator(kc, { namespaces: [ns], flags: ['--allow-endpoint-cidrs='] });
  });
  after(async () => {
    await operator?.stop();
    await tripwire?.close();
    await auth?.close();
  });

  /** Waits for the issuer's Ready condition to have `status` (and `reason`); returns it. */
  async function issuerReady(name: string, status: 'True' | 'False', reason?: string) {
    let condition: ReturnType<typeof findCondition>;
    await waitFor(
      `TokenIssuer ${name} Ready=${status}`,
      async () => {
        const issuer = (await s.custom.getNamespacedCustomObject({
          group,
          version,
          namespace: s.namespace,
          plural: Plural.TokenIssuer,
          name,
        })) as TokenIssuer;
        condition = findCondition(issuer.status?.conditions, 'Ready');
        return condition?.status === status && (reason === undefined || condition.reason === reason);
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last Ready: ${JSON.stringify(condition)}`);
    });
    if (!condition) throw new Error('unreachable: no condition');
    return condition;
  }

  it('discovery at a name that resolves to loopback: EndpointNotAllowed, and the TokenRequest says why', async () => {
    const origin = `http://localhost:${tripwire.port}`;
    await s.createIssuer('by-name', auth, { issuerURL: origin });
    const ready = await issuerReady('by-name', 'False', IssuerReason.EndpointNotAllowed);
    const expected = new RegExp(
      `^discovery endpoint ${origin}/\\.well-known/openid-configuration refused: resolves to (127\\.0\\.0\\.1|::1), a loopback address$`,
    );
    assert.match(ready.message ?? '', expected);

    await s.createTokenRequest('via-name', { issuerRef: { name: 'by-name' } });
    const tr = await s.waitForCondition('via-name', 'Ready', 'False', TokenRequestReason.IssuerNotReady);
    const message = findCondition(tr.status?.conditions, 'Ready')?.message ?? '';
    assert.ok(message.endsWith(ready.message ?? '?'), message);
    assert.equal(tripwire.connections(), 0);
  });

  it('an explicit token endpoint at a loopback address: refused when the issuer is built', async () => {
    const endpoint = `http://127.0.0.1:${tripwire.port}/token`;
    await s.createIssuer('by-address', auth, { tokenEndpoint: endpoint });
    const ready = await issuerReady('by-address', 'False', IssuerReason.EndpointNotAllowed);
    assert.equal(ready.message, `token endpoint ${endpoint} refused: 127.0.0.1 is a loopback address`);

    await s.createTokenRequest('via-address', { issuerRef: { name: 'by-address' } });
    const tr = await s.waitForCondition('via-address', 'Ready', 'False', TokenRequestReason.IssuerNotReady);
    assert.match(
      findCondition(tr.status?.conditions, 'Ready')?.message ?? '',
      /127\.0\.0\.1 is a loopback address$/,
    );
    assert.equal(tripwire.connections(), 0);
  });

  it('an explicit token endpoint named by a host: refused when connecting, the token request fails', async () => {
    const endpoint = `http://localhost:${tripwire.port}/token`;
    await s.createIssuer('explicit-name', auth, { tokenEndpoint: endpoint });
    // Nothing is resolved or sent while building an explicit-endpoint issuer.
    await issuerReady('explicit-name', 'True');

    await s.createTokenRequest('via-explicit-name', { issuerRef: { name: 'explicit-name' } });
    const tr = await s.waitForCondition(
      'via-explicit-name',
      'Ready',
      'False',
      TokenRequestReason.TokenRequestFailed,
    );
    assert.match(
      findCondition(tr.status?.conditions, 'Ready')?.message ?? '',
      new RegExp(
        `token endpoint ${endpoint} refused: resolves to (127\\.0\\.0\\.1|::1), a loopback address$`,
      ),
    );
    assert.equal(findCondition(tr.status?.conditions, 'Renewing')?.status, 'True');
    assert.equal(await s.getSecret('via-explicit-name'), undefined);
    assert.equal(tripwire.connections(), 0);
    assert.equal(auth.totalTokenRequests(), 0);
  });
});
