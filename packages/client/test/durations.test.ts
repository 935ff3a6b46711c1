import { expect, test } from 'vitest';
import { formatSeconds, parseDuration, parseSeconds } from '../src/cli/durations.js';

test('durations: units largest first, each at most once', () => {
  expect(parseDuration('1h30m')).toBe(5_400_000);
  expect(parseDuration('45s')).toBe(45_000);
  expect(parseDuration('10s')).toBe(10_000);
  expect(parseDuration('2d12h')).toBe(216_000_000);
  expect(parseDuration('1m30s250ms')).toBe(90_250);
  expect(parseDuration('500ms')).toBe(500);
  expect(parseDuration('90m')).toBe(5_400_000);
  for (const bad of ['', '1.5h', '30m1h', '1h1h', '10', 'soon', '-5s', '1 h', '0s', '99999999999999999d']) {
    expect(() => parseDuration(bad), bad).toThrow();
  }
});

test('whole seconds for timers and intervals; and back to text for people', () => {
  expect(parseSeconds('1h30m')).toBe(5_400);
  expect(() => parseSeconds('1500ms')).toThrow('not whole seconds');
  expect(formatSeconds(5_400)).toBe('1h30m');
  expect(formatSeconds(90_061)).toBe('1d1h1m1s');
  expect(formatSeconds(0)).toBe('0s');
});
