// A token bucket: `qps` tokens per second, at most `burst` saved up. Callers wait in arrival
// order behind one timer (armed for the head of the line), never one timer per caller, so a
// herd of thousands of waiters costs a queue entry each and nothing more.
import { realClock, type SchedulerClock } from './scheduler.ts';

export interface TokenBucketOptions {
  /** Tokens added per second; must be positive. */
  qps: number;
  /** Most tokens held at once, and the tokens at start; at least 1. */
  burst: number;
  clock?: SchedulerClock;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: SchedulerClock;
  #tokens: number;
  #last: number;
  readonly #waiters: Waiter[] = [];
  #timer: unknown;
  #waitedMs = 0;

  constructor(options: TokenBucketOptions) {
    if (!(Number.isFinite(options.qps) && options.qps > 0)) {
      throw new RangeError(`qps must be a positive number, got ${options.qps}`);
    }
    if (!Number.isInteger(options.burst) || options.burst < 1) {
      throw new RangeError(`burst must be a positive integer, got ${options.burst}`);
    }
    this.#qps = options.qps;
    this.#burst = options.burst;
    this.#clock = options.clock ?? realClock;
    this.#tokens = options.burst;
    this.#last = this.#clock.now();
  }

  /** Callers waiting for a token. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Total time callers have spent waiting, in seconds (counted when they are served). */
  get waitedSeconds(): number {
    return this.#waitedMs / 1000;
  }

  /**
   * Resolves when the caller may go ahead. Rejects with the signal's reason when it is aborted
   * while waiting (the token is then not used up).
   */
  take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#refill();
    if (this.#waiters.length === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      return Promise.resolve();
    }
    const queuedAt = this.#clock.now();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          this.#waitedMs += this.#clock.now() - queuedAt;
          resolve();
        },
        reject,
        signal,
      };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal.reason);
          if (i === 0) this.#arm();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      if (this.#waiters.length === 1) this.#arm();
    });
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.#qps) / 1000);
    this.#last = now;
  }

  #arm(): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimer(this.#timer);
      this.#timer = undefined;
    }
    if (this.#waiters.length === 0) return;
    this.#refill();
    const delayMs = Math.max(0, Math.ceil(((1 - this.#tokens) * 1000) / this.#qps));
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = undefined;
      this.#serve();
    }, delayMs);
  }

  #serve(): void {
    this.#refill();
    while (this.#waiters.length > 0 && this.#tokens >= 1) {
      const waiter = this.#waiters.shift() as Waiter;
      this.#tokens -= 1;
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
    this.#arm();
  }
}
