// `npm run bench -- [N ...] [flags]`: the scale benchmark of issue #6 against a real local
// kube-apiserver + etcd and a real authorization server, with the operator as a child process.
// Prints a table and writes it into BENCHMARKS.md. See hack/bench/scenario.ts for the phases.
//
//   npm run bench -- 10000                 one run with N = 10,000
//   npm run bench -- 1000 10000            two runs (memory per TokenRequest is fitted over both)
//   --operator-flag=--concurrency=20       pass a flag to every operator start (repeatable)
//   --window=30                            timeliness window in seconds
//   --no-write                             print only, leave BENCHMARKS.md alone
//   --profile                              CPU profile of the operator in the throughput phase
//   --quick                                skip the limits and timeliness phases (development)
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { configHelp } from '../src/config/config.ts';
import { startControlPlane } from '../test/support/control-plane.ts';
import { installCrds } from '../test/support/crds.ts';
import { kubeHttp } from './bench/kube.ts';
import { startAuthProcess } from './bench/processes.ts';
import { generatedSection, table, writeBenchmarks } from './bench/report.ts';
import { type RunResult, runScenario } from './bench/scenario.ts';
import { findPids, machineInfo } from './bench/system.ts';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    'operator-flag': { type: 'string', multiple: true, default: [] },
    window: { type: 'string', default: '30' },
    'no-write': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
  },
});
const sizes = (positionals.length > 0 ? positionals : ['1000']).map((arg) => {
  const n = Number(arg.replaceAll(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`not a number of TokenRequests: ${arg}`);
  return n;
});

const started = new Date();
const t0 = Date.now();
const say = (line: string) =>
  console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const workDir = await mkdtemp(join(tmpdir(), 'token-renewer-bench-'));
say(`logs in ${workDir}`);
const controlPlane = await startControlPlane({ log: (line) => say(line) });
const results: RunResult[] = [];
try {
  const kc = controlPlane.kubeConfig();
  await installCrds(kc);
  const token = kc.getCurrentUser()?.token ?? '';
  const http = kubeHttp(
    controlPlane.apiServerURL,
    Buffer.from(controlPlane.caData, 'base64').toString(),
    token,
  );
  const auth = await startAuthProcess(join(workDir, 'auth-server.log'), 3600);
  const kubeVersion = (await http.get<{ gitVersion: string }>('/version')).gitVersion;
  const etcdVersion =
    /etcd Version: (\S+)/.exec(
      execFileSync(join(controlPlane.binDir, 'etcd'), ['--version'], { encoding: 'utf8' }),
    )?.[1] ?? 'unknown';
  const supportedFlags = new Set([...configHelp.matchAll(/--([a-z][a-z-]+)/g)].map((m) => m[1] ?? ''));
  const ctx = {
    kc,
    http,
    auth,
    kubeconfigPath: controlPlane.kubeconfigPath('admin'),
    workDir,
    operatorFlags: values['operator-flag'] ?? [],
    supportedFlags,
    serverPids: {
      apiserver: findPids(`--cert-dir=${controlPlane.dir}/certs`),
      etcd: findPids(`--data-dir=${controlPlane.dir}/etcd`),
    },
    timelinessWindowS: Number(values.window),
    profile: values.profile ?? false,
    quick: values.quick ?? false,
    say,
  };
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const machine = { ...machineInfo(), kubeVersion, etcdVersion };
  for (const n of sizes) {
    results.push(await runScenario(ctx, n));
    console.log(`\n${table(results)}\n`);
    // After every run, so that a larger N failing late still leaves the smaller ones written.
    if (!values['no-write']) {
      const section = generatedSection(results, machine, command, started, (Date.now() - t0) / 1000);
      const path = resolve(import.meta.dirname, '../BENCHMARKS.md');
      writeBenchmarks(path, section, '# Benchmarks\n\n{{generated}}\n');
      say(`wrote ${path}`);
    }
  }
  await auth.stop();
  await http.close();
} finally {
  await controlPlane.stop();
}
say('done');
