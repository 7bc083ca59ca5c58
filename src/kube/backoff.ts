// Reconnect delays for the list/watch loops: exponential, capped, jittered so that many informers
// failing together (an API server restart) do not come back in lockstep.
import { backoffCeilingMs } from '../renewal/backoff.ts';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Uniform in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (1 = first retry): `initialMs · 2^(attempt−1)` capped at
 * `maxMs`, of which a random half is taken away ("equal jitter": spread, but never near zero).
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const ceiling = backoffCeilingMs(attempt, options.initialMs, options.maxMs);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
