// Operator configuration: command-line flags, each with an environment fallback
// (TOKEN_RENEWER_<FLAG_NAME>), validated into a Config. Pure: argv and env in, Config or
// a list of readable problems out.
import { parseArgs } from 'node:util';
import { type OutboundPolicy, outboundPolicyProblems } from '../oauth/outbound-policy.ts';
import { DurationError, parseDuration } from '../renewal/duration.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface Config {
  /** Namespaces whose TokenRequests and TokenIssuers are watched; 'all' for the whole cluster. */
  namespaces: readonly string[] | 'all';
  /** Where the credentials Secrets of ClusterTokenIssuers live. */
  clusterResourceNamespace: string;
  metricsAddress: HostPort;
  healthAddress: HostPort;
  /** Effective leads shorter than this get a warning event (kubelet sync takes 60–90 s). */
  minSafeLeadMs: number;
  /** Lead used when a TokenRequest sets neither renewBefore nor renewBeforePercentage; undefined: a third of the lifetime. */
  defaultRenewBeforeMs: number | undefined;
  /** Concurrent reconciles of TokenRequests. */
  concurrency: number;
  /** Concurrent token requests to any one issuer. */
  issuerConcurrency: number;
  /** Token requests per second to any one issuer; 0: no rate limit (concurrency still applies). */
  issuerQps: number;
  /** Token requests to one issuer allowed at once after a quiet spell (with issuerQps). */
  issuerBurst: number;
  /** Requests per second to the API server, watches excluded; 0: no client-side limit. */
  kubeApiQps: number;
  /** API requests allowed at once after a quiet spell (with kubeApiQps). */
  kubeApiBurst: number;
  /** Where issuer requests may go: https, address denylist, exemptions, host allowlist. */
  outbound: OutboundPolicy;
  logLevel: LogLevel;
  /** Leader election on a coordination.k8s.io/v1 Lease; undefined when disabled (one replica only). */
  leaderElection?: LeaderElectionConfig;
  /** How long a graceful stop waits for in-flight reconciles before giving up on them. */
  shutdownTimeoutMs: number;
}

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface HostPort {
  host: string;
  port: number;
}

const options = {
  namespaces: { type: 'string', default: '' },
  'cluster-resource-namespace': { type: 'string', default: 'token-renewer' },
  'metrics-address': { type: 'string', default: ':8080' },
  'health-address': { type: 'string', default: ':8081' },
  'min-safe-lead': { type: 'string', default: '2m' },
  'default-renew-before': { type: 'string', default: '' },
  concurrency: { type: 'string', default: '10' },
  'issuer-concurrency': { type: 'string', default: '5' },
  'issuer-qps': { type: 'string', default: '0' },
  'issuer-burst': { type: 'string', default: '' },
  'kube-api-qps': { type: 'string', default: '0' },
  'kube-api-burst': { type: 'string', default: '' },
  'allow-insecure-http': { type: 'boolean', default: false },
  'allow-private-networks': { type: 'boolean', default: false },
  'allow-endpoint-cidrs': { type: 'string', default: '' },
  'allowed-endpoint-hosts': { type: 'string', default: '' },
  'log-level': { type: 'string', default: 'info' },
  'leader-elect': { type: 'boolean', default: true },
  'leader-election-namespace': { type: 'string', default: '' },
  'leader-election-id': { type: 'string', default: 'token-renewer' },
  'lease-duration': { type: 'string', default: '15s' },
  'renew-deadline': { type: 'string', default: '10s' },
  'retry-period': { type: 'string', default: '2s' },
  'shutdown-timeout': { type: 'string', default: '10s' },
} as const;

type OptionName = keyof typeof options;

