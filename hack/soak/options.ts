// Command line of `npm run soak -- [DURATION] [--flags]`: parsed and checked into SoakOptions.
import { parseArgs } from 'node:util';
import { formatDuration, parseDuration } from '../../src/renewal/duration.ts';

export interface SoakOptions {
  /** How long TokenRequests are renewed under faults, after every Secret has its first token. */
  durationMs: number;
  tokenRequests: number;
  /** Lifetime of issued tokens (whole seconds: the authorization server wants an integer). */
  ttlMs: number;
  /** `renewBefore` of every TokenRequest. */
  leadMs: number;
  /** How far behind the Secret each kubelet-like consumer is (d < lead). */
  lagMs: number;
  /** Mean fault windows per minute; 0 turns faults off. */
  faultRate: number;
  faultMinMs: number;
  /** Longest fault window; default 3/8 of the lead, never the lead or more. */
  faultMaxMs: number;
  /** Quiet time at least between two fault windows, so that two of them never act as one long outage. */
  faultGapMs: number;
  /** The issuers' request timeout (`spec.timeout`): how long a hung token request lasts. */
  timeoutMs: number;
  sampleIntervalMs: number;
  seed: number;
  reportFile: string;
  operatorLogFile: string;
  verbose: boolean;
}

export const soakUsage = `Usage: npm run soak -- [DURATION] [flags]

Runs the operator against a local control plane and an authorization server behind a fault
proxy, with short-lived tokens and random faults shorter than the lead, and reports whether a
kubelet-like consumer lagging d behind the Secret ever read an expired token.

  DURATION                  how long to soak, as a Go duration (default 2m)
  --token-requests=N        TokenRequests (default 20)
  --ttl=DURATION            token lifetime (default 20s; whole seconds)
  --lead=DURATION           renewBefore of every TokenRequest (default 8s)
  --lag=DURATION            consumer lag d, shorter than the lead (default 2s)
  --fault-rate=N            mean fault windows per minute, 0 for none (default 6)
  --fault-min=DURATION      shortest fault, tail included (default 1s)
  --fault-max=DURATION      longest fault, tail included (timeout, Retry-After, delay)
                            (default 3/8 of the lead; must be shorter than the lead)
  --fault-gap=DURATION      quiet time at least between fault windows (default the lead)
  --timeout=DURATION        issuer request timeout, i.e. how long a hang lasts (default lead/4)
  --sample-interval=DURATION  how often each consumer reads (default 200ms)
  --seed=N                  seed of the fault schedule (default random)
  --report=FILE             where the report is written too (default .tmp/soak-report.txt)
  --operator-log=FILE       the operator's JSON log (default .tmp/soak-operator.log)
  --verbose                 print the control plane's start and each fault window as it closes`;

export type ParsedOptions = { ok: true; options: SoakOptions } | { ok: false; problems: string[] };

export function parseSoakOptions(argv: readonly string[]): ParsedOptions {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'token-requests': { type: 'string', default: '20' },
        ttl: { type: 'string', default: '20s' },
        lead: { type: 'string', default: '8s' },
        lag: { type: 'string', default: '2s' },
        'fault-rate': { type: 'string', default: '6' },
        'fault-min': { type: 'string', default: '1s' },
        'fault-max': { type: 'string' },
        'fault-gap': { type: 'string' },
        timeout: { type: 'string' },
        'sample-interval': { type: 'string', default: '200ms' },
        seed: { type: 'string' },
        report: { type: 'string', default: '.tmp/soak-report.txt' },
        'operator-log': { type: 'string', default: '.tmp/soak-operator.log' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    return { ok: false, problems: [(err as Error).message] };
  }
  if (values.help) return { ok: false, problems: [] };
  const problems: string[] = [];
  const duration = (what: string, value: string | boolean | undefined, fallback?: number): number => {
    if (typeof value !== 'string') return fallback ?? 0;
    try {
      const ms = parseDuration(value);
      if (ms > 0) return ms;
      problems.push(`${what} must be longer than 0s`);
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
    }
    return fallback ?? 0;
  };
  const number = (what: string, value: string | boolean | undefined, integer: boolean): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
      problems.push(`${what} must be a non-negative ${integer ? 'integer' : 'number'}`);
      return 0;
    }
    return n;
  };

  if (positionals.length > 1) problems.push(`one duration expected, got ${positionals.join(' ')}`);
  const durationMs = duration('DURATION', positionals[0] ?? '2m');
  const tokenRequests = number('--token-requests', values['token-requests'], true);
  if (tokenRequests < 1 || tokenRequests > 500) problems.push('--token-requests must be 1–500');
  const ttlMs = duration('--ttl', values.ttl);
  if (ttlMs % 1000 !== 0) problems.push('--ttl must be whole seconds');
  const leadMs = duration('--lead', values.lead);
  const lagMs = duration('--lag', values.lag);
  if (leadMs >= ttlMs) problems.push('--lead must be shorter than --ttl');
  if (lagMs >= leadMs) problems.push('--lag must be shorter than --lead (d < lead)');
  const faultMinMs = duration('--fault-min', values['fault-min']);
  const faultMaxMs = duration('--fault-max', values['fault-max'], (leadMs * 3) / 8);
  if (faultMaxMs >= leadMs) problems.push('--fault-max must be shorter than --lead');
  if (faultMinMs > faultMaxMs) problems.push('--fault-min must not exceed --fault-max');
  const faultGapMs = duration('--fault-gap', values['fault-gap'], leadMs);
  const timeoutMs = duration('--timeout', values.timeout, Math.max(1000, Math.round(leadMs / 4)));
  if (timeoutMs >= leadMs) problems.push('--timeout must be shorter than --lead');
  const sampleIntervalMs = duration('--sample-interval', values['sample-interval']);
  if (sampleIntervalMs < 10) problems.push('--sample-interval must be at least 10ms');
  const seed =
    values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : number('--seed', values.seed, true);
  const options: SoakOptions = {
    durationMs,
    tokenRequests,
    ttlMs,
    leadMs,
    lagMs,
    faultRate: number('--fault-rate', values['fault-rate'], false),
    faultMinMs,
    faultMaxMs,
    faultGapMs,
    timeoutMs,
    sampleIntervalMs,
    seed,
    reportFile: String(values.report),
    operatorLogFile: String(values['operator-log']),
    verbose: values.verbose === true,
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options };
}

/** `8s`, `1m30s`, `250ms`: Go's format, with sub-millisecond noise rounded away. */
export function dur(ms: number): string {
  return formatDuration(Math.round(ms));
}

/** A small seeded PRNG (mulberry32): the same seed gives the same fault schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
