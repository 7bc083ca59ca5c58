// What the recorded history says: time below the lead, remaining validity at replacement, exact
// time a lagging consumer's view was expired, attempts per renewal from the operator's log, and
// for each expired read an account of why (failed attempts, a late start, a slow delivery, a
// stalled machine).
import { readFile } from 'node:fs/promises';
import type { ExpiredRead } from './consumers.ts';
import type { FaultWindow } from './faults.ts';
import type { Monitor } from './monitor.ts';
import type { SecretHistory, TokenVersion } from './secret-history.ts';

export interface LogEntry {
  at: number;
  level: string;
  msg: string;
  name?: string;
  reason?: string;
  message?: string;
  failedAttempts?: number;
  retryAt?: string;
}

/** The operator's JSON log lines for one namespace (and those without a namespace). */
export async function readOperatorLog(file: string, namespace: string): Promise<LogEntry[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const entries: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (raw.namespace !== undefined && raw.namespace !== namespace) continue;
    const str = (key: string) => (typeof raw[key] === 'string' ? (raw[key] as string) : undefined);
    entries.push({
      at: Date.parse(str('time') ?? ''),
      level: str('level') ?? '',
      msg: str('msg') ?? '',
      name: str('name'),
      reason: str('reason'),
      message: str('message'),
      failedAttempts: typeof raw.failedAttempts === 'number' ? raw.failedAttempts : undefined,
      retryAt: str('retryAt'),
    });
  }
  return entries;
}

export interface Window {
  start: number;
  end: number;
}

export interface FreshnessFacts {
  /** New tokens written after the first one, per the watch. */
  renewals: number;
  /** Renewals whose token arrived when the old one had less than the lead left. */
  renewalsBelowLead: number;
  longestBelowLead?: { name: string; ms: number; from: number; leftOnArrivalMs: number };
  /** Least validity an old token had left when its successor arrived. */
  lowestLeftAtReplacement?: { name: string; ms: number; at: number };
  /** Least validity left in what a consumer `lag` behind saw, at the moment its view moved on. */
  lowestLeftSeenByConsumer?: { name: string; ms: number; at: number };
  /** Exact time (not sampled) during which some consumer's view was expired or empty, summed. */
  expiredViewMs: number;
  badWrites: TokenVersion[];
}

export function freshness(
  history: SecretHistory,
  window: Window,
  leadMs: number,
  lagMs: number,
): FreshnessFacts {
  const facts: FreshnessFacts = { renewals: 0, renewalsBelowLead: 0, expiredViewMs: 0, badWrites: [] };
  for (const name of history.names()) {
    const versions = history.versions(name);
    for (const [i, v] of versions.entries()) {
      if (v.problem) facts.badWrites.push(v);
      const next = versions[i + 1];
      if (i > 0 && v.fingerprint !== undefined && v.arrival >= window.start && v.arrival <= window.end)
        facts.renewals += 1;
      if (v.expMs === undefined) {
        // No token at all: every moment a consumer sees this version counts as expired.
        const from = Math.max(v.arrival + lagMs, window.start);
        const to = Math.min((next?.arrival ?? window.end) + lagMs, window.end);
        if (i > 0 && to > from) facts.expiredViewMs += to - from;
        continue;
      }
      const until = next?.arrival ?? window.end;
      // Below the lead: from expiry − lead until the successor arrived.
      const belowFrom = Math.max(v.arrival, v.expMs - leadMs, window.start);
      const belowTo = Math.min(until, window.end);
      if (belowTo > belowFrom) {
        if (next) facts.renewalsBelowLead += 1;
        const ms = belowTo - belowFrom;
        if (!facts.longestBelowLead || ms > facts.longestBelowLead.ms) {
          facts.longestBelowLead = { name, ms, from: belowFrom, leftOnArrivalMs: v.expMs - until };
        }
      }
      if (next && next.arrival >= window.start && next.arrival <= window.end) {
        const left = v.expMs - next.arrival;
        if (!facts.lowestLeftAtReplacement || left < facts.lowestLeftAtReplacement.ms) {
          facts.lowestLeftAtReplacement = { name, ms: left, at: next.arrival };
        }
        const seenLeft = v.expMs - (next.arrival + lagMs);
        if (!facts.lowestLeftSeenByConsumer || seenLeft < facts.lowestLeftSeenByConsumer.ms) {
          facts.lowestLeftSeenByConsumer = { name, ms: seenLeft, at: next.arrival + lagMs };
        }
      }
      // A consumer sees v during [arrival + lag, next arrival + lag); expired from exp on.
      const from = Math.max(v.arrival + lagMs, v.expMs, window.start);
      const to = Math.min(until + lagMs, window.end);
      if (to > from) facts.expiredViewMs += to - from;
    }
  }
  return facts;
}

export interface AttemptFacts {
  attempts: number;
  successes: number;
  failures: number;
  failuresByReason: Map<string, number>;
  /** Most attempts any one renewal needed (the successful one included). */
  maxAttemptsPerRenewal: number;
  /** Warnings and errors other than failed renewals, by message. */
  otherWarnings: Map<string, number>;
}