export const configHelp = `Flags (each also read from TOKEN_RENEWER_<NAME>, e.g. TOKEN_RENEWER_MIN_SAFE_LEAD):
  --namespaces=a,b                  watch only these namespaces (default: all)
  --cluster-resource-namespace=NS   credentials of ClusterTokenIssuers (default: token-renewer)
  --metrics-address=[HOST]:PORT     Prometheus /metrics (default: :8080)
  --health-address=[HOST]:PORT      /healthz and /readyz (default: :8081)
  --min-safe-lead=DURATION          warn when the lead is shorter (default: 2m)
  --default-renew-before=DURATION   lead when a TokenRequest sets none (default: a third of the lifetime)
  --concurrency=N                   parallel reconciles (default: 10)
  --issuer-concurrency=N            parallel token requests per issuer (default: 5)
  --issuer-qps=R                    token requests per second per issuer (default: 0, no limit)
  --issuer-burst=N                  token requests per issuer at once after a quiet spell
                                    (default: the qps, at least 1)
  --kube-api-qps=R                  requests per second to the API server, watches excluded
                                    (default: 0, no client-side limit)
  --kube-api-burst=N                API requests at once after a quiet spell (default: twice the qps)
  --allow-insecure-http             allow plain-http issuer endpoints (development only)
  --allow-private-networks          allow endpoints on private addresses (10/8, 172.16/12, 192.168/16,
                                    100.64/10, fc00::/7); loopback, link-local and metadata stay denied
  --allow-endpoint-cidrs=CIDR,…     exempt these ranges from the address denylist (development and
                                    tests, e.g. 127.0.0.1/32; production should not need it)
  --allowed-endpoint-hosts=H,…      only these endpoint hosts (idp.example.com, *.corp.example)
  --log-level=debug|info|warn|error (default: info)
  --leader-elect[=false]            elect one leader among replicas on a Lease (default: true; turn
                                    off only when a single replica runs)
  --leader-election-namespace=NS    namespace of the Lease (default: the cluster-resource namespace)
  --leader-election-id=NAME         name of the Lease (default: token-renewer)
  --lease-duration=DURATION         followers take over a Lease not renewed for this long (default: 15s)
  --renew-deadline=DURATION         the leader stops working when it could not renew for this long,
                                    before any follower may take over (default: 10s)
  --retry-period=DURATION           between attempts to acquire or renew the Lease (default: 2s)
  --shutdown-timeout=DURATION       on SIGTERM, wait this long for in-flight work (default: 10s)`;

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ConfigResult {
  let values: Record<string, string | boolean | undefined>;
  // Go-style `--flag=false` for boolean flags: parseArgs only knows `--flag` and `--no-flag`.
  const args = argv.map((arg) => {
    const [, name = '', value] = /^--([\w-]+)=(true|false)$/.exec(arg) ?? [];
    const isBoolean = (options as Record<string, { type: string }>)[name]?.type === 'boolean';
    return isBoolean ? (value === 'true' ? `--${name}` : `--no-${name}`) : arg;
  });
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false, allowNegative: true }));
  } catch (err) {
    return { ok: false, problems: [(err as Error).message] };
  }
  const given = new Set(args.map((arg) => arg.replace(/^--(no-)?/, '').split('=')[0]));
  const raw = (name: OptionName): string | boolean | undefined => {
    const fromEnv = env[`TOKEN_RENEWER_${name.toUpperCase().replaceAll('-', '_')}`];
    if (!given.has(name) && fromEnv !== undefined) {
      return options[name].type === 'boolean' ? fromEnv === 'true' || fromEnv === '1' : fromEnv;
    }
    return values[name];
  };
  const str = (name: OptionName) => String(raw(name) ?? '');
  const problems: string[] = [];

  const duration = (name: OptionName): number | undefined => {
    const value = str(name);
    if (value === '') return undefined;
    try {
      const ms = parseDuration(value);
      if (ms > 0) return ms;
      problems.push(`--${name} must be longer than 0s`);
    } catch (err) {
      problems.push(`--${name}: ${err instanceof DurationError ? err.message : String(err)}`);
    }
    return undefined;
  };
  const address = (name: OptionName): HostPort => {
    const match = /^(.*):(\d{1,5})$/.exec(str(name));
    const port = Number(match?.[2]);
    if (!match || port > 65535) {
      problems.push(`--${name} must be [HOST]:PORT, got ${JSON.stringify(str(name))}`);
      return { host: '', port: 0 };
    }
    return { host: match[1] === '' ? '0.0.0.0' : match[1].replace(/^\[(.*)\]$/, '$1'), port };
  };

  const namespaceList = str('namespaces')
    .split(',')
    .map((ns) => ns.trim())
    .filter((ns) => ns !== '');
  const positive = (name: OptionName): number => {
    const value = Number(str(name));
    if (!Number.isInteger(value) || value < 1) problems.push(`--${name} must be a positive integer`);
    return value;
  };
  // A rate of 0 turns the limit off; the burst defaults from the rate.
  const rate = (name: OptionName): number => {
    const value = Number(str(name));
    if (str(name) === '' || !Number.isFinite(value) || value < 0) {
      problems.push(`--${name} must be a number of requests per second, 0 for no limit`);
      return 0;
    }
    return value;
  };
  const burst = (name: OptionName, fallback: number): number =>
    str(name) === '' ? Math.max(1, Math.ceil(fallback)) : positive(name);
  const rateLimits = () => {
    const issuerQps = rate('issuer-qps');
    const kubeApiQps = rate('kube-api-qps');
    return {
      issuerQps,
      issuerBurst: burst('issuer-burst', issuerQps),
      kubeApiQps,
      kubeApiBurst: burst('kube-api-burst', 2 * kubeApiQps),
    };
  };
  const logLevel = str('log-level') as LogLevel;
  if (!logLevels.includes(logLevel)) problems.push(`--log-level must be one of ${logLevels.join(', ')}`);
  const list = (name: OptionName) =>
    str(name)
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const outbound: OutboundPolicy = {
    allowInsecureHttp: raw('allow-insecure-http') === true,
    allowPrivateNetworks: raw('allow-private-networks') === true,
    allowEndpointCidrs: list('allow-endpoint-cidrs'),
    allowedEndpointHosts: list('allowed-endpoint-hosts'),
  };
  problems.push(...outboundPolicyProblems(outbound));
  const clusterResourceNamespace = str('cluster-resource-namespace');
  if (clusterResourceNamespace === '') problems.push('--cluster-resource-namespace must not be empty');

  const leaseTiming = {
    leaseDurationMs: duration('lease-duration') ?? 0,
    renewDeadlineMs: duration('renew-deadline') ?? 0,
    retryPeriodMs: duration('retry-period') ?? 0,
  };
  // client-go's rules: the leader must give up before a follower may take over.
  if (leaseTiming.leaseDurationMs % 1000 !== 0) problems.push('--lease-duration must be whole seconds');
  if (leaseTiming.renewDeadlineMs >= leaseTiming.leaseDurationMs) {
    problems.push('--renew-deadline must be shorter than --lease-duration');
  }
  if (leaseTiming.retryPeriodMs >= leaseTiming.renewDeadlineMs) {
    problems.push('--retry-period must be shorter than --renew-deadline');
  }

  const config: Config = {
    namespaces: namespaceList.length === 0 ? 'all' : namespaceList,
    clusterResourceNamespace,
    metricsAddress: address('metrics-address'),
    healthAddress: address('health-address'),
    minSafeLeadMs: duration('min-safe-lead') ?? 0,
    defaultRenewBeforeMs: duration('default-renew-before'),
    concurrency: positive('concurrency'),
    issuerConcurrency: positive('issuer-concurrency'),
    ...rateLimits(),
    outbound,
    logLevel,
    ...(raw('leader-elect') === false
      ? {}
      : {
          leaderElection: {
            namespace: str('leader-election-namespace') || clusterResourceNamespace,
            name: str('leader-election-id'),
            ...leaseTiming,
          },
        }),
    shutdownTimeoutMs: duration('shutdown-timeout') ?? 0,
  };
  return problems.length === 0 ? { ok: true, config } : { ok: false, problems };
}
