// Faults injected into the real processes during one multi-lifetime run (issue 5): kube-apiserver
// stopped and restarted; etcd stopped and restarted; etcd compacted while kube-apiserver is down,
// so every watch resumes from a resourceVersion that neither etcd nor the restarted server's watch
// cache holds, gets 410 and must relist (the watch cache alone already answers 410 to a watch
// resuming from before a restart: it starts at the current revision); the
// authorization server down for less than the lead and for longer than the remaining validity;
// a slow authorization server. Three TokenRequests with 12 s tokens renewed 4 s before expiry run
// through all of it, on a control plane of this file's own (the shared one must not be stopped),
// with the operator under deploy/'s identity.
//
// After each fault every TokenRequest converges to Ready with a valid token in its Secret, and
// the token requests made during the fault stay within the backoff's bounds (no hot loop). A
// watcher of this test's own (admin identity, reconnecting across every outage, relisting on
// 410) records every Secret version over the whole run: none may be empty, malformed (not a JWT
// signed by the authorization server) or expired on arrival, and it must have seen every token
// the operator says it wrote.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Secret,
  Watch,
} from '@kubernetes/client-node';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import {
  Annotation,
  group,
  Label,
  managedBy,
  Plural,
  type TokenRequest,
  version,
} from '../../../src/api/index.ts';
import { findCondition } from '../../../src/renewal/index.ts';
import { type AuthServer, startAuthServer } from '../../support/auth-server.ts';
import { freshNamespace } from '../../support/cluster.ts';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';
import { installCrds } from '../../support/crds.ts';
import { deployDir, kubectl, serviceAccountKubeConfig } from '../../support/deploy.ts';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.ts';
import { waitFor } from '../../support/net.ts';
import { startTestOperator, type TestOperator } from '../../support/operator.ts';
import { type ClientKind, scenario } from '../../support/scenario.ts';

const TTL_SECONDS = 12;
const LEAD = '4s';
const LEAD_MS = 4000;
/** The issuer's timeout; the slow authorization server stays below it. */
const ISSUER_TIMEOUT_MS = 3000;
const SLOW_MS = 1500;
const REQUESTS: { name: string; client: ClientKind }[] = [
  { name: 'alpha', client: 'basic' },
  { name: 'beta', client: 'post' },
  { name: 'gamma', client: 'privateKeyJwt' },
];

const verbose = Boolean(process.env.TOKEN_RENEWER_TEST_LOGS);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Token requests one TokenRequest may make during an outage of `outageMs`. Retries use full
 * jitter in a window that doubles per failure, but while the token is still valid the window is
 * at most a quarter of the remaining validity (not below 1 s), and after expiry at most the time
 * since it expired. Near the expiry of these short tokens that is the 1 s floor, a mean gap of
 * 0.5–1 s (the draw takes the upper half of a time-bound window): at most two attempts per second,
 * plus a few for the doubling phase and the retry
 * brought forward to the expiry. A hot loop would make hundreds.
 */
const maxAttempts = (outageMs: number) => Math.ceil((2 * Math.max(outageMs, 1000)) / 1000) + 5;

// ---- the watcher ------------------------------------------------------------------------------

interface SecretVersion {
  /** When the watcher received it. */
  at: number;
  name: string;
  resourceVersion: string;
  /** Through the watch, or found by a relist after 410. */
  via: 'watch' | 'list';
  token: string;
  /** JWT exp in ms, NaN if the token is not a JWT. */
  jwtExp: number;
  /** `token-renewer.io/expires-at`, ms. */
  expiresAt: number;
  /** What is wrong with it, if anything. */
  problems: string[];
}

interface RequestVersion {
  at: number;
  tr: TokenRequest;
}

interface Watcher {
  readonly secrets: SecretVersion[];
  readonly requests: RequestVersion[];
  /** Objects that went away (a Secret must never). */
  readonly deleted: string[];
  readonly relists: { resource: string; at: number; reason: string }[];
  readonly reconnects: () => number;
  stop(): Promise<void>;
}

