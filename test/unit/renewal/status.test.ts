import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Condition, TokenRequestStatus } from '../../../src/api/generated/types.ts';
import {
  statusAfterConflict,
  statusAfterFailure,
  statusAfterIssuerProblem,
  statusAfterRenewal,
  statusUpToDate,
} from '../../../src/renewal/status.ts';
import { at, HOUR, MINUTE, renewedStatus, statusToken, T0 } from './fixtures.ts';

const token = statusToken;
const renewed = renewedStatus;

const condition = (status: TokenRequestStatus, type: string): Condition | undefined =>
  status.conditions?.find((c) => c.type === type);

const summary = (status: TokenRequestStatus) => ({
  ready: [condition(status, 'Ready')?.status, condition(status, 'Ready')?.reason],
  renewing: [condition(status, 'Renewing')?.status, condition(status, 'Renewing')?.reason],
});

describe('statusAfterRenewal', () => {
  test('a renewal makes the TokenRequest Ready and records the token facts', () => {
    assert.deepEqual(renewed(), {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'TokenIssued',
          message: 'token valid until 2026-12-04T16:00:00Z',
          observedGeneration: 3,
          lastTransitionTime: '2026-12-04T15:00:00Z',
        },
        {
          type: 'Renewing',
          status: 'False',
          reason: 'UpToDate',
          message: 'next renewal at 2026-12-04T15:40:00Z',
          observedGeneration: 3,
          lastTransitionTime: '2026-12-04T15:00:00Z',
        },
      ],
      observedGeneration: 3,
      secretName: 'orders-api',
      tokenType: 'Bearer',
      grantedScopes: ['orders.read'],
      expirationTime: '2026-12-04T16:00:00Z',
      renewalTime: '2026-12-04T15:40:00Z',
      lastRenewalTime: '2026-12-04T15:00:00Z',
      failedAttempts: 0,
      lastFailureTime: null,
      lastFailureMessage: '',
    });
  });

  test('a renewal after failures resets them and keeps Ready unchanged since it never went False', () => {
    const failed = statusAfterFailure(renewed(), {
      now: at(40 * MINUTE),
      message: 'e',
      retryAt: at(41 * MINUTE),
      tokenExpiresAt: at(HOUR),
    });
    const next = statusAfterRenewal(failed, {
      now: at(41 * MINUTE),
      generation: 3,
      secretName: 'orders-api',
      token: { ...token, expiresAt: at(HOUR + 41 * MINUTE), renewAt: at(HOUR + 21 * MINUTE) },
      issuedAt: at(41 * MINUTE),
    });
    assert.equal(next.failedAttempts, 0);
    assert.equal(next.lastFailureTime, null);
    assert.equal(next.lastFailureMessage, '');
    assert.equal(next.lastRenewalTime, '2026-12-04T15:41:00Z');
    assert.equal(condition(next, 'Ready')?.lastTransitionTime, '2026-12-04T15:00:00Z');
    assert.equal(condition(next, 'Renewing')?.lastTransitionTime, '2026-12-04T15:41:00Z');
  });

  test('grantedScopes from an earlier token are dropped when the new one has none', () => {
    const next = statusAfterRenewal(renewed(), {
      now: T0,
      secretName: 's',
      token: { ...token, grantedScopes: undefined },
      issuedAt: T0,
    });
    assert.equal('grantedScopes' in next, false);
  });
});

describe('statusAfterFailure', () => {
  const cases: {
    name: string;
    prev: TokenRequestStatus | undefined;
    now: Date;
    tokenExpiresAt?: Date;
    reason?: 'TokenRequestFailed' | 'InvalidTokenResponse';
    ready: [string, string];
    readyMessage: RegExp;
  }[] = [
    {
      name: 'Ready stays True while the token in the Secret is still valid',
      prev: renewed(),
      now: at(40 * MINUTE),
      tokenExpiresAt: at(HOUR),
      ready: ['True', 'TokenIssued'],
      readyMessage: /^token valid until 2026-12-04T16:00:00Z$/,
    },
    {
      name: 'Ready turns False with reason Expired once the token has really expired',
      prev: renewed(),
      now: at(HOUR),
      tokenExpiresAt: at(HOUR),
      ready: ['False', 'Expired'],
      readyMessage: /^token expired at 2026-12-04T16:00:00Z; renewal failing: invalid_client: bad secret$/,
    },
    {
      name: 'without any token Ready is False with the failure reason',
      prev: undefined,
      now: T0,
      ready: ['False', 'TokenRequestFailed'],
      readyMessage: /^no token yet: invalid_client: bad secret$/,
    },
    {
      name: 'an invalid token response is reported as such when there is no token',
      prev: undefined,
      now: T0,
      reason: 'InvalidTokenResponse',
      ready: ['False', 'InvalidTokenResponse'],
      readyMessage: /^no token yet/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const next = statusAfterFailure(c.prev, {
        now: c.now,
        generation: 3,
        message: 'invalid_client: bad secret',
        retryAt: at(c.now.getTime() - T0.getTime() + MINUTE),
        tokenExpiresAt: c.tokenExpiresAt,
        reason: c.reason,
      });
      assert.deepEqual(summary(next).ready, c.ready);
      assert.match(condition(next, 'Ready')?.message ?? '', c.readyMessage);
      assert.deepEqual(summary(next).renewing, ['True', 'RetryingAfterFailure']);
    });
  }

  test('each failure counts, records when and why, and stores the retry time as renewalTime', () => {
    const first = statusAfterFailure(renewed(), {
      now: at(40 * MINUTE),
      generation: 3,
      message: 'temporarily_unavailable',
      retryAt: at(40 * MINUTE + 800),
      tokenExpiresAt: at(HOUR),
    });
    const second = statusAfterFailure(first, {
      now: at(41 * MINUTE),
      generation: 3,
      message: 'temporarily_unavailable',
      retryAt: at(41 * MINUTE + 1_500),
      tokenExpiresAt: at(HOUR),
    });
    assert.equal(first.failedAttempts, 1);
    assert.equal(second.failedAttempts, 2);
    // Both to the millisecond: backoffUntil reads them back (see decide.test.ts).
    assert.equal(second.lastFailureTime, '2026-12-04T15:41:00.000Z');
    assert.equal(second.lastFailureMessage, 'temporarily_unavailable');
    assert.equal(second.renewalTime, '2026-12-04T15:41:01.500Z');
    assert.equal(second.expirationTime, '2026-12-04T16:00:00Z', 'the current token is still described');
    assert.equal(
      condition(second, 'Renewing')?.message,
      'attempt 2 failed: temporarily_unavailable; next attempt at 2026-12-04T15:41:01Z',
    );
    assert.equal(condition(second, 'Renewing')?.lastTransitionTime, '2026-12-04T15:40:00Z');
    assert.equal(condition(second, 'Ready')?.lastTransitionTime, '2026-12-04T15:00:00Z');
  });

  test('the failure message is sanitized before it is stored', () => {
    const next = statusAfterFailure(undefined, {
      now: T0,
      message: 'line one\n\tline\u0000two  ',
      retryAt: at(MINUTE),
    });
    assert.equal(next.lastFailureMessage, 'line one line two');
  });
});

