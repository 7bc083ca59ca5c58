// The leader election loop against an in-memory Lease with resourceVersions (409 on a stale
// write, as the API server answers) and a fake clock: who leads, when a follower takes over, when
// a leader that cannot renew steps down, and how a release hands over.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import type { LeaseTiming } from '../../../src/kube/lease.ts';
import { type ElectorClock, LeaderElector, type LeaseClient } from '../../../src/kube/lease-elector.ts';
import { jsonLogger } from '../../../src/log/logger.ts';
import { FakeClock } from './fake-clock.ts';

const timing: LeaseTiming = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 };

/** The API server's view of one Lease; what each candidate's calls do can be broken per candidate. */
class FakeLeaseStore {
  lease: V1Lease | undefined;
  #version = 0;
  readonly writes: { who: string; holder: string | undefined; at: number }[] = [];
  readonly reads: { who: string; at: number }[] = [];
  /** Candidates whose calls fail (500) or never answer. */
  readonly failing = new Set<string>();
  readonly hanging = new Set<string>();
  /** Candidates whose calls take effect at once but answer this much later (ms of the fake clock). */
  readonly latency = new Map<string, number>();
  /** Replace calls that answer 409 once, regardless of version. */
  conflictNext = 0;

  readonly clock: FakeClock;

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  client(who: string): LeaseClient {
    const gate = async () => {
      if (this.hanging.has(who)) await new Promise(() => {});
      if (this.failing.has(who)) throw Object.assign(new Error('injected'), { code: 500 });
    };
    const copy = (lease: V1Lease): V1Lease => JSON.parse(JSON.stringify(lease)) as V1Lease;
    const answer = async <T>(value: T): Promise<T> => {
      const ms = this.latency.get(who);
      if (ms !== undefined) await new Promise((resolve) => this.clock.setTimer(() => resolve(undefined), ms));
      return value;
    };
    return {
      get: async () => {
        await gate();
        this.reads.push({ who, at: this.clock.now() });
        return answer(this.lease && copy(this.lease));
      },
      create: async (spec) => {
        await gate();
        if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
        return answer(this.#write(who, spec));
      },
      replace: async (resourceVersion, spec) => {
        await gate();
        if (this.conflictNext > 0 || resourceVersion !== this.lease?.metadata?.resourceVersion) {
          this.conflictNext = Math.max(0, this.conflictNext - 1);
          throw Object.assign(new Error('conflict'), { code: 409 });
        }
        return answer(this.#write(who, spec));
      },
    };
  }

  /** Someone else (an admin, another controller) writes the Lease. */
  overwrite(spec: V1LeaseSpec): void {
    this.#write('outsider', spec);
  }

  #write(who: string, spec: V1LeaseSpec): V1Lease {
    this.#version++;
    this.lease = JSON.parse(
      JSON.stringify({
        metadata: { name: 'l', namespace: 'ns', resourceVersion: String(this.#version) },
        spec,
      }),
    ) as V1Lease;
    this.writes.push({ who, holder: spec.holderIdentity, at: this.clock.now() });
    return JSON.parse(JSON.stringify(this.lease)) as V1Lease;
  }
}

interface Candidate {
  name: string;
  elector: LeaderElector;
  started: number[];
  stopped: { at: number; reason: string }[];
}

function setup() {
  const clock = new FakeClock(1_000_000);
  const store = new FakeLeaseStore(clock);
  const electorClock: ElectorClock = {
    now: () => clock.now(),
    wallNow: () => new Date(clock.now()),
    setTimer: (fn, ms) => clock.setTimer(fn, ms),
    clearTimer: (handle) => clock.clearTimer(handle),
  };
  const logs: string[] = [];
  const candidate = (name: string): Candidate => {
    const c: Candidate = { name, started: [], stopped: [], elector: undefined as unknown as LeaderElector };
    c.elector = new LeaderElector({
      client: store.client(name),
      identity: name,
      timing,
      clock: electorClock,
      log: jsonLogger('debug', (line) => logs.push(line)),
      onStartedLeading: () => c.started.push(clock.now()),
      onStoppedLeading: (reason) => c.stopped.push({ at: clock.now(), reason }),
    });
    return c;
  };
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  /** Moves time in 50 ms steps, letting every async attempt settle between steps. */
  const advance = async (ms: number) => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      clock.advance(Math.min(50, end - clock.now()));
      await flush();
    }
  };
  /** Advances until `probe` holds; returns the time it took. */
  const until = async (what: string, probe: () => boolean, limitMs: number) => {
    const start = clock.now();
    while (!probe()) {
      if (clock.now() - start > limitMs) assert.fail(`${what}: not within ${limitMs} ms`);
      await advance(50);
    }
    return clock.now() - start;
  };
  return { clock, store, candidate, advance, until, flush, logs };
}

describe('LeaderElector', () => {
  it('the first candidate creates the Lease and leads; a second one follows and never writes', async () => {
    const { store, candidate, advance } = setup();
    const a = candidate('a');
    const b = candidate('b');
    a.elector.start();
    await advance(100);
    assert.equal(a.elector.leading, true);
    assert.equal(a.started.length, 1);
    b.elector.start();
    await advance(30_000);
    assert.equal(a.elector.leading, true);
    assert.equal(b.elector.leading, false);
    assert.deepEqual(b.started, []);
    assert.ok(store.writes.every((w) => w.who === 'a'));
    // One renewal per retry period, from the leader's cached Lease (no read before each write).
    assert.ok(store.writes.length >= 30 && store.writes.length <= 32, `${store.writes.length} writes`);
    assert.equal(store.reads.filter((r) => r.who === 'a').length, 1);
  });

  it('a follower takes over within lease duration + one retry period after the leader dies', async () => {
    const { store, candidate, advance, until, clock } = setup();
    const a = candidate('a');
    const b = candidate('b');
    a.elector.start();
    await advance(100);
    b.elector.start();
    // Kill at every phase of the retry period.
    await advance(5_000 + 370);
    const lastRenew = store.writes.at(-1)?.at ?? 0;
    await a.elector.stop(); // a crash: no release
    const killedAt = clock.now();
    const took = await until('b leads', () => b.elector.leading, 10_000);
    assert.ok(
      took <= timing.leaseDurationMs + timing.retryPeriodMs,
      `took ${took} ms after the kill (last renewal ${killedAt - lastRenew} ms before it)`,
    );
    assert.ok(clock.now() - lastRenew >= timing.leaseDurationMs, 'not before the lease could have expired');
    assert.equal(b.started.length, 1);
    assert.equal(store.lease?.spec?.holderIdentity, 'b');
    assert.equal(store.lease?.spec?.leaseTransitions, 1);
  });

  for (const fault of ['failing', 'hanging'] as const) {
    it(`a leader whose API calls are ${fault} steps down at the renew deadline, before a follower takes over`, async () => {
      const { store, candidate, advance, until } = setup();
      const a = candidate('a');
      const b = candidate('b');
      a.elector.start();
      await advance(100);
      b.elector.start();
      await advance(2_500);
      store[fault].add('a');
      const lastRenewStart = store.writes.at(-1)?.at ?? 0;
      await until('a steps down', () => a.stopped.length > 0, 10_000);
      const steppedDown = a.stopped[0]?.at ?? 0;
      assert.ok(steppedDown - lastRenewStart <= timing.renewDeadlineMs, 'at the renew deadline');
      assert.match(a.stopped[0]?.reason ?? '', /renew deadline/);
      assert.equal(a.elector.leading, false);
      await until('b leads', () => b.elector.leading, 10_000);
      const tookOver = b.started[0] ?? 0;
      assert.ok(
        tookOver - steppedDown >= timing.leaseDurationMs - timing.renewDeadlineMs,
        `a stopped ${tookOver - steppedDown} ms before b took over`,
      );
      // a wrote nothing after stepping down.
      assert.ok(store.writes.filter((w) => w.who === 'a').every((w) => w.at <= steppedDown));
    });
  }

  it('a leader that finds another holder in the Lease stops at once', async () => {
    const { store, candidate, advance, until } = setup();
    const a = candidate('a');
    a.elector.start();
    await advance(100);
    store.overwrite({ holderIdentity: 'intruder', leaseDurationSeconds: 4 });
    const took = await until('a steps down', () => a.stopped.length > 0, 5_000);
    assert.ok(took <= timing.retryPeriodMs + 100, `${took} ms`);
    assert.match(a.stopped[0]?.reason ?? '', /held by intruder/);
    assert.equal(store.lease?.spec?.holderIdentity, 'intruder', 'a did not overwrite it');
  });

  it('release hands over at once: the follower leads within one retry period', async () => {
    const { store, candidate, advance, until } = setup();
    const a = candidate('a');
    const b = candidate('b');
    a.elector.start();
    await advance(100);
    b.elector.start();
    await advance(6_000);
    assert.equal(await a.elector.release(), true);
    assert.equal(store.lease?.spec?.holderIdentity, '');
    assert.deepEqual(a.stopped, [], 'a release is not a loss');
    const took = await until('b leads', () => b.elector.leading, 5_000);
    assert.ok(took <= timing.retryPeriodMs, `${took} ms`);
    // Releasing again, or as a follower, changes nothing.
    assert.equal(await a.elector.release(), false);
  });

  it('on 409 a candidate reads the Lease again at once, then waits a retry period', async () => {
    const { store, candidate, advance, clock } = setup();
    const a = candidate('a');
    a.elector.start();
    await advance(100);
    store.conflictNext = 2;
    await advance(1_000);
    const rereads = store.reads.filter((r) => r.who === 'a').map((r) => r.at);
    assert.equal(rereads.length, 2, 'the first read, then one re-read at once after the conflict');
    assert.equal(a.elector.leading, true, 'one failed renewal is not a loss');
    await advance(timing.renewDeadlineMs);
    assert.equal(a.elector.leading, true);
    assert.ok((store.writes.at(-1)?.at ?? 0) > clock.now() - timing.retryPeriodMs - 100);
  });

  it('answers slower than the renew deadline never make a leader; once they speed up, it leads', async () => {
    const { store, candidate, advance, until } = setup();
    const a = candidate('a');
    store.latency.set('a', timing.renewDeadlineMs + 500);
    a.elector.start();
    await advance(20_000);
    assert.equal(store.lease?.spec?.holderIdentity, 'a', 'its writes landed');
    assert.deepEqual(a.started, [], 'but it never acted on them');
    assert.equal(a.elector.leading, false);
    store.latency.delete('a');
    await until('a leads', () => a.elector.leading, timing.renewDeadlineMs + timing.retryPeriodMs);
    assert.equal(a.started.length, 1);
  });

  it('a follower told to stop acquiring never takes the Lease, even when it expires', async () => {
    const { store, candidate, advance } = setup();
    const a = candidate('a');
    const b = candidate('b');
    a.elector.start();
    await advance(100);
    b.elector.start();
    await advance(1_000);
    b.elector.stopAcquiring();
    await a.elector.stop();
    await advance(20_000);
    assert.equal(b.elector.leading, false);
    assert.equal(store.lease?.spec?.holderIdentity, 'a');
  });
});
