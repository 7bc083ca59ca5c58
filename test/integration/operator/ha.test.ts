// High availability with real operator processes (issue 5): two replicas under the deploy/
// identity elect a leader on a Lease; only the leader renews. SIGKILL of the leader: the follower
// takes over within lease duration + one retry period, no renewal is missed and no token is
// requested while fresh. SIGTERM: the leader drains (a renewal in flight is written), releases
// the Lease and exits 0, and the follower leads at once. A leader cut off from the API server
// stops (exits) before the follower may take over. An operator SIGKILLed with a token request in
// flight: its successor converges with at most that one extra request, and the Secret never holds
// a bad token.
//
// Short election timings (lease 4 s, renew deadline 3 s, retry 1 s) keep the file near a minute.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type V1Secret, Watch } from '@kubernetes/client-node';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Annotation } from '../../../src/api/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { freshNamespace, testCluster } from '../../support/cluster.ts';
import { startFaultProxy } from '../../support/fault-proxy.ts';
import { waitFor } from '../../support/net.ts';
import { type LogEntry, type OperatorProcess, operatorGroup } from '../../support/operator-process.ts';
import { scenario } from '../../support/scenario.ts';
import { kubeConfigVia } from '../kube/harness.ts';
import { startTcpProxy } from '../kube/tcp-proxy.ts';

const cluster = testCluster();
const kc = cluster.kubeConfig();
const election = { leaseMs: 4_000, deadlineMs: 3_000, retryMs: 1_000 };
const flags = [
  `--lease-duration=${election.leaseMs / 1000}s`,
  `--renew-deadline=${election.deadlineMs / 1000}s`,
  `--retry-period=${election.retryMs / 1000}s`,
  '--shutdown-timeout=5s',
  '--min-safe-lead=1s',
];
/** API latency and process scheduling on top of the election's own bounds. */
const SLACK_MS = 500;
const TR = 'orders';
const verbose = Boolean(process.env.TOKEN_RENEWER_TEST_LOGS);
const report = (line: string) => {
  if (verbose) process.stderr.write(`[ha.test] ${line}\n`);
};

async function environment(t: TestContext, prefix: string, ttlSeconds: number) {
  const auth = await startAuthServer({ tokenTTLSeconds: ttlSeconds });
  t.after(() => auth.close());
  const ns = await freshNamespace(kc, prefix);
  const lease = `${prefix}-${randomBytes(3).toString('hex')}`;
  const group = operatorGroup(t, kc, { namespaces: [ns], lease, flags });
  return { auth, ns, s: scenario(kc, ns), group };
}

const logTime = (entry: LogEntry) => Date.parse(entry.time);
const becameLeader = (proc: OperatorProcess, timeoutMs = 15_000) =>
  proc.waitForLog('"became leader"', (e) => e.msg === 'became leader', timeoutMs);

/** Polls a synchronous condition every 50 ms until it holds. */
async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

// ---- every version of the Secret --------------------------------------------------------------

interface SecretEvent {
  at: number;
  type: string;
  token: string | undefined;
  renewAt: number;
}

interface SecretHistory {
  readonly events: SecretEvent[];
  /** Distinct tokens in the order they appeared, with when each was first seen. */
  tokens(): { token: string; firstSeen: number }[];
  stop(): void;
}

/**
 * Watches one Secret for the whole test; the client gives up on a watch after 30 s without data,
 * so it is resumed from the last resourceVersion (a gap there would fail on 410).
 */
