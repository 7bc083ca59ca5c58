// Classifying Kubernetes API errors, and retrying a read-modify-write on 409 Conflict.
// client-node rejects with ApiException (`code` = HTTP status, `body` = the Status as a string);
// its Watch reports failures with `statusCode` instead.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a failed API call, or undefined for errors that are not API answers. */
export function apiErrorStatus(err: unknown): number | undefined {
  if (err instanceof ApiException && typeof err.code === 'number') return err.code;
  if (typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number') {
    return err.statusCode;
  }
  return undefined;
}

/** The `reason` of the Status the API server answered with (e.g. `AlreadyExists`, `Conflict`). */
export function apiErrorReason(err: unknown): string | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const status = parseStatus(err.body);
  return typeof status?.reason === 'string' ? status.reason : undefined;
}

/**
 * A one-line description of any error from an API call or watch: `409 Conflict: <Status message>`
 * for API answers (not ApiException's message, which embeds the whole body and headers).
 */
export function describeApiError(err: unknown): string {
  if (err instanceof ApiException) {
    const status = parseStatus(err.body);
    const reason = typeof status?.reason === 'string' ? ` ${status.reason}` : '';
    const message = typeof status?.message === 'string' ? `: ${status.message}` : '';
    return `${err.code}${reason}${message}`;
  }
  if (!(err instanceof Error)) return String(err);
  const code = apiErrorStatus(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${code === undefined ? '' : `${code} `}${err.message}${cause}`;
}

export const isNotFound = (err: unknown): boolean => apiErrorStatus(err) === 404;
export const isGone = (err: unknown): boolean => apiErrorStatus(err) === 410;

/** 409 because the object exists already (a create lost a race); not worth a retry. */
export function isAlreadyExists(err: unknown): boolean {
  return apiErrorStatus(err) === 409 && apiErrorReason(err) === 'AlreadyExists';
}

/** 409 because the object changed since it was read (stale resourceVersion): read again, retry. */
export function isConflict(err: unknown): boolean {
  return apiErrorStatus(err) === 409 && apiErrorReason(err) !== 'AlreadyExists';
}

export interface RetryOnConflictOptions {
  /** Total runs of `fn`, the first included. */
  attempts?: number;
  /** Base pause between runs, jittered up to twice this, so racing writers spread out. */
  delayMs?: number;
}

/**
 * Runs `fn` and runs it again while it fails with a conflict, at most `attempts` times in all.
 * `fn` must read the object itself each time: retrying a write of stale state would conflict again.
 */
export async function retryOnConflict<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOnConflictOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  const delayMs = options.delayMs ?? 10;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isConflict(err) || attempt >= attempts) throw err;
    }
    if (delayMs > 0) await sleep(delayMs * (1 + Math.random()));
  }
}

function parseStatus(body: unknown): Record<string, unknown> | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}
