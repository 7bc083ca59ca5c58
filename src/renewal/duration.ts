// Go duration strings (time.ParseDuration / Duration.String), which is what Kubernetes users
// write for `renewBefore` or `timeout`. Parsing is done in BigInt nanoseconds so that `1.1h` or a
// 90-day value come out exact, then converted to (possibly fractional) milliseconds.

const unitNs: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const nsPerMs = 1_000_000n;
// Go's limit: a Duration is an int64 of nanoseconds (about 292 years).
const maxNs = (1n << 63n) - 1n;

export class DurationError extends Error {
  readonly code = 'ERR_INVALID_DURATION';
  /** The rejected input, as given. */
  readonly input: string;

  constructor(input: string, detail: string) {
    const shown = input.length > 40 ? `${input.slice(0, 40)}…` : input;
    super(`invalid duration ${JSON.stringify(shown)}: ${detail}`);
    this.name = 'DurationError';
    this.input = input;
  }
}

// One `<number><unit>` term: digits, optional fraction (either side may be empty, not both).
const term = /^(\d*)(?:\.(\d*))?([^\d.]+)/;

/**
 * Parses a Go duration (`90s`, `1h30m`, `1.5h`, `300ms`, `-2m`, `0`) into milliseconds, which
 * are fractional below 1 ms (`1500ns` → 0.0015). Throws DurationError for anything Go rejects,
 * including values beyond Go's int64 nanoseconds.
 */
export function parseDuration(input: string): number {
  let rest = input;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new DurationError(input, 'empty');
  let total = 0n;
  while (rest !== '') {
    const match = term.exec(rest);
    if (!match) throw new DurationError(input, 'expected a number followed by a unit');
    const [whole, intDigits, fracDigits = '', unit] = match;
    if (intDigits === '' && fracDigits === '') throw new DurationError(input, 'expected digits');
    const scale = unitNs[unit];
    if (scale === undefined) throw new DurationError(input, `unknown unit ${JSON.stringify(unit)}`);
    // Like Go, fractional nanoseconds are truncated.
    const fraction = fracDigits === '' ? 0n : (BigInt(fracDigits) * scale) / 10n ** BigInt(fracDigits.length);
    total += BigInt(intDigits === '' ? '0' : intDigits) * scale + fraction;
    if (total > maxNs + (negative ? 1n : 0n)) throw new DurationError(input, 'out of range');
    rest = rest.slice(whole.length);
  }
  const ms = Number(total / nsPerMs) + Number(total % nsPerMs) / 1e6;
  return negative ? -ms : ms;
}

/** Formats `value` as an integer part and a fraction of `precision` digits, trailing zeros dropped. */
function withFraction(value: bigint, precision: number): string {
  const divisor = 10n ** BigInt(precision);
  const fraction = (value % divisor).toString().padStart(precision, '0').replace(/0+$/, '');
  return `${value / divisor}${fraction === '' ? '' : `.${fraction}`}`;
}

/**
 * Formats milliseconds exactly as Go's time.Duration.String does: `1h30m0s`, `10m0s`, `1.5s`,
 * `300ms`, `1.5µs`, `0s` (units up to hours, because days vary in length). Sub-nanosecond
 * remainders are rounded to the nearest nanosecond.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`cannot format ${ms} as a duration`);
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  const wholeMs = Math.trunc(abs);
  const ns = BigInt(wholeMs) * nsPerMs + BigInt(Math.round((abs - wholeMs) * 1e6));
  if (ns === 0n) return '0s';
  if (ns < 1_000n) return `${sign}${ns}ns`;
  if (ns < 1_000_000n) return `${sign}${withFraction(ns, 3)}µs`;
  if (ns < 1_000_000_000n) return `${sign}${withFraction(ns, 6)}ms`;
  const totalSeconds = ns / 1_000_000_000n;
  const secondsPart = `${withFraction((totalSeconds % 60n) * 1_000_000_000n + (ns % 1_000_000_000n), 9)}s`;
  const minutes = totalSeconds / 60n;
  if (minutes === 0n) return `${sign}${secondsPart}`;
  const hours = minutes / 60n;
  const minutesPart = `${minutes % 60n}m`;
  return `${sign}${hours === 0n ? '' : `${hours}h`}${minutesPart}${secondsPart}`;
}
