// At most `limit` concurrent runs per key (e.g. token requests per issuer), so a herd of due
// renewals cannot overwhelm one authorization server. Waiters are served in arrival order.
export class KeyedLimiter {
  readonly #limit: number;
  readonly #running = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if ((this.#running.get(key) ?? 0) >= this.#limit) {
      await new Promise<void>((resolve) => {
        const queue = this.#waiting.get(key) ?? [];
        queue.push(resolve);
        this.#waiting.set(key, queue);
      });
    } else {
      this.#running.set(key, (this.#running.get(key) ?? 0) + 1);
    }
    try {
      return await fn();
    } finally {
      this.#release(key);
    }
  }

  // A finishing run hands its slot straight to the next waiter, so the count stays put.
  #release(key: string): void {
    const next = this.#waiting.get(key)?.shift();
    if (next) {
      if (this.#waiting.get(key)?.length === 0) this.#waiting.delete(key);
      next();
      return;
    }
    const running = (this.#running.get(key) ?? 1) - 1;
    if (running === 0) this.#running.delete(key);
    else this.#running.set(key, running);
  }
}
