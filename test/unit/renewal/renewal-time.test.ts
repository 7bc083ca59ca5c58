import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_MIN_SAFE_LEAD_MS,
  isLeadUnsafe,
  type LeadSource,
  type RenewalTimeInput,
  renewalTime,
} from '../../../src/renewal/renewal-time.ts';
import { ALMOST_ONE, at, constant, DAY, HOUR, MINUTE, SECOND, T0 } from './fixtures.ts';

const oneHour: RenewalTimeInput = { issuedAt: T0, expiresAt: at(HOUR), random: constant(0) };

const cases: {
  name: string;
  input: Partial<RenewalTimeInput>;
  renewAt: Date;
  leadMs: number;
  source: LeadSource;
  halfLife?: boolean;
}[] = [
  {
    name: 'by default the token is renewed with a third of its lifetime left',
    input: { expiresAt: at(3 * HOUR) },
    renewAt: at(2 * HOUR),
    leadMs: HOUR,
    source: 'default',
  },
  {
    name: 'renewBefore sets the lead',
    input: { renewBeforeMs: 10 * MINUTE },
    renewAt: at(50 * MINUTE),
    leadMs: 10 * MINUTE,
    source: 'renewBefore',
  },
  {
    name: 'renewBeforePercentage is a share of the actual lifetime',
    input: { renewBeforePercentage: 25 },
    renewAt: at(45 * MINUTE),
    leadMs: 15 * MINUTE,
    source: 'percentage',
  },
  {
    name: 'renewBefore wins when both are given',
    input: { renewBeforeMs: 10 * MINUTE, renewBeforePercentage: 50 },
    renewAt: at(50 * MINUTE),
    leadMs: 10 * MINUTE,
    source: 'renewBefore',
  },
  {
    name: 'a renewBefore longer than the lifetime renews at half-life',
    input: { renewBeforeMs: 2 * HOUR },
    renewAt: at(30 * MINUTE),
    leadMs: 30 * MINUTE,
    source: 'renewBefore',
    halfLife: true,
  },
  {
    name: 'a renewBefore equal to the lifetime renews at half-life',
    input: { renewBeforeMs: HOUR },
    renewAt: at(30 * MINUTE),
    leadMs: 30 * MINUTE,
    source: 'renewBefore',
    halfLife: true,
  },
  {
    name: 'a percentage of 100 renews at half-life',
    input: { renewBeforePercentage: 100 },
    renewAt: at(30 * MINUTE),
    leadMs: 30 * MINUTE,
    source: 'percentage',
    halfLife: true,
  },
  {
    name: 'a renewBefore of 0 is ignored',
    input: { renewBeforeMs: 0 },
    renewAt: at(40 * MINUTE),
    leadMs: 20 * MINUTE,
    source: 'default',
  },
  {
    name: 'a negative or NaN renewBefore and percentage are ignored',
    input: { renewBeforeMs: -MINUTE, renewBeforePercentage: Number.NaN },
    renewAt: at(40 * MINUTE),
    leadMs: 20 * MINUTE,
    source: 'default',
  },
  {
    name: 'a 90-day token is renewed exactly 60 days after issue',
    input: { expiresAt: at(90 * DAY) },
    renewAt: at(60 * DAY),
    leadMs: 30 * DAY,
    source: 'default',
  },
  {
    name: 'a 400-day token with renewBefore 1 day is exact',
    input: { expiresAt: at(400 * DAY), renewBeforeMs: DAY },
    renewAt: at(399 * DAY),
    leadMs: DAY,
    source: 'renewBefore',
  },
  {
    name: 'a renewal time between seconds is rounded down to the second',
    input: { expiresAt: at(HOUR + 700), renewBeforeMs: 10 * MINUTE },
    renewAt: at(50 * MINUTE),
    leadMs: 10 * MINUTE,
    source: 'renewBefore',
  },
  {
    name: 'a token that expires when issued is renewed at once, not in the past of its expiry',
    input: { expiresAt: T0 },
    renewAt: T0,
    leadMs: 0,
    source: 'default',
    halfLife: true,
  },
];

