import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import {
  decide,
  type LeaseDecision,
  type LeaseTiming,
  type Observation,
  observe,
  observedExpiry,
  releasedSpec,
  stepDownAt,
} from '../../../src/kube/lease.ts';

const timing: LeaseTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const me = 'pod-a_1234';
const other = 'pod-b_5678';
const wall = new Date('2026-03-01T12:00:00.000Z');

const lease = (spec: V1LeaseSpec, resourceVersion = '7'): V1Lease => ({
  metadata: { name: 'token-renewer', namespace: 'ops', resourceVersion },
  spec,
});
const heldBy = (holder: string, extra: V1LeaseSpec = {}) =>
  lease({
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: '2026-03-01T11:00:00.000000Z' as unknown as V1LeaseSpec['acquireTime'],
    renewTime: '2026-03-01T11:59:58.000000Z' as unknown as V1LeaseSpec['renewTime'],
    leaseTransitions: 3,
    ...extra,
  });

/** The lease as read at monotonic time `observedAt`, then decided at `now`. */
function decideAt(current: V1Lease | undefined, observedAt: number, now: number): LeaseDecision {
  const observation = observe(undefined, current, observedAt, timing.leaseDurationMs);
  return decide({ lease: current, observation, identity: me, now, wallNow: wall, timing });
}

const summary = (d: LeaseDecision) =>
  d.action === 'wait'
    ? { action: d.action, holder: d.holder, retryAt: d.retryAt }
    : {
        action: d.action,
        holder: d.spec.holderIdentity,
        transitions: d.spec.leaseTransitions,
        seconds: d.spec.leaseDurationSeconds,
        acquired: new Date(String(d.spec.acquireTime?.toISOString())).toISOString(),
        renewed: d.spec.renewTime?.toISOString(),
      };

describe('lease decisions', () => {
  const cases: [string, V1Lease | undefined, number, number, ReturnType<typeof summary>][] = [
    [
      'no Lease yet: create it, holding it',
      undefined,
      0,
      0,
      {
        action: 'create',
        holder: me,
        transitions: 0,
        seconds: 15,
        acquired: wall.toISOString(),
        renewed: '2026-03-01T12:00:00.000000Z',
      },
    ],
    [
      'held by me: renew, keeping acquireTime and the transition count',
      heldBy(me),
      100,
      100,
      {
        action: 'renew',
        holder: me,
        transitions: 3,
        seconds: 15,
        acquired: '2026-03-01T11:00:00.000Z',
        renewed: '2026-03-01T12:00:00.000000Z',
      },
    ],
    [
      'released (no holder): acquire at once, one more transition',
      heldBy('', { leaseDurationSeconds: 1 }),
      100,
      100,
      {
        action: 'acquire',
        holder: me,
        transitions: 4,
        seconds: 15,
        acquired: wall.toISOString(),
        renewed: '2026-03-01T12:00:00.000000Z',
      },
    ],
    [
      'held by another, just observed: wait one retry period',
      heldBy(other),
      100,
      100,
      { action: 'wait', holder: other, retryAt: 2_100 },
    ],
    [
      'held by another, expiring before the next retry: wait exactly until it expires',
      heldBy(other),
      100,
      14_000,
      { action: 'wait', holder: other, retryAt: 15_100 },
    ],
    [
      'held by another, unchanged for its whole duration by my clock: take it over',
      heldBy(other),
      100,
      15_100,
      {
        action: 'acquire',
        holder: me,
        transitions: 4,
        seconds: 15,
        acquired: wall.toISOString(),
        renewed: '2026-03-01T12:00:00.000000Z',
      },
    ],
    [
      // The holder's clock runs an hour behind ours: its renewTime looks stale, but it is alive.
      'held by another whose renewTime looks an hour old (skew): still wait, my clock decides',
      heldBy(other, { renewTime: '2026-03-01T11:00:00.000000Z' as unknown as V1LeaseSpec['renewTime'] }),
      100,
      100,
      { action: 'wait', holder: other, retryAt: 2_100 },
    ],
    [
      'held by another with a short advertised duration: its own duration counts',
      heldBy(other, { leaseDurationSeconds: 5 }),
      100,
      5_100,
      {
        action: 'acquire',
        holder: me,
        transitions: 4,
        seconds: 15,
        acquired: wall.toISOString(),
        renewed: '2026-03-01T12:00:00.000000Z',
      },
    ],
  ];
  for (const [what, current, observedAt, now, expected] of cases) {
    it(what, () => {
      assert.deepEqual(summary(decideAt(current, observedAt, now)), expected);
    });
  }
});

describe('lease observation', () => {
  it('keeps the time a record was first seen while it stays the same', () => {
    const first = observe(undefined, heldBy(other), 1_000, timing.leaseDurationMs);
    const again = observe(first, heldBy(other, {}), 9_000, timing.leaseDurationMs);
    assert.equal(again?.at, 1_000);
    assert.equal(again && observedExpiry(again), 16_000);
  });

  it('restarts the clock when the holder renews (any field of the record changes)', () => {
    const first = observe(undefined, heldBy(other), 1_000, timing.leaseDurationMs);
    const renewed = observe(
      first,
      heldBy(other, { renewTime: '2026-03-01T12:00:05.000000Z' as unknown as V1LeaseSpec['renewTime'] }),
      9_000,
      timing.leaseDurationMs,
    );
    assert.equal(renewed?.at, 9_000);
  });

  it('reads times given as Date objects (written by us) and as strings (read back) alike', () => {
    const written = decide({
      lease: undefined,
      observation: undefined,
      identity: me,
      now: 0,
      wallNow: wall,
      timing,
    });
    assert.notEqual(written.action, 'wait');
    if (written.action === 'wait') return;
    const asWritten = observe(undefined, lease(written.spec), 0, timing.leaseDurationMs);
    const readBack = JSON.parse(JSON.stringify(lease(written.spec))) as V1Lease;
    assert.equal(observe(asWritten, readBack, 5_000, timing.leaseDurationMs), asWritten);
  });

  it('falls back to the configured duration when the record has none', () => {
    const o = observe(undefined, lease({ holderIdentity: other }), 0, 7_000) as Observation;
    assert.equal(o.durationMs, 7_000);
  });

  it('observes nothing when there is no Lease', () => {
    assert.equal(observe(undefined, undefined, 0, 1), undefined);
  });
});

describe('stepping down', () => {
  it('the leader stops before any follower may take over, whatever the latencies', () => {
    // Renewal starts at s, lands at the server at c ≥ s, a follower sees it at o ≥ c.
    for (const [s, c, o] of [
      [0, 0, 0],
      [0, 900, 900],
      [0, 9_999, 12_000],
    ] as const) {
      assert.ok(c >= s && o >= c);
      const follower = observe(undefined, heldBy(other), o, timing.leaseDurationMs) as Observation;
      assert.ok(stepDownAt(s, timing) < observedExpiry(follower), `s=${s} c=${c} o=${o}`);
    }
  });

  it('release clears the holder and shortens the duration to one second', () => {
    const spec = releasedSpec(heldBy(me).spec, wall);
    assert.equal(spec.holderIdentity, '');
    assert.equal(spec.leaseDurationSeconds, 1);
    assert.equal(spec.leaseTransitions, 3);
    assert.equal(spec.renewTime?.toISOString(), '2026-03-01T12:00:00.000000Z');
  });
});
