// One benchmark run for one N: the phases of issue #6 in order, against one control plane,
// one authorization server and the operator as a child process.
//
//   setup       namespace, issuer; an operator with nothing to do (memory baseline)
//   create      N TokenRequests (and N Secrets for the baseline loop), operator stopped
//   cold        operator started: time until all N are Ready; token requests made
//   memory      RSS and heap after a full GC
//   restart     operator restarted with N fresh tokens: time until ready and caught up; requests made
//   limits      issuer and API-server rate limits, each with a herd of due renewals
//   throughput  all N renewals due at once (renew-at moved into the past while the operator is
//               stopped) against a baseline loop doing only the HTTP work
//   timeliness  renewals spread over a window (renew-at moved to whole seconds in it): lateness
//
// Renewals are observed on the harness's own watch of the managed Secrets: a renewal is done when
// the Secret holds a new token, which is what a workload cares about.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import { Annotation, apiVersion, group, Label, managedBy, Plural, version } from '../../src/api/index.ts';
import { parseConfig } from '../../src/config/config.ts';
import { dropManagedFields, Informer } from '../../src/kube/informer.ts';
import { formatTime } from '../../src/renewal/time.ts';
import { forEachConcurrently, type KubeHttp, withRetry } from './kube.ts';
import { type AuthProcess, type OperatorProcess, startOperatorProcess } from './processes.ts';
import { bucketQuantile, delta, histogramBuckets, metricValue, parseMetrics, sumBy } from './prom.ts';
import { peakCounterRate, peakRate, quantile } from './stats.ts';
import { CpuMeter } from './system.ts';

export interface BenchContext {
  kc: KubeConfig;
  http: KubeHttp;
  auth: AuthProcess;
  kubeconfigPath: string;
  workDir: string;
  /** Extra operator flags from the command line. */
  operatorFlags: readonly string[];
  /** Flags the operator's config knows (from its help text), to skip phases it cannot run. */
  supportedFlags: ReadonlySet<string>;
  serverPids: { apiserver: number[]; etcd: number[] };
  timelinessWindowS: number;
  /** Skip the limits and timeliness phases (for quick iterations while developing). */
  quick: boolean;
  /** Write a CPU profile of the operator during the throughput phase into workDir. */
  profile: boolean;
  say(line: string): void;
}

export type VerbCounts = Record<string, number>;

export interface LimitResult {
  flag: string;
  configuredQps: number;
  configuredBurst: number;
  renewals: number;
  peakPerSecond: number;
  /** Highest rate over any 5-s window. */
  peak5sPerSecond: number;
  averagePerSecond: number;
  seconds: number;
}

export interface RunResult {
  n: number;
  operatorConfig: { concurrency: number; issuerConcurrency: number; flags: string[] };
  create: { seconds: number };
  cold: {
    readyS: number;
    allReadyS: number;
    tokenRequests: number;
    renewalsPerS: number;
    cpuS: number;
    clientApi?: VerbCounts;
    serverApi: VerbCounts;
  };
  memory: {
    empty: { rss: number; heap: number };
    loaded: { rss: number; heap: number };
  };
  restart: {
    readyS: number;
    caughtUpS?: number;
    tokenRequests: number;
    clientApi?: VerbCounts;
    serverApi: VerbCounts;
    cpuS: number;
  };
  limits: LimitResult[];
  throughput: {
    operator: { seconds: number; perS: number; cpuS: number; startupS: number };
    baseline: { renewals: number; seconds: number; perS: number; clientCpuS: number };
    /** The floor: also one status write per renewal, as the operator makes. */
    baselineWithStatus: { renewals: number; seconds: number; perS: number; clientCpuS: number };
    serverCpuPerRenewalMs: {
      operator: Record<string, number>;
      baseline: Record<string, number>;
      baselineWithStatus: Record<string, number>;
    };
    machineBusy: { operator: number; baseline: number };
    clientApi?: VerbCounts;
    serverApi: VerbCounts;
  };
  timeliness: {
    scheduled: number;
    windowS: number;
    perS: number;
    lateness: { p50?: number; p99?: number; max?: number };
    missing: number;
    operatorHistogram: { p50?: number; p99?: number };
    clientApi?: VerbCounts;
    serverApi: VerbCounts;
  };
}