export function attempts(log: readonly LogEntry[], window: Window): AttemptFacts {
  const facts: AttemptFacts = {
    attempts: 0,
    successes: 0,
    failures: 0,
    failuresByReason: new Map(),
    maxAttemptsPerRenewal: 0,
    otherWarnings: new Map(),
  };
  const pending = new Map<string, number>();
  for (const e of log) {
    const inWindow = e.at >= window.start && e.at <= window.end;
    const name = e.name ?? '';
    if (e.msg === 'renewing') {
      pending.set(name, (pending.get(name) ?? 0) + 1);
      if (inWindow) facts.attempts += 1;
    } else if (e.msg === 'renewed') {
      if (inWindow) {
        facts.successes += 1;
        facts.maxAttemptsPerRenewal = Math.max(facts.maxAttemptsPerRenewal, pending.get(name) ?? 1);
      }
      pending.set(name, 0);
    } else if (e.msg === 'renewal failed') {
      if (inWindow) {
        facts.failures += 1;
        const reason = e.reason ?? '?';
        facts.failuresByReason.set(reason, (facts.failuresByReason.get(reason) ?? 0) + 1);
      }
    } else if ((e.level === 'warn' || e.level === 'error') && inWindow) {
      facts.otherWarnings.set(e.msg, (facts.otherWarnings.get(e.msg) ?? 0) + 1);
    }
  }
  return facts;
}

export interface Episode {
  name: string;
  reads: number;
  first: number;
  last: number;
  seen: TokenVersion;
  next?: TokenVersion;
  explanation: string[];
  /** What most likely caused it. */
  cause: 'failed attempts' | 'late start' | 'slow delivery' | 'no token' | 'unexplained';
}

/** Groups expired reads by Secret and token seen, and explains each group from the records. */
export function explainExpiredReads(
  reads: readonly ExpiredRead[],
  history: SecretHistory,
  log: readonly LogEntry[],
  faults: readonly FaultWindow[],
  monitor: Monitor,
  leadMs: number,
  lagMs: number,
): Episode[] {
  const episodes = new Map<string, Episode>();
  for (const read of reads) {
    const key = `${read.name}/${read.seen.resourceVersion}/${read.seen.arrival}`;
    const episode = episodes.get(key);
    if (episode) {
      episode.reads += 1;
      episode.last = read.at;
      continue;
    }
    const versions = history.versions(read.name);
    const next = versions.find((v) => v.arrival > read.seen.arrival);
    episodes.set(key, {
      name: read.name,
      reads: 1,
      first: read.at,
      last: read.at,
      seen: read.seen,
      next,
      explanation: [],
      cause: 'unexplained',
    });
  }
  const t = (ms: number) => new Date(ms).toISOString().slice(11, 23);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
  for (const e of episodes.values()) {
    const lines = e.explanation;
    if (e.seen.expMs === undefined) {
      e.cause = 'no token';
      lines.push(`the consumer saw no token (${e.seen.problem ?? 'no token'}) from ${t(e.seen.arrival)}`);
      continue;
    }
    const renewAt = e.seen.renewAtMs ?? e.seen.expMs - leadMs;
    const arrived = e.next?.arrival ?? Number.POSITIVE_INFINITY;
    lines.push(
      `token exp ${t(e.seen.expMs)}, renew-at ${t(renewAt)}; successor reached the watch at ${e.next ? t(arrived) : 'never'} (${e.next ? s(e.seen.expMs - arrived) : '?'} before exp, consumer saw it ${s(lagMs)} later)`,
    );
    const mine = log.filter((l) => l.name === e.name && l.at >= renewAt - 2000 && l.at <= arrived + 1000);
    const renewing = mine.filter((l) => l.msg === 'renewing');
    const failed = mine.filter((l) => l.msg === 'renewal failed');
    const renewed = mine.find((l) => l.msg === 'renewed');
    const startedLateMs = renewing[0] ? renewing[0].at - renewAt : undefined;
    lines.push(
      `operator: ${renewing.length} attempt(s), first at ${renewing[0] ? `${t(renewing[0].at)} (${s(startedLateMs ?? 0)} after renew-at)` : 'none logged'}; ` +
        `failures: ${failed.map((f) => `${t(f.at)} ${f.reason} → retry ${f.retryAt?.slice(11, 19) ?? '?'}`).join(', ') || 'none'}; ` +
        `renewed logged at ${renewed ? t(renewed.at) : 'never'}`,
    );
    const overlapping = faults.filter(
      (f) => f.start <= arrived && (f.end === 0 || f.end + f.tailMs >= renewAt),
    );
    lines.push(
      `faults in that interval: ${overlapping.map((f) => `${f.kind}${f.detail ? ` (${f.detail})` : ''} ${t(f.start)}–${f.end ? t(f.end) : 'open'}`).join('; ') || 'none'}`,
    );
    const lastFault = overlapping.at(-1);
    const faultOver = lastFault ? lastFault.end + lastFault.tailMs : undefined;
    const success = renewing.filter((l) => l.at <= arrived).at(-1);
    if (faultOver !== undefined && success && failed.length > 0) {
      lines.push(
        `the fault was over by ${t(faultOver)}; the next attempt came ${s(success.at - faultOver)} later, after ${failed.length} failures (full-jitter backoff: up to ${2 ** (failed.length - 1)} s after failure ${failed.length})`,
      );
    }
    const worst = monitor.worst(renewAt, Number.isFinite(arrived) ? arrived : e.last);
    lines.push(
      `machine then: longest event-loop stall harness ${Math.round(worst.harnessStallMs)} ms, operator ${Math.round(worst.operatorStallMs)} ms; load average ${worst.load1.toFixed(2)}`,
    );
    const deliveryMs = success && e.next ? e.next.arrival - success.at : undefined;
    if (deliveryMs !== undefined)
      lines.push(`successful attempt started → Secret at the watch: ${s(deliveryMs)}`);
    if (failed.length > 0) e.cause = 'failed attempts';
    else if (startedLateMs !== undefined && startedLateMs > 1000) e.cause = 'late start';
    else if (deliveryMs !== undefined && deliveryMs > 1000) e.cause = 'slow delivery';
  }
  return [...episodes.values()];
}
