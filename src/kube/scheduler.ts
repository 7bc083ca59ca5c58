// One timer for every due renewal: keys sit in a min-heap by due time and a single timer is armed
// for the earliest. Per-key timers would cost a handle per object and cannot express delays
// beyond Node's 2^31−1 ms limit (24.8 days), which long-lived tokens need.
import { KeyedMinHeap } from './keyed-heap.ts';

/** Node clamps longer delays to 1 ms, so longer waits are split into steps of at most this. */
export const maxTimerDelayMs = 2 ** 31 - 1;

export interface SchedulerClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: SchedulerClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface SchedulerOptions {
  clock?: SchedulerClock;
  /** Called for every firing, before the due callbacks: lateness is `firedAt − scheduledAt`. */
  onFire?: (key: string, scheduledAt: Date, firedAt: Date) => void;
  /** A callback threw. Without this hook the error is rethrown outside the timer, as a bug. */
  onError?: (err: unknown, key: string) => void;
}

export interface ScheduledEntry {
  key: string;
  at: Date;
}

export class Scheduler {
  #heap = new KeyedMinHeap<string>();
  #clock: SchedulerClock;
  #options: SchedulerOptions;
  #callbacks = new Set<(key: string) => void>();
  #timer: unknown;
  /** Due time of the head the timer was armed for; undefined when no timer is armed. */
  #armedFor: number | undefined;
  #firing = false;

  constructor(options: SchedulerOptions = {}) {
    this.#clock = options.clock ?? realClock;
    this.#options = options;
  }

  get size(): number {
    return this.#heap.size;
  }

  /** Schedules the key at `at`, replacing any time it had. A time in the past fires at once. */
  schedule(key: string, at: Date): void {
    const time = at.getTime();
    if (Number.isNaN(time)) throw new RangeError(`invalid due time for ${key}`);
    this.#heap.set(key, time);
    this.#arm();
  }

  cancel(key: string): boolean {
    const removed = this.#heap.delete(key);
    if (removed) this.#arm();
    return removed;
  }

  /** Removes every key and disarms the timer (e.g. on losing leadership). */
  clear(): void {
    this.#heap.clear();
    this.#arm();
  }

  dueAt(key: string): Date | undefined {
    const time = this.#heap.get(key);
    return time === undefined ? undefined : new Date(time);
  }

  nextDue(): ScheduledEntry | undefined {
    const head = this.#heap.peek();
    return head && { key: head.key, at: new Date(head.priority) };
  }

  /** Registers a callback for due keys; returns a function that unregisters it. */
  onDue(callback: (key: string) => void): () => void {
    this.#callbacks.add(callback);
    return () => this.#callbacks.delete(callback);
  }

  /** Keeps exactly one timer, armed for the head; a no-op when the head did not change. */
  #arm(): void {
    if (this.#firing) return;
    const head = this.#heap.peek();
    if (head?.priority === this.#armedFor) return;
    if (this.#armedFor !== undefined) {
      this.#clock.clearTimer(this.#timer);
      this.#timer = undefined;
      this.#armedFor = undefined;
    }
    if (!head) return;
    const delay = Math.min(Math.max(0, head.priority - this.#clock.now()), maxTimerDelayMs);
    this.#armedFor = head.priority;
    this.#timer = this.#clock.setTimer(() => this.#wake(), delay);
  }

  #wake(): void {
    this.#timer = undefined;
    this.#armedFor = undefined;
    const now = this.#clock.now();
    // Take every due key before calling back, so a callback that reschedules its key at `now`
    // fires on the next wake instead of looping here.
    const due: { key: string; priority: number }[] = [];
    for (let head = this.#heap.peek(); head && head.priority <= now; head = this.#heap.peek()) {
      due.push(head);
      this.#heap.pop();
    }
    this.#firing = true;
    try {
      const firedAt = new Date(now);
      for (const { key, priority } of due) this.#fire(key, new Date(priority), firedAt);
    } finally {
      this.#firing = false;
      this.#arm();
    }
  }

  #fire(key: string, scheduledAt: Date, firedAt: Date): void {
    try {
      this.#options.onFire?.(key, scheduledAt, firedAt);
    } catch (err) {
      this.#report(err, key);
    }
    for (const callback of this.#callbacks) {
      try {
        callback(key);
      } catch (err) {
        this.#report(err, key);
      }
    }
  }

  #report(err: unknown, key: string): void {
    const onError = this.#options.onError;
    if (!onError) {
      queueMicrotask(() => {
        throw err;
      });
      return;
    }
    try {
      onError(err, key);
    } catch {
      // The error hook itself failed: nothing further can report it.
    }
  }
}