const ISSUER = 'bench-idp';
const name = (i: number) => `tr-${String(i).padStart(6, '0')}`;
const renewAtKey = Annotation.RenewAt;
/** The operator's log line when its work queue first runs dry after a start. */
const caughtUpMsg = 'initial reconcile done';

export async function runScenario(ctx: BenchContext, n: number): Promise<RunResult> {
  const { http, auth, say } = ctx;
  const suffix = randomBytes(3).toString('hex');
  const ns = `bench-${n}-${suffix}`;
  const baseNs = `${ns}-base`;
  for (const namespace of [ns, baseNs])
    await http.post('/api/v1/namespaces', { metadata: { name: namespace } });
  await createIssuer(http, ns, auth);

  const leaderFlags = ctx.supportedFlags.has('leader-elect') ? ['--leader-elect=false'] : [];
  const baseFlags = [
    `--namespaces=${ns}`,
    `--cluster-resource-namespace=${ns}`,
    '--allow-insecure-http',
    '--allow-endpoint-cidrs=127.0.0.0/8',
    ...leaderFlags,
    ...ctx.operatorFlags,
  ];
  const parsed = parseConfig(baseFlags, {});
  if (!parsed.ok) throw new Error(`operator flags: ${parsed.problems.join('; ')}`);
  const { concurrency, issuerConcurrency } = parsed.config;
  let starts = 0;
  const startOperator = (extra: string[] = [], nodeArgs: string[] = []) =>
    startOperatorProcess({
      kubeconfigPath: ctx.kubeconfigPath,
      flags: [...baseFlags, ...extra],
      nodeArgs,
      logFile: join(ctx.workDir, `operator-${n}-${++starts}.log`),
    });
  const apiserverCounts = async () => apiRequestCounts(await http.text('/metrics'));

  // setup: memory of an operator with nothing to do.
  say(`N=${n}: namespace ${ns}; measuring an idle operator`);
  let op = await startOperator();
  await op.ready();
  await sleep(2000);
  const empty = await memoryOf(op);
  await op.stop();

  // create
  say(`N=${n}: creating ${n} TokenRequests and ${n} baseline Secrets`);
  const createStart = Date.now();
  const exampleToken = 'x'.repeat(900);
  // The baselines measure a rate: a sample of N is enough, and saves creating objects.
  const baselineN = Math.min(n, 3000);
  await Promise.all([
    forEachConcurrently(n, 24, (i) =>
      withRetry(() =>
        http.post(`/apis/${group}/${version}/namespaces/${ns}/${Plural.TokenRequest}`, {
          apiVersion,
          kind: 'TokenRequest',
          metadata: { name: name(i) },
          spec: { issuerRef: { name: ISSUER }, scopes: ['orders.read'] },
        }),
      ),
    ),
    forEachConcurrently(baselineN, 12, async (i) => {
      await withRetry(() =>
        http.post(`/api/v1/namespaces/${baseNs}/secrets`, baselineSecret(name(i), exampleToken)),
      );
      // For the baseline that also writes a status: TokenRequests nothing watches.
      await withRetry(() =>
        http.post(`/apis/${group}/${version}/namespaces/${baseNs}/${Plural.TokenRequest}`, {
          apiVersion,
          kind: 'TokenRequest',
          metadata: { name: name(i) },
          spec: { issuerRef: { name: ISSUER }, scopes: ['orders.read'] },
        }),
      );
    }),
  ]);
  const createSeconds = (Date.now() - createStart) / 1000;
  say(`N=${n}: created in ${createSeconds.toFixed(1)} s`);

  // The harness's watches: Ready TokenRequests, new tokens in Secrets, write times.
  const watch = new Watches(ctx.kc, ns);
  await watch.start();

  // cold
  say(`N=${n}: cold start`);
  let server0 = await apiserverCounts();
  let tokens0 = await auth.total();
  await watch.watchRequests();
  const readyAll = watch.untilReady(n);
  op = await startOperator();
  const coldReady = await op.ready();
  const coldAll = await readyAll;
  const coldCpu = op.cpuSeconds();
  const coldTokens = (await auth.total()) - tokens0;
  await watch.unwatchRequests();
  await settle(op);
  const cold = {
    readyS: (coldReady - op.startedAt) / 1000,
    allReadyS: (coldAll - op.startedAt) / 1000,
    tokenRequests: coldTokens,
    renewalsPerS: n / Math.max(0.001, (coldAll - coldReady) / 1000),
    cpuS: coldCpu,
    clientApi: clientApiCounts(await op.scrape()),
    serverApi: delta(server0, await apiserverCounts()),
  };
  say(`N=${n}: all Ready after ${cold.allReadyS.toFixed(1)} s, ${coldTokens} token requests`);

  // memory
  const loaded = await memoryOf(op);

  // restart
  say(`N=${n}: restart with fresh tokens`);
  await op.stop();
  server0 = await apiserverCounts();
  tokens0 = await auth.total();
  op = await startOperator();
  const caughtUp = op.waitForLog(caughtUpMsg, 120_000).catch(() => undefined);
  const restartReady = await op.ready();
  const restartCaught = await caughtUp;
  await sleep(2000);
  const restart = {
    readyS: (restartReady - op.startedAt) / 1000,
    caughtUpS: restartCaught ? (restartCaught.at - op.startedAt) / 1000 : undefined,
    tokenRequests: (await auth.total()) - tokens0,
    clientApi: clientApiCounts(await op.scrape()),
    serverApi: delta(server0, await apiserverCounts()),
    cpuS: op.cpuSeconds(),
  };
  say(
    `N=${n}: ready after ${restart.readyS.toFixed(2)} s, caught up after ${restart.caughtUpS?.toFixed(2) ?? '?'} s, ${restart.tokenRequests} token requests`,
  );
  await op.stop();

  // limits
  const limits: LimitResult[] = [];
  const m = Math.min(n, 400);
  const limitRuns = [
    { flag: 'issuer-qps', burstFlag: 'issuer-burst', qps: 40, burst: 10, from: 0 },
    { flag: 'kube-api-qps', burstFlag: 'kube-api-burst', qps: 80, burst: 20, from: n >= 2 * m ? m : 0 },
  ];
  for (const run of ctx.quick ? [] : limitRuns) {
    if (!ctx.supportedFlags.has(run.flag)) {
      say(`N=${n}: the operator has no --${run.flag}: skipping that limit`);
      continue;
    }
    say(`N=${n}: --${run.flag}=${run.qps} --${run.burstFlag}=${run.burst} with ${m} renewals due at once`);
    const names = Array.from({ length: m }, (_, i) => name(run.from + i));
    await moveRenewAt(http, ns, names, () => new Date(Date.now() - 1000));
    const renewed = watch.expectNewTokens(names);
    if (run.flag === 'kube-api-qps') await watch.watchRequests();
    const writesFrom = Date.now();
    op = await startOperator([`--${run.flag}=${run.qps}`, `--${run.burstFlag}=${run.burst}`]);
    const ready = await op.ready();
    const done = await renewed.done;
    let peak: number;
    let peak5: number;
    let average: number;
    if (run.flag === 'issuer-qps') {
      const samples = await auth.samples(ready);
      peak = peakCounterRate(samples, 1000);
      peak5 = peakCounterRate(samples, 5000);
      const first = samples[0]?.[1] ?? 0;
      const last = samples.at(-1)?.[1] ?? 0;
      average = ((last - first) * 1000) / Math.max(1, done - ready);
    } else {
      await sleep(500); // the last status writes
      const writes = watch.writeTimes(writesFrom);
      await watch.unwatchRequests();
      ({ peak, average } = peakRate(writes, 1000));
      peak5 = peakRate(writes, 5000).peak;
    }
    limits.push({
      flag: run.flag,
      configuredQps: run.qps,
      configuredBurst: run.burst,
      renewals: m,
      peakPerSecond: peak,
      peak5sPerSecond: peak5,
      averagePerSecond: average,
      seconds: (done - ready) / 1000,
    });
    say(`N=${n}: --${run.flag}=${run.qps}: peak ${peak.toFixed(1)}/s, average ${average.toFixed(1)}/s`);
    await op.stop();
  }

  // throughput: the baselines first (the operator is stopped), then the operator.
  const meter = new CpuMeter({ ...ctx.serverPids, auth: [auth.pid] });
  const runBaseline = async (withStatus: boolean) => {
    say(
      `N=${n}: baseline loop (token request + Secret write${withStatus ? ' + status write' : ''}, concurrency ${concurrency}/${issuerConcurrency})`,
    );
    meter.start();
    // The harness watches the baseline's Secrets as it watches the operator's: same overhead.
    const baselineWatch = secretInformer(ctx.kc, baseNs);
    let events = 0;
    baselineWatch.onEvent((event) => {
      if (event.type === 'update') events++;
    });
    baselineWatch.start();
    await baselineWatch.whenSynced();
    const started = Date.now();
    await baselineLoop(http, auth, baseNs, baselineN, concurrency, issuerConcurrency, withStatus);
    for (const deadline = Date.now() + 10_000; events < baselineN && Date.now() < deadline; ) await sleep(10);
    const seconds = (Date.now() - started) / 1000;
    const cpu = meter.stop();
    await baselineWatch.stop();
    say(`N=${n}: baseline ${(baselineN / seconds).toFixed(0)} renewals/s over ${baselineN}`);
    return { seconds, cpu };
  };
  const { seconds: baselineSeconds, cpu: baselineCpu } = await runBaseline(false);
  const { seconds: floorSeconds, cpu: floorCpu } = await runBaseline(true);

  await moveRenewAt(
    http,
    ns,
    Array.from({ length: n }, (_, i) => name(i)),
    () => new Date(Date.now() - 1000),
  );
  say(`N=${n}: all ${n} renewals due; starting the operator`);
  server0 = await apiserverCounts();
  const all = watch.expectNewTokens(Array.from({ length: n }, (_, i) => name(i)));
  op = await startOperator([], ctx.profile ? ['--cpu-prof', `--cpu-prof-dir=${ctx.workDir}`] : []);
  const tpReady = await op.ready();
  meter.start(); // from ready: the initial lists are not renewal work
  const cpuAtReady = op.cpuSeconds();
  const tpDone = await all.done;
  const operatorCpu = meter.stop();
  const tpCpu = op.cpuSeconds() - cpuAtReady;
  const tpSeconds = (tpDone - tpReady) / 1000;
  const perRenewalMs = (cpu: Record<string, number>, renewals: number) =>
    Object.fromEntries(
      ['apiserver', 'etcd', 'auth', 'harness'].map((k) => [k, ((cpu[k] ?? 0) * 1000) / renewals]),
    ) as Record<string, number>;
  const throughput = {
    operator: {
      seconds: tpSeconds,
      perS: n / tpSeconds,
      cpuS: tpCpu,
      startupS: (tpReady - op.startedAt) / 1000,
    },
    baseline: {
      renewals: baselineN,
      seconds: baselineSeconds,
      perS: baselineN / baselineSeconds,
      clientCpuS: baselineCpu.harness ?? 0,
    },
    baselineWithStatus: {
      renewals: baselineN,
      seconds: floorSeconds,
      perS: baselineN / floorSeconds,
      clientCpuS: floorCpu.harness ?? 0,
    },
    serverCpuPerRenewalMs: {
      operator: perRenewalMs(operatorCpu, n),
      baseline: perRenewalMs(baselineCpu, baselineN),
      baselineWithStatus: perRenewalMs(floorCpu, baselineN),
    },
    machineBusy: {
      operator: (operatorCpu.machineBusy ?? 0) / Math.max(0.001, operatorCpu.machineTotal ?? 0),
      baseline: (baselineCpu.machineBusy ?? 0) / Math.max(0.001, baselineCpu.machineTotal ?? 0),
    },
    clientApi: clientApiCounts(await op.scrape()),
    serverApi: delta(server0, await apiserverCounts()),
  };
  say(
    `N=${n}: operator ${throughput.operator.perS.toFixed(0)} renewals/s (${((throughput.operator.perS / throughput.baseline.perS) * 100).toFixed(0)} % of baseline), ${((tpCpu * 1000) / n).toFixed(2)} ms CPU per renewal`,
  );
  await settle(op);

  // timeliness
  const windowS = ctx.quick ? 0 : ctx.timelinessWindowS;
  const rate = Math.min(n / windowS, 0.5 * throughput.operator.perS);
  const k = Math.min(n, Math.round(rate * windowS));
  const leadMs = 4000 + (k / 300) * 1000;
  const startMs = Math.ceil((Date.now() + leadMs) / 1000) * 1000;
  const scheduled = new Map<string, number>();
  for (let i = 0; i < k; i++) scheduled.set(name(i), startMs + Math.floor((i * windowS) / k) * 1000);
  if (k > 0)
    say(`N=${n}: timeliness: ${k} renewals over ${windowS} s (${(k / windowS).toFixed(0)}/s), whole seconds`);
  const spread = watch.expectNewTokens([...scheduled.keys()]);
  await moveRenewAt(http, ns, [...scheduled.keys()], (key) => new Date(scheduled.get(key) ?? 0));
  if (k > 0) await sleepUntil(startMs - 500);
  const before = await op.scrape();
  server0 = await apiserverCounts();
  const endMs = startMs + windowS * 1000 + 10_000;
  if (k > 0) await Promise.race([spread.done, sleepUntil(endMs)]);
  const after = await op.scrape();
  const late: number[] = [];
  for (const [key, at] of spread.seen) {
    const due = scheduled.get(key);
    if (due !== undefined) late.push((at - due) / 1000);
  }
  const hist = (text: string) =>
    histogramBuckets(parseMetrics(text), 'token_renewer_renewal_lateness_seconds');
  const histDelta = new Map<number, number>();
  const histBefore = hist(before);
  for (const [le, count] of hist(after)) histDelta.set(le, count - (histBefore.get(le) ?? 0));
  const clientBefore = clientApiCounts(before);
  const clientAfter = clientApiCounts(after);
  const timeliness = {
    scheduled: k,
    windowS,
    perS: k / Math.max(1, windowS),
    lateness: { p50: quantile(late, 0.5), p99: quantile(late, 0.99), max: quantile(late, 1) },
    missing: k - late.length,
    operatorHistogram: { p50: bucketQuantile(histDelta, 0.5), p99: bucketQuantile(histDelta, 0.99) },
    clientApi:
      clientBefore && clientAfter
        ? Object.fromEntries(
            delta(new Map(Object.entries(clientBefore)), new Map(Object.entries(clientAfter))),
          )
        : undefined,
    serverApi: delta(server0, await apiserverCounts()),
  };
  say(
    `N=${n}: lateness p50 ${fmt(timeliness.lateness.p50)} s, p99 ${fmt(timeliness.lateness.p99)} s, max ${fmt(timeliness.lateness.max)} s, ${timeliness.missing} missing`,
  );
  await op.stop();
  await watch.stop();

  return {
    n,
    operatorConfig: { concurrency, issuerConcurrency, flags: [...leaderFlags, ...ctx.operatorFlags] },
    create: { seconds: createSeconds },
    cold: { ...cold, serverApi: mapToRecord(cold.serverApi) },
    memory: { empty, loaded },
    restart: { ...restart, serverApi: mapToRecord(restart.serverApi) },
    limits,
    throughput: { ...throughput, serverApi: mapToRecord(throughput.serverApi) },
    timeliness: { ...timeliness, serverApi: mapToRecord(timeliness.serverApi) },
  };
}

