// One supervised list/watch loop over one scope (a namespace, or all of them) feeding one store.
// Unlike client-node's ListWatch it never gives up: every failure leads to a reconnect (after
// backoff) from the last resourceVersion, 410 Gone to a relist, and a watch that goes silent
// longer than the watchdog allows is abandoned, since a dead TCP peer otherwise goes unnoticed.
import type { KubeConfig, KubernetesObject, Watch } from '@kubernetes/client-node';
import { type BackoffOptions, backoffDelay } from './backoff.ts';
import { describeApiError } from './conflict.ts';
import type { Lister } from './list-objects.ts';
import { applyWatchEvent, type ObjectEvent, replaceAll } from './object-store.ts';
import { type InformerLogEntry, type RelistReason, watchEndLevel } from './reflector-log.ts';
import { createWatch, startWatch, type WatchEnd, type WatchOutcome } from './watch-session.ts';

export interface ReflectorOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  lister: Lister;
  path: string;
  namespace: string | undefined;
  labelSelector?: string;
  fieldSelector?: string;
  pageSize: number;
  watchdogMs: number;
  relistPeriodMs: number;
  watchTimeoutSeconds: number;
  backoff: BackoffOptions;
  /** Validates and transforms a raw object; undefined drops it (already reported). */
  prepare: (raw: unknown) => T | undefined;
  /** Must not throw. */
  emit: (event: ObjectEvent<T>) => void;
  /** Must not throw. */
  log: (entry: InformerLogEntry) => void;
  onSynced: () => void;
}

