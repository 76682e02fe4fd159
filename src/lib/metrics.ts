// Prometheus counters and the text exposition format (version 0.0.4). Ambit needs only a
// handful of counters, so this is a few lines rather than a client library dependency.

type Labels = Record<string, string>;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelKey = (l: Labels): string =>
  Object.keys(l)
    .sort()
    .map((k) => `${k}="${escapeLabel(l[k] ?? '')}"`)
    .join(',');

export class Counter {
  readonly #values = new Map<string, number>();

  constructor(readonly name: string, readonly help: string, unlabelled = true) {
    if (unlabelled) this.#values.set('', 0);
  }

  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.#values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${v}`);
    return `${lines.join('\n')}\n`;
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
    return `# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${this.name} gauge\n${this.name} ${this.#value}\n`;
  }
}

export class MetricsRegistry {
  readonly #metrics: (Counter | Gauge)[] = [];

  counter(name: string, help: string, opts: { labelled?: boolean } = {}): Counter {
    if (this.#metrics.some((m) => m.name === name)) throw new Error(`metric ${name} is registered twice`);
    const c = new Counter(name, help, !opts.labelled);
    this.#metrics.push(c);
    return c;
  }

  gauge(name: string, help: string): Gauge {
    if (this.#metrics.some((m) => m.name === name)) throw new Error(`metric ${name} is registered twice`);
    const g = new Gauge(name, help);
    this.#metrics.push(g);
    return g;
  }

  render(): string {
    return this.#metrics.map((m) => m.render()).join('');
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