/**
 * Every version of the managed Secrets and the TokenRequests in `ns`. Each watch resumes from the
 * last resourceVersion it saw after any failure (the API server down, etcd down) and relists on
 * 410, recording what the list shows that the watch had not.
 */
function startWatcher(
  kc: KubeConfig,
  ns: string,
  checkToken: (secret: V1Secret, at: number) => Promise<SecretVersion>,
): Watcher {
  const secrets: SecretVersion[] = [];
  const requests: RequestVersion[] = [];
  const deleted: string[] = [];
  const relists: Watcher['relists'] = [];
  let reconnects = 0;
  let stopped = false;
  /** Ends the watch each loop is waiting on. */
  const enders = new Set<() => void>();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const selector = `${Label.ManagedBy}=${managedBy}`;
  // Processed in order: token checks are async.
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (fn: () => Promise<void>) => {
    chain = chain.then(fn, fn);
  };

  const onSecret = (secret: V1Secret, via: 'watch' | 'list', at: number) =>
    enqueue(async () => {
      const version = await checkToken(secret, at);
      secrets.push({ ...version, via });
    });
  const onRequest = (tr: TokenRequest, at: number) => requests.push({ at, tr });

  async function run(
    resource: string,
    path: string,
    list: () => Promise<{ items: KubernetesObject[]; resourceVersion: string }>,
    onObject: (obj: KubernetesObject, via: 'watch' | 'list', at: number) => void,
    labelSelector?: string,
  ): Promise<void> {
    let rv = '';
    const last = new Map<string, string>();
    let relistReason = 'initial';
    while (!stopped) {
      if (rv === '') {
        try {
          const listed = await list();
          const at = Date.now();
          for (const item of listed.items) {
            const name = item.metadata?.name ?? '';
            if (last.get(name) === item.metadata?.resourceVersion) continue;
            last.set(name, item.metadata?.resourceVersion ?? '');
            onObject(item, 'list', at);
          }
          rv = listed.resourceVersion;
          relists.push({ resource, at, reason: relistReason });
        } catch {
          await sleep(100); // the API server is down: try again soon
        }
        continue;
      }
      const outcome = await new Promise<'expired' | 'ended'>((resolve) => {
        let settled = false;
        let controller: AbortController | undefined;
        const done = (how: 'expired' | 'ended') => {
          if (settled) return;
          settled = true;
          enders.delete(end);
          controller?.abort();
          resolve(how);
        };
        const end = () => done('ended');
        enders.add(end);
        new Watch(kc)
          .watch(
            path,
            { resourceVersion: rv, allowWatchBookmarks: true, ...(labelSelector ? { labelSelector } : {}) },
            (type: string, obj: KubernetesObject & { code?: number }) => {
              const at = Date.now();
              if (settled) return;
              if (type === 'ERROR') {
                done(obj.code === 410 ? 'expired' : 'ended');
                return;
              }
              const objectRv = obj.metadata?.resourceVersion;
              if (objectRv) rv = objectRv;
              if (type === 'BOOKMARK') return;
              const name = obj.metadata?.name ?? '';
              if (type === 'DELETED') {
                deleted.push(`${resource}/${name}`);
                last.delete(name);
                return;
              }
              last.set(name, objectRv ?? '');
              onObject(obj, 'watch', at);
            },
            (err: unknown) =>
              done((err as { statusCode?: number } | null)?.statusCode === 410 ? 'expired' : 'ended'),
          )
          .then(
            (c) => {
              controller = c;
              if (stopped || settled) c.abort();
            },
            () => done('ended'),
          );
      });
      if (outcome === 'expired') {
        rv = '';
        relistReason = 'expired';
      } else if (!stopped) {
        reconnects++;
        await sleep(100); // reconnect soon, resuming from rv
      }
    }
  }

  const loops = [
    run(
      'secrets',
      `/api/v1/namespaces/${ns}/secrets`,
      async () => {
        const listed = await core.listNamespacedSecret({ namespace: ns, labelSelector: selector });
        return { items: listed.items, resourceVersion: listed.metadata?.resourceVersion ?? '' };
      },
      (obj, via, at) => onSecret(obj as V1Secret, via, at),
      selector,
    ),
    run(
      'tokenrequests',
      `/apis/${group}/${version}/namespaces/${ns}/${Plural.TokenRequest}`,
      async () => {
        const listed = (await custom.listNamespacedCustomObject({
          group,
          version,
          namespace: ns,
          plural: Plural.TokenRequest,
        })) as { items: KubernetesObject[]; metadata?: { resourceVersion?: string } };
        return { items: listed.items, resourceVersion: listed.metadata?.resourceVersion ?? '' };
      },
      (obj, _via, at) => onRequest(obj as TokenRequest, at),
    ),
  ];

  return {
    secrets,
    requests,
    deleted,
    relists,
    reconnects: () => reconnects,
    async stop() {
      stopped = true;
      for (const end of enders) end();
      await Promise.all(loops);
      await chain;
    },
  };
}

