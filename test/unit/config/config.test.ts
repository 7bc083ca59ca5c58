import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/config.ts';

describe('parseConfig', () => {
  it('gives production defaults with no flags', () => {
    const result = parseConfig([], {});
    assert.ok(result.ok);
    assert.deepEqual(result.config, {
      namespaces: 'all',
      clusterResourceNamespace: 'token-renewer',
      metricsAddress: { host: '0.0.0.0', port: 8080 },
      healthAddress: { host: '0.0.0.0', port: 8081 },
      minSafeLeadMs: 120_000,
      defaultRenewBeforeMs: undefined,
      concurrency: 10,
      issuerConcurrency: 5,
      issuerQps: 0,
      issuerBurst: 1,
      kubeApiQps: 0,
      kubeApiBurst: 1,
      outbound: {
        allowInsecureHttp: false,
        allowPrivateNetworks: false,
        allowEndpointCidrs: [],
        allowedEndpointHosts: [],
      },
      logLevel: 'info',
      leaderElection: {
        namespace: 'token-renewer',
        name: 'token-renewer',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
      shutdownTimeoutMs: 10_000,
    });
  });

  it('turns leader election off Go-style or from the environment, and places the Lease', () => {
    for (const [argv, env] of [
      [['--leader-elect=false'], {}],
      [['--no-leader-elect'], {}],
      [[], { TOKEN_RENEWER_LEADER_ELECT: 'false' }],
    ] as const) {
      const result = parseConfig(argv, env);
      assert.ok(result.ok);
      assert.equal(result.config.leaderElection, undefined, JSON.stringify(argv));
    }
    const on = parseConfig(
      [
        '--leader-elect=true',
        '--cluster-resource-namespace=ops',
        '--lease-duration=4s',
        '--renew-deadline=3s',
      ],
      { TOKEN_RENEWER_LEADER_ELECT: 'false', TOKEN_RENEWER_RETRY_PERIOD: '1s' },
    );
    assert.ok(on.ok);
    assert.deepEqual(on.config.leaderElection, {
      namespace: 'ops',
      name: 'token-renewer',
      leaseDurationMs: 4000,
      renewDeadlineMs: 3000,
      retryPeriodMs: 1000,
    });
  });

  it('reads flags, and environment variables for flags not given', () => {
    const result = parseConfig(
      ['--namespaces=a, b', '--min-safe-lead=90s', '--metrics-address=127.0.0.1:9090'],
      {
        TOKEN_RENEWER_MIN_SAFE_LEAD: '5m',
        TOKEN_RENEWER_CONCURRENCY: '3',
        TOKEN_RENEWER_ALLOW_INSECURE_HTTP: 'true',
        TOKEN_RENEWER_DEFAULT_RENEW_BEFORE: '1h30m',
      },
    );
    assert.ok(result.ok);
    assert.deepEqual(result.config.namespaces, ['a', 'b']);
    assert.equal(result.config.minSafeLeadMs, 90_000, 'the flag wins over the environment');
    assert.equal(result.config.concurrency, 3);
    assert.equal(result.config.outbound.allowInsecureHttp, true);
    assert.equal(result.config.defaultRenewBeforeMs, 5_400_000);
    assert.deepEqual(result.config.metricsAddress, { host: '127.0.0.1', port: 9090 });
  });

  it('reads the outbound policy from flags and the environment', () => {
    const fromFlags = parseConfig(
      [
        '--allow-private-networks',
        '--allow-endpoint-cidrs=127.0.0.1/32, ::1/128',
        '--allowed-endpoint-hosts=idp.example.com,*.corp.example',
      ],
      {},
    );
    assert.ok(fromFlags.ok);
    assert.deepEqual(fromFlags.config.outbound, {
      allowInsecureHttp: false,
      allowPrivateNetworks: true,
      allowEndpointCidrs: ['127.0.0.1/32', '::1/128'],
      allowedEndpointHosts: ['idp.example.com', '*.corp.example'],
    });
    const fromEnv = parseConfig([], {
      TOKEN_RENEWER_ALLOW_PRIVATE_NETWORKS: '1',
      TOKEN_RENEWER_ALLOW_ENDPOINT_CIDRS: '10.1.0.0/16',
      TOKEN_RENEWER_ALLOWED_ENDPOINT_HOSTS: 'idp.example.com',
    });
    assert.ok(fromEnv.ok);
    assert.deepEqual(fromEnv.config.outbound, {
      allowInsecureHttp: false,
      allowPrivateNetworks: true,
      allowEndpointCidrs: ['10.1.0.0/16'],
      allowedEndpointHosts: ['idp.example.com'],
    });
  });

  const invalid: [string, string[], RegExp][] = [
    ['a malformed duration', ['--min-safe-lead=2x'], /--min-safe-lead: invalid duration "2x"/],
    ['a zero duration', ['--default-renew-before=0s'], /--default-renew-before must be longer than 0s/],
    ['a non-numeric concurrency', ['--concurrency=many'], /--concurrency must be a positive integer/],
    ['an address without a port', ['--health-address=localhost'], /--health-address must be \[HOST\]:PORT/],
    ['an unknown log level', ['--log-level=loud'], /--log-level must be one of debug, info, warn, error/],
    ['an unknown flag', ['--bogus'], /Unknown option '--bogus'/],
    [
      'a renew deadline not shorter than the lease',
      ['--lease-duration=10s', '--renew-deadline=10s'],
      /--renew-deadline must be shorter than --lease-duration/,
    ],
    [
      'a retry period not shorter than the renew deadline',
      ['--retry-period=10s'],
      /--retry-period must be shorter than --renew-deadline/,
    ],
    ['a lease duration in fractions of seconds', ['--lease-duration=15500ms'], /whole seconds/],
    [
      'a malformed exempt range',
      ['--allow-endpoint-cidrs=127.0.0.1/33'],
      /--allow-endpoint-cidrs: "127.0.0.1\/33" is not ADDRESS\/PREFIX/,
    ],
    [
      'a malformed allowed host',
      ['--allowed-endpoint-hosts=idp.*.example'],
      /--allowed-endpoint-hosts: "idp.\*.example" is not a host name or \*.domain/,
    ],
  ];
  for (const [what, argv, message] of invalid) {
    it(`rejects ${what} with a readable problem`, () => {
      const result = parseConfig(argv, {});
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.problems.join('; '), message);
    });
  }
});
