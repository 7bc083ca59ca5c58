// Built issuer configurations, reused across renewals so discovery is not repeated for every
// token. Keyed by issuer (e.g. `TokenIssuer/ns/name`) and checked against a fingerprint of
// everything the configuration was built from: changed credentials or endpoints rebuild it.

interface Entry<T> {
  fingerprint: string;
  value: Promise<T>;
}

export interface IssuerConfigCacheOptions<T> {
  /** Releases a value that is replaced or invalidated (e.g. closes its connection pool). */
  dispose?: (value: T) => void | Promise<void>;
}

export class IssuerConfigCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #dispose: (value: T) => void | Promise<void>;

  constructor(options: IssuerConfigCacheOptions<T> = {}) {
    this.#dispose = options.dispose ?? (() => {});
  }

  /**
   * The value for `key` if it was built from the same `fingerprint`, otherwise the result of
   * `build` (shared by concurrent callers). A failed build is not kept: the next call retries.
   */
  get(key: string, fingerprint: string, build: () => Promise<T>): Promise<T> {
    const current = this.#entries.get(key);
    if (current?.fingerprint === fingerprint) return current.value;
    if (current) this.#release(current);
    const entry: Entry<T> = { fingerprint, value: build() };
    this.#entries.set(key, entry);
    entry.value.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return entry.value;
  }

  /** Forgets `key`, e.g. after its issuer was deleted or discovery should be repeated. */
  invalidate(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#release(entry);
  }

  /** Forgets and releases everything. */
  async clear(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => this.#release(entry)));
  }

  get size(): number {
    return this.#entries.size;
  }

  // Requests may still be using the old value; disposing it is the value's business (an undici
  // Agent lets requests in flight finish). Errors are of no use to anyone here.
  #release(entry: Entry<T>): Promise<void> {
    return entry.value.then(
      async (value) => {
        try {
          await this.#dispose(value);
        } catch {}
      },
      () => {},
    );
  }
}
