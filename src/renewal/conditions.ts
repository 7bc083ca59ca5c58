// Kubernetes-style conditions (metav1.Condition): one per type, with lastTransitionTime
// changing only when the status does, so `kubectl describe` shows how long a state has held.
import type { Condition } from '../api/generated/types.ts';
import { formatTime } from './time.ts';

export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

/**
 * Returns a new list with `next` replacing the condition of the same type (in place, so the
 * order is stable) or appended. lastTransitionTime is kept when the status is unchanged and is
 * `now` otherwise; reason, message and observedGeneration always take the new values.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionUpdate,
  now: Date,
): Condition[] {
  const list = conditions ?? [];
  const previous = findCondition(list, next.type);
  const lastTransitionTime =
    previous && previous.status === next.status ? previous.lastTransitionTime : formatTime(now);
  const condition: Condition = { ...next, lastTransitionTime };
  if (next.observedGeneration === undefined) delete condition.observedGeneration;
  if (!previous) return [...list, condition];
  return list.map((existing) => (existing === previous ? condition : existing));
}
