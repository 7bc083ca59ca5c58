import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DurationError, formatDuration, parseDuration } from '../../../src/renewal/duration.ts';
import { DAY, HOUR, MINUTE, SECOND } from './fixtures.ts';

describe('parseDuration', () => {
  const cases: { name: string; input: string; ms: number }[] = [
    { name: 'seconds parse to milliseconds', input: '90s', ms: 90 * SECOND },
    { name: 'hours and minutes add up', input: '1h30m', ms: 90 * MINUTE },
    { name: 'a fractional hour is exact', input: '1.5h', ms: 90 * MINUTE },
    { name: 'a fraction that is inexact in binary is still exact', input: '1.1h', ms: 66 * MINUTE },
    { name: 'milliseconds stay milliseconds', input: '300ms', ms: 300 },
    { name: 'three units with a fractional second', input: '2h45m0.5s', ms: 2 * HOUR + 45 * MINUTE + 500 },
    { name: 'a bare zero is allowed without a unit', input: '0', ms: 0 },
    { name: 'zero with a unit', input: '0s', ms: 0 },
    { name: 'a leading plus sign is accepted', input: '+5s', ms: 5 * SECOND },
    { name: 'a leading minus sign negates', input: '-1.5s', ms: -1500 },
    { name: 'nanoseconds give fractional milliseconds', input: '1500ns', ms: 0.0015 },
    { name: 'us is microseconds', input: '1us', ms: 0.001 },
    { name: 'the micro sign is microseconds', input: '1µs', ms: 0.001 },
    { name: 'the Greek mu is microseconds', input: '1μs', ms: 0.001 },
    { name: 'a fraction without an integer part', input: '.5s', ms: 500 },
    { name: 'an integer with a trailing dot', input: '1.s', ms: SECOND },
    { name: 'a 90-day duration is exact', input: '2160h', ms: 90 * DAY },
    { name: 'units may repeat, as in Go', input: '1m1m', ms: 2 * MINUTE },
    { name: 'the largest hour count Go accepts', input: '2562047h', ms: 2562047 * HOUR },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(parseDuration(c.input), c.ms));
  }

  const invalid: { name: string; input: string; detail: RegExp }[] = [
    { name: 'an empty string is rejected', input: '', detail: /empty/ },
    { name: 'a lone sign is rejected', input: '-', detail: /empty/ },
    { name: 'a number without a unit is rejected', input: '1', detail: /number followed by a unit/ },
    { name: 'a unit without a number is rejected', input: 'h', detail: /expected digits/ },
    { name: 'a dot without digits is rejected', input: '.s', detail: /expected digits/ },
    { name: 'an unknown unit is rejected', input: '1d', detail: /unknown unit "d"/ },
    {
      name: 'a trailing number without a unit is rejected',
      input: '1h30',
      detail: /number followed by a unit/,
    },
    { name: 'leading whitespace is rejected', input: ' 1s', detail: /expected digits/ },
    { name: 'trailing whitespace is an unknown unit', input: '1s ', detail: /unknown unit "s "/ },
    { name: 'two dots are rejected', input: '1..5s', detail: /number followed by a unit/ },
    { name: 'exponent notation is rejected', input: '1e3s', detail: /unknown unit "e"/ },
    { name: 'a value beyond int64 nanoseconds is out of range', input: '2562048h', detail: /out of range/ },
    { name: 'a huge number is out of range', input: '99999999999999999999s', detail: /out of range/ },
  ];
  for (const c of invalid) {
    test(c.name, () => {
      assert.throws(
        () => parseDuration(c.input),
        (error: unknown) =>
          error instanceof DurationError &&
          error.code === 'ERR_INVALID_DURATION' &&
          error.input === c.input &&
          c.detail.test(error.message),
      );
    });
  }

  test('the error message shortens a very long input', () => {
    assert.throws(
      () => parseDuration('x'.repeat(500)),
      (error: Error) => error.message.length < 120,
    );
  });
});

describe('formatDuration', () => {
  const cases: { name: string; ms: number; text: string }[] = [
    { name: 'zero is 0s', ms: 0, text: '0s' },
    { name: 'one nanosecond', ms: 0.000001, text: '1ns' },
    { name: 'microseconds use the micro sign', ms: 0.0015, text: '1.5µs' },
    { name: 'one millisecond', ms: 1, text: '1ms' },
    { name: 'fractional milliseconds', ms: 1.5, text: '1.5ms' },
    { name: 'just under a second stays in milliseconds', ms: 999, text: '999ms' },
    { name: 'one second', ms: SECOND, text: '1s' },
    { name: 'a fractional second drops trailing zeros', ms: 1500, text: '1.5s' },
    { name: 'a minute always shows seconds', ms: MINUTE, text: '1m0s' },
    { name: 'an hour and a half shows all units like Go', ms: 90 * MINUTE, text: '1h30m0s' },
    { name: 'three units with a fractional second', ms: 2 * HOUR + 45 * MINUTE + 500, text: '2h45m0.5s' },
    { name: 'days are expressed in hours', ms: 90 * DAY, text: '2160h0m0s' },
    { name: 'negative durations get a minus sign', ms: -1500, text: '-1.5s' },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(formatDuration(c.ms), c.text));
  }

  test('formatting then parsing gives back the same milliseconds', () => {
    for (const ms of [1, 999, 1500, 61_001, 90 * MINUTE, 2 * HOUR + 500, 90 * DAY, 400 * DAY + 1]) {
      assert.equal(parseDuration(formatDuration(ms)), ms, `${ms} ms`);
    }
  });

  test('a non-finite value cannot be formatted', () => {
    assert.throws(() => formatDuration(Number.NaN), RangeError);
    assert.throws(() => formatDuration(Number.POSITIVE_INFINITY), RangeError);
  });
});
