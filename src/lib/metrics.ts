// Prometheus counters, gauges and histograms and the text exposition format (version 0.0.4).
// Ambit needs only a handful of metric kinds, so this is a few lines rather than a client
// library dependency: labelled counters with a per-series handle for hot paths, histograms
// with fixed buckets, and collected metrics whose values are read from live state at scrape
// time (so a series disappears with what it describes).

export type Labels = Record<string, string>;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (h: string): string => h.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** The `k="v",...` part of a series, keys sorted: two equal label sets give the same key. */
export const labelKey = (l: Labels): string =>
  Object.keys(l)
    .sort()
    .map((k) => `${k}="${escapeLabel(l[k] ?? '')}"`)
    .join(',');

const formatValue = (v: number): string => (v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : Number.isNaN(v) ? 'NaN' : String(v));
const header = (name: string, help: string, type: string): string => `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
const series = (name: string, key: string, v: number): string => `${name}${key ? `{${key}}` : ''} ${formatValue(v)}\n`;

/** One label set of a counter, resolved once (e.g. per connection) and incremented cheaply. */
export interface CounterSeries {
  inc(by?: number): void;
}

export class Counter {
  readonly #values = new Map<string, number>();

  constructor(readonly name: string, readonly help: string, unlabelled = true) {
    if (unlabelled) this.#values.set('', 0);
  }

  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }

  /** A handle on one series (created at 0 if new). */
  series(labels: Labels): CounterSeries {
    const k = labelKey(labels);
    if (!this.#values.has(k)) this.#values.set(k, 0);
    return { inc: (by = 1) => void this.#values.set(k, (this.#values.get(k) ?? 0) + by) };
  }

  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }

  /** How many series exist (cardinality checks). */
  get size(): number {
    return this.#values.size;
  }

  render(): string {
    let out = header(this.name, this.help, 'counter');
    for (const [k, v] of this.#values) out += series(this.name, k, v);
    return out;
  }
}

/** A value that goes up and down (e.g. connected clients). */
export class Gauge {
  #value = 0;

  constructor(readonly name: string, readonly help: string) {}

  set(v: number): void {
    this.#value = v;
  }

  inc(by = 1): void {
    this.#value += by;
  }

  dec(by = 1): void {
    this.#value -= by;
  }

  get(): number {
    return this.#value;
  }

  render(): string {
    return header(this.name, this.help, 'gauge') + series(this.name, '', this.#value);
  }
}

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

/** Observations in fixed cumulative buckets (`le`), plus `_sum` and `_count`. */
export class Histogram {
  readonly #buckets: number[];
  readonly #values = new Map<string, HistogramSeries>();

  constructor(readonly name: string, readonly help: string, buckets: readonly number[]) {
    this.#buckets = [...buckets].sort((a, b) => a - b);
    if (this.#buckets.length === 0) throw new Error(`histogram ${name} needs at least one bucket`);
  }

  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.#values.get(k);
    if (!s) this.#values.set(k, (s = { counts: this.#buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.#buckets.length; i++) if (value <= this.#buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  get(labels: Labels = {}): { count: number; sum: number; buckets: { le: number; count: number }[] } | undefined {
    const s = this.#values.get(labelKey(labels));
    return s && { count: s.count, sum: s.sum, buckets: this.#buckets.map((le, i) => ({ le, count: s.counts[i]! })) };
  }

  render(): string {
    let out = header(this.name, this.help, 'histogram');
    for (const [k, s] of this.#values) {
      const with_ = (le: string): string => (k ? `${k},le="${le}"` : `le="${le}"`);
      this.#buckets.forEach((le, i) => (out += series(`${this.name}_bucket`, with_(formatValue(le)), s.counts[i]!)));
      out += series(`${this.name}_bucket`, with_('+Inf'), s.count);
      out += series(`${this.name}_sum`, k, s.sum);
      out += series(`${this.name}_count`, k, s.count);
    }
    return out;
  }
}

/** Values read at scrape time from live state: `collect()` returns every current series. */
export class Collected {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    private readonly collect: () => Iterable<{ labels?: Labels; value: number }>,
  ) {}

  render(): string {
    let out = header(this.name, this.help, this.type);
    for (const s of this.collect()) out += series(this.name, s.labels ? labelKey(s.labels) : '', s.value);
    return out;
  }
}

type Metric = Counter | Gauge | Histogram | Collected;

export class MetricsRegistry {
  readonly #metrics: Metric[] = [];

  #add<M extends Metric>(m: M): M {
    if (this.#metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} is registered twice`);
    this.#metrics.push(m);
    return m;
  }

  counter(name: string, help: string, opts: { labelled?: boolean } = {}): Counter {
    return this.#add(new Counter(name, help, !opts.labelled));
  }

  gauge(name: string, help: string): Gauge {
    return this.#add(new Gauge(name, help));
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, buckets));
  }

  /** A gauge or counter whose series are read from live state at each scrape. */
  collected(name: string, help: string, type: 'gauge' | 'counter', collect: () => Iterable<{ labels?: Labels; value: number }>): Collected {
    return this.#add(new Collected(name, help, type, collect));
  }

  render(): string {
    return this.#metrics.map((m) => m.render()).join('');
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
