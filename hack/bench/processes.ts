// The processes the benchmark runs next to the control plane: the authorization server and the
// operator, each a child process (so that CPU and memory figures are the operator's own), both
// killed by the kernel if the harness dies.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  createWriteStream,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/support/net.ts';

const root = resolve(import.meta.dirname, '../..');
const setpriv = '/usr/bin/setpriv';
const orphanSafe = (command: string, args: string[]): [string, string[]] =>
  existsSync(setpriv) ? [setpriv, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];

export interface AuthInfo {
  issuer: string;
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

export interface AuthProcess {
  readonly info: AuthInfo;
  readonly pid: number;
  setTTL(seconds: number): Promise<void>;
  total(): Promise<number>;
  /** Token endpoint requests so far, sampled every 50 ms: [time ms, cumulative total]. */
  samples(since: number): Promise<[number, number][]>;
  stop(): Promise<void>;
}

export async function startAuthProcess(logFile: string, ttlSeconds: number): Promise<AuthProcess> {
  const child = spawn(
    ...orphanSafe(process.execPath, [join(import.meta.dirname, 'auth-child.ts'), String(ttlSeconds)]),
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], cwd: root },
  );
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const pending = new Map<number, (reply: Record<string, unknown>) => void>();
  let nextId = 1;
  const info = await new Promise<AuthInfo>((resolvePromise, reject) => {
    child.once('exit', (code) => reject(new Error(`auth server exited (${code}); see ${logFile}`)));
    child.on('message', (message: { id?: number; ready?: AuthInfo }) => {
      if (message.ready) resolvePromise(message.ready);
      else if (message.id !== undefined) {
        pending.get(message.id)?.(message as Record<string, unknown>);
        pending.delete(message.id);
      }
    });
  });
  const call = (body: object) =>
    new Promise<Record<string, unknown>>((resolvePromise) => {
      const id = nextId++;
      pending.set(id, resolvePromise);
      child.send({ id, ...body });
    });
  return {
    info,
    pid: child.pid ?? 0,
    async setTTL(seconds) {
      await call({ op: 'ttl', seconds });
    },
    async total() {
      return (await call({ op: 'count' })).total as number;
    },
    async samples(since) {
      return (await call({ op: 'samples', since })).samples as [number, number][];
    },
    async stop() {
      const exited = once(child, 'exit');
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface OperatorProcess {
  readonly pid: number;
  readonly startedAt: number;
  readonly metricsURL: string;
  readonly logFile: string;
  /** Resolves with the time /readyz first answered 200. */
  ready(timeoutMs?: number): Promise<number>;
  /** Resolves with the time of the first log line (from now on) whose msg is `msg`. */
  waitForLog(msg: string, timeoutMs?: number): Promise<{ at: number; fields: Record<string, unknown> }>;
  /** Log lines seen so far with this msg. */
  countLog(msg: string): number;
  scrape(): Promise<string>;
  /** User + system CPU seconds so far, from /proc. */
  cpuSeconds(): number;
  /** Resident set size in bytes, from /proc. */
  rssBytes(): number;
  /** Runs a full GC in the operator (see gc-hook.ts) and waits a moment. */
  gc(): Promise<void>;
  exited(): boolean;
  stop(): Promise<void>;
}

const clockTicks = 100; // USER_HZ on Linux

export async function startOperatorProcess(options: {
  kubeconfigPath: string;
  flags: readonly string[];
  logFile: string;
  /** Extra arguments for node itself, e.g. --cpu-prof. */
  nodeArgs?: readonly string[];
}): Promise<OperatorProcess> {
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  const args = [
    '--expose-gc',
    ...(options.nodeArgs ?? []),
    '--import',
    join(import.meta.dirname, 'gc-hook.ts'),
    join(root, 'src/cli/main.ts'),
    'run',
    `--metrics-address=127.0.0.1:${metricsPort}`,
    `--health-address=127.0.0.1:${healthPort}`,
    ...options.flags,
  ];
  const startedAt = Date.now();
  // The log goes straight to a file: stdout to a pipe is written synchronously on Linux, so a
  // harness busy elsewhere would stall the operator. The file is read back every 50 ms.
  const logFd = openSync(options.logFile, 'a');
  const child: ChildProcess = spawn(...orphanSafe(process.execPath, args), {
    stdio: ['ignore', logFd, logFd],
    cwd: root,
    env: { ...process.env, KUBECONFIG: options.kubeconfigPath },
  });
  closeSync(logFd);
  const pid = child.pid ?? 0;
  const counts = new Map<string, number>();
  const waiters: { msg: string; resolve: (v: { at: number; fields: Record<string, unknown> }) => void }[] =
    [];
  const tail = tailLines(options.logFile, (line) => {
    const m = /"msg":"([^"]*)"/.exec(line);
    if (!m) return;
    const msg = m[1] ?? '';
    counts.set(msg, (counts.get(msg) ?? 0) + 1);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i];
      if (waiter?.msg !== msg) continue;
      waiters.splice(i, 1);
      waiter.resolve({ at: Date.now(), fields: JSON.parse(line) as Record<string, unknown> });
    }
  });
  let exitedFlag = false;
  const exit = once(child, 'exit').then(() => {
    exitedFlag = true;
    tail.stop();
  });
  const base = `http://127.0.0.1:${metricsPort}`;
  const health = `http://127.0.0.1:${healthPort}`;
  const proc = (file: string) => readFileSync(`/proc/${pid}/${file}`, 'utf8');

  return {
    pid,
    startedAt,
    metricsURL: `${base}/metrics`,
    logFile: options.logFile,
    async ready(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exitedFlag) throw new Error(`operator exited; see ${options.logFile}`);
        const ok = await fetch(`${health}/readyz`).then(
          (res) => res.status === 200,
          () => false,
        );
        if (ok) return Date.now();
        await sleep(20);
      }
      throw new Error(`operator not ready after ${timeoutMs} ms; see ${options.logFile}`);
    },
    waitForLog(msg, timeoutMs = 300_000) {
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no log line "${msg}" after ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          msg,
          resolve: (v) => {
            clearTimeout(timer);
            resolvePromise(v);
          },
        });
      });
    },
    countLog: (msg) => counts.get(msg) ?? 0,
    async scrape() {
      const res = await fetch(`${base}/metrics`);
      return res.text();
    },
    cpuSeconds() {
      // Fields after the command name (which may contain spaces): utime is the 12th, stime the 13th.
      const stat = proc('stat');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / clockTicks;
    },
    rssBytes() {
      const m = /VmRSS:\s+(\d+) kB/.exec(proc('status'));
      return Number(m?.[1] ?? 0) * 1024;
    },
    async gc() {
      child.kill('SIGUSR2');
      await sleep(500);
    },
    exited: () => exitedFlag,
    async stop() {
      if (exitedFlag) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Calls `onLine` for every complete line appended to the file from now on, polling every 50 ms. */
function tailLines(path: string, onLine: (line: string) => void): { stop(): void } {
  let offset = existsSync(path) ? statSync(path).size : 0;
  let rest = '';
  const buffer = Buffer.alloc(1 << 20);
  const poll = () => {
    const fd = openSync(path, 'r');
    try {
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, offset);
        if (read <= 0) break;
        offset += read;
        const lines = (rest + buffer.toString('utf8', 0, read)).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      }
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(poll, 50);
  return {
    stop() {
      clearInterval(timer);
      poll();
    },
  };
}