// ---- the run ----------------------------------------------------------------------------------

interface Phase {
  name: string;
  start: number;
  /** When the fault ended (the component was back, or the fault cleared). */
  end: number;
  /** When every TokenRequest had converged again. */
  recovered: number;
  /** Token requests per TokenRequest during the fault. */
  requests: Record<string, number>;
}

describe('operator under faults of the control plane and the authorization server', {
  timeout: 300_000,
}, () => {
  let cp: ControlPlane;
  let admin: KubeConfig;
  let auth: AuthServer;
  let ns: string;
  let s: ReturnType<typeof scenario>;
  let operator: TestOperator;
  let watcher: Watcher;
  let jwks: ReturnType<typeof createLocalJWKSet>;
  const proxies = new Map<string, FaultProxy>();
  const phases: Phase[] = [];

  const log = (line: string) => {
    if (verbose) process.stderr.write(`[control-plane-faults] ${line}\n`);
  };

  before(async () => {
    cp = await startControlPlane({ log });
    admin = cp.kubeConfig();
    await installCrds(admin);
    await kubectl(cp.binDir, cp.kubeconfigPath(), ['apply', '-k', deployDir]);
    const operatorKc = await serviceAccountKubeConfig(admin, 'token-renewer', 'token-renewer');
    auth = await startAuthServer({ tokenTTLSeconds: TTL_SECONDS });
    jwks = createLocalJWKSet((await (await fetch(auth.jwksUri)).json()) as JSONWebKeySet);
    ns = await freshNamespace(admin, 'cp-faults');
    s = scenario(admin, ns);
    watcher = startWatcher(admin, ns, checkSecret);
    operator = await startTestOperator(admin, {
      namespaces: [ns],
      operatorKubeConfig: operatorKc,
      flags: ['--min-safe-lead=1s'],
    });
    for (const r of REQUESTS) {
      // One proxy per TokenRequest: request counts per TokenRequest.
      const proxy = await startFaultProxy(auth.issuer);
      proxies.set(r.name, proxy);
      await s.createIssuer(`idp-${r.name}`, auth, {
        client: r.client,
        issuerURL: proxy.url.href,
        spec: { timeout: `${ISSUER_TIMEOUT_MS / 1000}s` },
      });
      await s.createTokenRequest(r.name, {
        issuerRef: { name: `idp-${r.name}` },
        scopes: ['orders.read'],
        renewBefore: LEAD,
      });
    }
    await converged('start', 30_000);
  });

  after(async () => {
    await watcher?.stop();
    await operator?.stop();
    for (const proxy of proxies.values()) await proxy.close();
    await auth?.close();
    await cp?.stop();
    if (phases.length > 0) {
      log(
        phases
          .map(
            (p) =>
              `${p.name}: fault ${seconds(p.end - p.start)}, recovered ${seconds(p.recovered - p.end)} after it, token requests during it ${JSON.stringify(p.requests)}`,
          )
          .join('\n'),
      );
    }
  });

  async function checkSecret(secret: V1Secret, at: number): Promise<SecretVersion> {
    const problems: string[] = [];
    const raw = secret.data?.token;
    const token = raw === undefined ? '' : Buffer.from(raw, 'base64').toString();
    const expiresAt = Date.parse(secret.metadata?.annotations?.[Annotation.ExpiresAt] ?? '');
    let jwtExp = Number.NaN;
    if (token === '') problems.push('empty token');
    else {
      try {
        jwtExp = (decodeJwt(token).exp ?? Number.NaN) * 1000;
        // Signed by the authorization server, and not expired when it arrived.
        await jwtVerify(token, jwks, { issuer: auth.issuerIdentifier, currentDate: new Date(at) });
      } catch (err) {
        problems.push(
          (err as { code?: string }).code === 'ERR_JWT_EXPIRED'
            ? `expired on arrival (${at - jwtExp} ms after its exp)`
            : `not a valid JWT: ${(err as Error).message}`,
        );
      }
    }
    if (!Number.isFinite(expiresAt)) problems.push('no expires-at annotation');
    else if (expiresAt > jwtExp) problems.push('expires-at is later than the JWT exp');
    return {
      at,
      name: secret.metadata?.name ?? '',
      resourceVersion: secret.metadata?.resourceVersion ?? '',
      via: 'watch',
      token,
      jwtExp,
      expiresAt,
      problems,
    };
  }

  /** Every TokenRequest Ready with nothing failing, and a token in its Secret valid for another second. */
  async function allConverged(): Promise<boolean> {
    for (const r of REQUESTS) {
      const tr = await s.getTokenRequest(r.name);
      const ready = findCondition(tr.status?.conditions, 'Ready');
      const renewing = findCondition(tr.status?.conditions, 'Renewing');
      if (ready?.status !== 'True' || renewing?.reason !== 'UpToDate' || (tr.status?.failedAttempts ?? 0) > 0)
        return false;
      const secret = await s.getSecret(r.name);
      const token = secret?.data?.token ? Buffer.from(secret.data.token, 'base64').toString() : '';
      if (token === '' || (decodeJwt(token).exp ?? 0) * 1000 <= Date.now() + 1000) return false;
      if (secret?.metadata?.annotations?.[Annotation.ExpiresAt] !== tr.status?.expirationTime) return false;
    }
    return true;
  }

  async function converged(what: string, timeoutMs: number): Promise<number> {
    await waitFor(`every TokenRequest Ready with a valid token (${what})`, allConverged, timeoutMs).catch(
      async (err: Error) => {
        throw new Error(`${err.message}; state: ${await describeState()}`);
      },
    );
    return Date.now();
  }

  /** What each TokenRequest and Secret look like now, for a failure message (no token values). */
  async function describeState(): Promise<string> {
    const parts: string[] = [];
    for (const r of REQUESTS) {
      const tr = await s.getTokenRequest(r.name).catch(() => undefined);
      const secret = await s.getSecret(r.name).catch(() => undefined);
      const token = secret?.data?.token ? Buffer.from(secret.data.token, 'base64').toString() : '';
      const exp = token ? new Date((decodeJwt(token).exp ?? 0) * 1000).toISOString() : 'none';
      const recent = operator.logs
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((e) => e.name === r.name || String(e.key).endsWith(`/${r.name}`))
        .slice(-4)
        .map((e) => `${e.time} ${e.msg} ${e.reason ?? ''} ${e.message ?? e.error ?? ''}`);
      parts.push(
        `${r.name}: conditions ${JSON.stringify(tr?.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}: ${c.message}`))}, ` +
          `failedAttempts ${tr?.status?.failedAttempts}, token exp ${exp}, token requests ${proxies.get(r.name)?.tokenRequests()}, ` +
          `last log lines: ${recent.join(' | ')}`,
      );
    }
    return parts.join('\n');
  }

  /**
   * Records the phase: waits until everything converged again, checks that the token requests
   * of each TokenRequest during its fault window (default: the whole fault) stay within the
   * backoff's bounds and that no bad Secret version was written, and reports.
   */
  async function finish(
    t: TestContext,
    name: string,
    start: number,
    end: number,
    windows: Record<string, [number, number]> = {},
    recoveryTimeoutMs = 45_000,
  ): Promise<Phase> {
    const recovered = await converged(`after ${name}`, recoveryTimeoutMs);
    const requests: Record<string, number> = {};
    const bounds: Record<string, number> = {};
    for (const [tr, proxy] of proxies) {
      const [from, to] = windows[tr] ?? [start, end];
      const times = proxy.tokenRequestTimes().filter((time) => time >= from && time <= to);
      requests[tr] = times.length;
      bounds[tr] = maxAttempts(to - from);
      assert.ok(
        times.length <= (bounds[tr] ?? 0),
        `${tr}: ${times.length} token requests during a ${seconds(to - from)} fault (at most ${bounds[tr]}); ` +
          `ms between them: ${times
            .slice(1)
            .map((time, i) => time - (times[i] ?? 0))
            .join(', ')}`,
      );
    }
    const phase: Phase = { name, start, end, recovered, requests };
    phases.push(phase);
    const bad = watcher.secrets.filter((v) => v.at >= start && v.problems.length > 0);
    assert.deepEqual(
      bad.map((v) => `${v.name} rv ${v.resourceVersion}: ${v.problems.join(', ')}`),
      [],
      `no bad Secret version during or after the ${name}`,
    );
    const apiErrors = new Map<string, number>();
    for (const e of logsSince(start).filter((e) => e.msg === 'TokenRequest reconcile failed')) {
      const what = String(e.error).slice(0, 160);
      apiErrors.set(what, (apiErrors.get(what) ?? 0) + 1);
    }
    t.diagnostic(
      `${name}: reconciles failed on the API: ${[...apiErrors].map(([what, n]) => `${n}× ${what}`).join('; ') || 'none'}`,
    );
    t.diagnostic(
      `${name}: fault ${seconds(end - start)}, every TokenRequest Ready with a valid token ${seconds(recovered - end)} after it ended; ` +
        `token requests during it ${JSON.stringify(requests)} (bounds ${JSON.stringify(bounds)}); longest a Secret held an expired token: ${seconds(expiredExposure(start, recovered))}`,
    );
    return phase;
  }

  /** The longest time, within [from, to], that some Secret's latest version held an expired token. */
  function expiredExposure(from: number, to: number): number {
    let longest = 0;
    for (const r of REQUESTS) {
      const versions = watcher.secrets.filter((v) => v.name === r.name);
      for (const [i, v] of versions.entries()) {
        const replaced = versions[i + 1]?.at ?? to;
        const expiredFrom = Math.max(v.jwtExp, from);
        const expiredTo = Math.min(replaced, to);
        if (expiredTo > expiredFrom) longest = Math.max(longest, expiredTo - expiredFrom);
      }
    }
    return longest;
  }

  /** The operator's JSON log lines since `from`. */
  function logsSince(from: number): Record<string, unknown>[] {
    return operator.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => Date.parse(String(entry.time)) >= from);
  }

  const relistedSince = (from: number) =>
    logsSince(from).filter((e) => e.msg === 'watch listed' && e.reason === 'expired');

  /** The earliest renew-at among the Secrets. */
  async function nextRenewal(): Promise<{ name: string; at: number }> {
    let next = { name: '', at: Number.POSITIVE_INFINITY };
    for (const r of REQUESTS) {
      const at = Date.parse((await s.getSecret(r.name))?.metadata?.annotations?.[Annotation.RenewAt] ?? '');
      if (at < next.at) next = { name: r.name, at };
    }
    return next;
  }

  const setAll = (fault: Parameters<FaultProxy['setStandingFault']>[0]) => {
    for (const proxy of proxies.values()) proxy.setStandingFault(fault);
  };

  it('kube-apiserver stopped and restarted', async (t) => {
    const start = Date.now();
    await cp.stopApiServer({ graceMs: 0 });
    // Down for about one renewal period (renewals come every ~8 s; kube-apiserver then takes a
    // few seconds to start), so the renewals in it can be neither written nor reported.
    await sleep(6000);
    await cp.startApiServer();
    const end = Date.now();
    await finish(t, 'kube-apiserver restart', start, end);
  });

  it('etcd stopped and restarted', async (t) => {
    const start = Date.now();
    await cp.stopEtcd({ graceMs: 0 });
    await sleep(10_000);
    await cp.startEtcd();
    await waitFor('kube-apiserver ready again', () => cp.apiServerReady(), 60_000);
    const end = Date.now();
    await finish(t, 'etcd restart', start, end);
  });

  it('a watch forced past its resourceVersion (etcd compacted while kube-apiserver is down) relists', async (t) => {
    const start = Date.now();
    const before = await cp.etcdRevision();
    await cp.stopApiServer({ graceMs: 0 });
    // Changes meanwhile move the revision on; compaction then removes every revision the
    // operator's watches could resume from.
    await cp.advanceRevision(3);
    const compactedAt = await cp.compact();
    assert.ok(compactedAt >= before + 3);
    const res = await fetch(`${cp.etcdURL}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('/registry/').toString('base64'), revision: String(before) }),
    });
    assert.match(
      await res.text(),
      /required revision has been compacted/,
      'etcd no longer has the old revision',
    );
    await cp.startApiServer();
    const end = Date.now();
    await finish(t, 'compaction', start, end);
    // Every watch of the operator resumed from a compacted resourceVersion, got 410 and relisted.
    await waitFor(
      'the operator to relist its TokenRequests and Secrets after 410',
      async () => {
        const resources = new Set(relistedSince(start).map((e) => e.resource));
        return resources.has(Plural.TokenRequest) && resources.has('secrets');
      },
      60_000,
    );
    const ended = logsSince(start).filter((e) => e.msg === 'watch watch-ended' && e.reason === 'expired');
    assert.ok(
      ended.length > 0 && ended.every((e) => /^410 Expired: too old resource version/.test(String(e.error))),
    );
    t.diagnostic(
      `etcd revision ${before} before, compacted at ${compactedAt}; watches ended with 410: ${ended.map((e) => `${e.resource} (${e.error})`).join('; ')}; relisted: ${relistedSince(
        start,
      )
        .map((e) => e.resource)
        .join(', ')}`,
    );
  });

  it('the authorization server down for less than the lead', async (t) => {
    // Down from just before the next renewal, for half the lead.
    const next = await nextRenewal();
    await waitFor('the next renewal to come close', async () => Date.now() >= next.at - 500, 15_000);
    const start = Date.now();
    setAll({ kind: 'reset' });
    await sleep(LEAD_MS / 2);
    setAll(undefined);
    const end = Date.now();
    const phase = await finish(t, 'authorization server down < lead', start, end);
    assert.ok((phase.requests[next.name] ?? 0) >= 1, `${next.name} tried to renew during the outage`);
    // Retries never go past the expiry of a valid token: the renewal lands by then.
    assert.ok(expiredExposure(start, phase.recovered) < 1000, 'a renewal by the time the token expired');
    for (const v of watcher.requests.filter((v) => v.at >= start)) {
      assert.equal(findCondition(v.tr.status?.conditions, 'Ready')?.status, 'True', 'Ready throughout');
    }
    const failed = logsSince(start).filter((e) => e.msg === 'renewal failed');
    assert.ok(failed.length >= 1);
    for (const e of failed)
      assert.match(String(e.message), /^token request failed: network error( \([A-Z_]+\))?$/);
  });

  it('the authorization server down for longer than the remaining validity: Expired, then recovery', async (t) => {
    const start = Date.now();
    setAll({ kind: 'reset' });
    // Each TokenRequest's server comes back once its token has expired and Ready says so; the
    // retry then due (status.renewalTime while failing) must bring the new token.
    const windows: Record<string, [number, number]> = {};
    const due: Record<string, number> = {};
    await Promise.all(
      REQUESTS.map(async (r) => {
        let tr: TokenRequest | undefined;
        await waitFor(
          `${r.name} Ready=False/Expired`,
          async () => {
            tr = await s.getTokenRequest(r.name);
            const ready = findCondition(tr.status?.conditions, 'Ready');
            return ready?.status === 'False' && ready.reason === 'Expired';
          },
          (TTL_SECONDS + 10) * 1000,
        );
        proxies.get(r.name)?.setStandingFault(undefined);
        const cleared = Date.now();
        const first =
          proxies
            .get(r.name)
            ?.tokenRequestTimes()
            .find((time) => time >= start) ?? start;
        windows[r.name] = [first, cleared];
        due[r.name] = Date.parse(tr?.status?.renewalTime ?? '');
      }),
    );
    const end = Math.max(...Object.values(windows).map(([, cleared]) => cleared));
    // After the expiry only the backoff's cap bounds the next retry (up to 2^(k−1) s after the
    // k-th failure), so recovery waits for the retry the operator scheduled, however far.
    const lastDue = Math.max(...Object.values(due));
    assert.ok(Number.isFinite(lastDue), `a next attempt is scheduled: ${JSON.stringify(due)}`);
    assert.ok(lastDue <= end + 300_000, 'the next attempt is within the backoff cap (5 min)');
    await finish(
      t,
      'authorization server down > validity',
      start,
      end,
      windows,
      lastDue - Date.now() + 15_000,
    );
    const recoveries = REQUESTS.map((r) => {
      const cleared = windows[r.name]?.[1] ?? end;
      const next = watcher.secrets.find((v) => v.name === r.name && v.at >= cleared);
      assert.ok(next, `${r.name}: a new token after the server came back`);
      // At the retry scheduled during the outage: nothing else failed after the server was back.
      assert.ok(next.at <= (due[r.name] ?? 0) + 3000, `${r.name}: renewed at the retry that was due`);
      return `${r.name} ${seconds(next.at - cleared)} (retry due ${seconds((due[r.name] ?? 0) - cleared)} after)`;
    });
    for (const r of REQUESTS) {
      const expired = watcher.requests.find(
        (v) =>
          v.tr.metadata.name === r.name &&
          v.at >= start &&
          findCondition(v.tr.status?.conditions, 'Ready')?.reason === 'Expired',
      );
      assert.ok(expired, `${r.name} was seen Ready=False/Expired`);
      assert.match(
        findCondition(expired.tr.status?.conditions, 'Ready')?.message ?? '',
        /^token expired at \S+Z; renewal failing: token request failed: network error( \([A-Z_]+\))?$/,
      );
    }
    t.diagnostic(
      `failing from the first renewal attempt until Expired: ${REQUESTS.map((r) => `${r.name} ${seconds((windows[r.name]?.[1] ?? 0) - (windows[r.name]?.[0] ?? 0))}`).join(', ')}; ` +
        `a new token after the server came back: ${recoveries.join(', ')}`,
    );
  });

  it('a slow authorization server (below the issuer timeout)', async (t) => {
    const start = Date.now();
    setAll({ kind: 'delay', ms: SLOW_MS });
    // Long enough for every TokenRequest to renew once under the delay.
    await waitFor(
      'a renewal of every TokenRequest through the slow server',
      async () =>
        REQUESTS.every((r) => watcher.secrets.some((v) => v.name === r.name && v.at >= start + SLOW_MS)),
      (TTL_SECONDS + 5) * 1000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}; state: ${await describeState()}`);
    });
    setAll(undefined);
    const end = Date.now();
    await finish(t, 'slow authorization server', start, end);
    assert.deepEqual(
      logsSince(start).filter((e) => e.msg === 'renewal failed' || e.msg === 'TokenRequest reconcile failed'),
      [],
      'no failure: the delay stays below the timeout',
    );
    for (const r of REQUESTS) {
      const arrivals =
        proxies
          .get(r.name)
          ?.tokenRequestTimes()
          .filter((time) => time >= start && time <= end) ?? [];
      const written = watcher.secrets.filter(
        (v) => v.name === r.name && v.at >= start + SLOW_MS && v.at <= end + SLOW_MS,
      );
      assert.ok(written.length >= 1 && arrivals.length >= written.length);
      for (const v of written) {
        const sent = arrivals.findLast((time) => time <= v.at - SLOW_MS);
        assert.ok(sent !== undefined, `${r.name}: the request behind rv ${v.resourceVersion}`);
        // Expiry counts from when the request was sent, not from when the slow answer came.
        assert.ok(v.expiresAt <= sent + TTL_SECONDS * 1000, `${r.name}: expires-at counted from the request`);
        assert.ok(v.jwtExp - v.expiresAt >= 1000, `${r.name}: the JWT exp is later, by the delay`);
      }
    }
  });

  it('over the whole run: no empty, malformed or expired-on-arrival token, and every token seen', async (t) => {
    await watcher.stop();
    assert.deepEqual(
      watcher.deleted.filter((d) => d.startsWith('secrets/')),
      [],
      'no Secret was ever deleted',
    );
    const bad = watcher.secrets.filter((v) => v.problems.length > 0);
    assert.deepEqual(
      bad.map((v) => `${v.name} rv ${v.resourceVersion}: ${v.problems.join(', ')}`),
      [],
    );
    for (const r of REQUESTS) {
      const seen = new Set(watcher.secrets.filter((v) => v.name === r.name).map((v) => v.expiresAt));
      // Each write of a new token is logged with its expiry; the watcher saw each of them.
      const written = logsSince(0)
        .filter((e) => e.msg === 'renewed' && e.name === r.name)
        .map((e) => Math.floor(Date.parse(String(e.expiresAt)) / 1000) * 1000);
      const missed = written.filter((at) => !seen.has(at));
      assert.deepEqual(missed, [], `${r.name}: tokens written but never seen by the watcher`);
    }
    // How the operator's watches came back after each fault (they reconnect with backoff, so
    // some only within the next phase).
    const relists = phases.map((p, i) => {
      const until = phases[i + 1]?.start ?? Date.now();
      const resources = relistedSince(p.start)
        .filter((e) => Date.parse(String(e.time)) < until)
        .map((e) => e.resource);
      return `${p.name}: ${resources.join(', ') || 'none'}`;
    });
    t.diagnostic(`operator relists after 410, by phase: ${relists.join('; ')}`);
    const tokens = new Set(watcher.secrets.map((v) => v.token));
    const left = watcher.secrets.map((v) => v.jwtExp - v.at);
    t.diagnostic(
      `${watcher.secrets.length} Secret versions (${tokens.size} tokens, ${watcher.secrets.filter((v) => v.via === 'list').length} found by a relist), ` +
        `validity left on arrival min ${seconds(Math.min(...left))}; watcher reconnects ${watcher.reconnects()}, relists ${watcher.relists.filter((r) => r.reason === 'expired').length}; ` +
        `token requests ${[...proxies].map(([name, p]) => `${name}=${p.tokenRequests()}`).join(', ')}`,
    );
  });
});
