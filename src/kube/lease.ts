// Leader election decisions on a coordination.k8s.io/v1 Lease, with client-go's semantics and no
// I/O: given the Lease as last read, what this candidate has observed of it and when (by its own
// monotonic clock), it says whether to create, acquire, renew, or wait — and when to step down.
//
// Expiry is judged by the observer's clock, never by comparing the holder's renewTime with ours:
// a lease is expired once its record has stayed unchanged for leaseDurationSeconds since this
// candidate first saw it. Clock skew between replicas cannot shorten that. A leader counts its
// renew deadline from the *start* of its last successful renewal, which is no later than any
// follower's observation of it; renewDeadline < leaseDuration makes it stop writing before a
// follower could take over.
import { type V1Lease, type V1LeaseSpec, V1MicroTime } from '@kubernetes/client-node';

export interface LeaseTiming {
  /** How long followers wait after the record last changed before taking the lease (whole seconds). */
  leaseDurationMs: number;
  /** A leader that has not renewed for this long since its last successful renewal started steps down. */
  renewDeadlineMs: number;
  /** Between attempts to acquire or renew. */
  retryPeriodMs: number;
}

/** What a candidate has seen of the lease record, by its own clock. */
export interface Observation {
  /** Identifies one version of the record: any write by any holder changes it. */
  record: string;
  holder: string;
  durationMs: number;
  /** When (monotonic ms) this candidate first saw this version of the record. */
  at: number;
}

export type LeaseDecision =
  | { action: 'create' | 'acquire' | 'renew'; spec: V1LeaseSpec }
  | { action: 'wait'; holder: string; retryAt: number };

export interface DecideInput {
  /** The Lease as last read (or written by us); undefined when it does not exist. */
  lease: V1Lease | undefined;
  /** From `observe` on that same Lease. */
  observation: Observation | undefined;
  identity: string;
  /** Monotonic ms. */
  now: number;
  /** Wall-clock time for the timestamps written into the Lease (informational for others). */
  wallNow: Date;
  timing: LeaseTiming;
}

const timeText = (value: unknown): string =>
  value instanceof Date ? value.toISOString() : value === undefined ? '' : String(value);

/** Updates the observation from a freshly read Lease: its time moves only when the record changed. */
export function observe(
  previous: Observation | undefined,
  lease: V1Lease | undefined,
  now: number,
  fallbackDurationMs: number,
): Observation | undefined {
  if (!lease) return undefined;
  const spec = lease.spec ?? {};
  const record = JSON.stringify([
    spec.holderIdentity ?? '',
    spec.leaseDurationSeconds ?? 0,
    timeText(spec.acquireTime),
    timeText(spec.renewTime),
    spec.leaseTransitions ?? 0,
  ]);
  if (previous?.record === record) return previous;
  const seconds = spec.leaseDurationSeconds;
  return {
    record,
    holder: spec.holderIdentity ?? '',
    durationMs: seconds !== undefined && seconds > 0 ? seconds * 1000 : fallbackDurationMs,
    at: now,
  };
}

/** When the observed holder's claim runs out, by this candidate's clock. */
export function observedExpiry(observation: Observation): number {
  return observation.at + observation.durationMs;
}

export function decide(input: DecideInput): LeaseDecision {
  const { lease, observation, identity, now, wallNow, timing } = input;
  const stamp = new V1MicroTime(wallNow.getTime());
  const mine = (acquireTime: V1MicroTime, transitions: number): V1LeaseSpec => ({
    holderIdentity: identity,
    leaseDurationSeconds: Math.ceil(timing.leaseDurationMs / 1000),
    acquireTime,
    renewTime: stamp,
    leaseTransitions: transitions,
  });
  if (!lease) return { action: 'create', spec: mine(stamp, 0) };
  const spec = lease.spec ?? {};
  const transitions = spec.leaseTransitions ?? 0;
  const holder = spec.holderIdentity ?? '';
  if (holder === identity) {
    // Keep the original acquireTime: it says since when this holder leads.
    const acquired = spec.acquireTime ? new V1MicroTime(timeText(spec.acquireTime)) : stamp;
    return { action: 'renew', spec: mine(acquired, transitions) };
  }
  // Released (empty holder) or unchanged for longer than its duration: free to take.
  if (holder === '' || !observation || now >= observedExpiry(observation)) {
    return { action: 'acquire', spec: mine(stamp, transitions + 1) };
  }
  // Try again at the next retry, or exactly when the claim runs out if that is sooner: a follower
  // that waited a whole retry period past expiry would add it to every takeover.
  return {
    action: 'wait',
    holder,
    retryAt: Math.min(now + timing.retryPeriodMs, observedExpiry(observation)),
  };
}

/** The moment (monotonic ms) a leader must stop acting if it has not renewed since `renewStartedAt`. */
export function stepDownAt(renewStartedAt: number, timing: LeaseTiming): number {
  return renewStartedAt + timing.renewDeadlineMs;
}

/**
 * The spec that hands the lease over at once (client-go's ReleaseOnCancel): no holder, and a
 * duration of one second for any candidate that does not treat an empty holder as free.
 */
export function releasedSpec(spec: V1LeaseSpec | undefined, wallNow: Date): V1LeaseSpec {
  const stamp = new V1MicroTime(wallNow.getTime());
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: stamp,
    renewTime: stamp,
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}