async function watchSecret(ns: string, name: string): Promise<SecretHistory> {
  const events: SecretEvent[] = [];
  let stopped = false;
  let resourceVersion: string | undefined;
  let failure: unknown;
  let controller: AbortController | undefined;
  const start = async (): Promise<void> => {
    controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/secrets`,
      { fieldSelector: `metadata.name=${name}`, ...(resourceVersion ? { resourceVersion } : {}) },
      (type: string, object: V1Secret) => {
        if (type === 'ERROR') {
          failure = new Error(`watch error: ${JSON.stringify(object)}`);
          return;
        }
        resourceVersion = object.metadata?.resourceVersion;
        const raw = object.data?.token;
        events.push({
          at: Date.now(),
          type,
          token: raw === undefined ? undefined : Buffer.from(raw, 'base64').toString(),
          renewAt: Date.parse(object.metadata?.annotations?.[Annotation.RenewAt] ?? ''),
        });
      },
      () => {
        if (!stopped && failure === undefined) void start().catch((err: unknown) => (failure = err));
      },
    );
  };
  await start();
  return {
    events,
    tokens() {
      if (failure !== undefined) throw failure;
      const seen: { token: string; firstSeen: number }[] = [];
      for (const e of events) {
        if (e.token !== undefined && seen.at(-1)?.token !== e.token)
          seen.push({ token: e.token, firstSeen: e.at });
      }
      return seen;
    },
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}

/**
 * Every version the watch saw held a token the authorization server signed, unexpired when it
 * appeared, and each token was replaced before it expired. Returns the distinct tokens.
 */
async function checkHistory(history: SecretHistory, auth: AuthServer): Promise<string[]> {
  const jwks = createRemoteJWKSet(auth.jwksUri);
  for (const e of history.events) {
    assert.ok(e.type === 'ADDED' || e.type === 'MODIFIED', `Secret event ${e.type}`);
    assert.ok(e.token !== undefined && e.token !== '', 'the Secret never holds an empty token');
  }
  const tokens = history.tokens();
  const expiries: number[] = [];
  for (const [i, { token, firstSeen }] of tokens.entries()) {
    // Verified as of when it appeared: signature, issuer, audience, and not yet expired then.
    const { payload } = await jwtVerify(token, jwks, {
      issuer: auth.issuerIdentifier,
      audience: auth.defaultResource,
      currentDate: new Date(firstSeen),
    }).catch((err: Error) => assert.fail(`token ${i} is not a valid token when it appeared: ${err.message}`));
    expiries.push((payload.exp ?? 0) * 1000);
    const previousExpiry = expiries[i - 1];
    if (previousExpiry !== undefined) {
      assert.ok(
        firstSeen < previousExpiry,
        `token ${i} appeared ${firstSeen - previousExpiry} ms after token ${i - 1} expired`,
      );
    }
  }
  return tokens.map((t) => t.token);
}

// ---- the tests --------------------------------------------------------------------------------

describe('two operator replicas', () => {
  it('one leads; SIGKILL of the leader: the other takes over within lease + retry, misses no renewal, requests nothing fresh', async (t) => {
    // Renewal 7 s before expiry: longer than the worst takeover (5 s) with a renewal due in it.
    const { auth, ns, s, group } = await environment(t, 'ha-kill', 12);
    const clientId = auth.clients.basic.clientId;
    const [a, b] = await Promise.all([group.start({ name: 'a' }), group.start({ name: 'b' })]);
    assert.ok(a && b);
    await waitFor(
      'both replicas ready (caches synced)',
      async () => (await a.ready()) && (await b.ready()),
      20_000,
    );
    const { leader, followers } = await group.leader();
    const [follower] = followers;
    assert.ok(follower);
    await follower.waitForLog(
      'the follower to see the leader',
      (e) => e.msg === 'lease held by another replica' && e.holder === leader.identity,
    );
    assert.equal(await follower.ready(), true, 'a follower is ready too');

    const history = await watchSecret(ns, TR);
    t.after(() => history.stop());
    await s.createIssuer('idp', auth);
    await s.createTokenRequest(TR, { issuerRef: { name: 'idp' }, renewBefore: '7s' });
    await until('a renewal by the first leader', () => history.tokens().length >= 2, 20_000);
    assert.ok(
      leader.logs.some((e) => e.msg === 'renewed' && e.name === TR),
      'the leader renewed',
    );
    assert.ok(!follower.logs.some((e) => e.msg === 'renewing'), 'the follower did not');

    // Kill it a second before the next renewal is due: the renewal falls due while nobody leads.
    const renewAt = history.events.at(-1)?.renewAt ?? Number.NaN;
    assert.ok(Number.isFinite(renewAt));
    await until('a second before renew-at', () => Date.now() >= renewAt - 1000, 15_000);
    const killedAt = Date.now();
    leader.kill('SIGKILL');
    assert.equal((await leader.waitExit(5_000)).signal, 'SIGKILL');
    const took = logTime(await becameLeader(follower)) - killedAt;
    report(`takeover after SIGKILL: ${took} ms (bound ${election.leaseMs + election.retryMs} ms)`);
    assert.ok(took <= election.leaseMs + election.retryMs + SLACK_MS, `took over ${took} ms after SIGKILL`);
    await waitFor('the new leader’s gauge', () => follower.leading(), 5_000);

    // The renewal due during the takeover, then one the new leader scheduled itself.
    await until('two renewals by the new leader', () => history.tokens().length >= 4, 25_000);
    history.stop();
    const tokens = await checkHistory(history, auth);
    assert.equal(auth.tokenRequests(clientId), tokens.length, 'one token request per token written');
    await s.waitForCondition(TR, 'Ready', 'True');
  });

  it('SIGTERM: the leader drains, releases the Lease and exits 0; the other leads at once and keeps the fresh token', async (t) => {
    const { auth, ns, s, group } = await environment(t, 'ha-term', 12);
    const clientId = auth.clients.basic.clientId;
    await Promise.all([group.start({ name: 'a' }), group.start({ name: 'b' })]);
    const { leader, followers } = await group.leader();
    const [follower] = followers;
    assert.ok(follower);
    const history = await watchSecret(ns, TR);
    t.after(() => history.stop());
    await s.createIssuer('idp', auth);
    await s.createTokenRequest(TR, { issuerRef: { name: 'idp' }, renewBefore: '7s' });
    await s.waitForCondition(TR, 'Ready', 'True');
    assert.equal(auth.tokenRequests(clientId), 1);

    const termAt = Date.now();
    leader.kill('SIGTERM');
    const handover = logTime(await becameLeader(follower, 10_000)) - termAt;
    const exit = await leader.waitExit(10_000);
    report(`handover after SIGTERM: ${handover} ms; old leader exited after ${exit.at - termAt} ms`);
    assert.ok(handover <= election.retryMs + SLACK_MS, `led ${handover} ms after SIGTERM`);
    assert.equal(exit.code, 0, 'the old leader exits 0');
    assert.ok(exit.at - termAt <= 5_000, 'within the shutdown timeout');
    assert.ok(
      leader.logs.some((e) => e.msg === 'stopped' && e.drained === true && e.released === true),
      'drained and released',
    );

    // The new leader looks at the TokenRequest, keeps the fresh token, and renews when due.
    await follower.waitForLog(
      'the new leader to reconcile the TokenRequest',
      (e) => e.msg === 'decided' && e.name === TR && e.action === 'wait',
    );
    assert.equal(auth.tokenRequests(clientId), 1, 'no token request for a fresh token');
    await until('the renewal by the new leader', () => history.tokens().length >= 2, 15_000);
    history.stop();
    const tokens = await checkHistory(history, auth);
    assert.equal(auth.tokenRequests(clientId), tokens.length);
  });

  it('SIGTERM during a renewal: the token in flight is written, then the Lease is released', async (t) => {
    const { auth, ns, s, group } = await environment(t, 'ha-drain', 12);
    const proxy = await startFaultProxy(auth.issuer);
    t.after(() => proxy.close());
    await Promise.all([group.start({ name: 'a' }), group.start({ name: 'b' })]);
    const { leader, followers } = await group.leader();
    const [follower] = followers;
    assert.ok(follower);
    const history = await watchSecret(ns, TR);
    t.after(() => history.stop());
    await s.createIssuer('idp', auth, { issuerURL: proxy.url.href });
    await s.createTokenRequest(TR, { issuerRef: { name: 'idp' }, renewBefore: '7s' });
    await s.waitForCondition(TR, 'Ready', 'True');

    // The renewal takes 2.5 s at the server; SIGTERM arrives while it is in flight.
    proxy.failNext(1, { kind: 'delay', ms: 2_500 });
    await until('the renewal to be in flight', () => proxy.tokenRequests() === 2, 15_000);
    const termAt = Date.now();
    leader.kill('SIGTERM');
    const exit = await leader.waitExit(10_000);
    assert.equal(exit.code, 0);
    assert.ok(
      exit.at - termAt <= 5_000,
      `exited ${exit.at - termAt} ms after SIGTERM (shutdown timeout 5 s)`,
    );
    const signalled = leader.logs.findIndex((e) => e.msg === 'signal received');
    const renewed = leader.logs.findLastIndex((e) => e.msg === 'renewed' && e.name === TR);
    assert.ok(signalled >= 0 && renewed > signalled, 'the renewal in flight finished after the signal');
    assert.ok(leader.logs.some((e) => e.msg === 'stopped' && e.drained === true && e.released === true));
    const led = logTime(await becameLeader(follower, 10_000));
    assert.ok(led >= exit.at - 1_000, 'the other led only after the handover');
    report(
      `drained a 2.5 s renewal, exited ${exit.at - termAt} ms after SIGTERM; the other led ${led - exit.at} ms later`,
    );

    await follower.waitForLog(
      'the new leader to keep the token written during the drain',
      (e) => e.msg === 'decided' && e.name === TR && e.action === 'wait',
    );
    history.stop();
    const tokens = await checkHistory(history, auth);
    assert.equal(tokens.length, 2);
    assert.equal(auth.tokenRequests(auth.clients.basic.clientId), 2, 'nothing requested again');
  });

  it('a leader cut off from the API server stops before the other may take over', async (t) => {
    const { group } = await environment(t, 'ha-split', 600);
    const operatorKc = cluster.kubeConfig('operator');
    const proxy = await startTcpProxy(operatorKc.getCurrentCluster()?.server ?? '');
    const dir = await mkdtemp(join(tmpdir(), 'ha-split-'));
    t.after(async () => {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    });
    const viaProxy = join(dir, 'kubeconfig');
    await writeFile(viaProxy, kubeConfigVia(operatorKc, proxy.url).exportConfig(), { mode: 0o600 });

    const a = await group.start({ name: 'a', kubeconfigPath: viaProxy });
    await becameLeader(a);
    const b = await group.start({ name: 'b' });
    await b.waitForLog(
      'b to follow',
      (e) => e.msg === 'lease held by another replica' && e.holder === a.identity,
    );

    const lastRenewal = Date.now();
    proxy.freeze();
    proxy.refuse(true);
    const exit = await a.waitExit(10_000);
    assert.equal(exit.code, 1, 'a leader that lost its Lease exits 1');
    const lost = a.logs.find((e) => e.msg === 'leadership lost');
    assert.ok(lost, 'it says why');
    assert.match(String(lost.reason), /renew deadline/);
    const tookOver = logTime(await becameLeader(b));
    const margin = tookOver - logTime(lost);
    report(`partitioned leader stopped ${margin} ms before the other took over`);
    assert.ok(logTime(lost) - lastRenewal <= election.deadlineMs + SLACK_MS, 'at the renew deadline');
    assert.ok(margin > 0, `the old leader stopped ${-margin} ms after the new one started`);
  });

  it('an operator SIGKILLed in the middle of a renewal: its successor converges with at most one extra request', async (t) => {
    const { auth, ns, s, group } = await environment(t, 'ha-midway', 16);
    const proxy = await startFaultProxy(auth.issuer);
    t.after(() => proxy.close());
    const a = await group.start({ name: 'a' });
    await becameLeader(a);
    const history = await watchSecret(ns, TR);
    t.after(() => history.stop());
    await s.createIssuer('idp', auth, { issuerURL: proxy.url.href });
    await s.createTokenRequest(TR, { issuerRef: { name: 'idp' }, renewBefore: '9s' });
    await s.waitForCondition(TR, 'Ready', 'True');
    assert.equal(proxy.tokenRequests(), 1);

    // The renewal hangs at the token endpoint; the operator dies while waiting for it.
    proxy.failNext(1, { kind: 'hang' });
    await until('the renewal to be in flight', () => proxy.tokenRequests() === 2, 15_000);
    const killedAt = Date.now();
    a.kill('SIGKILL');
    await a.waitExit(5_000);
    const b = await group.start({ name: 'b' });
    const led = logTime(await becameLeader(b));
    report(`a fresh successor led ${led - killedAt} ms after the SIGKILL (it waits out the Lease)`);

    await until('a new token', () => history.tokens().length >= 2, 15_000);
    const tr = await s.waitForCondition(TR, 'Ready', 'True');
    history.stop();
    const tokens = await checkHistory(history, auth);
    const last = tokens.at(-1) ?? '';
    const { payload } = await jwtVerify(last, createRemoteJWKSet(auth.jwksUri), {
      issuer: auth.issuerIdentifier,
    });
    assert.ok((payload.exp ?? 0) * 1000 > Date.now(), 'the Secret holds a valid token now');
    assert.equal(tr.status?.failedAttempts ?? 0, 0, 'the successor’s request succeeded at once');
    assert.equal(
      auth.tokenRequests(auth.clients.basic.clientId),
      tokens.length,
      'the hung request never reached the server',
    );
    assert.ok(
      proxy.tokenRequests() <= tokens.length + 1,
      `${proxy.tokenRequests()} token requests for ${tokens.length} tokens: at most the interrupted one extra`,
    );
  });
});
