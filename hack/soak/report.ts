// The soak's report: plain text, the same on the terminal and in the report file.
import type { AttemptFacts, Episode, FreshnessFacts, Window } from './analysis.ts';
import type { ConsumerStats } from './consumers.ts';
import { type FaultWindow, faultKinds } from './faults.ts';
import type { LoadSample, MetricSample } from './monitor.ts';
import { sumOf } from './monitor.ts';
import { dur, type SoakOptions } from './options.ts';
import type { SecretHistory } from './secret-history.ts';

export interface ReportInput {
  options: SoakOptions;
  window: Window;
  namespace: string;
  history: SecretHistory;
  stats: ConsumerStats;
  facts: FreshnessFacts;
  attempts: AttemptFacts;
  episodes: Episode[];
  faults: readonly FaultWindow[];
  metricsBefore: MetricSample[];
  metricsAfter: MetricSample[];
  proxyRequests: number;
  serverRequests: number;
  slowResponses: number;
  load: readonly LoadSample[];
  /** Time from the end of the soak until every TokenRequest was Ready again; undefined: never. */
  recoveredMs: number | undefined;
  notReady: string[];
  operatorStopMs: number | undefined;
  leaderElection: string;
  operatorLog: string;
  reportFile: string;
}

const time = (ms: number) => `${new Date(ms).toISOString().slice(11, 19)}`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–');

