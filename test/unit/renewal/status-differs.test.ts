import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TokenRequestStatus } from '../../../src/api/generated/types.ts';
import {
  sanitizeMessage,
  statusAfterIssuerProblem,
  statusDiffers,
  statusUpToDate,
} from '../../../src/renewal/status.ts';
import { at, HOUR, MINUTE, renewedStatus as renewed, statusToken as token } from './fixtures.ts';

describe('statusDiffers', () => {
  test('the same outcome observed later needs no write', () => {
    const first = renewed();
    const again = statusUpToDate(first, {
      now: at(5 * MINUTE),
      generation: 3,
      secretName: 'orders-api',
      token,
    });
    assert.equal(statusDiffers(first, again), false);
  });

  test('a repeated issuer problem needs no write', () => {
    const input = {
      now: at(MINUTE),
      reason: 'IssuerNotFound' as const,
      message: 'gone',
      tokenExpiresAt: at(HOUR),
    };
    const first = statusAfterIssuerProblem(renewed(), input);
    assert.equal(
      statusDiffers(first, statusAfterIssuerProblem(first, { ...input, now: at(2 * MINUTE) })),
      false,
    );
  });

  const cases: {
    name: string;
    a: TokenRequestStatus | undefined;
    b: TokenRequestStatus;
    differs: boolean;
  }[] = [
    { name: 'no status versus a status differs', a: undefined, b: renewed(), differs: true },
    {
      name: 'null and absent fields are the same',
      a: { failedAttempts: 0, lastFailureTime: null },
      b: { failedAttempts: 0 },
      differs: false,
    },
    {
      name: 'condition order does not matter',
      a: renewed(),
      b: { ...renewed(), conditions: [...(renewed().conditions ?? [])].reverse() },
      differs: false,
    },
    {
      name: 'field order does not matter',
      a: { secretName: 's', tokenType: 'Bearer' },
      b: { tokenType: 'Bearer', secretName: 's' },
      differs: false,
    },
    {
      name: 'a changed renewal time differs',
      a: renewed(),
      b: { ...renewed(), renewalTime: '2026-12-04T15:41:00Z' },
      differs: true,
    },
    {
      name: 'a changed condition message differs',
      a: renewed(),
      b: { ...renewed(), conditions: renewed().conditions?.map((c) => ({ ...c, message: 'other' })) },
      differs: true,
    },
    {
      name: 'no conditions and an empty list are the same',
      a: { secretName: 's' },
      b: { secretName: 's', conditions: [] },
      differs: false,
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(statusDiffers(c.a, c.b), c.differs));
  }
});

describe('sanitizeMessage', () => {
  const cases: { name: string; input: string; max?: number; output: string }[] = [
    {
      name: 'a plain message is unchanged',
      input: 'invalid_scope: unknown scope',
      output: 'invalid_scope: unknown scope',
    },
    { name: 'newlines and tabs become single spaces', input: 'a\n\n\tb', output: 'a b' },
    { name: 'control characters are removed', input: 'a\u0000\u001bb', output: 'a b' },
    { name: 'surrounding whitespace is trimmed', input: '  a  ', output: 'a' },
    {
      name: 'a long message is cut with an ellipsis',
      input: 'x'.repeat(20),
      max: 10,
      output: `${'x'.repeat(9)}…`,
    },
    { name: 'the default limit is 1024 characters', input: 'y'.repeat(5000), output: `${'y'.repeat(1023)}…` },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(sanitizeMessage(c.input, c.max), c.output));
  }
});
