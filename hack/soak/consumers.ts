// Kubelet-like consumers, one per Secret: each sees the Secret as it was `lag` ago (the newest
// version that had arrived by then) and reads it every `interval`. A read is *expired* when the
// token it sees has a JWT `exp` in the past, or when it sees no token at all after the first one
// was written. Sampling is live; the time of each read is the real time of that read, so a
// stalled event loop delays reads but cannot make an expired token look valid.
import type { SecretHistory, TokenVersion } from './secret-history.ts';

export interface ExpiredRead {
  name: string;
  at: number;
  /** The version the consumer saw. */
  seen: TokenVersion;
}

export interface ConsumerStats {
  samples: number;
  expired: ExpiredRead[];
  /** Sampling ticks that ran more than a second late (the harness' event loop was stalled). */
  lateTicks: number;
  maxTickLatenessMs: number;
}

export interface Consumers {
  stats(): ConsumerStats;
  stop(): void;
}

/** The version a consumer `lagMs` behind sees at `at`: the newest that had arrived by `at − lag`. */
export function viewAt(
  versions: readonly TokenVersion[],
  at: number,
  lagMs: number,
): TokenVersion | undefined {
  let seen: TokenVersion | undefined;
  for (const v of versions) {
    if (v.arrival > at - lagMs) break;
    seen = v;
  }
  return seen;
}

export function startConsumers(history: SecretHistory, lagMs: number, intervalMs: number): Consumers {
  const stats: ConsumerStats = { samples: 0, expired: [], lateTicks: 0, maxTickLatenessMs: 0 };
  let next = Date.now();
  let timer: NodeJS.Timeout | undefined;

  const tick = () => {
    const now = Date.now();
    const lateness = now - next;
    if (lateness > 1000) stats.lateTicks += 1;
    stats.maxTickLatenessMs = Math.max(stats.maxTickLatenessMs, lateness);
    for (const name of history.names()) {
      const seen = viewAt(history.versions(name), now, lagMs);
      // The consumer starts once the first token is `lag` old.
      if (!seen) continue;
      stats.samples += 1;
      if (seen.fingerprint === undefined || seen.expMs === undefined || seen.expMs <= now) {
        stats.expired.push({ name, at: now, seen });
      }
    }
    next += intervalMs;
    // After a stall, skip the missed ticks rather than firing them all at once.
    if (next < Date.now()) next = Date.now() + intervalMs;
    timer = setTimeout(tick, next - Date.now());
  };
  next += intervalMs;
  timer = setTimeout(tick, intervalMs);

  return {
    stats: () => stats,
    stop() {
      clearTimeout(timer);
    },
  };
}
