// A supervised list/watch cache of one resource type over all namespaces, or over a list of
// namespaces (one reflector each). It emits add/update/delete to its handlers, re-emits every
// object periodically (resync) so the controller re-checks everything, and never stops by itself:
// reconnects, relists and watchdog fires are reported through `log`, never thrown.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { collectionPath, Lister, type ResourceType } from './list-objects.ts';
import { type ObjectEvent, objectKey } from './object-store.ts';
import { Reflector } from './reflector.ts';
import type { InformerLogEntry } from './reflector-log.ts';

export type { ResourceType } from './list-objects.ts';
export type { ObjectEvent } from './object-store.ts';
export type { InformerLogEntry, LogLevel, RelistReason, WatchEndReason } from './reflector-log.ts';

export interface InformerErrorContext {
  /** `handler`: an event handler threw; `transform`: the transform threw or the object was malformed. */
  phase: 'handler' | 'transform';
  key?: string;
}

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  resource: ResourceType;
  /** `'all'` (the default, and the only choice for cluster-scoped resources) or namespace names. */
  namespaces?: 'all' | readonly string[];
  labelSelector?: string;
  fieldSelector?: string;
  /** Applied to every object before it is stored, e.g. {@link dropManagedFields} to save memory. */
  transform?: (obj: KubernetesObject) => T;
  /** Re-emit every cached object as `update` (resync: true) this often; 0 disables. Default 10 min. */
  resyncPeriodMs?: number;
  /** List again from scratch this often, as a safety net; 0 disables. Default 30 min. */
  relistPeriodMs?: number;
  /** Abandon a watch that delivered nothing (not even a bookmark) for this long. Default 5 min. */
  watchdogMs?: number;
  /** Ask the server to end each watch after 1–2× this (a clean reconnect point). Default 300 s. */
  watchTimeoutSeconds?: number;
  /** Objects per list page. Default 500. */
  pageSize?: number;
  /** Reconnect backoff after failures. Default 1 s doubling up to 30 s, jittered. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** A handler or transform threw. Without it such errors go to `log` at level `error`. */
  onError?: (err: unknown, context: InformerErrorContext) => void;
  log?: (entry: InformerLogEntry) => void;
}

export type EventHandler<T> = (event: ObjectEvent<T>) => void;

/** Drops `metadata.managedFields`, often the largest part of an object and never needed here. */
export function dropManagedFields<T extends KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export class Informer<T extends KubernetesObject = KubernetesObject> {
  readonly #options: InformerOptions<T>;
  readonly #reflectors = new Map<string | undefined, Reflector<T>>();
  readonly #handlers = new Set<EventHandler<T>>();
  #syncWaiters: (() => void)[] = [];
  #resyncTimer: ReturnType<typeof setInterval> | undefined;
  #started = false;

  constructor(options: InformerOptions<T>) {
    this.#options = options;
    const namespaces = options.namespaces ?? 'all';
    const scopes = namespaces === 'all' ? [undefined] : [...new Set(namespaces)];
    if (scopes.length === 0) throw new Error('Informer needs at least one namespace, or "all"');
    const lister = new Lister(options.kubeConfig);
    const watchdogMs = options.watchdogMs ?? 5 * 60_000;
    for (const namespace of scopes) {
      const reflector = new Reflector<T>({
        kubeConfig: options.kubeConfig,
        lister,
        path: collectionPath(options.resource, namespace),
        namespace,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        pageSize: options.pageSize ?? 500,
        watchdogMs,
        relistPeriodMs: options.relistPeriodMs ?? 30 * 60_000,
        watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
        backoff: { initialMs: options.backoff?.initialMs ?? 1000, maxMs: options.backoff?.maxMs ?? 30_000 },
        prepare: (raw) => this.#prepare(raw),
        emit: (event) => this.#emit(event),
        log: (entry) => this.#log(entry),
        onSynced: () => this.#checkSynced(),
      });
      this.#reflectors.set(namespace, reflector);
    }
  }

  /** Registers a handler for add/update/delete; returns a function that unregisters it. */
  onEvent(handler: EventHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const reflector of this.#reflectors.values()) reflector.start();
    const resyncPeriodMs = this.#options.resyncPeriodMs ?? 10 * 60_000;
    if (resyncPeriodMs > 0) this.#resyncTimer = setInterval(() => this.#resync(), resyncPeriodMs);
  }

  /** Aborts every watch, list and timer; resolves when the loops have ended. */
  async stop(): Promise<void> {
    clearInterval(this.#resyncTimer);
    await Promise.all([...this.#reflectors.values()].map((reflector) => reflector.stop()));
  }

  /** True once every namespace has been listed once (for /readyz). */
  hasSynced(): boolean {
    for (const reflector of this.#reflectors.values()) if (!reflector.synced) return false;
    return true;
  }

  whenSynced(): Promise<void> {
    if (this.hasSynced()) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  /** The cached object; `namespace` is ignored for cluster-scoped resources. */
  get(namespace: string | undefined, name: string): T | undefined {
    const key = namespace ? `${namespace}/${name}` : name;
    const reflector = this.#reflectors.get(undefined) ?? this.#reflectors.get(namespace);
    return reflector?.store.get(key);
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[] {
    const all: T[] = [];
    for (const reflector of this.#reflectors.values()) {
      for (const obj of reflector.store.values()) {
        if (namespace === undefined || obj.metadata?.namespace === namespace) all.push(obj);
      }
    }
    return all;
  }

  get size(): number {
    let size = 0;
    for (const reflector of this.#reflectors.values()) size += reflector.store.size;
    return size;
  }

  /** Lists every scope again now (e.g. after a permissions change); differences are emitted. */
  relist(): void {
    for (const reflector of this.#reflectors.values()) reflector.relist('requested');
  }

  /** The reflector of a scope (undefined: all namespaces), for tests that cut or age its watch. */
  reflectorForTest(namespace?: string): Reflector<T> | undefined {
    return this.#reflectors.get(namespace);
  }

  #resync(): void {
    const objects = this.list();
    this.#log({ level: 'debug', event: 'resync', objects: objects.length });
    for (const object of objects) this.#emit({ type: 'update', object, old: object, resync: true });
  }

  #prepare(raw: unknown): T | undefined {
    const meta = isRecord(raw) && isRecord(raw.metadata) ? raw.metadata : undefined;
    if (!meta || typeof meta.name !== 'string' || !meta.name) {
      this.#report(new Error('object without metadata.name'), { phase: 'transform' });
      return undefined;
    }
    const obj = raw as KubernetesObject;
    const transform = this.#options.transform;
    if (!transform) return obj as T;
    try {
      return transform(obj);
    } catch (err) {
      this.#report(err, { phase: 'transform', key: objectKey(obj) });
      return undefined;
    }
  }

  #emit(event: ObjectEvent<T>): void {
    for (const handler of this.#handlers) {
      try {
        handler(event);
      } catch (err) {
        this.#report(err, { phase: 'handler', key: objectKey(event.object) });
      }
    }
  }

  #checkSynced(): void {
    if (!this.hasSynced()) return;
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #report(err: unknown, context: InformerErrorContext): void {
    try {
      if (this.#options.onError) this.#options.onError(err, context);
      else this.#log({ level: 'error', event: 'callback-failed', ...context, error: String(err) });
    } catch {
      // The error hook itself failed: nothing further can report it.
    }
  }

  #log(entry: InformerLogEntry): void {
    try {
      this.#options.log?.(entry);
    } catch {
      // A failing logger must not break the watch.
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