const fmt = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(3));

function mapToRecord(map: Map<string, number>): VerbCounts {
  return Object.fromEntries([...map].sort((a, b) => b[1] - a[1]));
}

async function sleepUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await sleep(ms);
}

/** Waits until the operator's work queue has drained (its log says so), or a few seconds. */
async function settle(op: OperatorProcess): Promise<void> {
  if (op.countLog(caughtUpMsg) === 0) await op.waitForLog(caughtUpMsg, 60_000).catch(() => undefined);
  await sleep(1000);
}

async function memoryOf(op: OperatorProcess): Promise<{ rss: number; heap: number }> {
  await op.gc();
  const text = await op.scrape();
  await op.gc();
  const heap = metricValue(parseMetrics(text), 'token_renewer_nodejs_heap_size_used_bytes') ?? 0;
  return { rss: op.rssBytes(), heap };
}

async function createIssuer(http: KubeHttp, ns: string, auth: AuthProcess): Promise<void> {
  await http.post(`/api/v1/namespaces/${ns}/secrets`, {
    metadata: { name: `${ISSUER}-credentials` },
    stringData: { 'client-secret': auth.info.clientSecret },
  });
  await http.post(`/apis/${group}/${version}/namespaces/${ns}/${Plural.TokenIssuer}`, {
    apiVersion,
    kind: 'TokenIssuer',
    metadata: { name: ISSUER },
    spec: {
      issuerURL: auth.info.issuer,
      clientID: auth.info.clientId,
      clientAuth: { method: 'client_secret_basic', clientSecretRef: { name: `${ISSUER}-credentials` } },
    },
  });
}