describe('statusAfterConflict', () => {
  test('a conflict makes Ready False with SecretConflict and clears the token facts', () => {
    const next = statusAfterConflict(renewed(), {
      now: at(MINUTE),
      generation: 4,
      secretName: 'orders-api',
      message: 'Secret orders-api is not managed',
    });
    assert.deepEqual(summary(next), {
      ready: ['False', 'SecretConflict'],
      renewing: ['False', 'SecretConflict'],
    });
    assert.equal(next.observedGeneration, 4);
    assert.equal(next.secretName, 'orders-api');
    for (const field of ['tokenType', 'grantedScopes', 'expirationTime', 'renewalTime'] as const) {
      assert.equal(field in next, false, field);
    }
    assert.equal(next.lastRenewalTime, '2026-12-04T15:00:00Z', 'history is kept');
  });

  test('a resolved conflict is Ready again, with a new transition time', () => {
    const conflicted = statusAfterConflict(renewed(), {
      now: at(MINUTE),
      secretName: 'orders-api',
      message: 'x',
    });
    const next = statusUpToDate(conflicted, { now: at(2 * MINUTE), secretName: 'orders-api', token });
    assert.deepEqual(summary(next), { ready: ['True', 'TokenIssued'], renewing: ['False', 'UpToDate'] });
    assert.equal(condition(next, 'Ready')?.lastTransitionTime, '2026-12-04T15:02:00Z');
    assert.equal(next.expirationTime, '2026-12-04T16:00:00Z');
  });
});

describe('statusAfterIssuerProblem', () => {
  const cases: {
    name: string;
    reason: 'IssuerNotFound' | 'IssuerNotReady' | 'NamespaceNotAllowed';
    now: Date;
    tokenExpiresAt?: Date;
    ready: [string, string];
    readyMessage: RegExp;
  }[] = [
    {
      name: 'a missing issuer keeps Ready True while the token is valid and says renewals are blocked',
      reason: 'IssuerNotFound',
      now: at(10 * MINUTE),
      tokenExpiresAt: at(HOUR),
      ready: ['True', 'TokenIssued'],
      readyMessage: /^token valid until/,
    },
    {
      name: 'an issuer that is not ready makes Ready False when there is no token',
      reason: 'IssuerNotReady',
      now: T0,
      ready: ['False', 'IssuerNotReady'],
      readyMessage: /^TokenIssuer corp-idp is not ready$/,
    },
    {
      name: 'an issuer problem after expiry makes Ready False with the issuer reason',
      reason: 'NamespaceNotAllowed',
      now: at(HOUR),
      tokenExpiresAt: at(HOUR),
      ready: ['False', 'NamespaceNotAllowed'],
      readyMessage: /^token expired at 2026-12-04T16:00:00Z; TokenIssuer corp-idp is not ready$/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const prev = renewed();
      const next = statusAfterIssuerProblem(prev, {
        now: c.now,
        generation: 3,
        reason: c.reason,
        message: 'TokenIssuer corp-idp is not ready',
        tokenExpiresAt: c.tokenExpiresAt,
      });
      assert.deepEqual(summary(next), { ready: c.ready, renewing: ['True', c.reason] });
      assert.match(condition(next, 'Ready')?.message ?? '', c.readyMessage);
      assert.equal(next.failedAttempts, 0, 'no attempt was made');
      assert.equal(next.renewalTime, prev.renewalTime);
    });
  }
});
