// Kubernetes events (core/v1) about TokenRequests and issuers. Events are for people: they
// are emitted on transitions (first token, failure, recovery, warnings), not on every routine
// renewal, which would add an API write per renewal. A repeat of the same reason and message
// for the same object within `dedupeWindowMs` is dropped. Failing to record an event never
// fails a reconcile. Messages must already be sanitized: no token or secret reaches here.
//
// Events stay off the hot path: `record` only queues; at most `concurrency` creates run at once,
// and beyond `maxPending` queued events new ones are dropped (and counted), like client-go's
// event broadcaster. A herd of first tokens (thousands of TokenIssued events) then cannot crowd
// out the Secret and status writes that matter.
import { hostname } from 'node:os';
import type { CoreV1Api, CoreV1ApiCreateNamespacedEventRequest } from '@kubernetes/client-node';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  /** Empty for cluster-scoped objects (their events go to the `default` namespace). */
  namespace?: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(target: EventTarget, type: EventType, reason: string, message: string): void;
}

export interface KubeEventRecorderOptions {
  now?: () => Date;
  dedupeWindowMs?: number;
  /** Event creates in flight at once. Default 2. */
  concurrency?: number;
  /** Events waiting beyond this are dropped. Default 1000. */
  maxPending?: number;
  onError?: (err: unknown) => void;
  /**
   * Events were dropped because too many were waiting: called once the backlog has drained, with
   * the number dropped since the last call (one report per burst, not one per event).
   */
  onDropped?: (count: number) => void;
}

const component = 'token-renewer';

export function kubeEventRecorder(core: CoreV1Api, options: KubeEventRecorderOptions = {}): EventRecorder {
  const now = options.now ?? (() => new Date());
  const window = options.dedupeWindowMs ?? 10 * 60_000;
  const concurrency = options.concurrency ?? 2;
  const maxPending = options.maxPending ?? 1000;
  const recent = new Map<string, number>();
  const instance = hostname();
  const pending: CoreV1ApiCreateNamespacedEventRequest[] = [];
  let running = 0;
  let dropped = 0;
  const pump = (): void => {
    if (dropped > 0 && pending.length === 0 && running === 0) {
      const count = dropped;
      dropped = 0;
      options.onDropped?.(count);
    }
    while (running < concurrency && pending.length > 0) {
      const request = pending.shift() as CoreV1ApiCreateNamespacedEventRequest;
      running++;
      core
        .createNamespacedEvent(request)
        .catch((err: unknown) => options.onError?.(err))
        .finally(() => {
          running--;
          pump();
        });
    }
  };
  return {
    record(target, type, reason, message) {
      const at = now();
      const key = `${target.uid ?? target.name}\u0000${reason}\u0000${message}`;
      const last = recent.get(key);
      if (last !== undefined && at.getTime() - last < window) return;
      recent.set(key, at.getTime());
      if (recent.size > 10_000) pruneOlderThan(recent, at.getTime() - window);
      if (pending.length >= maxPending) {
        dropped++;
        return;
      }
      const namespace = target.namespace || 'default';
      pending.push({
        namespace,
        body: {
          metadata: { generateName: `${target.name}.`, namespace },
          involvedObject: {
            apiVersion: target.apiVersion,
            kind: target.kind,
            name: target.name,
            namespace: target.namespace,
            uid: target.uid,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component },
          reportingComponent: component,
          reportingInstance: instance,
          firstTimestamp: at,
          lastTimestamp: at,
          count: 1,
        },
      });
      pump();
    },
  };
}

function pruneOlderThan(recent: Map<string, number>, cutoff: number): void {
  for (const [key, at] of recent) if (at < cutoff) recent.delete(key);
}
