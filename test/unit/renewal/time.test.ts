import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { earliest, formatTime, msOf, parseTime, unitInterval } from '../../../src/renewal/time.ts';
import { at, T0 } from './fixtures.ts';

describe('formatTime', () => {
  test('whole seconds are written without a fraction', () => {
    assert.equal(formatTime(T0), '2026-12-04T15:00:00Z');
  });
  test('milliseconds are rounded down, never up', () => {
    assert.equal(formatTime(at(999)), '2026-12-04T15:00:00Z');
  });
  test('an invalid Date is a programming error', () => {
    assert.throws(() => formatTime(new Date(Number.NaN)), RangeError);
    assert.throws(() => msOf(new Date(Number.NaN), 'x'), /x is an invalid Date/);
  });
});

describe('parseTime', () => {
  const cases: { name: string; input: string | null | undefined; ms: number | undefined }[] = [
    { name: 'a UTC timestamp parses', input: '2026-12-04T15:00:00Z', ms: T0.getTime() },
    { name: 'fractional seconds parse', input: '2026-12-04T15:00:00.250Z', ms: T0.getTime() + 250 },
    { name: 'an offset is applied', input: '2026-12-04T16:00:00+01:00', ms: T0.getTime() },
    { name: 'lowercase t and z are RFC 3339 too', input: '2026-12-04t15:00:00z', ms: T0.getTime() },
    { name: 'a date alone is not a timestamp', input: '2026-12-04', ms: undefined },
    { name: 'a free-form date is rejected', input: 'Dec 4 2026 15:00', ms: undefined },
    { name: 'a timestamp without a zone is rejected', input: '2026-12-04T15:00:00', ms: undefined },
    { name: 'an impossible month is rejected', input: '2026-13-04T15:00:00Z', ms: undefined },
    { name: 'an empty string is undefined', input: '', ms: undefined },
    { name: 'null is undefined', input: null, ms: undefined },
    { name: 'undefined is undefined', input: undefined, ms: undefined },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(parseTime(c.input)?.getTime(), c.ms));
  }
});

describe('earliest and unitInterval', () => {
  test('earliest picks the earlier date and skips undefined', () => {
    assert.equal(earliest(at(5), undefined, at(3))?.getTime(), at(3).getTime());
    assert.equal(earliest(undefined), undefined);
  });
  const cases: [number, number][] = [
    [0.5, 0.5],
    [-1, 0],
    [Number.NaN, 0],
    [2, 1],
    [Number.POSITIVE_INFINITY, 1],
  ];
  for (const [input, output] of cases) {
    test(`a random value of ${input} is clamped to ${output}`, () =>
      assert.equal(unitInterval(input), output));
  }
});
