// Small statistics for the benchmark: percentiles, least-squares fits, windowed rates.

/** The q-quantile (0..1) of the values by the nearest-rank method; undefined when empty. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** Least-squares line through the points: slope and intercept (undefined with fewer than 2 distinct x). */
export function linearFit(
  points: readonly { x: number; y: number }[],
): { slope: number; intercept: number } | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/**
 * The highest number of events in any window of `windowMs` (sliding over the event times),
 * and the average rate per second between the first and the last event.
 */
export function peakRate(timesMs: readonly number[], windowMs = 1000): { peak: number; average: number } {
  if (timesMs.length === 0) return { peak: 0, average: 0 };
  const sorted = [...timesMs].sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= windowMs) start++;
    peak = Math.max(peak, end - start + 1);
  }
  const spanMs = (sorted.at(-1) ?? 0) - (sorted[0] ?? 0);
  return { peak: (peak * 1000) / windowMs, average: spanMs > 0 ? ((sorted.length - 1) * 1000) / spanMs : 0 };
}

/**
 * The highest rate of a cumulative counter over any window of at least `windowMs` between two of
 * its samples ([time ms, total]), per second.
 */
export function peakCounterRate(samples: readonly [number, number][], windowMs = 1000): number {
  let peak = 0;
  let i = 0;
  for (let j = 1; j < samples.length; j++) {
    const [tj, cj] = samples[j] ?? [0, 0];
    // The shortest window ending at j that is still at least windowMs long.
    while (i + 1 < j && tj - (samples[i + 1]?.[0] ?? 0) >= windowMs) i++;
    const [ti, ci] = samples[i] ?? [0, 0];
    if (tj - ti >= windowMs) peak = Math.max(peak, ((cj - ci) * 1000) / (tj - ti));
  }
  return peak;
}
