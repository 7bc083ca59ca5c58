// `token-renewer run`: the controller, its HTTP endpoints, and a graceful stop on SIGTERM.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/config.ts';
import { createOperator } from '../controller/operator.ts';
import { startHttpEndpoints } from '../http/server.ts';
import type { Logger } from '../log/logger.ts';

export interface RunningOperator {
  readonly metricsPort: number;
  readonly healthPort: number;
  stop(): Promise<void>;
}

export async function runOperator(
  kubeConfig: KubeConfig,
  config: Config,
  log: Logger,
): Promise<RunningOperator> {
  const operator = createOperator({ kubeConfig, config, log });
  const http = await startHttpEndpoints(
    { metrics: config.metricsAddress, health: config.healthAddress },
    operator.metrics.registry,
    { healthy: () => true, ready: () => operator.synced() },
  );
  log.info('starting', {
    server: kubeConfig.getCurrentCluster()?.server,
    namespaces: config.namespaces === 'all' ? 'all' : config.namespaces.join(','),
    metrics: `${http.metrics.host}:${http.metrics.port}`,
    health: `${http.health.host}:${http.health.port}`,
  });
  await operator.start();
  log.info('started');
  return {
    metricsPort: http.metrics.port,
    healthPort: http.health.port,
    async stop() {
      log.info('stopping');
      await operator.stop();
      await http.close();
      log.info('stopped');
    },
  };
}

/** Runs until SIGTERM or SIGINT, then stops gracefully and exits. */
export async function runUntilSignalled(kubeConfig: KubeConfig, config: Config, log: Logger): Promise<void> {
  const running = await runOperator(kubeConfig, config, log);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await running.stop();
}
