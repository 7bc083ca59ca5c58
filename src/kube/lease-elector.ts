// The imperative shell of leader election: a loop that reads and writes the Lease through a small
// client, asks src/kube/lease.ts what to do, and tells its owner when leadership starts and when it
// is lost. One attempt at a time; a leader renews every retry period from the start of the
// previous attempt, and a timer independent of any hanging request fires at the renew deadline.
import {
  CoordinationV1Api,
  type KubeConfig,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
  type V1Lease,
  type V1LeaseSpec,
} from '@kubernetes/client-node';
import type { Logger } from '../log/logger.ts';
import { describeApiError, isNotFound } from './conflict.ts';
import { decide, type LeaseTiming, type Observation, observe, releasedSpec, stepDownAt } from './lease.ts';
import type { SchedulerClock } from './scheduler.ts';

/** The three calls leader election needs, on one named Lease. */
export interface LeaseClient {
  get(): Promise<V1Lease | undefined>;
  create(spec: V1LeaseSpec): Promise<V1Lease>;
  /** Fails with 409 when `resourceVersion` is no longer current. */
  replace(resourceVersion: string, spec: V1LeaseSpec): Promise<V1Lease>;
}

/** `now` must be monotonic: wall-clock steps must not shorten or stretch a lease. */
export interface ElectorClock extends SchedulerClock {
  wallNow(): Date;
}

