// The operator under test, run in-process against the shared control plane: watching only the
// test's namespaces (so tests do not see each other's objects), with plain-http issuers and
// loopback endpoints allowed (the test authorization server is http on 127.0.0.1), and every log
// line kept for assertions and leak checks.
import type { KubeConfig } from '@kubernetes/client-node';
import { type RunningOperator, runOperator } from '../../src/cli/run.ts';
import { parseConfig } from '../../src/config/config.ts';
import { jsonLogger } from '../../src/log/logger.ts';
import { testCluster } from './cluster.ts';
import { exposedInCluster, findLeaks } from './leak-check.ts';

export interface TestOperatorOptions {
  namespaces: readonly string[];
  /**
   * The identity the operator runs as; by default the ServiceAccount deploy/ creates, with the
   * ClusterRole deploy/ grants (see global-setup.ts), so every test proves those permissions.
   */
  operatorKubeConfig?: KubeConfig;
  clusterResourceNamespace?: string;
  /** Further flags, e.g. `--min-safe-lead=1s`. */
  flags?: readonly string[];
}

export interface TestOperator {
  /** Every JSON log line written so far, across restarts. */
  readonly logs: string[];
  metricsURL(): string;
  healthURL(): string;
  /** Scrapes /metrics. */
  scrape(): Promise<string>;
  /**
   * Stops the operator, then fails if any token, client secret or private key issued in this
   * process appears in its logs, its metrics, or the events and statuses of its namespaces.
   */
  stop(): Promise<void>;
  /** Stops (if running) and starts a fresh operator process state with the same options. */
  restart(): Promise<void>;
}

export async function startTestOperator(kc: KubeConfig, options: TestOperatorOptions): Promise<TestOperator> {
  const logs: string[] = [];
  const parsed = parseConfig(
    [
      `--namespaces=${options.namespaces.join(',')}`,
      `--cluster-resource-namespace=${options.clusterResourceNamespace ?? options.namespaces[0]}`,
      '--metrics-address=127.0.0.1:0',
      '--health-address=127.0.0.1:0',
      '--allow-insecure-http',
      // The test servers listen on loopback, which the outbound policy denies; a later
      // --allow-endpoint-cidrs in `flags` replaces this one.
      '--allow-endpoint-cidrs=127.0.0.0/8',
      '--log-level=debug',
      // One in-process replica, no Lease: leader election runs in real processes (operator-process.ts).
      '--leader-elect=false',
      ...(options.flags ?? []),
    ],
    {},
  );
  if (!parsed.ok) throw new Error(`bad test operator flags: ${parsed.problems.join('; ')}`);
  const log = jsonLogger(parsed.config.logLevel, (line) => {
    logs.push(line);
    if (process.env.TOKEN_RENEWER_TEST_LOGS) process.stderr.write(line);
  });
  const operatorKc = options.operatorKubeConfig ?? testCluster().kubeConfig('operator');
  let running: RunningOperator | undefined = await runOperator(operatorKc, parsed.config, log);
  const url = (port: () => number | undefined, path: string) => {
    const p = port();
    if (p === undefined) throw new Error('operator is stopped');
    return `http://127.0.0.1:${p}${path}`;
  };
  return {
    logs,
    metricsURL: () => url(() => running?.metricsPort, '/metrics'),
    healthURL: () => url(() => running?.healthPort, ''),
    async scrape() {
      const res = await fetch(url(() => running?.metricsPort, '/metrics'));
      return res.text();
    },
    async stop() {
      const current = running;
      running = undefined;
      if (!current) return;
      const metrics = await fetch(`http://127.0.0.1:${current.metricsPort}/metrics`).then((res) =>
        res.text(),
      );
      await current.stop();
      const namespaces = [...new Set([...options.namespaces, parsed.config.clusterResourceNamespace])];
      const leaks = findLeaks([
        ...logs.map((line, i): [string, string] => [`log line ${i + 1}`, line]),
        ['metrics', metrics],
        ...(await exposedInCluster(kc, namespaces)),
      ]);
      if (leaks.length > 0) throw new Error(`secret material leaked into: ${leaks.join(', ')}`);
    },
    async restart() {
      await running?.stop();
      running = await runOperator(operatorKc, parsed.config, log);
    },
  };
}
