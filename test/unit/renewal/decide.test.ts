import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide, failureFromStatus } from '../../../src/renewal/decide.ts';
import {
  annotations,
  backoff,
  type Case,
  conflict,
  decisionFields,
  failing,
  generation,
  healthy,
  missing,
  nextRetry,
  now,
  renew,
  requested,
  specChanged,
  unmanaged,
  wait,
} from './check-input.ts';
import { at, HOUR, MINUTE, SECOND } from './fixtures.ts';

// Failure backoff on top of the chain: what is held back, until when, and what skips it.
const cases: Case[] = [
  {
    name: 'a due renewal is held back until the retry time while backing off',
    edits: [failing, now(41 * MINUTE)],
    expected: backoff('RenewalDue', at(42 * MINUTE)),
  },
  {
    name: 'the renewal goes ahead once the retry time has come',
    edits: [failing, now(42 * MINUTE)],
    expected: renew('RenewalDue'),
  },
  {
    name: 'an expired token still waits for the retry time',
    edits: [failing, now(HOUR + 10 * SECOND), nextRetry(HOUR + MINUTE)],
    expected: backoff('Expired', at(HOUR + MINUTE)),
  },
  {
    name: 'a missing Secret while backing off waits for the retry time',
    edits: [failing, missing, now(41 * MINUTE)],
    expected: backoff('SecretMissing', at(42 * MINUTE)),
  },
  {
    name: 'a conflict is reported even while backing off',
    edits: [failing, unmanaged, now(41 * MINUTE)],
    expected: conflict('SecretNotManaged'),
  },
  {
    name: 'a spec change since the failed attempt skips the backoff',
    edits: [failing, specChanged, now(41 * MINUTE), generation(4)],
    expected: renew('SpecChanged'),
  },
  {
    name: 'a spec change already tried keeps backing off',
    edits: [failing, specChanged, now(41 * MINUTE)],
    expected: backoff('SpecChanged', at(42 * MINUTE)),
  },
  {
    name: 'a manual renewal requested after the last failure skips the backoff',
    edits: [failing, now(41 * MINUTE), requested('2026-12-04T15:40:30Z')],
    expected: renew('ManualRenewal'),
  },
  {
    name: 'a manual renewal requested before the last failure keeps backing off',
    edits: [failing, now(41 * MINUTE), requested('2026-12-04T15:39:00Z')],
    expected: backoff('ManualRenewal', at(42 * MINUTE)),
  },
  {
    name: 'a manual renewal value that is not a time keeps backing off',
    edits: [failing, now(41 * MINUTE), requested('please')],
    expected: backoff('ManualRenewal', at(42 * MINUTE)),
  },
  {
    name: 'failures without a retry time do not hold anything back',
    edits: [failing, now(41 * MINUTE), nextRetry(undefined)],
    expected: renew('RenewalDue'),
  },
  {
    name: 'a fresh token while backing off simply waits',
    edits: [failing, now(20 * MINUTE)],
    expected: wait(at(40 * MINUTE)),
  },
];

describe('decide with failure backoff', () => {
  for (const c of cases) {
    test(c.name, () => {
      const input = healthy();
      for (const edit of c.edits) edit(input);
      const decision = decide(input);
      assert.deepEqual(decisionFields(decision, c.expected), c.expected, JSON.stringify(decision));
    });
  }

  test('a backoff message says why and until when', () => {
    const input = healthy();
    failing(input);
    now(41 * MINUTE)(input);
    const decision = decide(input);
    assert.equal(decision.action, 'backoff');
    assert.match(
      'message' in decision ? decision.message : '',
      /^renewal was due at 2026-12-04T15:40:00Z; backing off after 2 failed attempts until 2026-12-04T15:42:00Z$/,
    );
  });

  test('a custom chain without the annotation checks wakes at once instead of waiting forever', () => {
    const input = healthy();
    input.secret = undefined;
    assert.deepEqual(decide(input, []), wait(input.now));
  });

  test('wait never goes past expiry even if renew-at were later', () => {
    const input = healthy();
    // Only an annotation changes, so the data hash stays valid.
    annotations(input)['token-renewer.io/renew-at'] = '2026-12-04T17:00:00Z';
    assert.deepEqual(decide(input), wait(at(HOUR)));
  });
});

describe('failureFromStatus', () => {
  test('no status means no failure', () => assert.equal(failureFromStatus(undefined), undefined));
  test('zero failed attempts means no failure', () =>
    assert.equal(failureFromStatus({ failedAttempts: 0 }), undefined));
  test('the retry time is read from renewalTime', () => {
    assert.deepEqual(
      failureFromStatus({
        failedAttempts: 2,
        lastFailureTime: '2026-12-04T15:40:00Z',
        renewalTime: '2026-12-04T15:42:00Z',
        observedGeneration: 3,
      }),
      {
        failedAttempts: 2,
        lastFailureTime: at(40 * MINUTE),
        nextRetryAt: at(42 * MINUTE),
        observedGeneration: 3,
      },
    );
  });
  test('a null lastFailureTime is undefined', () => {
    assert.equal(failureFromStatus({ failedAttempts: 1, lastFailureTime: null })?.lastFailureTime, undefined);
  });
});
