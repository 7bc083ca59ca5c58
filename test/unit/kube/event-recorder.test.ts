import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as flush } from 'node:timers/promises';
import type { CoreV1Api, CoreV1ApiCreateNamespacedEventRequest } from '@kubernetes/client-node';
import { kubeEventRecorder } from '../../../src/kube/event-recorder.ts';

/** A CoreV1Api stand-in whose event creates the test completes by hand. */
function fakeCore() {
  const calls: { request: CoreV1ApiCreateNamespacedEventRequest; finish: (err?: Error) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const core = {
    createNamespacedEvent(request: CoreV1ApiCreateNamespacedEventRequest) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise((resolve, reject) => {
        calls.push({
          request,
          finish: (err) => {
            inFlight--;
            if (err) reject(err);
            else resolve(request.body);
          },
        });
      });
    },
  } as unknown as CoreV1Api;
  return {
    core,
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

const target = (name: string) => ({
  apiVersion: 'token-renewer.io/v1alpha1',
  kind: 'TokenRequest',
  name,
  namespace: 'ns',
  uid: name,
});

describe('kubeEventRecorder', () => {
  it('creates events at most `concurrency` at once, in order, without blocking the caller', async () => {
    const fake = fakeCore();
    const events = kubeEventRecorder(fake.core, { concurrency: 2 });
    for (let i = 0; i < 5; i++) events.record(target(`tr-${i}`), 'Normal', 'TokenIssued', 'new token issued');
    assert.equal(fake.calls.length, 2);
    for (let done = 0; done < 5; done++) {
      fake.calls[done]?.finish(done === 1 ? new Error('boom') : undefined);
      await flush();
    }
    assert.equal(fake.calls.length, 5);
    assert.equal(fake.maxInFlight, 2);
    assert.deepEqual(
      fake.calls.map((c) => c.request.body.involvedObject.name),
      ['tr-0', 'tr-1', 'tr-2', 'tr-3', 'tr-4'],
    );
  });

  it('drops events beyond maxPending, reports them, and reports failures', async () => {
    const fake = fakeCore();
    const dropped: number[] = [];
    const errors: unknown[] = [];
    const events = kubeEventRecorder(fake.core, {
      concurrency: 1,
      maxPending: 2,
      onDropped: (count) => dropped.push(count),
      onError: (err) => errors.push(err),
    });
    for (let i = 0; i < 6; i++) events.record(target(`tr-${i}`), 'Warning', 'RenewalFailed', 'failed');
    // One in flight, two waiting, three dropped: reported once the backlog has drained.
    assert.deepEqual(dropped, []);
    fake.calls[0]?.finish(new Error('denied'));
    await flush();
    fake.calls[1]?.finish();
    await flush();
    assert.deepEqual(dropped, []);
    fake.calls[2]?.finish();
    await flush();
    assert.deepEqual(dropped, [3]);
    assert.equal(fake.calls.length, 3);
    assert.equal(errors.length, 1);
  });

  it('drops a repeat of the same reason and message for an object within the window', () => {
    const fake = fakeCore();
    let now = Date.UTC(2026, 0, 1);
    const events = kubeEventRecorder(fake.core, {
      now: () => new Date(now),
      dedupeWindowMs: 60_000,
      concurrency: 10,
    });
    events.record(target('a'), 'Warning', 'RenewalFailed', 'failed');
    events.record(target('a'), 'Warning', 'RenewalFailed', 'failed');
    events.record(target('a'), 'Warning', 'RenewalFailed', 'other message');
    now += 60_000;
    events.record(target('a'), 'Warning', 'RenewalFailed', 'failed');
    assert.equal(fake.calls.length, 3);
  });
});
