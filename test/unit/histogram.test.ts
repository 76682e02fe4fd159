// Unit tests for the log-linear latency histogram: bucket layout, error bound, percentiles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, bucketRange, indexOf } from '../../src/apps/histogram.js';

test('values below 256 are exact', () => {
  for (let v = 0; v < 256; v++) assert.deepEqual(bucketRange(indexOf(v)), [v, v]);
});

test('buckets are contiguous and every value maps into its own range', () => {
  const top = indexOf(60_000_000);
  for (let i = 0; i < top; i++) {
    const [lo, hi] = bucketRange(i);
    const [nextLo] = bucketRange(i + 1);
    assert.equal(nextLo, hi + 1, `gap after bucket ${i}`);
    assert.equal(indexOf(lo), i);
    assert.equal(indexOf(hi), i);
  }
  assert.ok(top < 4000, `histogram stays small (${top} buckets)`);
});

test('relative error of a bucket midpoint is under 1%', () => {
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let n = 0; n < 20_000; n++) {
    const v = Math.floor(Math.exp(rand() * Math.log(60_000_000)));
    const h = new Histogram();
    h.record(v);
    h.record(0);
    h.record(60_000_000);
    const [lo, hi] = bucketRange(indexOf(v));
    const mid = (lo + hi) / 2;
    assert.ok(Math.abs(mid - v) <= v * 0.01 + 0.5, `v=${v} mid=${mid}`);
  }
});

test('percentiles of a uniform distribution', () => {
  const h = new Histogram();
  for (let v = 1; v <= 10_000; v++) h.record(v);
  assert.equal(h.count, 10_000);
  assert.equal(h.min, 1);
  assert.equal(h.max, 10_000);
  assert.equal(h.mean, 5000.5);
  for (const [p, want] of [[50, 5000], [90, 9000], [99, 9900], [99.9, 9990]] as const) {
    const got = h.percentile(p);
    assert.ok(Math.abs(got - want) / want < 0.01, `p${p}: got ${got}, want ~${want}`);
  }
  assert.equal(h.percentile(100), 10_000);
  assert.equal(h.percentile(0), 1);
});

test('percentile never leaves the observed range, and a single outlier shows at the top', () => {
  const h = new Histogram();
  h.record(1000, 999);
  h.record(300_000);
  assert.ok(Math.abs(h.percentile(50) - 1000) <= 10);
  assert.ok(Math.abs(h.percentile(99) - 1000) <= 10);
  assert.equal(h.percentile(99.95), 300_000);
  assert.equal(h.max, 300_000);
  const one = new Histogram();
  one.record(123_457);
  assert.equal(one.percentile(50), 123_457);
});

test('values above the range are clamped into the top bucket but max stays exact', () => {
  const h = new Histogram(1_000_000);
  h.record(5_000_000);
  h.record(-3);
  h.record(Number.NaN);
  assert.equal(h.count, 3);
  assert.equal(h.max, 5_000_000);
  assert.equal(h.min, 0);
  assert.equal(h.percentile(100), 5_000_000);
});

test('empty histogram reports zeros; merge and reset', () => {
  const a = new Histogram();
  assert.equal(a.percentile(99), 0);
  assert.equal(a.mean, 0);
  assert.equal(a.min, 0);
  const b = new Histogram();
  a.record(10, 10);
  b.record(20_000, 10);
  a.merge(b);
  assert.equal(a.count, 20);
  assert.equal(a.max, 20_000);
  assert.equal(a.min, 10);
  assert.ok(Math.abs(a.percentile(75) - 20_000) < 200);
  assert.throws(() => a.merge(new Histogram(1000)), RangeError);
  a.reset();
  assert.equal(a.count, 0);
  assert.equal(a.max, 0);
});
