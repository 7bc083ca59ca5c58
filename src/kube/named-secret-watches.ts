// Watches exactly the Secrets that issuers reference (client secrets, keys, CA bundles), one
// field-selected watch per Secret, so a credentials change is seen at once without watching
// every Secret in the cluster. Reference-counted by owner (an issuer key).
import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import { dropManagedFields, Informer, type InformerLogEntry } from './informer.ts';

export interface SecretRef {
  namespace: string;
  name: string;
}

const refKey = (ref: SecretRef) => `${ref.namespace}/${ref.name}`;

export interface NamedSecretWatchesOptions {
  kubeConfig: KubeConfig;
  /** A watched Secret changed, appeared, vanished, or its first list completed. */
  onChange(ref: SecretRef, owners: readonly string[]): void;
  log?: (entry: InformerLogEntry & { secret: string }) => void;
}

export class NamedSecretWatches {
  readonly #options: NamedSecretWatchesOptions;
  readonly #informers = new Map<string, Informer<V1Secret>>();
  readonly #owners = new Map<string, Set<string>>(); // secret key → owner keys
  readonly #refsOf = new Map<string, Set<string>>(); // owner key → secret keys

  constructor(options: NamedSecretWatchesOptions) {
    this.#options = options;
  }

  /** Makes `owner` reference exactly `refs`; starts and stops watches as needed. */
  track(owner: string, refs: readonly SecretRef[]): void {
    const next = new Set(refs.map(refKey));
    for (const key of this.#refsOf.get(owner) ?? []) if (!next.has(key)) this.#unref(owner, key);
    for (const ref of refs) {
      const key = refKey(ref);
      let owners = this.#owners.get(key);
      if (!owners) {
        owners = new Set();
        this.#owners.set(key, owners);
        this.#start(ref);
      }
      owners.add(owner);
    }
    if (next.size === 0) this.#refsOf.delete(owner);
    else this.#refsOf.set(owner, next);
  }

  release(owner: string): void {
    this.track(owner, []);
  }

  /** True once every Secret in `refs` has been listed at least once. */
  synced(refs: readonly SecretRef[]): boolean {
    return refs.every((ref) => this.#informers.get(refKey(ref))?.hasSynced() ?? false);
  }

  get(ref: SecretRef): V1Secret | undefined {
    return this.#informers.get(refKey(ref))?.get(ref.namespace, ref.name);
  }

  async stop(): Promise<void> {
    const informers = [...this.#informers.values()];
    this.#informers.clear();
    this.#owners.clear();
    this.#refsOf.clear();
    await Promise.all(informers.map((informer) => informer.stop()));
  }

  #start(ref: SecretRef): void {
    const key = refKey(ref);
    const informer = new Informer<V1Secret>({
      kubeConfig: this.#options.kubeConfig,
      resource: { apiVersion: 'v1', plural: 'secrets' },
      namespaces: [ref.namespace],
      fieldSelector: `metadata.name=${ref.name}`,
      transform: dropManagedFields,
      resyncPeriodMs: 0,
      log: (entry) => this.#options.log?.({ ...entry, secret: key }),
    });
    const notify = () => this.#options.onChange(ref, [...(this.#owners.get(key) ?? [])]);
    informer.onEvent(notify);
    this.#informers.set(key, informer);
    informer.start();
    void informer.whenSynced().then(notify);
  }

  #unref(owner: string, key: string): void {
    const owners = this.#owners.get(key);
    owners?.delete(owner);
    if (owners && owners.size === 0) {
      this.#owners.delete(key);
      const informer = this.#informers.get(key);
      this.#informers.delete(key);
      void informer?.stop();
    }
  }
}