function baselineSecret(secretName: string, token: string): V1Secret {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const now = new Date();
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      labels: { 'app.kubernetes.io/managed-by': 'bench-baseline', [Label.TokenRequest]: secretName },
      annotations: {
        [Annotation.ExpiresAt]: formatTime(new Date(now.getTime() + 3_600_000)),
        [Annotation.RenewAt]: formatTime(new Date(now.getTime() + 2_400_000)),
        'token-renewer.io/spec-hash': 'x'.repeat(16),
        'token-renewer.io/issuer-hash': 'x'.repeat(16),
        'token-renewer.io/data-hash': 'x'.repeat(16),
      },
    },
    type: 'Opaque',
    data: {
      token: b64(token),
      token_type: b64('Bearer'),
      expires_at: b64(formatTime(now)),
      scope: b64('orders.read'),
    },
  };
}

/**
 * The same HTTP work as one routine renewal and nothing else: a client_credentials request and a
 * replace of a Secret, `concurrency` at once with at most `tokenConcurrency` token requests in flight.
 */
async function baselineLoop(
  http: KubeHttp,
  auth: AuthProcess,
  ns: string,
  n: number,
  concurrency: number,
  tokenConcurrency: number,
  withStatus: boolean,
): Promise<void> {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connections: tokenConcurrency, keepAliveTimeout: 30_000 });
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(auth.info.clientId)}:${encodeURIComponent(auth.info.clientSecret)}`).toString('base64')}`;
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const token = async (): Promise<{ access_token: string; expires_in: number }> => {
    if (inFlight >= tokenConcurrency) await new Promise<void>((r) => waiting.push(r));
    else inFlight++;
    try {
      const res = await request(auth.info.tokenEndpoint, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=orders.read',
      });
      const body = (await res.body.json()) as { access_token: string; expires_in: number };
      if (res.statusCode !== 200) throw new Error(`token endpoint answered ${res.statusCode}`);
      return body;
    } finally {
      const next = waiting.shift();
      if (next) next();
      else inFlight--;
    }
  };
  // The current resourceVersions, read before the timed loop (the operator has them cached too).
  const versions = async (path: string) => {
    const list = await http.get<{ items: { metadata: { name: string; resourceVersion: string } }[] }>(path);
    return new Map(list.items.map((item) => [item.metadata.name, item.metadata.resourceVersion]));
  };
  const secretVersions = await versions(`/api/v1/namespaces/${ns}/secrets`);
  const statusVersions = withStatus
    ? await versions(`/apis/${group}/${version}/namespaces/${ns}/${Plural.TokenRequest}`)
    : new Map<string, string>();
  await forEachConcurrently(n, concurrency, async (i) => {
    const secretName = name(i);
    const issued = await token();
    const body = baselineSecret(secretName, issued.access_token);
    body.metadata = { ...body.metadata, resourceVersion: secretVersions.get(secretName) };
    await http.put<V1Secret>(`/api/v1/namespaces/${ns}/secrets/${secretName}`, body);
    if (!withStatus) return;
    const now = new Date();
    await http.put(`/apis/${group}/${version}/namespaces/${ns}/${Plural.TokenRequest}/${secretName}/status`, {
      apiVersion,
      kind: 'TokenRequest',
      metadata: { name: secretName, namespace: ns, resourceVersion: statusVersions.get(secretName) },
      status: {
        observedGeneration: 1,
        secretName,
        tokenType: 'Bearer',
        grantedScopes: ['orders.read'],
        expirationTime: formatTime(new Date(now.getTime() + 3_600_000)),
        renewalTime: formatTime(new Date(now.getTime() + 2_400_000)),
        lastRenewalTime: formatTime(now),
        failedAttempts: 0,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'TokenIssued',
            message: 'a valid token is in the Secret',
            lastTransitionTime: formatTime(now),
            observedGeneration: 1,
          },
          {
            type: 'Renewing',
            status: 'False',
            reason: 'Scheduled',
            message: 'next renewal scheduled',
            lastTransitionTime: formatTime(now),
            observedGeneration: 1,
          },
        ],
      },
    });
  });
  await agent.close();
}