export const realElectorClock: ElectorClock = {
  now: () => performance.now(),
  wallNow: () => new Date(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface LeaderElectorOptions {
  client: LeaseClient;
  identity: string;
  timing: LeaseTiming;
  log: Logger;
  clock?: ElectorClock;
  onStartedLeading(): void;
  /** Leadership ended other than by release(): the Lease was taken, or not renewed in time. */
  onStoppedLeading(reason: string): void;
}

const isConflictStatus = (err: unknown) => (err as { code?: unknown })?.code === 409;

export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly #clock: ElectorClock;
  #running = false;
  #leading = false;
  /** The Lease as last read or written; undefined: read it before deciding. */
  #lease: V1Lease | undefined;
  #observation: Observation | undefined;
  #timer: unknown;
  #deadline: unknown;
  #attempt: Promise<void> | undefined;
  #rereadNow = false;
  #lastHolder: string | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#o = options;
    this.#clock = options.clock ?? realElectorClock;
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm(0);
  }

  /** No further attempts to acquire; a leader keeps renewing (while it drains) until release(). */
  stopAcquiring(): void {
    if (!this.#leading) {
      this.#running = false;
      this.#clearTimers();
    }
  }

  /** Stops the loop without touching the Lease (it then expires on its own). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#leading = false;
    this.#clearTimers();
    await this.#attempt;
  }

  /** Stops the loop and, if this candidate holds the Lease, hands it over at once. */
  async release(): Promise<boolean> {
    await this.stop();
    const { client, identity, log } = this.#o;
    for (let tries = 0; tries < 2; tries++) {
      try {
        const lease = this.#lease ?? (await client.get());
        if (lease?.spec?.holderIdentity !== identity) return false;
        this.#lease = await client.replace(
          lease.metadata?.resourceVersion ?? '',
          releasedSpec(lease.spec, this.#clock.wallNow()),
        );
        log.info('lease released', { identity });
        return true;
      } catch (err) {
        this.#lease = undefined;
        if (!isConflictStatus(err)) {
          log.warn('lease not released', { identity, error: describeApiError(err) });
          return false;
        }
      }
    }
    return false;
  }

  #arm(delayMs: number): void {
    this.#clock.clearTimer(this.#timer);
    this.#timer = this.#clock.setTimer(
      () => {
        this.#timer = undefined;
        this.#attempt = this.#tryAcquireOrRenew().finally(() => {
          this.#attempt = undefined;
        });
      },
      Math.max(0, delayMs),
    );
  }

  #clearTimers(): void {
    this.#clock.clearTimer(this.#timer);
    this.#clock.clearTimer(this.#deadline);
    this.#timer = undefined;
    this.#deadline = undefined;
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const { client, identity, timing, log } = this.#o;
    const started = this.#clock.now();
    let next = started + timing.retryPeriodMs;
    let conflict = false;
    try {
      // A leader writes from the Lease it last wrote; a conflict makes it read again.
      if (!this.#leading || !this.#lease) {
        this.#lease = await client.get();
        this.#observation = observe(
          this.#observation,
          this.#lease,
          this.#clock.now(),
          timing.leaseDurationMs,
        );
      }
      if (!this.#running) return;
      const decision = decide({
        lease: this.#lease,
        observation: this.#observation,
        identity,
        now: this.#clock.now(),
        wallNow: this.#clock.wallNow(),
        timing,
      });
      if (decision.action === 'wait') {
        if (this.#leading) {
          this.#lose(`the lease is held by ${decision.holder}`);
          return;
        }
        if (decision.holder !== this.#lastHolder) {
          this.#lastHolder = decision.holder;
          log.info('lease held by another replica', { holder: decision.holder, identity });
        }
        next = decision.retryAt;
        return;
      }
      const written =
        decision.action === 'create'
          ? await client.create(decision.spec)
          : await client.replace(this.#lease?.metadata?.resourceVersion ?? '', decision.spec);
      this.#lease = written;
      this.#observation = observe(this.#observation, written, this.#clock.now(), timing.leaseDurationMs);
      if (!this.#running) return;
      const deadline = stepDownAt(started, timing);
      if (this.#clock.now() >= deadline) {
        // The write took longer than the deadline: too late to count on it. A leader stops; a
        // candidate does not start, and renews (or finds itself ousted) on its next attempt.
        if (this.#leading) this.#lose('renewing the lease took longer than the renew deadline');
        return;
      }
      this.#clock.clearTimer(this.#deadline);
      this.#deadline = this.#clock.setTimer(
        () => this.#lose('the lease was not renewed within the renew deadline'),
        deadline - this.#clock.now(),
      );
      if (!this.#leading) {
        this.#leading = true;
        this.#lastHolder = identity;
        log.info('became leader', { identity, action: decision.action });
        this.#call(() => this.#o.onStartedLeading());
      }
    } catch (err) {
      this.#lease = undefined;
      conflict = isConflictStatus(err);
      if (!conflict || this.#rereadNow) {
        log.warn('lease not acquired or renewed', {
          identity,
          leading: this.#leading,
          error: describeApiError(err),
        });
      }
    } finally {
      // 409: someone else wrote; read again at once, but only once in a row.
      if (conflict && !this.#rereadNow) next = this.#clock.now();
      this.#rereadNow = conflict && !this.#rereadNow;
      if (this.#running) this.#arm(next - this.#clock.now());
    }
  }

  #lose(reason: string): void {
    const wasLeading = this.#leading;
    this.#running = false;
    this.#leading = false;
    this.#clearTimers();
    if (!wasLeading) return;
    this.#o.log.error('leadership lost', { identity: this.#o.identity, reason });
    this.#call(() => this.#o.onStoppedLeading(reason));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#o.log.error('leader election callback failed', { error: String(err) });
    }
  }
}

/**
 * The Lease `namespace/name` through the generated CoordinationV1Api; every request is bounded by
 * `requestTimeoutMs`, so a hanging API server cannot stall the loop.
 */
export function kubeLeaseClient(
  kubeConfig: KubeConfig,
  ref: { namespace: string; name: string },
  requestTimeoutMs: number,
): LeaseClient {
  const api = kubeConfig.makeApiClient(CoordinationV1Api);
  // The object-parameter API runs observable-style middleware (client-node's own stub).
  const timeout: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(AbortSignal.timeout(requestTimeoutMs));
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
  const options = { middleware: [timeout], middlewareMergeStrategy: 'append' as const };
  const body = (spec: V1LeaseSpec, resourceVersion?: string): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { ...ref, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    spec,
  });
  return {
    async get() {
      try {
        return await api.readNamespacedLease(ref, options);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    create: (spec) => api.createNamespacedLease({ namespace: ref.namespace, body: body(spec) }, options),
    replace: (resourceVersion, spec) =>
      api.replaceNamespacedLease({ ...ref, body: body(spec, resourceVersion) }, options),
  };
}
