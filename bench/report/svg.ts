// Charts of one run as self-contained SVG strings (no fonts, scripts or external references), so
// GitHub renders them from the repository as they are.
import { formatValue, systemColour, systemLabel } from './format.js';
import { describeFailures, findRow } from './summarize.js';
import type { BenchReport, MeasureKey, SystemName } from './types.js';

const W = 800;
const H = 400;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const n = (v: number): string => String(Math.round(v * 10) / 10);

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${n(x)}" y="${n(y)}" ${attrs}>${escapeXml(s)}</text>`;
}

function frame(title: string, subtitle: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    text(16, 22, title, 'font-size="15" font-weight="bold" fill="#222"'),
    text(16, 40, subtitle, 'font-size="11" fill="#666"'),
    ...body,
    '</svg>',
  ].join('\n');
}

const subtitleOf = (r: BenchReport): string => `${r.date.slice(0, 10)} · ${r.preset} preset · ${r.machine.cpuModel}, ${r.machine.cores} cores · median of the rounds that succeeded`;

/** A step of 1, 2 or 5 × 10^k giving about `ticks` intervals up to at least max. */
function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag);
}

type Cell = { kind: 'ok'; median: number; min: number; max: number } | { kind: 'failed'; reason: string } | { kind: 'missing' };

function cell(report: BenchReport, system: SystemName, measure: MeasureKey, key: string): Cell {
  const row = findRow(report.rows, system, measure);
  if (!row) return { kind: 'missing' };
  if (row.ok === 0) return { kind: 'failed', reason: describeFailures(row) };
  const s = row.values[key];
  return s ? { kind: 'ok', median: s.median, min: s.min, max: s.max } : { kind: 'missing' };
}

