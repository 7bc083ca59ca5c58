// Random fault windows on the token endpoint: every token request in a window fails in one
// chosen way (or is answered slowly); between windows at least `gap` of quiet, so that two windows
// never add up to an outage as long as the lead. A fault lasts a random 1 s – lead/2 (by default)
// *including its tail*: a request that hangs at the end of a window fails only at the issuer's
// timeout, a 429 keeps the client away for its Retry-After, and a slow response arrives late, so
// those windows are shortened by that tail (to no less than 250 ms).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fault, FaultProxy } from '../../test/support/fault-proxy.ts';
import type { DelayProxy } from './delay-proxy.ts';

export const faultKinds = [
  'http 5xx',
  'http 429 + Retry-After',
  'oauth temporarily_unavailable',
  'connection reset',
  'hang (until timeout)',
  'slow response',
  'expired token',
  'HTML body',
  'no access_token',
] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface FaultWindow {
  kind: FaultKind;
  /** e.g. the status code or the Retry-After. */
  detail: string;
  start: number;
  /** When the window was closed (set when it ends). */
  end: number;
  /** How long the fault outlasts its window at most (timeout, Retry-After, response delay). */
  tailMs: number;
  /** Token requests that arrived during the window (all of them got the fault). */
  requests: number;
}

export interface FaultInjectorOptions {
  proxy: FaultProxy;
  delay: DelayProxy;
  random: () => number;
  /** Mean windows per minute; 0: none. */
  rate: number;
  minMs: number;
  maxMs: number;
  gapMs: number;
  leadMs: number;
  timeoutMs: number;
  onWindow?: (window: FaultWindow) => void;
}

export interface FaultInjector {
  readonly windows: readonly FaultWindow[];
  /** Ends the current window (if any) and stops scheduling new ones. */
  stop(): Promise<void>;
}

// More than any window can consume: the queue is cleared when the window closes.
const QUEUED = 10_000;
const MIN_WINDOW_MS = 250;

export function startFaultInjector(o: FaultInjectorOptions): FaultInjector {
  const windows: FaultWindow[] = [];
  const abort = new AbortController();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(o.random() * items.length)] as T;
  const meanWindowMs = (o.minMs + o.maxMs) / 2;
  // The gap beyond the minimum is exponential, so that windows come at random intervals with
  // the requested mean rate (as far as the minimum gap allows).
  const extraGapMeanMs = o.rate > 0 ? Math.max(0, 60_000 / o.rate - meanWindowMs - o.gapMs) : 0;

  const open = (kind: FaultKind): { detail: string; tailMs: number } => {
    const queue = (fault: Fault) => o.proxy.failNext(QUEUED, fault);
    switch (kind) {
      case 'http 5xx': {
        const status = pick([500, 502, 503, 504]);
        queue({ kind: 'status', status });
        return { detail: String(status), tailMs: 0 };
      }
      case 'http 429 + Retry-After': {
        // Retry-After stays well inside the lead: 1 s up to a quarter of the lead.
        const seconds = 1 + Math.floor(o.random() * Math.max(1, Math.floor(o.leadMs / 4000)));
        queue({ kind: 'rateLimited', retryAfterSeconds: seconds });
        return { detail: `Retry-After ${seconds}s`, tailMs: seconds * 1000 };
      }
      case 'oauth temporarily_unavailable':
        queue({ kind: 'oauthError', error: 'temporarily_unavailable', status: 503 });
        return { detail: '503', tailMs: 0 };
      case 'connection reset':
        queue({ kind: 'reset' });
        return { detail: '', tailMs: 0 };
      case 'hang (until timeout)':
        queue({ kind: 'hang' });
        return { detail: `timeout ${o.timeoutMs} ms`, tailMs: o.timeoutMs };
      case 'slow response': {
        const range = { minMs: o.timeoutMs * 0.25, maxMs: o.timeoutMs * 0.75 };
        o.delay.slow(range);
        return { detail: `${Math.round(range.minMs)}–${Math.round(range.maxMs)} ms`, tailMs: range.maxMs };
      }
      case 'expired token':
        queue({ kind: 'expiredToken' });
        return { detail: 'exp 60 s ago', tailMs: 0 };
      case 'HTML body':
        queue({ kind: 'nonJson' });
        return { detail: '200 text/html', tailMs: 0 };
      case 'no access_token':
        queue({ kind: 'missingAccessToken' });
        return { detail: '200 JSON', tailMs: 0 };
    }
  };
  const close = () => {
    o.proxy.clearFaults();
    o.delay.slow(undefined);
  };

  const loop = (async () => {
    if (o.rate <= 0) return;
    const signal = abort.signal;
    while (!signal.aborted) {
      const gap = o.gapMs - extraGapMeanMs * Math.log(1 - o.random());
      await sleep(gap, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      const kind = pick(faultKinds);
      const length = o.minMs + o.random() * (o.maxMs - o.minMs);
      const before = kind === 'slow response' ? o.delay.delayed() : o.proxy.tokenRequests();
      const { detail, tailMs } = open(kind);
      const window: FaultWindow = { kind, detail, start: Date.now(), end: 0, tailMs, requests: 0 };
      windows.push(window);
      await sleep(Math.max(MIN_WINDOW_MS, length - tailMs), undefined, { signal }).catch(() => {});
      close();
      window.end = Date.now();
      window.requests = (kind === 'slow response' ? o.delay.delayed() : o.proxy.tokenRequests()) - before;
      o.onWindow?.(window);
    }
  })();

  return {
    windows,
    async stop() {
      abort.abort();
      await loop;
      close();
    },
  };
}
