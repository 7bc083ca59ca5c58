// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Pure: `now` is injected so a
// date is turned into a delay against the caller's clock.

// The three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7). Checked before Date.parse,
// which would otherwise accept almost anything ("1", "2024", "-5").
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * The delay in milliseconds a `Retry-After` value asks for, or undefined when the value is absent
 * or not understood. A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  let at: number;
  if (IMF_FIXDATE.test(text) || RFC850_DATE.test(text)) at = Date.parse(text);
  // asctime carries no zone; HTTP dates are always UTC.
  else if (ASCTIME_DATE.test(text)) at = Date.parse(`${text} GMT`);
  else return undefined;
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
