// How watch endings are classified. The shapes are those client-node 2.0.1's Watch produces
// (read from its dist/watch.js); the integration tests meet them against a real API server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyErrorEvent, classifyWatchEnd } from '../../../src/kube/watch-session.ts';

describe('classifyWatchEnd', () => {
  it('a normal end of the stream is `closed`', () => {
    assert.deepEqual(classifyWatchEnd(null), ['closed']);
  });

  it('an HTTP 410 answer to the watch request means the resourceVersion expired', () => {
    const err = Object.assign(new Error('Gone'), { statusCode: 410 });
    assert.deepEqual(classifyWatchEnd(err), ['expired', '410 Gone']);
  });

  it('other HTTP answers, network errors and client-node’s timer are failures to retry', () => {
    const tooMany = Object.assign(new Error('Too Many Requests'), { statusCode: 429 });
    assert.deepEqual(classifyWatchEnd(tooMany), ['error', '429 Too Many Requests']);
    const network = new TypeError('fetch failed', {
      cause: new Error('connect ECONNREFUSED 127.0.0.1:6443'),
    });
    assert.deepEqual(classifyWatchEnd(network), [
      'error',
      'fetch failed (connect ECONNREFUSED 127.0.0.1:6443)',
    ]);
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    assert.equal(classifyWatchEnd(timeout)[0], 'timeout');
  });
});

describe('classifyErrorEvent', () => {
  it('an ERROR event with a 410 Status means the resourceVersion expired', () => {
    const status = {
      kind: 'Status',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version: 1 (212)',
    };
    assert.deepEqual(classifyErrorEvent(status), [
      'expired',
      '410 Expired: too old resource version: 1 (212)',
    ]);
  });

  it('any other ERROR event is a failure', () => {
    const status = { kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd down' };
    assert.deepEqual(classifyErrorEvent(status), ['error', '500 InternalError: etcd down']);
  });
});
