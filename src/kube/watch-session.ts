// One watch request over client-node's stateless `Watch` stream, from start to end, with a
// watchdog: if nothing arrives (no event, no bookmark) for `watchdogMs` the request is abandoned,
// because a watch whose TCP peer died silently would otherwise wait forever. The caller decides
// what an end means (reconnect, relist); this module only reports how it ended.
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { describeApiError } from './conflict.ts';
import type { WatchEventType } from './object-store.ts';
import type { WatchEndReason } from './reflector-log.ts';

export type WatchEnd = WatchEndReason | 'relist' | 'stopped';

export interface WatchOutcome {
  reason: WatchEnd;
  /** Events the watch delivered, bookmarks included, ERROR events not. */
  events: number;
  durationMs: number;
  error?: string;
}

export interface WatchSessionOptions {
  watch: Watch;
  path: string;
  params: Record<string, string | number | boolean | undefined>;
  watchdogMs: number;
  /** ADDED/MODIFIED/DELETED; must not throw. */
  onObject: (type: WatchEventType, object: unknown) => void;
  onBookmark: (resourceVersion: string) => void;
  onWatchdog: (idleMs: number) => void;
}

export interface WatchSession {
  readonly ended: Promise<WatchOutcome>;
  /** Ends the watch now (idempotent). */
  end(reason: WatchEnd, error?: string): void;
}

/**
 * A Watch whose client-side timer does not undercut our watchdog. client-node 2.0.1 aborts a
 * watch after 30 s without data (2.0.0: 30 s after it starts, whatever arrives) — shorter than
 * the ~1 min between bookmarks, so quiet watches would reconnect twice a minute. The private
 * field stays as a backstop, just after the watchdog.
 */
export function createWatch(kc: KubeConfig, watchdogMs: number): Watch {
  const watch = new Watch(kc);
  if ('requestTimeoutMs' in watch) Object.assign(watch, { requestTimeoutMs: watchdogMs + 15_000 });
  return watch;
}

export function startWatch(options: WatchSessionOptions): WatchSession {
  const { watchdogMs } = options;
  const started = Date.now();
  let events = 0;
  let lastActivity = started;
  let settled = false;
  let controller: AbortController | undefined;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let resolveEnded: (outcome: WatchOutcome) => void = () => {};
  const ended = new Promise<WatchOutcome>((resolve) => {
    resolveEnded = resolve;
  });

  const end = (reason: WatchEnd, error?: string): void => {
    if (settled) return;
    settled = true;
    clearTimeout(watchdog);
    controller?.abort();
    resolveEnded({ reason, events, durationMs: Date.now() - started, error });
  };

  const checkIdle = (): void => {
    const idleMs = Date.now() - lastActivity;
    if (idleMs < watchdogMs) {
      watchdog = setTimeout(checkIdle, watchdogMs - idleMs);
      return;
    }
    options.onWatchdog(idleMs);
    end('watchdog');
  };
  // Re-armed lazily from the last activity: no timer churn per event.
  watchdog = setTimeout(checkIdle, watchdogMs);

  const onEvent = (type: unknown, object: unknown): void => {
    if (settled) return;
    lastActivity = Date.now();
    // ERROR events do not count: a server failing every watch at once must lead to backoff.
    if (type !== 'ERROR') events++;
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
      options.onObject(type, object);
    } else if (type === 'BOOKMARK') {
      const rv = isRecord(object) && isRecord(object.metadata) ? object.metadata.resourceVersion : undefined;
      if (typeof rv === 'string' && rv) options.onBookmark(rv);
    } else if (type === 'ERROR') {
      end(...classifyErrorEvent(object));
    }
  };

  // `watch()` resolves with the request's AbortController only once the response headers are in
  // (and may call `done` before that), so an end requested earlier aborts it on arrival.
  options.watch
    .watch(options.path, options.params, onEvent, (err: unknown) => end(...classifyWatchEnd(err)))
    .then(
      (c) => {
        controller = c;
        if (settled) c.abort();
      },
      (err: unknown) => end('error', describeApiError(err)),
    );
  return { ended, end };
}

/**
 * How a watch ended, from what client-node's `done` callback got: null when the stream closed
 * normally, an Error with `statusCode` for a non-200 answer, a TimeoutError from its own timer.
 */
export function classifyWatchEnd(err: unknown): [WatchEndReason, string?] {
  if (err === null || err === undefined) return ['closed'];
  // A non-200 answer arrives as an Error with `statusCode` (410 when the resourceVersion is gone).
  if (isRecord(err) && err.statusCode === 410) return ['expired', describeApiError(err)];
  if (err instanceof Error && err.name === 'TimeoutError') return ['timeout', describeApiError(err)];
  return ['error', describeApiError(err)];
}

/** An ERROR event carries a Status; code 410 (a resourceVersion compacted away) means relist. */
export function classifyErrorEvent(object: unknown): [WatchEndReason, string] {
  const status = isRecord(object) ? object : {};
  const error = `${String(status.code)} ${String(status.reason)}: ${String(status.message)}`;
  return [status.code === 410 ? 'expired' : 'error', error];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
