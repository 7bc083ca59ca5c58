// At most `limit` concurrent runs per key (e.g. token requests per issuer), and optionally at most
// `qps` starts per second per key (a token bucket per key), so a herd of due renewals can
// overwhelm neither one authorization server's connections nor its request quota. Waiters are
// served in arrival order.
import { TokenBucket } from '../kube/token-bucket.ts';

export interface KeyedRate {
  /** Starts per second per key; 0 or undefined: no rate limit. */
  qps?: number;
  /** Starts allowed at once after a quiet spell; defaults to max(1, qps). */
  burst?: number;
}

export class KeyedLimiter {
  readonly #limit: number;
  readonly #running = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();
  readonly #rate: { qps: number; burst: number } | undefined;
  /** One bucket per key, kept for the life of the limiter: keys are issuers, a short list. */
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(limit: number, rate: KeyedRate = {}) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
    const qps = rate.qps ?? 0;
    if (!(Number.isFinite(qps) && qps >= 0)) throw new RangeError(`qps must not be negative, got ${qps}`);
    if (qps > 0) this.#rate = { qps, burst: rate.burst ?? Math.max(1, Math.ceil(qps)) };
  }

  /** Seconds runs have waited for the rate limit, over all keys. */
  get rateWaitSeconds(): number {
    let total = 0;
    for (const bucket of this.#buckets.values()) total += bucket.waitedSeconds;
    return total;
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
      // The slot is held while waiting for the rate: at most `limit` waiters per bucket.
      await this.#bucket(key)?.take();
      return await fn();
    } finally {
      this.#release(key);
    }
  }

  #bucket(key: string): TokenBucket | undefined {
    const rate = this.#rate;
    if (!rate) return undefined;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(rate);
      this.#buckets.set(key, bucket);
    }
    return bucket;
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
