// A keyed work queue in the manner of client-go's: a key waits at most once, is processed by at
// most one worker at a time, and a key added while it is processed runs once more afterwards, so
// the last change is always seen without two reconciles of one object racing each other.

export type WorkHandler = (key: string, signal: AbortSignal) => Promise<void>;

export interface WorkQueueOptions {
  /** Handlers running at once. */
  concurrency: number;
  /** A handler failed (threw or rejected). The key is not retried by the queue. */
  onError: (err: unknown, key: string) => void;
}

export interface ShutdownOptions {
  /** Give up waiting for in-flight handlers after this long; their signal is aborted then. */
  timeoutMs?: number;
}

export class WorkQueue {
  /** Keys waiting for a worker, in arrival order (a Set keeps insertion order and dedupes). */
  #waiting = new Set<string>();
  /** Keys being processed. */
  #processing = new Set<string>();
  /** Keys added while being processed: re-queued when that processing finishes. */
  #again = new Set<string>();
  #handler: WorkHandler | undefined;
  #shuttingDown = false;
  #abort = new AbortController();
  #idle: (() => void) | undefined;
  #whenIdle: (() => void)[] = [];
  readonly #concurrency: number;
  readonly #onError: (err: unknown, key: string) => void;

  constructor(options: WorkQueueOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.#concurrency = options.concurrency;
    this.#onError = options.onError;
  }

  /** Keys that will be processed: waiting, or due again after their current run. */
  get length(): number {
    return this.#waiting.size + this.#again.size;
  }

  get inFlight(): number {
    return this.#processing.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Queues the key unless it is already waiting; returns false once shut down. */
  add(key: string): boolean {
    if (this.#shuttingDown) return false;
    if (this.#processing.has(key)) {
      this.#again.add(key);
      return true;
    }
    this.#waiting.add(key);
    this.#pump();
    return true;
  }

  /**
   * Resolves once the workers are running and nothing is waiting or in flight (at once if that
   * is so now), or once the queue shuts down: e.g. when a (re)started operator has caught up.
   */
  whenIdle(): Promise<void> {
    if (this.#shuttingDown || (this.#handler && this.#isIdle())) return Promise.resolve();
    return new Promise((resolve) => this.#whenIdle.push(resolve));
  }

  #isIdle(): boolean {
    return this.#waiting.size === 0 && this.#again.size === 0 && this.#processing.size === 0;
  }

  #notifyIdle(): void {
    const waiters = this.#whenIdle;
    this.#whenIdle = [];
    for (const resolve of waiters) resolve();
  }

  /** Starts the workers; keys added before this call wait until then. */
  process(handler: WorkHandler): void {
    if (this.#handler) throw new Error('WorkQueue.process called twice');
    this.#handler = handler;
    this.#pump();
    if (this.#isIdle()) this.#notifyIdle();
  }

  /**
   * Stops taking work: waiting keys are dropped (a successor rebuilds them from a resync) and the
   * promise resolves when in-flight handlers finish — true — or the timeout passes — false.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<boolean> {
    this.#shuttingDown = true;
    this.#waiting.clear();
    this.#again.clear();
    this.#notifyIdle();
    if (this.#processing.size === 0) return true;
    const drained = new Promise<true>((resolve) => {
      this.#idle = () => resolve(true);
    });
    if (options.timeoutMs === undefined) return drained;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), options.timeoutMs);
    });
    const result = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    if (!result) this.#abort.abort(new Error('work queue shut down'));
    return result;
  }

  #pump(): void {
    const handler = this.#handler;
    if (!handler) return;
    while (!this.#shuttingDown && this.#processing.size < this.#concurrency && this.#waiting.size > 0) {
      const key = this.#waiting.values().next().value as string;
      this.#waiting.delete(key);
      this.#processing.add(key);
      void this.#run(handler, key);
    }
  }

  async #run(handler: WorkHandler, key: string): Promise<void> {
    try {
      await handler(key, this.#abort.signal);
    } catch (err) {
      try {
        this.#onError(err, key);
      } catch {
        // The error hook itself failed: nothing further can report it.
      }
    } finally {
      this.#processing.delete(key);
      if (this.#again.delete(key)) this.#waiting.add(key);
      if (this.#shuttingDown && this.#processing.size === 0) this.#idle?.();
      this.#pump();
      if (this.#whenIdle.length > 0 && this.#isIdle()) this.#notifyIdle();
    }
  }
}
