// Every Prometheus series the operator exports (prefix token_renewer_):
//
// Per TokenRequest (labels namespace, name), computed at scrape time from the controller's
// view, so a deleted TokenRequest leaves no stale series:
//   token_expiration_timestamp_seconds  when the token in the Secret expires
//   token_renewal_timestamp_seconds     when the next renewal (or retry) is scheduled
//   ready_status                        1 when Ready=True, else 0
// Operator-wide:
//   renewals_total{result,reason}       renewal attempts; result success|failure, reason a fixed code
//   token_endpoint_request_duration_seconds  histogram of token requests
//   renewal_lateness_seconds            histogram of actual − scheduled renewal start
//   scheduled_renewals                  entries in the renewal scheduler
//   tokenrequests                       TokenRequests seen
//   leader                              1 while this replica acts as leader
//   kube_api_requests_total{verb,resource,code}  requests to the API server (watches not counted)
//   rate_limiter_wait_seconds_total{limiter}     time spent waiting for a client-side rate limit
//                                       (limiter kube-api or issuer)
//   workqueue_depth{queue}              keys waiting or in flight in a work queue
// plus prom-client's Node.js process defaults. No label takes an unbounded value except the
// namespace/name of existing TokenRequests.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const prefix = 'token_renewer_';

export interface TokenRequestView {
  namespace: string;
  name: string;
  ready: boolean;
  expiresAt?: Date;
  renewAt?: Date;
}

export interface KubeApiRequestCount {
  verb: string;
  resource: string;
  code: string;
  count: number;
}

export interface MetricsSources {
  tokenRequests(): Iterable<TokenRequestView>;
  scheduledRenewals(): number;
  /** Cumulative API requests by verb, resource and status code. */
  kubeApiRequests?(): Iterable<KubeApiRequestCount>;
  /** Cumulative seconds spent waiting for each client-side rate limiter. */
  rateLimiterWaits?(): Record<string, number>;
  /** Keys waiting or in flight, per work queue. */
  workQueueDepths?(): Record<string, number>;
}

export interface Metrics {
  readonly registry: Registry;
  renewal(result: 'success' | 'failure', reason: string): void;
  tokenEndpointDuration(seconds: number, result: 'success' | 'failure'): void;
  renewalLateness(seconds: number): void;
  setLeader(isLeader: boolean): void;
}

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });

  const perRequest = (name: string, help: string, value: (tr: TokenRequestView) => number | undefined) =>
    new Gauge({
      name: `${prefix}${name}`,
      help,
      labelNames: ['namespace', 'name'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const tr of sources.tokenRequests()) {
          const v = value(tr);
          if (v !== undefined) this.set({ namespace: tr.namespace, name: tr.name }, v);
        }
      },
    });
  const seconds = (date?: Date) => (date === undefined ? undefined : date.getTime() / 1000);
  perRequest('token_expiration_timestamp_seconds', 'When the token in the Secret expires.', (tr) =>
    seconds(tr.expiresAt),
  );
  perRequest('token_renewal_timestamp_seconds', 'When the next renewal or retry is scheduled.', (tr) =>
    seconds(tr.renewAt),
  );
  perRequest('ready_status', '1 when the TokenRequest is Ready, else 0.', (tr) => (tr.ready ? 1 : 0));

  new Gauge({
    name: `${prefix}tokenrequests`,
    help: 'TokenRequests seen by the operator.',
    registers: [registry],
    collect() {
      let n = 0;
      for (const _ of sources.tokenRequests()) n++;
      this.set(n);
    },
  });
  new Gauge({
    name: `${prefix}scheduled_renewals`,
    help: 'Renewals and retries waiting in the scheduler.',
    registers: [registry],
    collect() {
      this.set(sources.scheduledRenewals());
    },
  });
  const renewals = new Counter({
    name: `${prefix}renewals_total`,
    help: 'Renewal attempts by result and reason.',
    labelNames: ['result', 'reason'] as const,
    registers: [registry],
  });
  const endpointDuration = new Histogram({
    name: `${prefix}token_endpoint_request_duration_seconds`,
    help: 'Duration of token endpoint requests.',
    labelNames: ['result'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const lateness = new Histogram({
    name: `${prefix}renewal_lateness_seconds`,
    help: 'Actual minus scheduled start of a renewal.',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  // Cumulative values kept by their sources, set at scrape time: never reset between scrapes.
  new Counter({
    name: `${prefix}kube_api_requests_total`,
    help: 'Requests to the Kubernetes API server by verb, resource and status code (watches not counted).',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [registry],
    collect() {
      if (!sources.kubeApiRequests) return;
      this.reset();
      for (const { verb, resource, code, count } of sources.kubeApiRequests()) {
        this.inc({ verb, resource, code }, count);
      }
    },
  });
  new Counter({
    name: `${prefix}rate_limiter_wait_seconds_total`,
    help: 'Time spent waiting for a client-side rate limit (kube-api: API requests, issuer: token requests).',
    labelNames: ['limiter'] as const,
    registers: [registry],
    collect() {
      if (!sources.rateLimiterWaits) return;
      this.reset();
      for (const [limiter, seconds] of Object.entries(sources.rateLimiterWaits())) {
        this.inc({ limiter }, seconds);
      }
    },
  });
  new Gauge({
    name: `${prefix}workqueue_depth`,
    help: 'Keys waiting or in flight in a work queue.',
    labelNames: ['queue'] as const,
    registers: [registry],
    collect() {
      if (!sources.workQueueDepths) return;
      for (const [queue, depth] of Object.entries(sources.workQueueDepths())) this.set({ queue }, depth);
    },
  });
  const leader = new Gauge({
    name: `${prefix}leader`,
    help: '1 while this replica acts as leader.',
    registers: [registry],
  });

  return {
    registry,
    renewal: (result, reason) => renewals.inc({ result, reason }),
    tokenEndpointDuration: (s, result) => endpointDuration.observe({ result }, s),
    renewalLateness: (s) => lateness.observe(Math.max(0, s)),
    setLeader: (isLeader) => leader.set(isLeader ? 1 : 0),
  };
}