describe('renewalTime', () => {
  for (const c of cases) {
    test(c.name, () => {
      const result = renewalTime({ ...oneHour, ...c.input });
      assert.equal(result.renewAt.toISOString(), c.renewAt.toISOString());
      assert.equal(result.leadMs, c.leadMs);
      assert.equal(result.leadSource, c.source);
      assert.equal(result.halfLife, c.halfLife ?? false);
      assert.equal(result.jitterMs, 0);
    });
  }

  const jitter: { name: string; random: number; jitterMs: number }[] = [
    { name: 'random 0 adds no jitter', random: 0, jitterMs: 0 },
    { name: 'random 0.5 moves the renewal 5 % of the lead earlier', random: 0.5, jitterMs: 30 * SECOND },
    {
      name: 'random just below 1 stays below 10 % of the lead',
      random: ALMOST_ONE,
      jitterMs: 60 * SECOND * ALMOST_ONE,
    },
    { name: 'a random source returning 1 is held to exactly 10 %', random: 1, jitterMs: 60 * SECOND },
    { name: 'a random source returning 7 is clamped to 10 %', random: 7, jitterMs: 60 * SECOND },
    { name: 'a random source returning a negative adds no jitter', random: -0.5, jitterMs: 0 },
    { name: 'a random source returning NaN adds no jitter', random: Number.NaN, jitterMs: 0 },
  ];
  for (const c of jitter) {
    test(`${c.name}, and never makes the renewal later`, () => {
      const lead = 10 * MINUTE;
      const result = renewalTime({ ...oneHour, renewBeforeMs: lead, random: constant(c.random) });
      assert.equal(result.jitterMs, c.jitterMs);
      const latest = at(HOUR).getTime() - lead - result.jitterMs;
      const renewAt = result.renewAt.getTime();
      assert.ok(renewAt <= latest, 'not later than expiresAt − lead − jitter');
      assert.ok(renewAt > latest - SECOND, 'rounded down by less than a second');
      assert.equal(renewAt % SECOND, 0);
      assert.ok(at(HOUR).getTime() - renewAt <= lead * 1.1 + SECOND, 'jitter at most 10 % of the lead');
    });
  }

  test('jitter at half-life is at most 10 % of the half-life lead', () => {
    const result = renewalTime({ ...oneHour, renewBeforeMs: 2 * HOUR, random: constant(ALMOST_ONE) });
    assert.ok(result.halfLife);
    assert.ok(result.jitterMs < 3 * MINUTE);
    assert.equal(result.renewAt.toISOString(), at(27 * MINUTE).toISOString());
  });

  test('the random source is called exactly once', () => {
    let calls = 0;
    renewalTime({
      ...oneHour,
      random: () => {
        calls++;
        return 0.3;
      },
    });
    assert.equal(calls, 1);
  });

  test('invalid dates are a programming error', () => {
    assert.throws(() => renewalTime({ ...oneHour, expiresAt: new Date(Number.NaN) }), RangeError);
  });
});

describe('isLeadUnsafe', () => {
  const cases: { name: string; leadMs: number; minSafeLeadMs?: number; unsafe: boolean }[] = [
    { name: 'a lead just under the default 2m is unsafe', leadMs: 2 * MINUTE - 1, unsafe: true },
    { name: 'a lead of exactly the default 2m is safe', leadMs: DEFAULT_MIN_SAFE_LEAD_MS, unsafe: false },
    { name: 'a lead of 20 minutes is safe', leadMs: 20 * MINUTE, unsafe: false },
    { name: 'a custom minimum applies', leadMs: 4 * MINUTE, minSafeLeadMs: 5 * MINUTE, unsafe: true },
    { name: 'a minimum of 0 makes every lead safe', leadMs: 0, minSafeLeadMs: 0, unsafe: false },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(isLeadUnsafe(c.leadMs, c.minSafeLeadMs), c.unsafe));
  }
});
