// A fake clock for the scheduler: time moves only when a test advances it, and every timer the
// scheduler arms is visible, so tests can count them and check their delays.
import type { SchedulerClock } from '../../../src/kube/scheduler.ts';

interface FakeTimer {
  at: number;
  fn: () => void;
}

export class FakeClock implements SchedulerClock {
  time: number;
  readonly timers = new Map<number, FakeTimer>();
  /** Every delay passed to setTimer, in order. */
  readonly armed: number[] = [];
  #nextId = 1;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.armed.push(ms);
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves time forward by `ms`, running each timer at its own time, earliest first. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let next: [number, FakeTimer] | undefined;
      for (const entry of this.timers) if (!next || entry[1].at < next[1].at) next = entry;
      if (!next || next[1].at > target) break;
      this.timers.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].fn();
    }
    this.time = target;
  }

  /** Runs the timers that are due now without moving time (a late wake-up). */
  runDue(): void {
    this.advance(0);
  }
}
