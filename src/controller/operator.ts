// Wiring of the controllers: informers feed keyed work queues; one scheduler wakes
// TokenRequests when renewals and retries are due; the issuer controller tells TokenRequests
// when their issuer changed. Readiness means every cache has been listed once.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Namespace,
  type V1Secret,
} from '@kubernetes/client-node';
import {
  apiVersion,
  type ClusterTokenIssuer,
  ConditionType,
  Kind,
  Label,
  managedBy,
  Plural,
  type TokenIssuer,
  type TokenRequest,
} from '../api/index.ts';
import type { Config } from '../config/config.ts';
import { ApiTransportKubeConfig } from '../kube/api-transport.ts';
import { describeApiError, isNotFound } from '../kube/conflict.ts';
import { kubeEventRecorder } from '../kube/event-recorder.ts';
import { dropManagedFields, Informer, type InformerLogEntry } from '../kube/informer.ts';
import { NamedSecretWatches } from '../kube/named-secret-watches.ts';
import { RecentWrites } from '../kube/recent-writes.ts';
import { Scheduler } from '../kube/scheduler.ts';
import { WorkQueue } from '../kube/work-queue.ts';
import { SecretWriter, StatusWriter } from '../kube/writers.ts';
import type { Logger } from '../log/logger.ts';
import { createMetrics, type Metrics, type TokenRequestView } from '../metrics/metrics.ts';
import { createIssuerConfigCache } from '../oauth/index.ts';
import { findCondition, parseTime, retryAt } from '../renewal/index.ts';
import { issuerKeyOf, resolveIssuer } from './issuer-access.ts';
import { IssuerController, issuerKeyOfObject } from './issuers.ts';
import { KeyedLimiter } from './limiter.ts';
import { TokenRequestController, tokenRequestKey } from './token-requests.ts';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  config: Config;
  log: Logger;
  now?: () => Date;
  random?: () => number;
}

export interface Operator {
  readonly metrics: Metrics;
  /** startCaches, then startWorkers: for a single replica without leader election. */
  start(): Promise<void>;
  /** Starts every informer and waits until each has listed once; no work is done yet (a follower stops here). */
  startCaches(): Promise<void>;
  /** Processes queued and future work; only the leader calls this. */
  startWorkers(): void;
  /**
   * Stops taking work, lets in-flight reconciles finish (bounded), stops every watch. True when
   * in-flight work finished within the timeout.
   */
  stop(timeoutMs?: number): Promise<boolean>;
  synced(): boolean;
}

const issuerPrefix = 'issuer:';
const objectKey = (obj: KubernetesObject) => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

