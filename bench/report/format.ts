// Display names, colours and number formatting shared by the Markdown and SVG renderers, so a
// figure reads the same in the table and in the chart.
import type { Spread, SystemName } from './types.js';

const LABELS: Record<SystemName, string> = {
  plain: 'plain TCP',
  ambit: 'Ambit',
  stunnel: 'stunnel',
  haproxy: 'HAProxy',
  wireguard: 'wireguard-go',
};

const COLOURS: Record<SystemName, string> = {
  plain: '#6b6b6b',
  ambit: '#1f77b4',
  stunnel: '#ff7f0e',
  haproxy: '#2ca02c',
  wireguard: '#9467bd',
};
const SPARE_COLOURS = ['#8c564b', '#e377c2', '#17becf', '#bcbd22'];

const known = (s: string): s is SystemName => Object.hasOwn(LABELS, s);

export const systemLabel = (s: string): string => (known(s) ? LABELS[s] : s);

/** Fixed per system; an unknown name gets a spare colour picked by its position. */
export const systemColour = (s: string, index: number): string => (known(s) ? COLOURS[s] : SPARE_COLOURS[index % SPARE_COLOURS.length]!);

const VALUE_LABELS: Record<string, string> = {
  gbps: 'Gbit/s',
  proxyCpuPct: 'proxy CPU %',
  gbpsPerProxyCore: 'Gbit/s per proxy core',
  retransmits: 'retransmits',
  p50Ms: 'p50 ms',
  p90Ms: 'p90 ms',
  p99Ms: 'p99 ms',
  p999Ms: 'p99.9 ms',
  maxMs: 'max ms',
  achievedRps: 'achieved req/s',
  cpuUsPerReq: 'proxy CPU µs/req',
  peakRssMB: 'peak RSS MB',
  perSecond: 'per second',
  serverCpuPct: 'server CPU %',
  perCoreSecond: 'per server core-second',
  p50SetupMs: 'setup p50 ms',
  p99SetupMs: 'setup p99 ms',
  cpuUsPerConn: 'proxy CPU µs/conn',
  rssMB: 'RSS MB',
  rssPerPodMB: 'RSS per pod MB',
  pods: 'pods',
  otherCpuPct: 'other CPU %',
  rssBeforeMB: 'RSS before enrolling MB',
  tunnelLoopDelayP99Ms: 'tunnel loop delay p99 ms',
  tunnelLoopDelayMaxMs: 'tunnel loop delay max ms',
  clientLoopDelayP99Ms: 'client loop delay p99 ms',
  clientLoopDelayMaxMs: 'client loop delay max ms',
};

export const valueLabel = (key: string): string => VALUE_LABELS[key] ?? key;

/** Documented order of value keys (types.ts); unknown keys sort after, alphabetically. */
export function compareValueKeys(a: string, b: string): number {
  const order = Object.keys(VALUE_LABELS);
  const ia = order.indexOf(a);
  const ib = order.indexOf(b);
  if (ia === -1 && ib === -1) return a.localeCompare(b);
  if (ia === -1) return 1;
  if (ib === -1) return -1;
  return ia - ib;
}

const grouped = (v: number): string => String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** Gbit/s and ms with 2 decimals, µs / % / counts / rates as integers, MB with 1 decimal. */
export function formatValue(key: string, v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (key === 'gbps' || key === 'gbpsPerProxyCore' || key.endsWith('Ms')) return v.toFixed(2);
  if (key.endsWith('MB')) return v.toFixed(1);
  if (key.includes('Us') || key.endsWith('Pct') || key === 'retransmits' || key === 'pods') return grouped(v);
  if (key.startsWith('per') || key === 'achievedRps') return grouped(v);
  return Number.isInteger(v) ? grouped(v) : v.toFixed(2);
}

/** "median (min–max)", or just the median when there is one value or no spread at this precision. */
export function formatSpread(key: string, s: Spread): string {
  const m = formatValue(key, s.median);
  const lo = formatValue(key, s.min);
  const hi = formatValue(key, s.max);
  return s.n <= 1 || (lo === m && hi === m) ? m : `${m} (${lo}–${hi})`;
}

export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return '–';
  if (r !== 0 && Math.abs(r) < 0.01) return `${r.toPrecision(2)}×`;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/** Text safe inside a Markdown table cell (one line, no column breaks, no raw HTML). */
export function mdCell(s: string, max = 500): string {
  const one = s.replace(/\s*\r?\n\s*/g, ' ').replace(/\|/g, '\\|').replace(/</g, '&lt;');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

export function mdTable(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

/** Decimal units, as the xDS benchmark reports bytes: 752 kB, 3.8 kB, 527 MB. */
export function formatBytes(b: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = b;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 || v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}
