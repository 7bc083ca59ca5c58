// `npm run soak -- [DURATION] [flags]`: the operator renewing short-lived tokens for a while
// under random faults shorter than the lead, judged by kubelet-like consumers that see each
// Secret as it was `d` ago. Everything runs on loopback: a real control plane (etcd and
// kube-apiserver from the machine-wide cache; never built here, as that would need the network),
// the operator as a child process (`token-renewer run` under deploy/'s identity), and a real
// authorization server behind the fault proxy and a delay proxy. Prints a report, writes it to
// a file, and exits 1 if any consumer read an expired token (or a bad token was ever written,
// or the TokenRequests did not all recover once the faults stopped).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { group, Label, managedBy, Plural, type TokenRequest, version } from '../src/api/index.ts';
import { findCondition } from '../src/renewal/index.ts';
import { startAuthServer } from '../test/support/auth-server.ts';
import { freshNamespace } from '../test/support/cluster.ts';
import { startControlPlane } from '../test/support/control-plane.ts';
import { installCrds } from '../test/support/crds.ts';
import { deployDir, kubectl, serviceAccountKubeConfig } from '../test/support/deploy.ts';
import { startFaultProxy } from '../test/support/fault-proxy.ts';
import { freePort, waitFor } from '../test/support/net.ts';
import { startProcess } from '../test/support/process.ts';
import { type ClientKind, scenario } from '../test/support/scenario.ts';
import { attempts, explainExpiredReads, freshness, readOperatorLog } from './soak/analysis.ts';
import { startConsumers } from './soak/consumers.ts';
import { startDelayProxy } from './soak/delay-proxy.ts';
import { startFaultInjector } from './soak/faults.ts';
import { parseMetrics, startMonitor } from './soak/monitor.ts';
import { dur, parseSoakOptions, seededRandom, soakUsage } from './soak/options.ts';
import { formatReport } from './soak/report.ts';
import { recordSecrets } from './soak/secret-history.ts';

const projectRoot = resolve(import.meta.dirname, '..');
const parsed = parseSoakOptions(process.argv.slice(2));
if (!parsed.ok) {
  console.error(
    parsed.problems.length > 0 ? `soak: ${parsed.problems.join('; ')}\n\n${soakUsage}` : soakUsage,
  );
  process.exit(parsed.problems.length > 0 ? 2 : 0);
}
const o = parsed.options;
const say = (line: string) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);

// The control-plane binaries come from the cache; if they are missing, fail rather than fetch
// Go modules from the internet.
process.env.GOPROXY = 'off';
process.env.GOTOOLCHAIN = 'local';

