// The operator as a real child process (`node src/cli/main.ts run …`), the way a Deployment runs
// it: under the deploy/ ServiceAccount's kubeconfig, with leader election on a Lease in the
// `token-renewer` namespace (where deploy/ grants leases), killable with any signal. Its JSON log
// lines are parsed as they arrive; its ports come from the "starting" line (port 0 is bound by
// then). A group tracks every process a test starts, stops them after it, and runs the leak check
// over everything they logged and exported.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { testCluster } from './cluster.ts';
import { exposedInCluster, findLeaks } from './leak-check.ts';
import { waitFor } from './net.ts';

const root = resolve(import.meta.dirname, '../..');
const node = resolve(root, 'node_modules/.bin/node');
const main = resolve(root, 'src/cli/main.ts');
/** The namespace deploy/ grants Lease access in (deploy/rbac.yaml). */
export const leaseNamespace = 'token-renewer';

export interface LogEntry {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface OperatorProcessOptions {
  /** A short label for messages ("a", "b"). */
  name: string;
  namespaces: readonly string[];
  clusterResourceNamespace?: string;
  /** Name of the Lease (in `leaseNamespace`): one per test, so tests never share a leader. */
  lease: string;
  /** Defaults to the deploy/ ServiceAccount's kubeconfig. */
  kubeconfigPath?: string;
  /** Further flags; later flags win. */
  flags?: readonly string[];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the exit was noticed. */
  at: number;
}

export interface OperatorProcess {
  readonly name: string;
  readonly pid: number;
  /** This replica's identity in the Lease. */
  readonly identity: string;
  readonly port: number;
  /** Parsed JSON log lines, in order. */
  readonly logs: LogEntry[];
  /** Every line on stdout and stderr as written. */
  readonly output: string[];
  /** Resolves with the first log line matching, already written or yet to come. */
  waitForLog(what: string, match: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  scrape(): Promise<string>;
  /** The token_renewer_leader gauge. */
  leading(): Promise<boolean>;
  ready(): Promise<boolean>;
  kill(signal: NodeJS.Signals): void;
  waitExit(timeoutMs?: number): Promise<Exit>;
  exited(): Exit | undefined;
}

export async function startOperatorProcess(options: OperatorProcessOptions): Promise<OperatorProcess> {
  const cluster = testCluster();
  const args = [
    main,
    'run',
    `--namespaces=${options.namespaces.join(',')}`,
    `--cluster-resource-namespace=${options.clusterResourceNamespace ?? options.namespaces[0]}`,
    '--metrics-address=127.0.0.1:0',
    '--health-address=127.0.0.1:0',
    '--allow-insecure-http',
    '--allow-endpoint-cidrs=127.0.0.0/8',
    '--log-level=debug',
    `--leader-election-namespace=${leaseNamespace}`,
    `--leader-election-id=${options.lease}`,
    ...(options.flags ?? []),
  ];
  // Nothing of the test runner's environment that could change the operator's behaviour.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('TOKEN_RENEWER_') && !k.startsWith('NODE_TEST'),
    ),
  );
  env.KUBECONFIG = options.kubeconfigPath ?? cluster.kubeconfigPath('operator');
  // The kernel kills the operator if the test process dies (see process.ts).
  const setpriv = '/usr/bin/setpriv';
  const [command, argv] = existsSync(setpriv)
    ? [setpriv, ['--pdeathsig', 'KILL', '--', node, ...args]]
    : [node, args];
  const child = spawn(command, argv, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });

  const logs: LogEntry[] = [];
  const output: string[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  const echo = process.env.TOKEN_RENEWER_TEST_LOGS;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (echo) process.stderr.write(`[${options.name}] ${line}\n`);
      try {
        const entry = JSON.parse(line) as LogEntry;
        if (typeof entry.msg === 'string') logs.push(entry);
      } catch {
        // Not a log line (a crash trace on stderr): kept in `output`.
      }
      notify();
    });
  }
  let exit: Exit | undefined;
  let exitedAt = 0;
  child.once('exit', () => {
    exitedAt = Date.now();
  });
  // 'close' comes after the output is read to the end: every line is in `logs` by then.
  const exited = once(child, 'close').then(([code, signal]) => {
    exit = {
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      at: exitedAt || Date.now(),
    };
    notify();
    return exit;
  });

  const waitForLog = (what: string, match: (entry: LogEntry) => boolean, timeoutMs = 20_000) =>
    new Promise<LogEntry>((resolvePromise, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (found) return finish(() => resolvePromise(found));
        if (exit) {
          finish(() =>
            reject(
              new Error(
                `operator ${options.name} exited (${exit?.code ?? exit?.signal}) before ${what}:\n${output.slice(-20).join('\n')}`,
              ),
            ),
          );
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`operator ${options.name}: no ${what} within ${timeoutMs} ms`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });

  const starting = await waitForLog('"starting" line', (e) => e.msg === 'starting').catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const port = Number(String(starting.metrics).split(':').at(-1));
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const proc: OperatorProcess = {
    name: options.name,
    pid: child.pid ?? -1,
    identity: String(starting.identity),
    port,
    logs,
    output,
    waitForLog,
    scrape: async () => (await fetch(url('/metrics'))).text(),
    async leading() {
      return /^token_renewer_leader 1$/m.test(await proc.scrape());
    },
    async ready() {
      return (await fetch(url('/readyz'))).status === 200;
    },
    kill: (signal) => {
      if (!exit) child.kill(signal);
    },
    async waitExit(timeoutMs = 30_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`operator ${options.name} still running after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    exited: () => exit,
  };
  return proc;
}

export interface OperatorGroup {
  start(
    options: Omit<OperatorProcessOptions, 'lease' | 'namespaces'> & { namespaces?: readonly string[] },
  ): Promise<OperatorProcess>;
  readonly all: OperatorProcess[];
  /** Waits until exactly one live member leads (by its gauge); returns it and the others. */
  leader(timeoutMs?: number): Promise<{ leader: OperatorProcess; followers: OperatorProcess[] }>;
}

/**
 * Operator processes sharing one Lease and namespaces. After the test every one still running is
 * stopped (SIGTERM, then SIGKILL), and the leak check runs over all of their output, a final
 * metrics scrape of each, and the events and statuses of the namespaces.
 */
export function operatorGroup(
  t: TestContext,
  kc: KubeConfig,
  defaults: { namespaces: readonly string[]; lease: string; flags?: readonly string[] },
): OperatorGroup {
  const all: OperatorProcess[] = [];
  const scrapes: [string, string][] = [];
  t.after(async () => {
    for (const proc of all) {
      if (proc.exited()) continue;
      scrapes.push([`metrics of ${proc.name}`, await proc.scrape().catch(() => '')]);
      proc.kill('SIGTERM');
      await proc.waitExit(20_000).catch(() => {
        proc.kill('SIGKILL');
        return proc.waitExit(5_000);
      });
    }
    const leaks = findLeaks([
      ...all.flatMap((proc) =>
        proc.output.map((line, i): [string, string] => [`${proc.name} line ${i + 1}`, line]),
      ),
      ...scrapes,
      ...(await exposedInCluster(kc, defaults.namespaces)),
    ]);
    if (leaks.length > 0) throw new Error(`secret material leaked into: ${leaks.join(', ')}`);
  });
  const group: OperatorGroup = {
    all,
    async start(options) {
      const proc = await startOperatorProcess({
        ...options,
        namespaces: options.namespaces ?? defaults.namespaces,
        lease: defaults.lease,
        flags: [...(defaults.flags ?? []), ...(options.flags ?? [])],
      });
      all.push(proc);
      return proc;
    },
    async leader(timeoutMs = 20_000) {
      let found: { leader: OperatorProcess; followers: OperatorProcess[] } | undefined;
      await waitFor(
        'exactly one leading operator',
        async () => {
          const live = all.filter((proc) => !proc.exited());
          const states = await Promise.all(live.map((proc) => proc.leading()));
          const leaders = live.filter((_, i) => states[i]);
          const [leader] = leaders;
          found =
            leaders.length === 1 && leader
              ? { leader, followers: live.filter((p) => p !== leader) }
              : undefined;
          return found !== undefined;
        },
        timeoutMs,
      );
      if (!found) throw new Error('unreachable');
      return found;
    },
  };
  return group;
}