/** Grouped bars: per system, 1 stream (lighter) and 4 streams (solid), with min–max whiskers. */
export function throughputChart(report: BenchReport): string {
  const left = 64;
  const right = 20;
  const top = 64;
  const bottom = 56;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const systems = report.systems;
  const streams = [
    { measure: 'tput-1' as const, label: '1 stream', opacity: 0.5 },
    { measure: 'tput-4' as const, label: '4 streams', opacity: 1 },
  ];
  const cells = systems.map((s) => streams.map((st) => cell(report, s, st.measure, 'gbps')));
  const peak = Math.max(0, ...cells.flat().map((c) => (c.kind === 'ok' ? Math.max(c.max, c.median) : 0)));
  const step = niceStep(peak > 0 ? peak : 1, 5);
  const yMax = Math.max(step, Math.ceil((peak > 0 ? peak : 1) / step) * step);
  const y = (v: number): number => top + plotH - (v / yMax) * plotH;
  const body: string[] = [];
  for (let t = 0; t <= yMax + step / 2; t += step) {
    body.push(`<line x1="${left}" x2="${left + plotW}" y1="${n(y(t))}" y2="${n(y(t))}" stroke="#e3e3e3"/>`);
    body.push(text(left - 6, y(t) + 4, formatValue('gbps', t).replace(/\.?0+$/, ''), 'text-anchor="end" fill="#555"'));
  }
  body.push(text(14, top + plotH / 2, 'Gbit/s', `text-anchor="middle" fill="#555" transform="rotate(-90 14 ${n(top + plotH / 2)})"`));
  const groupW = plotW / Math.max(1, systems.length);
  const barW = Math.min(56, (groupW * 0.7) / streams.length);
  systems.forEach((system, i) => {
    const colour = systemColour(system, i);
    const gx = left + i * groupW + (groupW - barW * streams.length) / 2;
    streams.forEach((st, j) => {
      const c = cells[i]![j]!;
      const x = gx + j * barW;
      const cx = x + barW / 2;
      if (c.kind === 'ok') {
        const tip = `${systemLabel(system)}, ${st.label}: ${formatValue('gbps', c.median)} Gbit/s (${formatValue('gbps', c.min)}–${formatValue('gbps', c.max)})`;
        body.push(
          `<rect class="bar" data-system="${escapeXml(system)}" data-streams="${st.measure.slice(5)}" x="${n(x + 2)}" y="${n(y(c.median))}" width="${n(barW - 4)}" height="${n(y(0) - y(c.median))}" fill="${colour}" fill-opacity="${st.opacity}" stroke="${colour}"><title>${escapeXml(tip)}</title></rect>`,
        );
        if (c.max > c.min) {
          body.push(`<path d="M${n(cx)} ${n(y(c.max))}V${n(y(c.min))}M${n(cx - 5)} ${n(y(c.max))}h10M${n(cx - 5)} ${n(y(c.min))}h10" stroke="#222" fill="none"/>`);
        }
        body.push(text(cx, y(Math.max(c.max, c.median)) - 5, formatValue('gbps', c.median), 'text-anchor="middle" font-size="11" fill="#222"'));
      } else {
        const word = c.kind === 'failed' ? 'failed' : 'n/a';
        const tip = c.kind === 'failed' ? `${systemLabel(system)}, ${st.label}: failed: ${c.reason}` : `${systemLabel(system)}, ${st.label}: not measured`;
        const fill = c.kind === 'failed' ? '#c62828' : '#888';
        body.push(`<g class="${word === 'failed' ? 'failed' : 'missing'}"><title>${escapeXml(tip)}</title>${text(cx, y(0) - 8, word, `text-anchor="middle" font-size="11" fill="${fill}" font-weight="bold"`)}</g>`);
      }
      body.push(text(cx, y(0) + 14, st.label, 'text-anchor="middle" font-size="9" fill="#777"'));
    });
    body.push(text(left + i * groupW + groupW / 2, y(0) + 32, systemLabel(system), `text-anchor="middle" font-weight="bold" fill="${colour}"`));
  });
  body.push(`<line x1="${left}" x2="${left + plotW}" y1="${n(y(0))}" y2="${n(y(0))}" stroke="#444"/>`);
  // Legend: the shade says the stream count, the colour says the system.
  streams.forEach((st, j) => {
    const lx = W - right - 190 + j * 95;
    body.push(`<rect x="${lx}" y="12" width="14" height="12" fill="#555" fill-opacity="${st.opacity}" stroke="#555"/>`);
    body.push(text(lx + 20, 22, st.label, 'fill="#333"'));
  });
  return frame('Throughput (iperf3), Gbit/s — whiskers: min–max over rounds', subtitleOf(report), body);
}

const PERCENTILES = [
  { key: 'p50Ms', label: 'p50' },
  { key: 'p90Ms', label: 'p90' },
  { key: 'p99Ms', label: 'p99' },
  { key: 'p999Ms', label: 'p99.9' },
];

