// A small HDR-style latency histogram: log-linear buckets over non-negative integers
// (the caller picks the unit, e.g. microseconds), exact below 256, ~0.8% relative error above.
// Constant memory (~2.6k buckets for 60 s in µs) so a long load run never grows.

/** Sub-buckets per power of two above the exact range; 128 → relative error ≤ 1/128. */
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // 128
const EXACT = SUB * 2; // values below 256 get their own bucket

export class Histogram {
  private readonly counts: Float64Array;
  private n = 0;
  private sum = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = 0;
  /** Values above this are clamped into the top bucket (their exact max is still kept). */
  readonly highest: number;

  constructor(highest = 60_000_000) {
    if (!Number.isFinite(highest) || highest < EXACT) throw new RangeError(`histogram highest must be ≥ ${EXACT}`);
    this.highest = Math.floor(highest);
    this.counts = new Float64Array(indexOf(this.highest) + 1);
  }

  /** Records `value` (rounded to an integer, negatives as 0) `times` times. */
  record(value: number, times = 1): void {
    if (!(times > 0)) return;
    const v = Number.isFinite(value) ? Math.max(0, Math.round(value)) : this.highest;
    const idx = indexOf(Math.min(v, this.highest));
    this.counts[idx] = (this.counts[idx] ?? 0) + times;
    this.n += times;
    this.sum += v * times;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  get count(): number {
    return this.n;
  }
  get min(): number {
    return this.n === 0 ? 0 : this.lo;
  }
  get max(): number {
    return this.hi;
  }
  get mean(): number {
    return this.n === 0 ? 0 : this.sum / this.n;
  }

  /**
   * The value at percentile p (0..100): the midpoint of the bucket holding the
   * ceil(p% · count)-th smallest value, clamped to the observed [min, max].
   */
  percentile(p: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.n));
    if (rank >= this.n) return this.hi; // the largest value is kept exactly
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) {
        // The top bucket also holds clamped out-of-range values; its midpoint would understate them.
        if (i === this.counts.length - 1 && this.hi > this.highest) return this.hi;
        const [low, high] = bucketRange(i);
        return Math.min(this.hi, Math.max(this.lo, (low + high) / 2));
      }
    }
    return this.hi;
  }

  /** Adds another histogram's counts (e.g. per-worker histograms into one report). */
  merge(other: Histogram): void {
    if (other.highest !== this.highest) throw new RangeError('cannot merge histograms with different ranges');
    for (let i = 0; i < other.counts.length; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
    this.n += other.n;
    this.sum += other.sum;
    if (other.n > 0) {
      this.lo = Math.min(this.lo, other.lo);
      this.hi = Math.max(this.hi, other.hi);
    }
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.sum = 0;
    this.lo = Number.POSITIVE_INFINITY;
    this.hi = 0;
  }
}

/** Bucket index of a non-negative integer. */
export function indexOf(v: number): number {
  if (v < EXACT) return v;
  const k = Math.floor(Math.log2(v)); // ≥ 8
  const shift = k - SUB_BITS;
  // Math.log2 can be off by one near exact powers of two for large values; fix with the mantissa check.
  let m = Math.floor(v / 2 ** shift);
  let kk = k;
  if (m >= EXACT) {
    kk = k + 1;
    m = Math.floor(v / 2 ** (kk - SUB_BITS));
  } else if (m < SUB) {
    kk = k - 1;
    m = Math.floor(v / 2 ** (kk - SUB_BITS));
  }
  return EXACT + (kk - (SUB_BITS + 1)) * SUB + (m - SUB);
}

/** Inclusive [low, high] integer range covered by bucket `i`. */
export function bucketRange(i: number): [number, number] {
  if (i < EXACT) return [i, i];
  const off = i - EXACT;
  const kk = Math.floor(off / SUB) + SUB_BITS + 1;
  const m = (off % SUB) + SUB;
  const shift = kk - SUB_BITS;
  const low = m * 2 ** shift;
  return [low, low + 2 ** shift - 1];
}