export class Reflector<T extends KubernetesObject> {
  readonly store = new Map<string, T>();
  readonly #o: ReflectorOptions<T>;
  readonly #watch: Watch;
  #synced = false;
  #stopped = false;
  #resourceVersion = '';
  #needList: RelistReason | undefined = 'initial';
  #failures = 0;
  #expiredInRow = 0;
  #loop: Promise<void> | undefined;
  #listAbort: AbortController | undefined;
  #endWatch: ((reason: WatchEnd, error?: string) => void) | undefined;
  #wake: (() => void) | undefined;
  #relistTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ReflectorOptions<T>) {
    this.#o = options;
    this.#watch = createWatch(options.kubeConfig, options.watchdogMs);
  }

  get synced(): boolean {
    return this.#synced;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#relistTimer);
    this.#listAbort?.abort();
    this.#endWatch?.('stopped');
    this.#wake?.();
    await this.#loop;
  }

  /** Ends the current watch (or pause) and lists again. */
  relist(reason: RelistReason = 'requested'): void {
    this.#needList = reason;
    this.#endWatch?.('relist');
    this.#wake?.();
  }

  /** Test hooks: continue from another resourceVersion, or cut the current watch. */
  setResourceVersion(resourceVersion: string): void {
    this.#resourceVersion = resourceVersion;
  }
  abortWatch(): void {
    this.#endWatch?.('error', 'aborted by test hook');
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const reason = this.#needList;
      if (reason) {
        this.#needList = undefined;
        if (await this.#list(reason)) {
          this.#failures = 0;
        } else {
          this.#needList ??= reason;
          await this.#pause(++this.#failures);
        }
        continue;
      }
      const outcome = await this.#watchOnce();
      if (outcome.reason === 'stopped' || outcome.reason === 'relist') continue;
      if (outcome.events > 0) {
        this.#failures = 0;
        this.#expiredInRow = 0;
      }
      if (outcome.reason === 'expired') {
        // The server is up and says our resourceVersion is gone: relisting is the recovery, at
        // once — unless the watch from the fresh list expired as well, which must not spin.
        this.#needList = 'expired';
        if (++this.#expiredInRow > 1) await this.#pause(this.#expiredInRow - 1);
        continue;
      }
      this.#expiredInRow = 0;
      // A watch that delivered something was healthy: reconnect at once. One that delivered
      // nothing (refused, failed, closed straight away) backs off, so failures cannot spin.
      if (outcome.events === 0) await this.#pause(++this.#failures);
    }
  }

  /** Lists, replaces the store and emits the differences; false when the list failed. */
  async #list(reason: RelistReason): Promise<boolean> {
    const started = Date.now();
    const abort = new AbortController();
    this.#listAbort = abort;
    const { path, namespace, labelSelector, fieldSelector, pageSize } = this.#o;
    try {
      const result = await this.#o.lister.list(path, {
        labelSelector,
        fieldSelector,
        pageSize,
        signal: abort.signal,
      });
      if (this.#stopped) return true;
      const items: T[] = [];
      for (const raw of result.items) {
        const item = this.#o.prepare(raw);
        if (item) items.push(item);
      }
      const events = replaceAll(this.store, items);
      this.#resourceVersion = result.resourceVersion;
      const { resourceVersion } = result;
      const durationMs = Date.now() - started;
      this.#o.log({
        level: 'info',
        event: 'listed',
        namespace,
        reason,
        objects: items.length,
        changes: events.length,
        resourceVersion,
        durationMs,
      });
      for (const event of events) this.#o.emit(event);
      if (!this.#synced) {
        this.#synced = true;
        this.#o.onSynced();
      }
      this.#armRelist();
      return true;
    } catch (err) {
      if (this.#stopped) return true;
      this.#o.log({
        level: 'warn',
        event: 'list-failed',
        namespace,
        reason,
        error: describeApiError(err),
        attempt: this.#failures + 1,
      });
      return false;
    } finally {
      this.#listAbort = undefined;
    }
  }

  #armRelist(): void {
    clearTimeout(this.#relistTimer);
    if (this.#o.relistPeriodMs <= 0) return;
    // Up to 10 % later, so informers started together do not relist together.
    const delay = this.#o.relistPeriodMs * (1 + 0.1 * Math.random());
    this.#relistTimer = setTimeout(() => this.relist('periodic'), delay);
  }

  async #watchOnce(): Promise<WatchOutcome> {
    const { namespace } = this.#o;
    const resourceVersion = this.#resourceVersion;
    this.#o.log({ level: 'debug', event: 'watch-started', namespace, resourceVersion });
    const session = startWatch({
      watch: this.#watch,
      path: this.#o.path,
      params: {
        allowWatchBookmarks: true,
        resourceVersion: resourceVersion || undefined,
        labelSelector: this.#o.labelSelector,
        fieldSelector: this.#o.fieldSelector,
        // The server ends the watch cleanly after 1–2× this; spread so watches do not end together.
        timeoutSeconds: Math.round(this.#o.watchTimeoutSeconds * (1 + Math.random())),
      },
      watchdogMs: this.#o.watchdogMs,
      onObject: (type, raw) => {
        const item = this.#o.prepare(raw);
        if (!item) return;
        const event = applyWatchEvent(this.store, type, item);
        const rv = item.metadata?.resourceVersion;
        if (rv) this.#resourceVersion = rv;
        if (event) this.#o.emit(event);
      },
      onBookmark: (rv) => {
        this.#resourceVersion = rv;
      },
      onWatchdog: (idleMs) => this.#o.log({ level: 'warn', event: 'watchdog-fired', namespace, idleMs }),
    });
    this.#endWatch = session.end;
    const outcome = await session.ended;
    this.#endWatch = undefined;
    const { reason, events, durationMs, error } = outcome;
    if (reason !== 'stopped' && reason !== 'relist') {
      this.#o.log({
        level: watchEndLevel(reason),
        event: 'watch-ended',
        namespace,
        reason,
        events,
        durationMs,
        error,
      });
    }
    return outcome;
  }

  #pause(attempt: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    const delayMs = backoffDelay(attempt, this.#o.backoff);
    this.#o.log({ level: 'info', event: 'backoff', namespace: this.#o.namespace, delayMs, attempt });
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, delayMs);
      this.#wake = done;
    });
  }
}