export function createOperator(options: OperatorOptions): Operator {
  const { config, log } = options;
  // One keep-alive connection pool, request counts and the --kube-api-qps limit for every API
  // client, informer and watch below.
  const kubeConfig = new ApiTransportKubeConfig(options.kubeConfig, {
    qps: config.kubeApiQps,
    burst: config.kubeApiBurst,
  });
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const informerLog = (what: string) => (entry: InformerLogEntry) => {
    const { level, event, ...fields } = entry;
    const flat = Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [
        k,
        typeof v === 'object' && v !== null ? JSON.stringify(v) : v,
      ]),
    ) as Record<string, string | number | boolean | undefined>;
    log[level === 'debug' ? 'debug' : level === 'info' ? 'info' : level === 'warn' ? 'warn' : 'error'](
      `watch ${event}`,
      { resource: what, ...flat },
    );
  };
  const crd = (plural: string) => ({ apiVersion, plural });
  const namespaces = config.namespaces;

  const tokenRequests = new Informer<TokenRequest>({
    kubeConfig,
    resource: crd(Plural.TokenRequest),
    namespaces,
    transform: (obj) => dropManagedFields(obj) as TokenRequest,
    log: informerLog(Plural.TokenRequest),
  });
  const tokenIssuers = new Informer<TokenIssuer>({
    kubeConfig,
    resource: crd(Plural.TokenIssuer),
    namespaces,
    transform: (obj) => dropManagedFields(obj) as TokenIssuer,
    log: informerLog(Plural.TokenIssuer),
  });
  const clusterTokenIssuers = new Informer<ClusterTokenIssuer>({
    kubeConfig,
    resource: crd(Plural.ClusterTokenIssuer),
    transform: (obj) => dropManagedFields(obj) as ClusterTokenIssuer,
    log: informerLog(Plural.ClusterTokenIssuer),
  });
  // Only the Secrets we manage: never a cache of every Secret in the cluster.
  const managedSecrets = new Informer<V1Secret>({
    kubeConfig,
    resource: { apiVersion: 'v1', plural: 'secrets' },
    namespaces,
    labelSelector: `${Label.ManagedBy}=${managedBy}`,
    transform: dropManagedFields,
    log: informerLog('secrets'),
  });
  // Namespace labels for ClusterTokenIssuer selectors: every namespace, or for an operator
  // limited to a list of namespaces exactly those (one field-selected watch each).
  const namespaceInformers = (namespaces === 'all' ? [undefined] : namespaces).map(
    (name) =>
      new Informer<V1Namespace>({
        kubeConfig,
        resource: { apiVersion: 'v1', plural: 'namespaces' },
        ...(name === undefined ? {} : { fieldSelector: `metadata.name=${name}` }),
        transform: dropManagedFields,
        log: informerLog('namespaces'),
      }),
  );
  const informers: Informer<KubernetesObject>[] = [
    tokenRequests,
    tokenIssuers,
    clusterTokenIssuers,
    managedSecrets,
    ...namespaceInformers,
  ] as Informer<KubernetesObject>[];

  const recentSecrets = new RecentWrites<V1Secret>();
  const recentTokenRequests = new RecentWrites<TokenRequest>();
  const scheduler = new Scheduler({
    onError: (err, key) => log.error('scheduler callback failed', { key, error: String(err) }),
  });

  const metrics = createMetrics({
    tokenRequests: () => tokenRequestViews(),
    scheduledRenewals: () => scheduler.size,
    kubeApiRequests: () => kubeConfig.requestCounts(),
    rateLimiterWaits: () => ({
      'kube-api': kubeConfig.throttledSeconds,
      issuer: issuerLimiter.rateWaitSeconds,
    }),
    workQueueDepths: () => ({
      tokenrequests: tokenRequestQueue.length + tokenRequestQueue.inFlight,
      issuers: issuerQueue.length + issuerQueue.inFlight,
    }),
  });

  const reportError = (what: string) => (err: unknown, key: string) => {
    log.error(`${what} reconcile failed`, { key, error: describeApiError(err) });
    const attempts = (apiFailures.get(key) ?? 0) + 1;
    apiFailures.set(key, attempts);
    scheduler.schedule(key, retryAt({ failedAttempts: attempts, now: now(), random }).at);
  };
  const apiFailures = new Map<string, number>();
  const tokenRequestQueue = new WorkQueue({
    concurrency: config.concurrency,
    onError: reportError('TokenRequest'),
  });
  const issuerQueue = new WorkQueue({ concurrency: 2, onError: reportError('issuer') });

  // issuer key → TokenRequest keys that use it, and back.
  const dependents = new Map<string, Set<string>>();
  const issuerOf = new Map<string, string>();
  const track = (trKey: string, tr: TokenRequest | undefined) => {
    const previous = issuerOf.get(trKey);
    const next = tr ? issuerKeyOf(tr) : undefined;
    if (previous === next) return;
    if (previous) dependents.get(previous)?.delete(trKey);
    if (next) {
      issuerOf.set(trKey, next);
      let set = dependents.get(next);
      if (!set) {
        set = new Set();
        dependents.set(next, set);
      }
      set.add(trKey);
    } else {
      issuerOf.delete(trKey);
    }
  };

  const issuerLimiter = new KeyedLimiter(config.issuerConcurrency, {
    qps: config.issuerQps,
    burst: config.issuerBurst,
  });
  const events = kubeEventRecorder(core, {
    now,
    onError: (err) => log.warn('event not recorded', { error: describeApiError(err) }),
    onDropped: (count) => log.warn('events dropped: too many were waiting to be recorded', { count }),
  });
  const statusWriter = new StatusWriter(custom);
  const secretWatches = new NamedSecretWatches({
    kubeConfig,
    onChange: (_ref, owners) => {
      for (const owner of owners) issuerQueue.add(`${issuerPrefix}${owner}`);
    },
    log: (entry) => informerLog(`secret ${entry.secret}`)(entry),
  });
  // Secrets in a TokenRequest's way are not ours, so not in the managed cache: each is watched
  // by name while the conflict lasts, so that removing it re-queues the TokenRequest at once.
  const conflictWatches = new NamedSecretWatches({
    kubeConfig,
    onChange: (_ref, owners) => {
      for (const owner of owners) tokenRequestQueue.add(owner);
    },
    log: (entry) => informerLog(`secret ${entry.secret}`)(entry),
  });

  const configs = createIssuerConfigCache();
  const issuers = new IssuerController({
    now,
    random,
    tokenIssuer: (ns, name) => tokenIssuers.get(ns, name),
    clusterTokenIssuer: (name) => clusterTokenIssuers.get(undefined, name),
    secrets: secretWatches,
    configs,
    status: statusWriter,
    events,
    retryAt: (key, at) => scheduler.schedule(`${issuerPrefix}${key}`, at),
    changed: (key) => {
      for (const trKey of dependents.get(key) ?? []) tokenRequestQueue.add(trKey);
    },
    clusterResourceNamespace: config.clusterResourceNamespace,
    outbound: config.outbound,
    log,
  });

  const controller = new TokenRequestController({
    now,
    random,
    tokenRequest: (ns, name) => {
      const key = tokenRequestKey(ns, name);
      return recentTokenRequests.freshest(key, tokenRequests.get(ns, name));
    },
    secret: (ns, name) => recentSecrets.freshest(`${ns}/${name}`, managedSecrets.get(ns, name)),
    readSecret: async (namespace, name) => {
      try {
        return await core.readNamespacedSecret({ namespace, name });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    watchConflict: (key, secret) =>
      secret ? conflictWatches.track(key, [secret]) : conflictWatches.release(key),
    issuerAccess: (tr) =>
      resolveIssuer(tr, {
        tokenIssuer: (ns, name) => tokenIssuers.get(ns, name),
        clusterTokenIssuer: (name) => clusterTokenIssuers.get(undefined, name),
        namespaceLabels: (ns) => {
          for (const informer of namespaceInformers) {
            const found = informer.get(undefined, ns);
            if (found) return (found.metadata?.labels ?? {}) as Record<string, string>;
          }
          return undefined;
        },
      }),
    issuerState: (key) => issuers.state(key),
    withIssuerSlot: (key, fn) => issuerLimiter.run(key, fn),
    secrets: new SecretWriter(core),
    status: statusWriter,
    wroteSecret: (secret) => recentSecrets.remember(objectKey(secret), secret),
    wroteTokenRequest: (tr) => recentTokenRequests.remember(objectKey(tr), tr),
    events,
    schedule: (key, at) => scheduler.schedule(key, at),
    unschedule: (key) => scheduler.cancel(key),
    metrics,
    log,
    minSafeLeadMs: config.minSafeLeadMs,
    defaultRenewBeforeMs: config.defaultRenewBeforeMs,
  });

  // Events → queues.
  // The echo of our own Secret or status write needs no reconcile: the one that wrote it has
  // already scheduled what comes next (a write that raced with a change has another version).
  tokenRequests.onEvent((event) => {
    const key = objectKey(event.object);
    const object = event.type === 'delete' ? undefined : event.object;
    const echo = recentTokenRequests.isEcho(key, object);
    recentTokenRequests.observe(key, object);
    track(key, object);
    if (!echo) tokenRequestQueue.add(key);
  });
  managedSecrets.onEvent((event) => {
    const secret = event.object;
    const key = objectKey(secret);
    const object = event.type === 'delete' ? undefined : secret;
    const echo = recentSecrets.isEcho(key, object);
    recentSecrets.observe(key, object);
    const owner = secret.metadata?.labels?.[Label.TokenRequest];
    if (owner && !echo) tokenRequestQueue.add(tokenRequestKey(secret.metadata?.namespace ?? '', owner));
  });
  const onIssuerEvent = (event: { object: TokenIssuer | ClusterTokenIssuer }) =>
    issuerQueue.add(`${issuerPrefix}${issuerKeyOfObject(event.object)}`);
  tokenIssuers.onEvent(onIssuerEvent);
  clusterTokenIssuers.onEvent(onIssuerEvent);
  const onNamespaceEvent = (event: { object: V1Namespace }) => {
    const namespace = event.object.metadata?.name ?? '';
    for (const [trKey, issuerKey] of issuerOf) {
      if (issuerKey.startsWith(`${Kind.ClusterTokenIssuer}/`) && trKey.startsWith(`${namespace}/`)) {
        tokenRequestQueue.add(trKey);
      }
    }
  };
  for (const informer of namespaceInformers) informer.onEvent(onNamespaceEvent);
  scheduler.onDue((key) => {
    if (key.startsWith(issuerPrefix)) issuerQueue.add(key);
    else tokenRequestQueue.add(key);
  });

  function* tokenRequestViews(): Iterable<TokenRequestView> {
    for (const tr of tokenRequests.list()) {
      const key = objectKey(tr);
      yield {
        namespace: tr.metadata.namespace ?? '',
        name: tr.metadata.name ?? '',
        ready: findCondition(tr.status?.conditions, ConditionType.Ready)?.status === 'True',
        expiresAt: parseTime(tr.status?.expirationTime),
        renewAt: scheduler.dueAt(key) ?? parseTime(tr.status?.renewalTime),
      };
    }
  }

  return {
    metrics,
    synced: () => informers.every((informer) => informer.hasSynced()),
    async start() {
      await startCaches();
      startWorkers();
    },
    startCaches,
    startWorkers,
    async stop(timeoutMs = 10_000) {
      scheduler.clear();
      const drained = await Promise.all([
        tokenRequestQueue.shutdown({ timeoutMs }),
        issuerQueue.shutdown({ timeoutMs }),
      ]);
      metrics.setLeader(false);
      await Promise.all([
        ...informers.map((informer) => informer.stop()),
        secretWatches.stop(),
        conflictWatches.stop(),
        configs.clear(),
      ]);
      await kubeConfig.close();
      return drained.every(Boolean);
    },
  };

  async function startCaches(): Promise<void> {
    for (const informer of informers) informer.start();
    await Promise.all(informers.map((informer) => informer.whenSynced()));
    log.info('caches synced', {
      tokenRequests: tokenRequests.size,
      managedSecrets: managedSecrets.size,
      issuers: tokenIssuers.size + clusterTokenIssuers.size,
    });
  }

  // Keys queued while following (from the initial lists and every event since) are reconciled
  // now: each is rescheduled from its status and Secret annotations, fresh tokens are kept.
  function startWorkers(): void {
    metrics.setLeader(true);
    issuerQueue.process(async (key) => {
      await issuers.reconcile(key.slice(issuerPrefix.length));
      apiFailures.delete(key);
    });
    tokenRequestQueue.process(async (key) => {
      await controller.reconcile(key);
      apiFailures.delete(key);
    });
    // Everything queued at start (each TokenRequest once) is done: e.g. how long a restart took.
    const began = Date.now();
    void tokenRequestQueue.whenIdle().then(() => {
      if (tokenRequestQueue.shuttingDown) return;
      log.info('initial reconcile done', {
        tokenRequests: tokenRequests.size,
        durationMs: Date.now() - began,
      });
    });
  }
}
