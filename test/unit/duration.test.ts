// Unit tests for the human duration parser used by CLI flags.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from '../../src/lib/duration.js';

test('parses units, compounds and bare seconds', () => {
  const cases: [string, number][] = [
    ['10s', 10_000],
    ['500ms', 500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['0.25m', 15_000],
    ['2', 2000],
    ['0.5', 500],
    ['0', 0],
    [' 10s ', 10_000],
  ];
  for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, input);
});

test('rejects malformed durations with a clear RangeError', () => {
  for (const bad of ['', ' ', 'abc', '10x', '-1s', '5 s', '1s2', 's', '1.s', '10S', '1e3']) {
    assert.throws(() => parseDuration(bad), (err: unknown) => err instanceof RangeError && err.message.includes('invalid duration'), bad);
  }
});

test('formats durations compactly', () => {
  assert.equal(formatDuration(500), '500ms');
  assert.equal(formatDuration(10_000), '10s');
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(120_000), '2m');
  assert.equal(formatDuration(90_000), '1m30s');
});
