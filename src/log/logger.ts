// JSON logs, one object per line, with stable field names (namespace, name, reason, …).
// Callers pass only fields that are safe to log: the token path never hands a token,
// client secret or response body to a logger, and error messages come pre-sanitized.
import type { LogLevel } from '../config/config.ts';

export type LogFields = Readonly<Record<string, string | number | boolean | undefined | null>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function jsonLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
  now: () => Date = () => new Date(),
  base: LogFields = {},
): Logger {
  const emit = (lineLevel: LogLevel, msg: string, fields?: LogFields) => {
    if (rank[lineLevel] < rank[level]) return;
    write(`${JSON.stringify({ time: now().toISOString(), level: lineLevel, msg, ...base, ...fields })}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    with: (fields) => jsonLogger(level, write, now, { ...base, ...fields }),
  };
}
