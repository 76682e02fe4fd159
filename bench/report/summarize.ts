// From the rounds of one `ambit bench` run to summary rows (median, min–max, n over the rounds
// that succeeded) and the issue targets judged on them. Pure: the harness and the report CLI
// both call these.
import { formatRatio, formatValue, systemLabel } from './format.js';
import type { MeasureKey, Row, RunResult, Spread, SystemName, Target } from './types.js';

// A Record so that a new MeasureKey fails to compile until it is given a place here.
const MEASURE_ORDER: Record<MeasureKey, number> = {
  'tput-1': 0,
  'tput-4': 1,
  'lat-own-1000': 2,
  'lat-h2load-1000': 3,
  'lat-own-4000': 4,
  'lat-h2load-4000': 5,
  handshakes: 6,
  newconns: 7,
  'idle-pods': 8,
};

/** Every measure, in report order (h2load next to the own client at the same rate). */
export const MEASURES = (Object.keys(MEASURE_ORDER) as MeasureKey[]).sort((a, b) => MEASURE_ORDER[a] - MEASURE_ORDER[b]);

export function spread(values: number[]): Spread | undefined {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

const failureText = (r: RunResult): string => `round ${r.round}: ${r.error?.trim() || 'failed without an error message'}`;

/**
 * One row per (system, measure) that has runs, systems in the given order (systems that only
 * appear in the runs come after them), measures in MEASURES order. A row whose runs all failed
 * is kept, with its failures and no values.
 */
export function summarize(runs: RunResult[], systems: SystemName[]): Row[] {
  const order = [...systems, ...runs.map((r) => r.system).filter((s, i, all) => !systems.includes(s) && all.indexOf(s) === i)];
  const rows: Row[] = [];
  for (const system of order) {
    for (const measure of MEASURES) {
      const mine = runs.filter((r) => r.system === system && r.measure === measure).sort((a, b) => a.round - b.round);
      if (mine.length === 0) continue;
      const ok = mine.filter((r) => r.ok);
      const keys = [...new Set(ok.flatMap((r) => Object.keys(r.values)))];
      const values: Row['values'] = {};
      for (const k of keys) {
        const s = spread(ok.map((r) => r.values[k]).filter((x): x is number => typeof x === 'number'));
        if (s) values[k] = s;
      }
      const row: Row = { system, measure, runs: mine.length, ok: ok.length, failures: mine.filter((r) => !r.ok).map(failureText), values };
      const other = spread(ok.map((r) => r.otherCpuPct).filter((x): x is number => typeof x === 'number'));
      if (other) row.otherCpuPct = other;
      rows.push(row);
    }
  }
  return rows;
}

/** Distinct failure reasons of a row with the rounds each happened in (Row.failures is "round N: text"). */
export function failureReasons(row: Pick<Row, 'failures'>): { text: string; rounds: number[] }[] {
  const out: { text: string; rounds: number[] }[] = [];
  for (const f of row.failures) {
    const m = /^round (\d+): ([\s\S]*)$/.exec(f);
    const text = m ? m[2]! : f;
    const seen = out.find((o) => o.text === text);
    const rounds = m ? [Number(m[1])] : [];
    if (seen) seen.rounds.push(...rounds);
    else out.push({ text, rounds });
  }
  return out;
}

/** "rounds 1, 2: reason; round 3: other reason" */
export function describeFailures(row: Pick<Row, 'failures'>): string {
  return failureReasons(row)
    .map((f) => (f.rounds.length === 0 ? f.text : `${f.rounds.length > 1 ? 'rounds' : 'round'} ${f.rounds.join(', ')}: ${f.text}`))
    .join('; ');
}

export const findRow = (rows: Row[], system: SystemName, measure: MeasureKey): Row | undefined => rows.find((r) => r.system === system && r.measure === measure);

/** Median of one value, or undefined if the row is missing, failed every round or lacks the key. */
export function median(rows: Row[], system: SystemName, measure: MeasureKey, key: string): number | undefined {
  return findRow(rows, system, measure)?.values[key]?.median;
}

/** system ÷ baseline of one value's medians; undefined if either is missing or the baseline is 0. */
export function ratio(rows: Row[], system: SystemName, measure: MeasureKey, valueKey: string, baseline: SystemName): number | undefined {
  const a = median(rows, system, measure, valueKey);
  const b = median(rows, baseline, measure, valueKey);
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

type Lookup = { kind: 'value'; value: number } | { kind: 'failed'; reason: string } | { kind: 'missing'; reason: string };

function lookup(rows: Row[], system: SystemName, measure: MeasureKey, key: string): Lookup {
  const row = findRow(rows, system, measure);
  if (!row) return { kind: 'missing', reason: `no ${measure} row for ${systemLabel(system)}` };
  if (row.ok === 0) return { kind: 'failed', reason: `${systemLabel(system)} failed ${measure}: ${describeFailures(row)}` };
  const v = row.values[key]?.median;
  return v === undefined ? { kind: 'missing', reason: `${systemLabel(system)} ${measure} has no ${key}` } : { kind: 'value', value: v };
}

const UNITS: Record<string, string> = { gbps: 'Gbit/s', p99Ms: 'ms', cpuUsPerReq: 'µs/req', rssMB: 'MB', perSecond: '/s' };
const show = (key: string, v: number): string => {
  const unit = UNITS[key] ?? '';
  return `${formatValue(key, v)}${unit.startsWith('/') || unit === '' ? '' : ' '}${unit}`;
};

interface Spec {
  issue: string;
  name: string;
  want: string;
  measure: MeasureKey;
  key: string;
  /** Compared with Ambit ÷ peer when set, otherwise with Ambit's own figure. */
  peer?: SystemName;
  limit: number;
  atMost: boolean;
  /** Requests/s the latency measure was meant to reach (a shortfall is shown next to the figure). */
  rate?: number;
}

const SPECS: Spec[] = [
  { issue: '#5', name: 'one-stream throughput', want: '≥ stunnel', measure: 'tput-1', key: 'gbps', peer: 'stunnel', limit: 1, atMost: false },
  { issue: '#5', name: 'p99 at 1k req/s (own client)', want: '≤ 1.25× plain', measure: 'lat-own-1000', key: 'p99Ms', peer: 'plain', limit: 1.25, atMost: true, rate: 1000 },
  { issue: '#6', name: 'four-stream throughput', want: '≥ stunnel', measure: 'tput-4', key: 'gbps', peer: 'stunnel', limit: 1, atMost: false },
  { issue: '#6', name: 'p99 at 4k req/s (own client)', want: '≤ 1.35× plain', measure: 'lat-own-4000', key: 'p99Ms', peer: 'plain', limit: 1.35, atMost: true, rate: 4000 },
  { issue: '#6', name: 'tunnel CPU per request at 4k req/s (both tunnels)', want: '≤ 80 µs', measure: 'lat-own-4000', key: 'cpuUsPerReq', limit: 80, atMost: true, rate: 4000 },
  { issue: '#6', name: 'node tunnel RSS with 20 enrolled pods', want: '≤ 60 MB', measure: 'idle-pods', key: 'rssMB', limit: 60, atMost: true },
  { issue: '#6', name: 'new connections per second', want: '≥ 5000/s', measure: 'newconns', key: 'perSecond', limit: 5000, atMost: false },
];

function judge(rows: Row[], s: Spec): Target {
  const base = { issue: s.issue, name: s.name, want: s.want };
  const mine = lookup(rows, 'ambit', s.measure, s.key);
  // Ambit failing the measure misses the target; a missing row or a failed peer leaves it unjudged.
  if (mine.kind === 'failed') return { ...base, got: mine.reason, met: false };
  if (mine.kind === 'missing') return { ...base, got: mine.reason, met: 'not measured' };
  const achieved = s.rate === undefined ? undefined : median(rows, 'ambit', s.measure, 'achievedRps');
  const shortfall = achieved !== undefined && s.rate !== undefined && achieved < 0.95 * s.rate ? `; Ambit achieved only ${formatValue('achievedRps', achieved)} of ${s.rate} req/s` : '';
  if (s.peer === undefined) {
    const met = s.atMost ? mine.value <= s.limit : mine.value >= s.limit;
    const others = [...new Set(rows.map((r) => r.system))]
      .filter((sys) => sys !== 'ambit')
      .flatMap((sys) => {
        const o = lookup(rows, sys, s.measure, s.key);
        return o.kind === 'value' ? [`${systemLabel(sys)} ${show(s.key, o.value)}`] : [];
      });
    return { ...base, got: show(s.key, mine.value) + shortfall, met, ...(others.length ? { others: others.join(' · ') } : {}) };
  }
  const peer = lookup(rows, s.peer, s.measure, s.key);
  if (peer.kind !== 'value') return { ...base, got: `Ambit ${show(s.key, mine.value)}; ${peer.reason}`, met: 'not measured' };
  if (peer.value === 0) return { ...base, got: `Ambit ${show(s.key, mine.value)}; ${systemLabel(s.peer)} is 0`, met: 'not measured' };
  const r = mine.value / peer.value;
  const met = s.atMost ? r <= s.limit : r >= s.limit;
  return { ...base, got: `${formatRatio(r)} ${systemLabel(s.peer)} (${show(s.key, mine.value)} vs ${show(s.key, peer.value)})${shortfall}`, met };
}

/** Issue #5 (data path) and #6 (node tunnel operations) targets, judged on Ambit's medians. */
export function judgeTargets(rows: Row[]): Target[] {
  return SPECS.map((s) => judge(rows, s));
}
