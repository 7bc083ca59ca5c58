// `token-renewer run`: the controller, its HTTP endpoints, leader election, and a graceful stop
// on SIGTERM.
//
// Every replica runs the informers (warm caches make a takeover fast, and /readyz means "caches
// synced" on followers too); only the leader processes work. A leader that loses its Lease — it
// could not renew within the renew deadline, or another replica holds it — exits at once with
// status 1, like controller-runtime: in-flight token requests and writes die with the process, so
// nothing is written after another replica may have taken over, and the Deployment restarts it
// as a follower. A graceful stop keeps renewing while in-flight work drains, then releases the
// Lease so a follower takes over within one retry period.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/config.ts';
import { createOperator } from '../controller/operator.ts';
import { startHttpEndpoints } from '../http/server.ts';
import { kubeLeaseClient, LeaderElector } from '../kube/lease-elector.ts';
import type { Logger } from '../log/logger.ts';

export interface RunningOperator {
  readonly metricsPort: number;
  readonly healthPort: number;
  /** This replica's name in the Lease. */
  readonly identity: string;
  /** Stops taking work, finishes in-flight work (bounded), releases the Lease, closes HTTP. */
  stop(): Promise<void>;
}

export interface RunHooks {
  /** Leadership was lost (not released). By default the process exits at once with status 1. */
  onLostLeadership?: (reason: string) => void;
}

interface Launched extends RunningOperator {
  /** Caches synced, and work (or the election for it) started. */
  readonly started: Promise<void>;
}

/** Starts the operator and resolves once its caches are synced (and, as leader or alone, it works). */
export async function runOperator(
  kubeConfig: KubeConfig,
  config: Config,
  log: Logger,
  hooks: RunHooks = {},
): Promise<RunningOperator> {
  const launched = await launch(kubeConfig, config, log, hooks);
  await launched.started;
  return launched;
}

async function launch(
  kubeConfig: KubeConfig,
  config: Config,
  log: Logger,
  hooks: RunHooks,
): Promise<Launched> {
  const operator = createOperator({ kubeConfig, config, log });
  const http = await startHttpEndpoints(
    { metrics: config.metricsAddress, health: config.healthAddress },
    operator.metrics.registry,
    { healthy: () => true, ready: () => operator.synced() },
  );
  // The pod name in a cluster, made unique so a restarted process is a new candidate.
  const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
  const election = config.leaderElection;
  const elector =
    election &&
    new LeaderElector({
      // Half the deadline per request: one slow call leaves time for another try.
      client: kubeLeaseClient(
        kubeConfig,
        { namespace: election.namespace, name: election.name },
        Math.max(1000, election.renewDeadlineMs / 2),
      ),
      identity,
      timing: election,
      log: log.with({ lease: `${election.namespace}/${election.name}` }),
      onStartedLeading: () => operator.startWorkers(),
      onStoppedLeading:
        hooks.onLostLeadership ??
        ((reason) => {
          log.error('exiting: leadership lost, no further writes', { reason });
          process.exit(1);
        }),
    });
  log.info('starting', {
    server: kubeConfig.getCurrentCluster()?.server,
    namespaces: config.namespaces === 'all' ? 'all' : config.namespaces.join(','),
    metrics: `${http.metrics.host}:${http.metrics.port}`,
    health: `${http.health.host}:${http.health.port}`,
    identity,
    leaderElection: election ? `${election.namespace}/${election.name}` : 'disabled',
  });

  let stopping = false;
  const started = (async () => {
    await operator.startCaches();
    if (stopping) return;
    if (elector) elector.start();
    else operator.startWorkers();
    log.info('started', { identity });
  })();

  let stopped: Promise<void> | undefined;
  const stop = async () => {
    stopping = true;
    log.info('stopping', { identity, leading: elector?.leading ?? true });
    // A follower stops trying at once; a leader keeps its Lease renewed while work drains.
    elector?.stopAcquiring();
    const drained = await operator.stop(config.shutdownTimeoutMs);
    let released = false;
    if (elector) {
      if (drained) released = await elector.release();
      else {
        // Work still in flight might yet write: let the Lease expire instead of handing over.
        await elector.stop();
        log.warn('in-flight work did not finish within the shutdown timeout; the Lease is left to expire', {
          timeoutMs: config.shutdownTimeoutMs,
        });
      }
    }
    await http.close();
    log.info('stopped', { identity, drained, released });
  };
  return {
    metricsPort: http.metrics.port,
    healthPort: http.health.port,
    identity,
    started,
    stop() {
      stopped ??= stop();
      return stopped;
    },
  };
}

/** Runs until SIGTERM or SIGINT, then stops gracefully; a second signal exits at once. */
export async function runUntilSignalled(kubeConfig: KubeConfig, config: Config, log: Logger): Promise<void> {
  // Listening before anything starts: a signal during startup stops gracefully too.
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const running = await launch(kubeConfig, config, log, {});
  running.started.catch((err: unknown) => {
    log.error('exiting: start failed', { error: String(err) });
    process.exit(1);
  });
  const signal = await signalled;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  const again = (name: NodeJS.Signals) => {
    log.warn('second signal: exiting without finishing', { signal: name });
    process.exit(1);
  };
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  log.info('signal received', { signal });
  // Stopping is bounded by the shutdown timeout plus a few API calls; never hang past that.
  const watchdog = setTimeout(() => {
    log.error('exiting: graceful stop took too long', { timeoutMs: config.shutdownTimeoutMs });
    process.exit(1);
  }, config.shutdownTimeoutMs + 10_000);
  watchdog.unref();
  await running.stop();
  clearTimeout(watchdog);
}
