// What the informer reports about its own health: typed entries for the operator's logger and
// metrics (reconnects, relists, watchdog fires), so the informer itself never writes a log line.

/** Why a list ran: the first one, a 410 Gone, the periodic safety net, or on request. */
export type RelistReason = 'initial' | 'expired' | 'periodic' | 'requested';

/**
 * Why a watch ended: the server closed it (`closed`, normal after `timeoutSeconds`), client-node's
 * own timer aborted it (`timeout`), it failed (`error`: network, 5xx, 429, an ERROR event), its
 * resourceVersion was compacted away (`expired`, 410), or it went silent (`watchdog`).
 */
export type WatchEndReason = 'closed' | 'timeout' | 'error' | 'expired' | 'watchdog';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** `namespace` is undefined for a watch over all namespaces (or a cluster-scoped resource). */
export type InformerLogEntry =
  | {
      level: LogLevel;
      event: 'listed';
      namespace: string | undefined;
      reason: RelistReason;
      objects: number;
      /** add/update/delete events the list produced against the previous state. */
      changes: number;
      resourceVersion: string;
      durationMs: number;
    }
  | {
      level: LogLevel;
      event: 'list-failed';
      namespace: string | undefined;
      reason: RelistReason;
      error: string;
      attempt: number;
    }
  | { level: LogLevel; event: 'watch-started'; namespace: string | undefined; resourceVersion: string }
  | {
      level: LogLevel;
      event: 'watch-ended';
      namespace: string | undefined;
      reason: WatchEndReason;
      /** Events (bookmarks included) the watch delivered. */
      events: number;
      durationMs: number;
      error: string | undefined;
    }
  | { level: LogLevel; event: 'watchdog-fired'; namespace: string | undefined; idleMs: number }
  | { level: LogLevel; event: 'backoff'; namespace: string | undefined; delayMs: number; attempt: number }
  | { level: LogLevel; event: 'resync'; objects: number }
  | {
      level: LogLevel;
      event: 'callback-failed';
      phase: 'handler' | 'transform';
      key?: string;
      error: string;
    };

export function watchEndLevel(reason: WatchEndReason): LogLevel {
  switch (reason) {
    case 'closed':
    case 'timeout':
      return 'debug';
    case 'expired':
      return 'info';
    case 'error':
    case 'watchdog':
      return 'warn';
  }
}
