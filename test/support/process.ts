// A child process of the test harness: started with its output in a log file, stopped with
// SIGTERM then SIGKILL, and never left behind when the harness process exits.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';

// The kernel kills the child when its parent dies, however the parent dies (an uncaught error
// in the test runner, SIGKILL, a CI timeout): exit handlers in Node do not cover all of these.
// setpriv (util-linux, present on every Debian) sets that up and then execs the command.
const setpriv = '/usr/bin/setpriv';
const withParentDeathSignal = (command: string, args: string[]): [string, string[]] =>
  existsSync(setpriv) ? [setpriv, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];

export interface ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  /** Resolves once the process has exited (immediately if it already has). */
  stop(graceMs?: number): Promise<void>;
  exited(): boolean;
}

export function startProcess(name: string, command: string, args: string[], logFile: string): ManagedProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(...withParentDeathSignal(command, args), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exit = once(child, 'exit').then(() => log.end());
  child.once('error', (err) => log.write(`spawn error: ${err.message}\n`));

  return {
    name,
    logFile,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