/** Sets the renew-at annotation of the named Secrets (merge patch), e.g. into the past. */
async function moveRenewAt(
  http: KubeHttp,
  ns: string,
  names: readonly string[],
  at: (name: string) => Date,
): Promise<void> {
  await forEachConcurrently(names.length, 24, async (i) => {
    const key = names[i] ?? '';
    await withRetry(() =>
      http.mergePatch(`/api/v1/namespaces/${ns}/secrets/${key}`, {
        metadata: { annotations: { [renewAtKey]: formatTime(at(key)) } },
      }),
    );
  });
}

/** apiserver_request_total by verb and resource (with subresource), for our resources only. */
export function apiRequestCounts(metricsText: string): Map<string, number> {
  const lines = metricsText.split('\n').filter((l) => l.startsWith('apiserver_request_total{'));
  const samples = parseMetrics(lines.join('\n'));
  const out = new Map<string, number>();
  for (const s of samples) {
    const resource = s.labels.resource ?? '';
    if (
      ![
        'secrets',
        'tokenrequests',
        'tokenissuers',
        'clustertokenissuers',
        'events',
        'namespaces',
        'leases',
      ].includes(resource)
    )
      continue;
    const key = `${s.labels.verb} ${resource}${s.labels.subresource ? `/${s.labels.subresource}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** The operator's own count of API requests by verb and resource, if it exports one. */
function clientApiCounts(metricsText: string): VerbCounts | undefined {
  const samples = parseMetrics(metricsText, (metric) => metric === 'token_renewer_kube_api_requests_total');
  if (samples.length === 0) return undefined;
  const by = sumBy(samples, 'token_renewer_kube_api_requests_total', ['verb', 'resource']);
  return Object.fromEntries([...by].map(([key, v]) => [key.replace('|', ' '), v]));
}

/**
 * The harness's watches of the benchmark namespace: the managed Secrets always (new tokens), the
 * TokenRequests only while needed (Ready counts, write rates), since every watcher costs the API
 * server and this machine CPU that the operator would otherwise have.
 */
class Watches {
  readonly #kc: KubeConfig;
  readonly #ns: string;
  readonly #secrets: Informer<V1Secret>;
  #requests: Informer | undefined;
  readonly #ready = new Set<string>();
  #readyWaiter: { n: number; resolve: (at: number) => void } | undefined;
  #expect: { pending: Set<string>; seen: Map<string, number>; resolve: (at: number) => void } | undefined;
  readonly #writes: number[] = [];

  constructor(kc: KubeConfig, ns: string) {
    this.#kc = kc;
    this.#ns = ns;
    this.#secrets = secretInformer(kc, ns, `${Label.ManagedBy}=${managedBy}`);
    this.#secrets.onEvent((event) => {
      const now = Date.now();
      if (event.type !== 'delete') this.#writes.push(now);
      const key = event.object.metadata?.name ?? '';
      const expect = this.#expect;
      if (!expect?.pending.has(key)) return;
      const old = event.type === 'update' ? event.old : undefined;
      if (old && old.data?.token === event.object.data?.token) return;
      expect.pending.delete(key);
      expect.seen.set(key, now);
      if (expect.pending.size === 0) expect.resolve(now);
    });
  }

  async start(): Promise<void> {
    this.#secrets.start();
    await this.#secrets.whenSynced();
  }

  /** Starts watching TokenRequests (Ready conditions, status writes). */
  async watchRequests(): Promise<void> {
    if (this.#requests) return;
    const requests = new Informer({
      kubeConfig: this.#kc,
      resource: { apiVersion, plural: Plural.TokenRequest },
      namespaces: [this.#ns],
      transform: dropManagedFields,
      resyncPeriodMs: 0,
      relistPeriodMs: 0,
    });
    requests.onEvent((event) => {
      const now = Date.now();
      if (event.type === 'update') this.#writes.push(now);
      const key = event.object.metadata?.name ?? '';
      const status = (event.object as { status?: { conditions?: { type: string; status: string }[] } })
        .status;
      const ready = status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      if (ready && event.type !== 'delete') this.#ready.add(key);
      else this.#ready.delete(key);
      const waiter = this.#readyWaiter;
      if (waiter && this.#ready.size >= waiter.n) {
        this.#readyWaiter = undefined;
        waiter.resolve(now);
      }
    });
    this.#requests = requests;
    requests.start();
    await requests.whenSynced();
  }

  async unwatchRequests(): Promise<void> {
    await this.#requests?.stop();
    this.#requests = undefined;
  }

  async stop(): Promise<void> {
    await Promise.all([this.#secrets.stop(), this.unwatchRequests()]);
  }

  /** Resolves with the time at which `n` TokenRequests are Ready. */
  untilReady(n: number): Promise<number> {
    if (this.#ready.size >= n) return Promise.resolve(Date.now());
    return new Promise((resolve) => {
      this.#readyWaiter = { n, resolve };
    });
  }

  /** Tracks new tokens in these Secrets: `seen` maps each to the time its new token arrived. */
  expectNewTokens(names: readonly string[]): { done: Promise<number>; seen: Map<string, number> } {
    const seen = new Map<string, number>();
    const done = new Promise<number>((resolve) => {
      this.#expect = { pending: new Set(names), seen, resolve };
    });
    return { done, seen };
  }

  /** Times of Secret writes, and of TokenRequest writes while watched, since `from`. */
  writeTimes(from: number): number[] {
    return this.#writes.filter((t) => t >= from);
  }
}

function secretInformer(kc: KubeConfig, ns: string, labelSelector?: string): Informer<V1Secret> {
  return new Informer<V1Secret>({
    kubeConfig: kc,
    resource: { apiVersion: 'v1', plural: 'secrets' },
    namespaces: [ns],
    labelSelector,
    transform: dropManagedFields,
    resyncPeriodMs: 0,
    relistPeriodMs: 0,
  });
}
