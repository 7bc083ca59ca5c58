// Is the machine keeping up? Every couple of seconds: the longest event-loop stall of this
// harness process and of the operator (prom-client's nodejs_eventloop_lag_max_seconds, which
// covers the time since the previous scrape), and the 1-minute load average. Used to tell an
// expired read caused by the operator from one caused by a starved machine.
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1] ?? ''] = label[2] ?? '';
    }
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

export function sumOf(samples: readonly MetricSample[], name: string, labels: Record<string, string> = {}) {
  return samples
    .filter((m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v))
    .reduce((total, m) => total + m.value, 0);
}

export interface LoadSample {
  /** The interval the sample covers: (from, at]. */
  from: number;
  at: number;
  harnessStallMs: number;
  /** undefined when the scrape failed. */
  operatorStallMs?: number;
  load1: number;
}

export interface Monitor {
  readonly samples: readonly LoadSample[];
  /** The worst of each measure over samples overlapping [from, to]. */
  worst(from: number, to: number): { harnessStallMs: number; operatorStallMs: number; load1: number };
  /** Scrapes /metrics once more (e.g. at the end). */
  scrape(): Promise<string | undefined>;
  stop(): Promise<void>;
}

export function startMonitor(metricsURL: string, intervalMs = 2000): Monitor {
  const samples: LoadSample[] = [];
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const abort = new AbortController();
  const scrape = async (): Promise<string | undefined> => {
    try {
      const res = await fetch(metricsURL, { signal: AbortSignal.timeout(5000) });
      return res.ok ? await res.text() : undefined;
    } catch {
      return undefined;
    }
  };
  let last = Date.now();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      await sleep(intervalMs, undefined, { signal: abort.signal }).catch(() => {});
      if (abort.signal.aborted) break;
      const text = await scrape();
      const stall = text
        ? parseMetrics(text).find((m) => m.name === 'token_renewer_nodejs_eventloop_lag_max_seconds')
        : undefined;
      const at = Date.now();
      samples.push({
        from: last,
        at,
        harnessStallMs: histogram.max / 1e6,
        operatorStallMs: stall ? stall.value * 1000 : undefined,
        load1: loadavg()[0] ?? 0,
      });
      histogram.reset();
      last = at;
    }
  })();
  return {
    samples,
    worst(from, to) {
      const worst = { harnessStallMs: 0, operatorStallMs: 0, load1: 0 };
      for (const s of samples) {
        if (s.at <= from || s.from >= to) continue;
        worst.harnessStallMs = Math.max(worst.harnessStallMs, s.harnessStallMs);
        worst.operatorStallMs = Math.max(worst.operatorStallMs, s.operatorStallMs ?? 0);
        worst.load1 = Math.max(worst.load1, s.load1);
      }
      return worst;
    },
    scrape,
    async stop() {
      abort.abort();
      await loop;
      histogram.disable();
    },
  };
}
