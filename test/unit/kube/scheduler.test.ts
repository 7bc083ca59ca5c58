import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maxTimerDelayMs, Scheduler } from '../../../src/kube/scheduler.ts';
import { FakeClock } from './fake-clock.ts';

const day = 24 * 60 * 60 * 1000;

function setup() {
  const clock = new FakeClock();
  const fired: { key: string; at: number }[] = [];
  const fires: { key: string; scheduledAt: number; firedAt: number }[] = [];
  const scheduler = new Scheduler({
    clock,
    onFire: (key, scheduledAt, firedAt) =>
      fires.push({ key, scheduledAt: scheduledAt.getTime(), firedAt: firedAt.getTime() }),
  });
  scheduler.onDue((key) => fired.push({ key, at: clock.now() }));
  const at = (ms: number) => new Date(clock.now() + ms);
  return { clock, scheduler, fired, fires, at };
}

describe('Scheduler', () => {
  it('fires keys in order of their due time, each at its time', () => {
    const { clock, scheduler, fired, at } = setup();
    const t0 = clock.now();
    scheduler.schedule('c', at(300));
    scheduler.schedule('a', at(100));
    scheduler.schedule('b', at(200));
    clock.advance(99);
    assert.deepEqual(fired, []);
    clock.advance(1000);
    assert.deepEqual(fired, [
      { key: 'a', at: t0 + 100 },
      { key: 'b', at: t0 + 200 },
      { key: 'c', at: t0 + 300 },
    ]);
    assert.equal(scheduler.size, 0);
  });

  it('replaces a key’s previous time, later or earlier', () => {
    const { clock, scheduler, fired, at } = setup();
    const t0 = clock.now();
    scheduler.schedule('a', at(100));
    scheduler.schedule('a', at(500));
    scheduler.schedule('b', at(400));
    scheduler.schedule('b', at(50));
    assert.equal(scheduler.size, 2);
    assert.equal(scheduler.dueAt('a')?.getTime(), t0 + 500);
    clock.advance(1000);
    assert.deepEqual(fired, [
      { key: 'b', at: t0 + 50 },
      { key: 'a', at: t0 + 500 },
    ]);
  });

  it('cancels a key, and disarms the timer when nothing is left', () => {
    const { clock, scheduler, fired, at } = setup();
    scheduler.schedule('a', at(100));
    scheduler.schedule('b', at(200));
    assert.equal(scheduler.cancel('a'), true);
    assert.equal(scheduler.cancel('a'), false);
    assert.equal(scheduler.nextDue()?.key, 'b');
    assert.equal(scheduler.cancel('b'), true);
    assert.equal(clock.timers.size, 0);
    assert.equal(scheduler.nextDue(), undefined);
    clock.advance(1000);
    assert.deepEqual(fired, []);
  });

  it('keeps one timer, re-armed only when the earliest entry changes', () => {
    const { clock, scheduler, at } = setup();
    for (let i = 1; i <= 1000; i++) {
      scheduler.schedule(`k${i}`, at(i * 1000));
      assert.ok(clock.timers.size <= 1);
    }
    assert.equal(clock.armed.length, 1, 'later entries do not touch the timer');
    scheduler.schedule('early', at(10));
    assert.equal(clock.timers.size, 1);
    assert.equal(clock.armed.length, 2);
    scheduler.cancel('k500');
    assert.equal(clock.armed.length, 2, 'cancelling a non-head entry does not touch the timer');
    clock.advance(10_000);
    assert.equal(clock.timers.size, 1);
  });

  it('fires a 90-day delay on time by re-arming in steps Node accepts', () => {
    const { clock, scheduler, fired, at } = setup();
    const due = clock.now() + 90 * day;
    scheduler.schedule('long', at(90 * day));
    clock.advance(90 * day - 1);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, [{ key: 'long', at: due }]);
    assert.ok(clock.armed.every((ms) => ms <= maxTimerDelayMs));
    assert.equal(clock.armed.length, Math.ceil((90 * day) / maxTimerDelayMs));
  });

  it('schedules and fires 10,000 keys in order', () => {
    const { clock, scheduler, fired, fires } = setup();
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const due = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const at = clock.now() + Math.floor(random() * 30 * day);
      due.set(`ns/obj-${i}`, at);
      scheduler.schedule(`ns/obj-${i}`, new Date(at));
    }
    // Move a tenth of them, as renewals would.
    for (let i = 0; i < 10_000; i += 10) {
      const at = clock.now() + Math.floor(random() * 30 * day);
      due.set(`ns/obj-${i}`, at);
      scheduler.schedule(`ns/obj-${i}`, new Date(at));
    }
    assert.equal(scheduler.size, 10_000);
    clock.advance(31 * day);
    assert.equal(fired.length, 10_000);
    assert.equal(new Set(fired.map((f) => f.key)).size, 10_000);
    for (let i = 1; i < fired.length; i++) assert.ok(fired[i - 1].at <= fired[i].at);
    for (const { key, at } of fired) assert.equal(at, due.get(key));
    assert.ok(fires.every((f) => f.firedAt === f.scheduledAt));
  });

  it('fires a time in the past at once', () => {
    const { clock, scheduler, fired, at } = setup();
    scheduler.schedule('overdue', at(-5000));
    assert.deepEqual(clock.armed, [0]);
    clock.runDue();
    assert.deepEqual(
      fired.map((f) => f.key),
      ['overdue'],
    );
  });

  it('reports lateness when the wake-up comes late', () => {
    const { clock, scheduler, fires, at } = setup();
    const t0 = clock.now();
    scheduler.schedule('a', at(100));
    clock.time += 250; // the event loop was blocked past the due time
    clock.runDue();
    assert.deepEqual(fires, [{ key: 'a', scheduledAt: t0 + 100, firedAt: t0 + 250 }]);
  });

  it('fires a key its own callback reschedules for now on a fresh wake-up, not in the same loop', () => {
    const clock = new FakeClock();
    const scheduler = new Scheduler({ clock });
    const wakes: number[] = [];
    scheduler.onDue((key) => {
      wakes.push(clock.armed.length);
      if (wakes.length === 1) scheduler.schedule(key, new Date(clock.now()));
    });
    scheduler.schedule('again', new Date(clock.now() + 10));
    clock.advance(10);
    assert.equal(wakes.length, 2);
    assert.deepEqual(clock.armed, [10, 0], 'the second firing came from a new zero-delay timer');
    assert.equal(scheduler.size, 0);
  });

  it('reports a throwing callback and still calls the others', () => {
    const clock = new FakeClock();
    const errors: string[] = [];
    const scheduler = new Scheduler({ clock, onError: (err, key) => errors.push(`${key}: ${String(err)}`) });
    const seen: string[] = [];
    scheduler.onDue(() => {
      throw new Error('boom');
    });
    const off = scheduler.onDue((key) => seen.push(key));
    scheduler.schedule('a', new Date(clock.now() + 1));
    scheduler.schedule('b', new Date(clock.now() + 2));
    clock.advance(2);
    assert.deepEqual(seen, ['a', 'b']);
    assert.deepEqual(errors, ['a: Error: boom', 'b: Error: boom']);
    off();
    scheduler.schedule('c', new Date(clock.now() + 1));
    clock.advance(1);
    assert.deepEqual(seen, ['a', 'b']);
  });

  it('clear removes everything and disarms', () => {
    const { clock, scheduler, fired, at } = setup();
    scheduler.schedule('a', at(1));
    scheduler.schedule('b', at(2));
    scheduler.clear();
    assert.equal(scheduler.size, 0);
    assert.equal(clock.timers.size, 0);
    clock.advance(10);
    assert.deepEqual(fired, []);
  });

  it('rejects an invalid date', () => {
    const { scheduler } = setup();
    assert.throws(() => scheduler.schedule('a', new Date(Number.NaN)), RangeError);
  });
});
