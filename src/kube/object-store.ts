// The informer's cache of one scope (a namespace or the whole cluster): objects keyed
// `namespace/name` (`name` when cluster-scoped), and the events that turn one state into the next.
// Pure apart from mutating the map it is given, so it is unit-tested without a server.
import type { KubernetesObject } from '@kubernetes/client-node';

export type ObjectEvent<T> =
  | { type: 'add'; object: T }
  /** `resync` marks the periodic re-emission of an unchanged object (then `old === object`). */
  | { type: 'update'; object: T; old: T; resync: boolean }
  | { type: 'delete'; object: T };

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export function objectKey(obj: KubernetesObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object without metadata.name');
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

export function resourceVersionOf(obj: KubernetesObject): string | undefined {
  return obj.metadata?.resourceVersion;
}

/** Applies one watch event to the store; returns the event to emit, if anything changed. */
export function applyWatchEvent<T extends KubernetesObject>(
  store: Map<string, T>,
  type: WatchEventType,
  object: T,
): ObjectEvent<T> | undefined {
  const key = objectKey(object);
  const old = store.get(key);
  if (type === 'DELETED') {
    if (!old) return undefined;
    store.delete(key);
    return { type: 'delete', object };
  }
  store.set(key, object);
  if (!old) return { type: 'add', object };
  // The same version again (e.g. replayed after a reconnect) is not a change.
  if (resourceVersionOf(old) === resourceVersionOf(object)) return undefined;
  return { type: 'update', object, old, resync: false };
}

/**
 * Replaces the store's content with a fresh list: `add` for new keys, `update` for changed
 * resourceVersions, `delete` for keys the list no longer has (deleted while nobody watched).
 */
export function replaceAll<T extends KubernetesObject>(
  store: Map<string, T>,
  items: readonly T[],
): ObjectEvent<T>[] {
  const events: ObjectEvent<T>[] = [];
  const seen = new Set<string>();
  for (const object of items) {
    const key = objectKey(object);
    seen.add(key);
    const old = store.get(key);
    store.set(key, object);
    if (!old) events.push({ type: 'add', object });
    else if (resourceVersionOf(old) !== resourceVersionOf(object)) {
      events.push({ type: 'update', object, old, resync: false });
    }
  }
  for (const [key, old] of store) {
    if (seen.has(key)) continue;
    store.delete(key);
    events.push({ type: 'delete', object: old });
  }
  return events;
}