export function formatReport(r: ReportInput): { text: string; ok: boolean } {
  const o = r.options;
  const lines: string[] = [];
  const add = (line = '') => lines.push(line);
  const row = (label: string, value: string) => add(`  ${label.padEnd(38)} ${value}`);
  const delta = (name: string, labels: Record<string, string> = {}) =>
    sumOf(r.metricsAfter, name, labels) - sumOf(r.metricsBefore, name, labels);
  const soakMs = r.window.end - r.window.start;

  add('token-renewer soak report');
  add('=========================');
  row('duration', `${dur(soakMs)} (${time(r.window.start)}–${time(r.window.end)} UTC), seed ${o.seed}`);
  row('TokenRequests', `${o.tokenRequests} in ${r.namespace}, over 3 issuers (basic, post, private_key_jwt)`);
  row('token lifetime / lead', `${dur(o.ttlMs)} / ${dur(o.leadMs)} (renewBefore; jitter ≤ 10 % earlier)`);
  row('consumer lag d', `${dur(o.lagMs)}, one consumer per Secret reading every ${dur(o.sampleIntervalMs)}`);
  row('issuer timeout', dur(o.timeoutMs));
  row('operator', 'child process `token-renewer run`, identity and RBAC from deploy/');
  row('leader election', r.leaderElection);
  add();

  add('Renewals');
  const successMetric = delta('token_renewer_renewals_total', { result: 'success' });
  row(
    'renewals (new tokens written)',
    `${r.facts.renewals} seen by the watch; ${successMetric} by renewals_total`,
  );
  row(
    'renewal attempts (operator log)',
    `${r.attempts.attempts}: ${r.attempts.successes} succeeded, ${r.attempts.failures} failed`,
  );
  row('token requests', `${r.proxyRequests} at the fault proxy, ${r.serverRequests} reached the server`);
  const perRenewal = r.proxyRequests / Math.max(1, r.facts.renewals);
  const hot = perRenewal >= 2 || r.attempts.maxAttemptsPerRenewal >= 10;
  row(
    'hot loop?',
    `${hot ? 'POSSIBLY' : 'no'}: ${perRenewal.toFixed(2)} token requests per renewal, at most ${r.attempts.maxAttemptsPerRenewal} attempts for one renewal`,
  );
  const lateCount = delta('token_renewer_renewal_lateness_seconds_count');
  const lateSum = delta('token_renewer_renewal_lateness_seconds_sum');
  row(
    'renewal lateness (metric; retries too)',
    lateCount > 0
      ? `mean ${(lateSum / lateCount).toFixed(3)}s, all within ${latenessBound(r)} of renew-at`
      : 'no scheduled renewals observed',
  );
  row('Secret updates with the same token', String(r.history.sameTokenUpdates()));
  add();

  add('Failures by kind (renewals_total{result="failure"}; operator log in brackets)');
  const reasons = new Set<string>([
    ...r.metricsAfter
      .filter((m) => m.name === 'token_renewer_renewals_total' && m.labels.result === 'failure')
      .map((m) => m.labels.reason ?? ''),
    ...r.attempts.failuresByReason.keys(),
  ]);
  if (reasons.size === 0) row('(none)', '');
  for (const reason of [...reasons].sort()) {
    row(
      reason,
      `${delta('token_renewer_renewals_total', { result: 'failure', reason })} [${r.attempts.failuresByReason.get(reason) ?? 0}]`,
    );
  }
  for (const [msg, n] of r.attempts.otherWarnings) row(`other operator warning: ${msg}`, String(n));
  add();

  const effective = (f: FaultWindow) => f.end - f.start + f.tailMs;
  const faultMs = r.faults.reduce((total, f) => total + effective(f), 0);
  add(
    `Injected faults: ${r.faults.length} windows, ${secs(faultMs)} in all with their tails (${pct(faultMs, soakMs)} of the time); each ${dur(o.faultMinMs)}–${dur(o.faultMaxMs)} including its tail, at least ${dur(o.faultGapMs)} apart`,
  );
  for (const kind of faultKinds) {
    const of = r.faults.filter((f) => f.kind === kind);
    const longest = of.reduce((m, f) => Math.max(m, effective(f)), 0);
    const requests = of.reduce((total, f) => total + f.requests, 0);
    row(
      kind,
      `${String(of.length).padStart(3)} windows, longest ${secs(longest)} (with tail), ${requests} requests hit`,
    );
  }
  add();

  add('Freshness');
  const below = r.facts.longestBelowLead;
  row(
    'longest time below lead',
    below
      ? `${secs(below.ms)} (${below.name} from ${time(below.from)}; successor arrived with ${secs(below.leftOnArrivalMs)} left)`
      : '0s (every new token arrived before the old one had less than the lead left)',
  );
  row('renewals arriving below the lead', `${r.facts.renewalsBelowLead} of ${r.facts.renewals}`);
  const lowest = r.facts.lowestLeftAtReplacement;
  row('least validity left at replacement', lowest ? `${secs(lowest.ms)} (${lowest.name})` : '–');
  row(
    'largest lag with no expired read',
    lowest
      ? lowest.ms > 0
        ? `${secs(lowest.ms)} (a consumer further behind would have read an expired token)`
        : 'none: a token was replaced only after it had expired'
      : '–',
  );
  const seen = r.facts.lowestLeftSeenByConsumer;
  row(
    `least validity left, consumer (d=${dur(o.lagMs)})`,
    seen ? `${secs(seen.ms)} (${seen.name} at ${time(seen.at)})` : '–',
  );
  row(
    'EXPIRED READS',
    `${r.stats.expired.length} of ${r.stats.samples} reads (exact, unsampled: a view was expired for ${secs(r.facts.expiredViewMs)})`,
  );
  row(
    'bad writes',
    `${r.facts.badWrites.length} (empty, not a JWT, or less than 5 s left on arrival)${r.facts.badWrites.length > 0 ? `: ${r.facts.badWrites.map((b) => `${b.name} ${b.problem}`).join('; ')}` : ''}`,
  );
  row(
    'after the faults stopped',
    r.recoveredMs !== undefined
      ? `every TokenRequest Ready with a valid token within ${secs(r.recoveredMs)}`
      : `NOT RECOVERED within ${dur(o.ttlMs + 10_000)}: ${r.notReady.join(', ')}`,
  );
  add();

  add('Machine');
  const loads = r.load.map((l) => l.load1);
  const operatorStalls = r.load.map((l) => l.operatorStallMs ?? 0);
  const cpu = delta('token_renewer_process_cpu_seconds_total');
  row(
    'load average (1 min)',
    loads.length > 0
      ? `mean ${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(2)}, max ${Math.max(...loads).toFixed(2)} (2 cores; other work shares them)`
      : '–',
  );
  row(
    'longest event-loop stall',
    `operator ${Math.round(Math.max(0, ...operatorStalls))} ms, harness ${Math.round(Math.max(0, ...r.load.map((l) => l.harnessStallMs)))} ms; consumer ticks > 1 s late: ${r.stats.lateTicks}`,
  );
  row('operator CPU', `${cpu.toFixed(1)} s (${pct(cpu * 1000, soakMs)} of one core)`);
  row(
    'Secret watch',
    `${r.history.events()} events, ${r.history.reconnects()} reconnects, ${r.history.relists()} relists after 410`,
  );
  row(
    'operator shutdown (SIGTERM)',
    r.operatorStopMs === undefined ? '–' : `exited ${r.operatorStopMs} ms after the signal`,
  );
  row('operator log', r.operatorLog);
  add();

  if (r.episodes.length > 0) {
    add(`Expired reads explained (${r.episodes.length} episodes)`);
    for (const e of r.episodes.slice(0, 30)) {
      add(`  ${e.name}: ${e.reads} expired reads ${time(e.first)}–${time(e.last)}; likely cause: ${e.cause}`);
      for (const line of e.explanation) add(`      ${line}`);
    }
    if (r.episodes.length > 30) add(`  … and ${r.episodes.length - 30} more`);
    add();
  }

  const problems: string[] = [];
  if (r.stats.expired.length > 0) problems.push(`${r.stats.expired.length} expired reads`);
  if (r.facts.badWrites.length > 0) problems.push(`${r.facts.badWrites.length} bad writes`);
  if (r.recoveredMs === undefined) problems.push('not every TokenRequest recovered');
  if (r.stats.samples === 0) problems.push('no reads were made');
  const ok = problems.length === 0;
  add(
    ok
      ? `VERDICT: PASS: 0 expired reads in ${r.stats.samples} reads by consumers ${dur(o.lagMs)} behind, under ${r.faults.length} fault windows`
      : `VERDICT: FAIL: ${problems.join(', ')}`,
  );
  add(`(report also written to ${r.reportFile})`);
  return { text: lines.join('\n'), ok };
}

/** The smallest histogram bucket that holds every renewal of the soak: "≤ 0.25s". */
function latenessBound(r: ReportInput): string {
  const name = 'token_renewer_renewal_lateness_seconds_bucket';
  const count = (samples: MetricSample[], le: string) => sumOf(samples, name, { le });
  const total =
    sumOf(r.metricsAfter, 'token_renewer_renewal_lateness_seconds_count') -
    sumOf(r.metricsBefore, 'token_renewer_renewal_lateness_seconds_count');
  const bounds = r.metricsAfter
    .filter((m) => m.name === name)
    .map((m) => m.labels.le ?? '')
    .filter((le) => le !== '+Inf')
    .sort((a, b) => Number(a) - Number(b));
  for (const le of bounds) {
    if (count(r.metricsAfter, le) - count(r.metricsBefore, le) >= total) return `≤ ${le}s`;
  }
  return '> the largest bucket';
}
