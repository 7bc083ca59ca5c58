// Kubernetes events (core/v1) about TokenRequests and issuers. Events are for people: they
// are emitted on transitions (first token, failure, recovery, warnings), not on every routine
// renewal, which would add an API write per renewal. A repeat of the same reason and message
// for the same object within `dedupeWindowMs` is dropped. Failing to record an event never
// fails a reconcile. Messages must already be sanitized: no token or secret reaches here.
import { hostname } from 'node:os';
import type { CoreV1Api } from '@kubernetes/client-node';

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

const component = 'token-renewer';

export function kubeEventRecorder(
  core: CoreV1Api,
  options: { now?: () => Date; dedupeWindowMs?: number; onError?: (err: unknown) => void } = {},
): EventRecorder {
  const now = options.now ?? (() => new Date());
  const window = options.dedupeWindowMs ?? 10 * 60_000;
  const recent = new Map<string, number>();
  const instance = hostname();
  return {
    record(target, type, reason, message) {
      const at = now();
      const key = `${target.uid ?? target.name}\u0000${reason}\u0000${message}`;
      const last = recent.get(key);
      if (last !== undefined && at.getTime() - last < window) return;
      recent.set(key, at.getTime());
      if (recent.size > 10_000) pruneOlderThan(recent, at.getTime() - window);
      const namespace = target.namespace || 'default';
      core
        .createNamespacedEvent({
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
        })
        .catch((err: unknown) => options.onError?.(err));
    },
  };
}

function pruneOlderThan(recent: Map<string, number>, cutoff: number): void {
  for (const [key, at] of recent) if (at < cutoff) recent.delete(key);
}
