// The informer cache lags behind our own writes by a watch round trip. Reading a stale Secret
// or status right after writing it would make the controller renew twice or lose its backoff
// state. This overlay remembers what we wrote until the informer has caught up with it.
import type { KubernetesObject } from '@kubernetes/client-node';

// etcd resourceVersions are integers; Kubernetes calls them opaque, so anything else is
// treated as "not comparable" and the informer's copy wins.
const revision = (obj: KubernetesObject | undefined): bigint | undefined => {
  const rv = obj?.metadata?.resourceVersion;
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
};

export class RecentWrites<T extends KubernetesObject> {
  readonly #written = new Map<string, T>();

  /** Records an object as returned by a successful write. */
  remember(key: string, written: T): void {
    this.#written.set(key, written);
  }

  /**
   * True when the informer delivers exactly the object we wrote last (same resourceVersion): the
   * echo of our own write, which the reconcile that made it has already acted on. Ask before
   * `observe`, which drops the overlay once the cache has caught up.
   */
  isEcho(key: string, cached: T | undefined): boolean {
    const ours = revision(this.#written.get(key));
    return ours !== undefined && ours === revision(cached);
  }

  /** Called for every informer event: drops the overlay once the cache has caught up or the object is gone. */
  observe(key: string, cached: T | undefined): void {
    const written = this.#written.get(key);
    if (written === undefined) return;
    const ours = revision(written);
    const seen = revision(cached);
    if (cached === undefined || ours === undefined || seen === undefined || seen >= ours)
      this.#written.delete(key);
  }

  /** The newer of the informer's copy and our last write. */
  freshest(key: string, cached: T | undefined): T | undefined {
    const written = this.#written.get(key);
    if (written === undefined) return cached;
    const ours = revision(written);
    const seen = revision(cached);
    return ours !== undefined && (seen === undefined || ours > seen) ? written : cached;
  }

  forget(key: string): void {
    this.#written.delete(key);
  }

  get size(): number {
    return this.#written.size;
  }
}
