import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Condition } from '../../../src/api/generated/types.ts';
import { type ConditionUpdate, findCondition, setCondition } from '../../../src/renewal/conditions.ts';
import { at, HOUR, T0 } from './fixtures.ts';

const ready: Condition = {
  type: 'Ready',
  status: 'True',
  reason: 'TokenIssued',
  message: 'token valid until 16:00',
  observedGeneration: 1,
  lastTransitionTime: '2026-12-04T15:00:00Z',
};
const renewing: Condition = {
  type: 'Renewing',
  status: 'False',
  reason: 'UpToDate',
  message: 'next renewal at 15:40',
  observedGeneration: 1,
  lastTransitionTime: '2026-12-04T15:00:00Z',
};
const later = at(HOUR);

describe('setCondition', () => {
  const cases: {
    name: string;
    before: Condition[] | undefined;
    next: ConditionUpdate;
    after: Condition[];
  }[] = [
    {
      name: 'a new condition type is appended with the current time',
      before: undefined,
      next: { type: 'Ready', status: 'True', reason: 'TokenIssued', message: 'm', observedGeneration: 2 },
      after: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'TokenIssued',
          message: 'm',
          observedGeneration: 2,
          lastTransitionTime: '2026-12-04T16:00:00Z',
        },
      ],
    },
    {
      name: 'an unchanged status keeps lastTransitionTime but takes the new reason, message and generation',
      before: [ready, renewing],
      next: {
        type: 'Ready',
        status: 'True',
        reason: 'TokenIssued',
        message: 'token valid until 17:00',
        observedGeneration: 2,
      },
      after: [{ ...ready, message: 'token valid until 17:00', observedGeneration: 2 }, renewing],
    },
    {
      name: 'a changed status sets lastTransitionTime to now',
      before: [ready, renewing],
      next: { type: 'Ready', status: 'False', reason: 'Expired', message: 'expired', observedGeneration: 1 },
      after: [
        {
          ...ready,
          status: 'False',
          reason: 'Expired',
          message: 'expired',
          lastTransitionTime: '2026-12-04T16:00:00Z',
        },
        renewing,
      ],
    },
    {
      name: 'the position of a replaced condition is kept',
      before: [ready, renewing],
      next: {
        type: 'Renewing',
        status: 'True',
        reason: 'RetryingAfterFailure',
        message: 'x',
        observedGeneration: 1,
      },
      after: [
        ready,
        {
          ...renewing,
          status: 'True',
          reason: 'RetryingAfterFailure',
          message: 'x',
          lastTransitionTime: '2026-12-04T16:00:00Z',
        },
      ],
    },
    {
      name: 'an unset observedGeneration is left out rather than written as undefined',
      before: [],
      next: { type: 'Ready', status: 'Unknown', reason: 'Pending', message: '' },
      after: [
        {
          type: 'Ready',
          status: 'Unknown',
          reason: 'Pending',
          message: '',
          lastTransitionTime: '2026-12-04T16:00:00Z',
        },
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const after = setCondition(c.before, c.next, later);
      assert.deepEqual(after, c.after);
      assert.ok(
        after.every((condition) => Object.values(condition).every((value) => value !== undefined)),
        'no undefined fields',
      );
    });
  }

  test('the input list is not modified', () => {
    const before = [ready, renewing];
    const snapshot = structuredClone(before);
    setCondition(before, { type: 'Ready', status: 'False', reason: 'Expired', message: '' }, later);
    assert.deepEqual(before, snapshot);
  });

  test('lastTransitionTime is written with whole seconds', () => {
    const [condition] = setCondition(
      [],
      { type: 'Ready', status: 'True', reason: 'r', message: '' },
      at(1_234),
    );
    assert.equal(condition.lastTransitionTime, '2026-12-04T15:00:01Z');
  });

  test('findCondition finds by type', () => {
    assert.equal(findCondition([ready, renewing], 'Renewing'), renewing);
    assert.equal(findCondition(undefined, 'Ready'), undefined);
    assert.equal(T0.getTime() < later.getTime(), true);
  });
});