const cleanups: (() => Promise<unknown>)[] = [];
let leaderElection = 'off';
let cleaningUp: Promise<void> | undefined;
const cleanUp = () => {
  cleaningUp ??= (async () => {
    for (const step of cleanups.reverse()) await step().catch((err: Error) => say(`cleanup: ${err.message}`));
  })();
  return cleaningUp;
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  process.exitCode = await soak();
} catch (err) {
  say(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}

async function soak(): Promise<number> {
  const random = seededRandom(o.seed);
  const reportFile = resolve(projectRoot, o.reportFile);
  const operatorLog = resolve(projectRoot, o.operatorLogFile);
  await mkdir(dirname(reportFile), { recursive: true });
  await mkdir(dirname(operatorLog), { recursive: true });
  await writeFile(operatorLog, '');

  say(
    `soak of ${dur(o.durationMs)}: ${o.tokenRequests} TokenRequests, tokens live ${dur(o.ttlMs)}, lead ${dur(o.leadMs)}, consumer lag ${dur(o.lagMs)}, seed ${o.seed}`,
  );
  say('starting a local control plane (etcd, kube-apiserver) from the cached binaries');
  const controlPlane = await startControlPlane({ log: o.verbose ? say : undefined });
  cleanups.push(() => controlPlane.stop());
  const admin = controlPlane.kubeConfig();
  await installCrds(admin);
  await kubectl(controlPlane.binDir, controlPlane.kubeconfigPath(), ['apply', '-k', deployDir]);
  const operatorKubeconfig = join(controlPlane.dir, 'kubeconfig-operator.yaml');
  await writeFile(
    operatorKubeconfig,
    (await serviceAccountKubeConfig(admin, 'token-renewer', 'token-renewer')).exportConfig(),
    { mode: 0o600 },
  );

  const auth = await startAuthServer({ tokenTTLSeconds: o.ttlMs / 1000 });
  cleanups.push(() => auth.close());
  const delay = await startDelayProxy(auth.issuer, auth.tokenEndpoint.pathname, random);
  cleanups.push(() => delay.close());
  const proxy = await startFaultProxy(delay.url, { expireToken: (token) => auth.expireToken(token) });
  cleanups.push(() => proxy.close());

  const namespace = await freshNamespace(admin, 'soak');
  const s = scenario(admin, namespace);
  const clients: ClientKind[] = ['basic', 'post', 'privateKeyJwt'];
  for (const client of clients) {
    await s.createIssuer(`idp-${client.toLowerCase()}`, auth, {
      client,
      issuerURL: proxy.url.href,
      spec: { timeout: dur(o.timeoutMs) },
    });
  }
  const history = await recordSecrets(admin, namespace, `${Label.ManagedBy}=${managedBy}`);
  cleanups.push(() => history.stop());

  // Leader election as deployed (a Lease in the operator's namespace), when deploy/ grants it.
  const canLease = await kubectl(controlPlane.binDir, controlPlane.kubeconfigPath(), [
    'auth',
    'can-i',
    'update',
    'leases.coordination.k8s.io',
    '--namespace=token-renewer',
    '--as=system:serviceaccount:token-renewer:token-renewer',
  ]).then(
    (out) => out.trim() === 'yes',
    () => false,
  );
  leaderElection = canLease
    ? 'on (Lease token-renewer/token-renewer)'
    : 'off (deploy/ grants no Lease access)';
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  process.env.KUBECONFIG = operatorKubeconfig;
  const operator = startProcess(
    'token-renewer',
    process.execPath,
    [
      join(projectRoot, 'src/cli/main.ts'),
      'run',
      `--namespaces=${namespace}`,
      `--metrics-address=127.0.0.1:${metricsPort}`,
      `--health-address=127.0.0.1:${healthPort}`,
      '--allow-insecure-http',
      '--allow-endpoint-cidrs=127.0.0.0/8',
      `--min-safe-lead=${dur(o.lagMs)}`,
      '--log-level=info',
      ...(canLease ? [] : ['--leader-elect=false']),
    ],
    operatorLog,
  );
  let operatorStopMs: number | undefined;
  cleanups.push(async () => {
    if (operatorStopMs !== undefined) return;
    const started = Date.now();
    await operator.stop(15_000);
    operatorStopMs = Date.now() - started;
  });
  await waitFor(
    'the operator to be ready',
    async () => {
      if (operator.exited()) throw new Error(`the operator exited; see ${operatorLog}`);
      return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok;
    },
    60_000,
  );
  if (canLease) {
    await waitFor(
      'the operator to become leader',
      async () =>
        (await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((res) => res.text())).includes(
          '\ntoken_renewer_leader 1',
        ),
      60_000,
    );
  }
  const monitor = startMonitor(`http://127.0.0.1:${metricsPort}/metrics`);
  cleanups.push(() => monitor.stop());
  say(`operator running (log: ${o.operatorLogFile}); creating TokenRequests in ${namespace}`);

  // Spread over one renewal period, so that renewals are spread evenly from then on.
  const names = Array.from({ length: o.tokenRequests }, (_, i) => `tr-${String(i + 1).padStart(3, '0')}`);
  const spreadMs = (o.ttlMs - o.leadMs) / o.tokenRequests;
  for (const [i, name] of names.entries()) {
    await s.createTokenRequest(name, {
      issuerRef: { name: `idp-${(clients[i % clients.length] ?? 'basic').toLowerCase()}` },
      scopes: ['orders.read'],
      renewBefore: dur(o.leadMs),
    });
    await sleep(spreadMs);
  }
  await waitFor(
    'a first token in every Secret',
    async () => names.every((name) => history.versions(name).some((v) => v.expMs !== undefined)),
    60_000,
  );

  // ---- the soak itself ------------------------------------------------------------------
  const before = {
    metrics: parseMetrics((await monitor.scrape()) ?? ''),
    proxyRequests: proxy.tokenRequests(),
    serverRequests: auth.totalTokenRequests(),
  };
  const start = Date.now();
  const deadline = start + o.durationMs;
  say(`every Secret has a token; soaking until ${new Date(deadline).toISOString().slice(11, 19)} UTC`);
  const consumers = startConsumers(history, o.lagMs, o.sampleIntervalMs);
  const faults = startFaultInjector({
    proxy,
    delay,
    random,
    rate: o.faultRate,
    minMs: o.faultMinMs,
    maxMs: o.faultMaxMs,
    gapMs: o.faultGapMs,
    leadMs: o.leadMs,
    timeoutMs: o.timeoutMs,
    onWindow: o.verbose
      ? (w) =>
          say(
            `fault ${w.kind}${w.detail ? ` (${w.detail})` : ''}: window ${dur(w.end - w.start)}${w.tailMs > 0 ? ` + tail ≤ ${dur(w.tailMs)}` : ''}, ${w.requests} requests`,
          )
      : undefined,
  });
  let nextProgress = start + 60_000;
  while (Date.now() < deadline) {
    if (operator.exited()) throw new Error(`the operator exited during the soak; see ${operatorLog}`);
    await sleep(Math.min(1000, deadline - Date.now()));
    if (Date.now() >= nextProgress && Date.now() < deadline) {
      nextProgress += 60_000;
      const stats = consumers.stats();
      say(
        `${dur(Math.round((Date.now() - start) / 1000) * 1000)} of ${dur(o.durationMs)}: ${faults.windows.length} fault windows, ${proxy.tokenRequests() - before.proxyRequests} token requests, ${stats.samples} reads, ${stats.expired.length} expired`,
      );
    }
  }
  await faults.stop();
  consumers.stop();
  const end = Date.now();
  const after = {
    metrics: parseMetrics((await monitor.scrape()) ?? ''),
    proxyRequests: proxy.tokenRequests(),
    serverRequests: auth.totalTokenRequests(),
  };
  say('soak over; faults stopped; checking that every TokenRequest is Ready with a valid token');

  // ---- recovery, then shutdown ------------------------------------------------------------
  const custom = admin.makeApiClient(CustomObjectsApi);
  let notReady: string[] = [];
  const recovered = await waitFor(
    'every TokenRequest Ready with a valid token',
    async () => {
      const list = (await custom.listNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: Plural.TokenRequest,
      })) as { items: TokenRequest[] };
      const now = Date.now();
      notReady = list.items
        .filter((tr) => {
          const name = tr.metadata.name ?? '';
          const last = history.versions(name).at(-1);
          const ready = findCondition(tr.status?.conditions, 'Ready')?.status === 'True';
          return !ready || last?.expMs === undefined || last.expMs <= now;
        })
        .map((tr) => tr.metadata.name ?? '');
      return notReady.length === 0;
    },
    o.ttlMs + 10_000,
  ).then(
    () => Date.now() - end,
    () => undefined,
  );
  await monitor.stop();
  const stopStarted = Date.now();
  await operator.stop(15_000);
  operatorStopMs = Date.now() - stopStarted;
  await history.stop();

  // ---- analysis and report ---------------------------------------------------------------
  const window = { start, end };
  const log = await readOperatorLog(operatorLog, namespace);
  const stats = consumers.stats();
  const report = formatReport({
    options: o,
    window,
    namespace,
    history,
    stats,
    facts: freshness(history, window, o.leadMs, o.lagMs),
    attempts: attempts(log, window),
    episodes: explainExpiredReads(stats.expired, history, log, faults.windows, monitor, o.leadMs, o.lagMs),
    faults: faults.windows,
    metricsBefore: before.metrics,
    metricsAfter: after.metrics,
    proxyRequests: after.proxyRequests - before.proxyRequests,
    serverRequests: after.serverRequests - before.serverRequests,
    slowResponses: delay.delayed(),
    load: monitor.samples.filter((m) => m.at > start && m.from < end),
    recoveredMs: recovered,
    notReady,
    operatorStopMs,
    leaderElection,
    operatorLog: o.operatorLogFile,
    reportFile: o.reportFile,
  });
  console.log(report.text);
  await writeFile(reportFile, `${report.text}\n`);
  say(`report written to ${o.reportFile}`);
  return report.ok ? 0 : 1;
}
