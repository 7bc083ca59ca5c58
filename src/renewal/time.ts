// Instants cross this module's boundary as Dates and are stored in Kubernetes as RFC 3339 with
// whole seconds (like metav1.Time). Rounding always goes down, so a stored renewal or expiry time
// is never later than the computed one.

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** The epoch milliseconds of a Date; an Invalid Date is a programming error, not input. */
export function msOf(date: Date, what: string): number {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`${what} is an invalid Date`);
  return ms;
}

export function floorToSecond(ms: number): number {
  return Math.floor(ms / SECOND_MS) * SECOND_MS;
}

export function ceilToSecond(ms: number): number {
  return Math.ceil(ms / SECOND_MS) * SECOND_MS;
}

/** RFC 3339 in UTC with whole seconds (`2026-12-04T16:00:00Z`), rounded down. */
export function formatTime(date: Date): string {
  return new Date(floorToSecond(msOf(date, 'time'))).toISOString().replace('.000Z', 'Z');
}

// Strict RFC 3339 date-time: Date.parse alone would also accept `2026-12-04` or `Dec 4 2026`.
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp; anything else (including undefined) gives undefined. */
export function parseTime(value: string | null | undefined): Date | undefined {
  if (typeof value !== 'string' || !rfc3339.test(value)) return undefined;
  const ms = Date.parse(value.toUpperCase());
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** The earlier of the defined dates, or undefined when none is. */
export function earliest(...dates: (Date | undefined)[]): Date | undefined {
  let best: Date | undefined;
  for (const date of dates) {
    if (date !== undefined && (best === undefined || date.getTime() < best.getTime())) best = date;
  }
  return best;
}

/** Clamps a value of an injected `random()` into [0, 1], treating NaN as 0, so a bad source cannot widen a bound. */
export function unitInterval(value: number): number {
  return value > 0 ? Math.min(value, 1) : 0;
}