/** Latency percentile curves at one rate (own, CO-corrected client), log-scale ms. */
export function latencyChart(report: BenchReport, rate: 1000 | 4000): string {
  const measure: MeasureKey = rate === 1000 ? 'lat-own-1000' : 'lat-own-4000';
  const left = 64;
  const right = 200;
  const top = 56;
  const bottom = 44;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const series = report.systems.map((system, i) => {
    const row = findRow(report.rows, system, measure);
    const points = PERCENTILES.map((p, j) => ({ j, label: p.label, v: row?.values[p.key]?.median })).filter(
      (p): p is { j: number; label: string; v: number } => p.v !== undefined && p.v > 0,
    );
    const state = !row ? 'not measured' : row.ok === 0 ? 'failed' : points.length === 0 ? 'no percentiles' : 'ok';
    return { system, colour: systemColour(system, i), points, state, reason: row && row.ok === 0 ? describeFailures(row) : '' };
  });
  const all = series.flatMap((s) => s.points.map((p) => p.v));
  const body: string[] = [];
  const title = `Latency at ${rate} req/s (own client, CO-corrected), ms, log scale`;
  if (all.length === 0) {
    body.push(text(W / 2, H / 2, `no latency results at ${rate} req/s`, 'text-anchor="middle" fill="#888"'));
  } else {
    // Axis bounds on the 1-2-5 ladder around the data, at most 6 decades (smaller values sit on the floor).
    const ladder = (d: number): number[] => [1, 2, 5].map((m) => Number((m * 10 ** d).toPrecision(1)));
    const maxV = Math.max(...all);
    const minV = Math.max(Math.min(...all), maxV / 1e6);
    const lo = Math.log10(ladder(Math.floor(Math.log10(minV))).filter((v) => v <= minV * (1 + 1e-9)).pop()!);
    const hiDec = Math.floor(Math.log10(maxV));
    const hi = Math.log10([...ladder(hiDec), 10 ** (hiDec + 1)].find((v) => v >= maxV * (1 - 1e-9))!);
    const span = hi - lo > 0 ? hi - lo : 1;
    const y = (v: number): number => top + plotH - ((Math.max(Math.log10(v), lo) - lo) / span) * plotH;
    const x = (j: number): number => left + 30 + (j * (plotW - 60)) / (PERCENTILES.length - 1);
    for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) {
      for (const v of ladder(d)) {
        const lv = Math.log10(v);
        if (lv < lo - 1e-9 || lv > hi + 1e-9) continue;
        const major = v === Number((10 ** d).toPrecision(1));
        if (!major && span > 3) continue;
        body.push(`<line x1="${left}" x2="${left + plotW}" y1="${n(y(v))}" y2="${n(y(v))}" stroke="${major ? '#d5d5d5' : '#f0f0f0'}"/>`);
        body.push(text(left - 6, y(v) + 4, String(v), `text-anchor="end" ${major ? 'fill="#555"' : 'font-size="10" fill="#999"'}`));
      }
    }
    PERCENTILES.forEach((p, j) => body.push(text(x(j), top + plotH + 18, p.label, 'text-anchor="middle" fill="#333"')));
    body.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#444"/>`);
    body.push(text(14, top + plotH / 2, 'ms', `text-anchor="middle" fill="#555" transform="rotate(-90 14 ${n(top + plotH / 2)})"`));
    for (const s of series) {
      if (s.points.length === 0) continue;
      const pts = s.points.map((p) => `${n(x(p.j))},${n(y(p.v))}`).join(' ');
      body.push(`<polyline class="curve" data-system="${escapeXml(s.system)}" points="${pts}" fill="none" stroke="${s.colour}" stroke-width="2.5"/>`);
      for (const p of s.points) {
        body.push(`<circle cx="${n(x(p.j))}" cy="${n(y(p.v))}" r="3.5" fill="${s.colour}"><title>${escapeXml(`${systemLabel(s.system)} ${p.label}: ${formatValue('p99Ms', p.v)} ms`)}</title></circle>`);
      }
    }
  }
  // Legend lists every system, so a failed or unmeasured one is visible, not just absent.
  series.forEach((s, i) => {
    const ly = top + 8 + i * 22;
    const lx = W - right + 16;
    const ok = s.state === 'ok';
    body.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${ok ? s.colour : '#bbb'}" stroke-width="2.5"${ok ? '' : ' stroke-dasharray="4 3"'}/>`);
    const label = ok ? systemLabel(s.system) : `${systemLabel(s.system)}: ${s.state}`;
    const tip = s.reason ? `<title>${escapeXml(s.reason)}</title>` : '';
    body.push(`<g class="legend">${tip}${text(lx + 28, ly + 4, label, `fill="${ok ? '#222' : s.state === 'failed' ? '#c62828' : '#888'}"`)}</g>`);
  });
  return frame(title, subtitleOf(report), body);
}

/** The charts a report links to, file names relative to the charts directory. */
export const CHARTS: readonly { file: string; title: string; render: (r: BenchReport) => string }[] = [
  { file: 'throughput.svg', title: 'Throughput, 1 and 4 streams', render: throughputChart },
  { file: 'latency-1000.svg', title: 'Latency percentiles at 1k req/s', render: (r) => latencyChart(r, 1000) },
  { file: 'latency-4000.svg', title: 'Latency percentiles at 4k req/s', render: (r) => latencyChart(r, 4000) },
];
