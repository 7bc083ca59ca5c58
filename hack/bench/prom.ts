// A small reader of the Prometheus text format: enough to sum the series of a metric by some of
// its labels, for /metrics of the operator and of kube-apiserver.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of the metrics whose names pass `wanted` (all when omitted). */
export function parseMetrics(text: string, wanted?: (name: string) => boolean): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '' || raw.startsWith('#')) continue;
    const m = line.exec(raw);
    if (!m) continue;
    const name = m[1] ?? '';
    if (wanted && !wanted(name)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(label)) labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, '$1');
    samples.push({ name, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of one series without labels (or the sum over all its series). */
export function metricValue(samples: readonly Sample[], name: string): number | undefined {
  let total: number | undefined;
  for (const s of samples) if (s.name === name) total = (total ?? 0) + s.value;
  return total;
}

/** Sums the series of `name` grouped by the given labels, keyed `a|b|c`. */
export function sumBy(samples: readonly Sample[], name: string, by: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = by.map((l) => s.labels[l] ?? '').join('|');
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** `after − before` for every key (keys only in `after` count from 0). */
export function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of after) {
    const d = value - (before.get(key) ?? 0);
    if (d !== 0) out.set(key, d);
  }
  return out;
}

/** Cumulative histogram buckets (`le` → count) of one histogram metric, summed over its series. */
export function histogramBuckets(samples: readonly Sample[], name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/** A quantile from cumulative buckets, interpolated linearly inside the bucket as Prometheus does. */
export function bucketQuantile(buckets: Map<number, number>, q: number): number | undefined {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
