import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRetryAfter } from '../../../src/oauth/retry-after.ts';

const now = new Date('2026-12-04T15:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('7', now), 7000);
    assert.equal(parseRetryAfter(' 120 ', now), 120_000);
  });

  it('reads an IMF-fixdate relative to the injected clock', () => {
    assert.equal(parseRetryAfter('Fri, 04 Dec 2026 15:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Fri, 04 Dec 2026 15:00:30 GMT', new Date('2026-12-04T15:00:20Z')), 10_000);
  });

  it('reads the obsolete RFC 850 and asctime forms as UTC', () => {
    assert.equal(parseRetryAfter('Friday, 04-Dec-26 15:01:00 GMT', now), 60_000);
    assert.equal(parseRetryAfter('Fri Dec  4 15:02:00 2026', now), 120_000);
  });

  it('turns a date in the past into no delay', () => {
    assert.equal(parseRetryAfter('Thu, 03 Dec 2026 15:00:00 GMT', now), 0);
  });

  it('ignores absent and garbage values', () => {
    for (const value of [
      undefined,
      null,
      '',
      'soon',
      '-5',
      '1.5',
      '2026-12',
      '2026-12-04T15:00:30Z', // ISO 8601 is not an HTTP-date
      'Fri, 32 Dec 2026 15:00:30 GMT',
      '99999999999999999999',
    ]) {
      assert.equal(parseRetryAfter(value, now), undefined, String(value));
    }
  });
});
