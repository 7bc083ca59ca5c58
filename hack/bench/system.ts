// What the benchmark reads about the machine: its description, CPU use of processes and of the
// whole machine from /proc, so that figures can say which resource was the limit.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const clockTicks = 100; // USER_HZ on Linux

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
}

export function machineInfo(): MachineInfo {
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // nproc missing: os.cpus() is close enough.
  }
  let kernel = '';
  try {
    kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
  } catch {
    kernel = process.platform;
  }
  return {
    cpus: nproc,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel,
    node: process.version,
  };
}

/** Pids of processes whose command line contains `needle`. */
export function findPids(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** User + system CPU seconds of a process (0 when it is gone). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return 0;
  }
}

/** Busy and total CPU seconds of the whole machine since boot (all cores). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / clockTicks, total: total / clockTicks };
}

/** CPU seconds of a set of processes and of the machine between start() and stop(). */
export class CpuMeter {
  readonly #pids: Record<string, number[]>;
  #start:
    | { procs: Record<string, number>; machine: { busy: number; total: number }; harness: number }
    | undefined;

  constructor(pids: Record<string, number[]>) {
    this.#pids = pids;
  }

  #read() {
    const procs: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.#pids)) {
      procs[name] = pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
    }
    const usage = process.cpuUsage();
    return { procs, machine: machineCpu(), harness: (usage.user + usage.system) / 1e6 };
  }

  start(): void {
    this.#start = this.#read();
  }

  /** CPU seconds per process group, `harness` (this process) and `machineBusy`/`machineTotal`. */
  stop(): Record<string, number> {
    const start = this.#start;
    if (!start) throw new Error('CpuMeter.stop before start');
    const end = this.#read();
    const out: Record<string, number> = {};
    for (const name of Object.keys(end.procs)) out[name] = (end.procs[name] ?? 0) - (start.procs[name] ?? 0);
    out.harness = end.harness - start.harness;
    out.machineBusy = end.machine.busy - start.machine.busy;
    out.machineTotal = end.machine.total - start.machine.total;
    return out;
  }
}
