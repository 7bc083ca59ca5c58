import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import {
  apiErrorStatus,
  describeApiError,
  isAlreadyExists,
  isConflict,
  isNotFound,
  retryOnConflict,
} from '../../../src/kube/conflict.ts';

const apiError = (code: number, reason: string, message = 'it failed') =>
  new ApiException(
    code,
    'Unsuccessful HTTP Request',
    JSON.stringify({ kind: 'Status', code, reason, message }),
    {},
  );

describe('API error helpers', () => {
  it('read the status from ApiException and from watch errors', () => {
    assert.equal(apiErrorStatus(apiError(404, 'NotFound')), 404);
    assert.equal(apiErrorStatus(Object.assign(new Error('Gone'), { statusCode: 410 })), 410);
    assert.equal(apiErrorStatus(new TypeError('fetch failed')), undefined);
    assert.equal(isNotFound(apiError(404, 'NotFound')), true);
  });

  it('tell a stale write (Conflict) from a lost create race (AlreadyExists)', () => {
    assert.equal(isConflict(apiError(409, 'Conflict')), true);
    assert.equal(isAlreadyExists(apiError(409, 'Conflict')), false);
    assert.equal(isConflict(apiError(409, 'AlreadyExists')), false);
    assert.equal(isAlreadyExists(apiError(409, 'AlreadyExists')), true);
  });

  it('describe errors in one line, without the body dump', () => {
    assert.equal(
      describeApiError(apiError(403, 'Forbidden', 'secrets is forbidden')),
      '403 Forbidden: secrets is forbidden',
    );
    const network = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    assert.equal(describeApiError(network), 'fetch failed (connect ECONNREFUSED)');
  });
});

describe('retryOnConflict', () => {
  it('re-runs on 409 Conflict until it succeeds', async () => {
    let runs = 0;
    const result = await retryOnConflict(
      async (attempt) => {
        runs++;
        if (attempt < 3) throw apiError(409, 'Conflict');
        return 'written';
      },
      { delayMs: 0 },
    );
    assert.equal(result, 'written');
    assert.equal(runs, 3);
  });

  it('gives up after the given attempts with the last conflict', async () => {
    let runs = 0;
    await assert.rejects(
      retryOnConflict(
        async () => {
          runs++;
          throw apiError(409, 'Conflict');
        },
        { attempts: 4, delayMs: 0 },
      ),
      (err) => isConflict(err),
    );
    assert.equal(runs, 4);
  });

  it('passes other errors through at once', async () => {
    let runs = 0;
    for (const error of [apiError(409, 'AlreadyExists'), apiError(500, 'InternalError'), new Error('bug')]) {
      await assert.rejects(
        retryOnConflict(async () => {
          runs++;
          throw error;
        }),
        (err) => err === error,
      );
    }
    assert.equal(runs, 3);
  });
});
