// BENCHMARKS.md from one `ambit bench` run: every figure comes from the BenchReport, failures
// are shown as failures (with their reason) and never as blanks or zeros.
import { caSection, xdsSection } from './control-plane.js';
import { compareValueKeys, formatRatio, formatSpread, formatValue, mdCell, mdTable, systemLabel, valueLabel } from './format.js';
import { describeFailures, findRow, MEASURES } from './summarize.js';
import { CHARTS } from './svg.js';
import type { BenchReport, MeasureKey, Row, SystemName } from './types.js';

export interface RenderOptions {
  /** Directory of the chart SVGs, relative to the Markdown file (default bench/results/charts). */
  chartLinkBase?: string;
  /** The run's JSON, relative to the Markdown file, linked as the source of every number. */
  jsonLink?: string;
}

const MEASURE_TITLES: Record<MeasureKey, string> = {
  'tput-1': 'Throughput, 1 stream (iperf3)',
  'tput-4': 'Throughput, 4 streams (iperf3 -P 4)',
  'lat-own-1000': 'Latency at 1k req/s, own client (CO-corrected)',
  'lat-h2load-1000': 'Latency at 1k req/s, h2load',
  'lat-own-4000': 'Latency at 4k req/s, own client (CO-corrected)',
  'lat-h2load-4000': 'Latency at 4k req/s, h2load',
  handshakes: 'Full mTLS handshakes',
  newconns: 'New connections per second',
  'idle-pods': 'Node tunnel with 20 enrolled idle pods',
};

/** Numbered notes under a table; identical texts share a number. */
class Notes {
  private readonly list: string[] = [];
  ref(text: string): string {
    let i = this.list.indexOf(text);
    if (i === -1) i = this.list.push(text) - 1;
    return `[${i + 1}]`;
  }
  render(): string[] {
    return this.list.length ? ['', ...this.list.map((t, i) => `- [${i + 1}] ${mdCell(t, 2000)}`)] : [];
  }
}

// Without the measure in the text, a system failing every measure the same way gets one note.
const failedMark = (notes: Notes, row: Row): string => `**failed** ${notes.ref(`${systemLabel(row.system)} failed: ${describeFailures(row)}`)}`;

/** Marks a median that hides failed rounds, so a partial failure is not read as a clean result. */
const partialMark = (notes: Notes, row: Row): string =>
  row.ok < row.runs ? ` ${notes.ref(`${systemLabel(row.system)}, ${row.measure}: ${row.runs - row.ok} of ${row.runs} rounds failed (${describeFailures(row)})`)}` : '';

class Doc {
  constructor(
    readonly report: BenchReport,
    readonly notes: Notes,
  ) {}

  row(system: SystemName, measure: MeasureKey): Row | undefined {
    return findRow(this.report.rows, system, measure);
  }

  /** For a system with no rows at all: '**failed** [n]' citing the whole-run failures that name it (e.g. it could not start), else 'not run'. */
  absent(system: SystemName): string | undefined {
    if (this.report.rows.some((r) => r.system === system)) return undefined;
    const f = this.report.failures.filter((t) => t.toLowerCase().includes(system.toLowerCase()));
    return f.length ? `**failed** ${this.notes.ref(`${systemLabel(system)}: ${f.join('; ')}`)}` : 'not run';
  }

  value(system: SystemName, measure: MeasureKey, key: string): string {
    const row = this.row(system, measure);
    if (!row) return '–';
    if (row.ok === 0) return failedMark(this.notes, row);
    const v = row.values[key];
    return v ? formatValue(key, v.median) + partialMark(this.notes, row) : '–';
  }

  p50p99(system: SystemName, measure: MeasureKey): string {
    const row = this.row(system, measure);
    if (!row) return '–';
    if (row.ok === 0) return failedMark(this.notes, row);
    const f = (k: string): string => (row.values[k] ? formatValue(k, row.values[k].median) : '–');
    return `${f('p50Ms')} / ${f('p99Ms')}${partialMark(this.notes, row)}`;
  }

  /** Highest per-measure median of peakRssMB (the proxy/tunnel processes of both sides). */
  peakRss(system: SystemName): { value?: number; failed?: Row } {
    const rows = this.report.rows.filter((r) => r.system === system);
    const vals = rows.map((r) => r.values.peakRssMB?.median).filter((v): v is number => v !== undefined);
    if (vals.length) return { value: Math.max(...vals) };
    const failed = rows.find((r) => r.ok === 0 && (r.measure.startsWith('tput') || r.measure.startsWith('lat')));
    return failed ? { failed } : {};
  }

  rssCell(system: SystemName): string {
    const p = this.peakRss(system);
    return p.value !== undefined ? formatValue('peakRssMB', p.value) : p.failed ? failedMark(this.notes, p.failed) : '–';
  }

  /** system ÷ baseline, or why it cannot be computed. */
  ratio(system: SystemName, baseline: SystemName, measure: MeasureKey, key: string): string {
    const absent = this.absent(system) ?? this.absent(baseline);
    if (absent) return absent;
    const a = this.row(system, measure);
    const b = this.row(baseline, measure);
    if (a?.ok === 0) return failedMark(this.notes, a);
    if (b?.ok === 0) return failedMark(this.notes, b);
    const va = a?.values[key]?.median;
    const vb = b?.values[key]?.median;
    return va === undefined || vb === undefined || vb === 0 ? '–' : formatRatio(va / vb);
  }

  rssRatio(system: SystemName, baseline: SystemName): string {
    const absent = this.absent(system) ?? this.absent(baseline);
    if (absent) return absent;
    const a = this.peakRss(system);
    const b = this.peakRss(baseline);
    if (a.failed) return failedMark(this.notes, a.failed);
    if (b.failed) return failedMark(this.notes, b.failed);
    return a.value === undefined || b.value === undefined || b.value === 0 ? '–' : formatRatio(a.value / b.value);
  }
}

function intro(r: BenchReport, o: RenderOptions): string[] {
  const from = o.jsonLink ? `[\`${o.jsonLink}\`](${o.jsonLink})` : 'the run’s JSON';
  const rounds = new Set(r.runs.map((x) => x.round)).size;
  return [
    '# Benchmarks',
    '',
    `Generated by \`ambit bench\` from ${from} (${r.preset} preset, ${rounds} round${rounds === 1 ? '' : 's'}, ${r.date}, ${Math.round(r.runSeconds)} s; command \`${r.command}\`). ` +
      'Rerun with `ambit bench --quick` (or `npm run bench -- --quick`) for the quick preset, or without `--quick` for the full one; ' +
      'it writes a new JSON under `bench/results/` and regenerates this file and the charts from it. ' +
      '`node dist/bench/report/cli.js <report.json>` re-renders them from a saved run. Numbers are from the machine below; rerun on yours before drawing conclusions. ' +
      'What earlier single-benchmark runs found (and why the data path is shaped as it is) is in [docs/benchmark-history.md](docs/benchmark-history.md).',
    '',
    `**Machine.** ${r.machine.cpuModel}, ${r.machine.cores} cores, ${r.machine.memGiB} GiB RAM, ${r.machine.kernel}.`,
    '',
    `**Versions.** ${Object.entries(r.versions).map(([k, v]) => `${k} ${mdCell(v, 200)}`).join(' · ') || '–'}.`,
    '',
    `**Settings.** ${Object.entries(r.settings).map(([k, v]) => `\`${k}\`: ${mdCell(typeof v === 'string' ? v : JSON.stringify(v), 200)}`).join(' · ') || '–'}.`,
    ...(r.failures.length ? ['', '**Problems in this run.**', '', ...r.failures.map((f) => `- ${mdCell(f, 2000)}`)] : []),
  ];
}

function headline(doc: Doc): string[] {
  const r = doc.report;
  const rows = r.systems.map((s) => {
    const absent = doc.absent(s);
    if (absent) return [systemLabel(s), ...Array<string>(9).fill(absent)];
    return [
      systemLabel(s),
      doc.value(s, 'tput-1', 'gbps'),
      doc.value(s, 'tput-4', 'gbps'),
      doc.p50p99(s, 'lat-own-1000'),
      doc.p50p99(s, 'lat-own-4000'),
      doc.value(s, 'lat-own-4000', 'cpuUsPerReq'),
      doc.rssCell(s),
      doc.value(s, 'handshakes', 'perCoreSecond'),
      doc.value(s, 'newconns', 'perSecond'),
      doc.value(s, 'idle-pods', 'rssMB'),
    ];
  });
  return [
    '## Summary',
    '',
    'Medians over the rounds that succeeded (min–max in the detailed tables). Latency is the project’s own constant-rate, coordinated-omission-corrected client. ' +
      '– = not measured or not applicable; **failed** = every round failed (reason in the note).',
    '',
    ...mdTable(
      ['System', '1-stream Gbit/s', '4-stream Gbit/s', 'p50 / p99 ms at 1k req/s', 'p50 / p99 ms at 4k req/s', 'proxy CPU µs/req at 4k', 'peak RSS MB', 'handshakes per core-second', 'new conns/s', 'RSS MB, 20 idle pods'],
      rows,
    ),
  ];
}

function ratioTables(doc: Doc): string[] {
  const r = doc.report;
  const out: string[] = ['## Ratios', ''];
  out.push('Throughput, handshakes and new connections: higher is better. p99, CPU per request and memory: lower is better.', '');
  if (r.systems.includes('plain')) {
    const others = r.systems.filter((s) => s !== 'plain');
    out.push('**Each system ÷ plain TCP** (plain is the floor of the load generator and the path itself).', '');
    out.push(
      ...mdTable(
        ['System', '1-stream throughput', '4-stream throughput', 'p99 at 1k req/s', 'p99 at 4k req/s', 'new conns/s'],
        others.map((s) => [
          systemLabel(s),
          doc.ratio(s, 'plain', 'tput-1', 'gbps'),
          doc.ratio(s, 'plain', 'tput-4', 'gbps'),
          doc.ratio(s, 'plain', 'lat-own-1000', 'p99Ms'),
          doc.ratio(s, 'plain', 'lat-own-4000', 'p99Ms'),
          doc.ratio(s, 'plain', 'newconns', 'perSecond'),
        ]),
      ),
      '',
    );
  }
  if (r.systems.includes('ambit')) {
    const peers = r.systems.filter((s) => s !== 'ambit');
    out.push('**Ambit ÷ each peer.**', '');
    out.push(
      ...mdTable(
        ['Ambit ÷', '1-stream throughput', '4-stream throughput', 'p99 at 1k', 'p99 at 4k', 'CPU µs/req at 1k', 'CPU µs/req at 4k', 'peak RSS', 'handshakes per core-second', 'new conns/s'],
        peers.map((p) => [
          systemLabel(p),
          doc.ratio('ambit', p, 'tput-1', 'gbps'),
          doc.ratio('ambit', p, 'tput-4', 'gbps'),
          doc.ratio('ambit', p, 'lat-own-1000', 'p99Ms'),
          doc.ratio('ambit', p, 'lat-own-4000', 'p99Ms'),
          doc.ratio('ambit', p, 'lat-own-1000', 'cpuUsPerReq'),
          doc.ratio('ambit', p, 'lat-own-4000', 'cpuUsPerReq'),
          doc.rssRatio('ambit', p),
          doc.ratio('ambit', p, 'handshakes', 'perCoreSecond'),
          doc.ratio('ambit', p, 'newconns', 'perSecond'),
        ]),
      ),
    );
  } else {
    out.push('Ambit was not part of this run, so there are no Ambit ratios.');
  }
  return out;
}

function targets(r: BenchReport): string[] {
  const verdict = (m: boolean | 'not measured'): string => (m === 'not measured' ? 'not measured' : m ? 'met' : '**NOT met**');
  const met = r.targets.filter((t) => t.met === true).length;
  const unmeasured = r.targets.filter((t) => t.met === 'not measured').length;
  return [
    '## Targets',
    '',
    `${met} of ${r.targets.length} met${unmeasured ? `, ${unmeasured} not measured` : ''}. Judged on Ambit’s medians in this run.`,
    '',
    ...mdTable(
      ['Issue', 'Target', 'Want', 'Got', 'Result', 'Others in this run (same figure)'],
      r.targets.map((t) => [t.issue, mdCell(t.name), mdCell(t.want), mdCell(t.got), verdict(t.met), mdCell(t.others ?? '–')]),
    ),
  ];
}

/** One table per measure; at each rate the h2load rows sit under the own client's. */
function details(doc: Doc): string[] {
  const r = doc.report;
  const out: string[] = ['## Details', ''];
  out.push('Median (min–max) over the rounds that succeeded; "runs ok" counts rounds; failures keep their error text.', '');
  const groups: { title: string; measures: MeasureKey[] }[] = [];
  for (const m of MEASURES) {
    if (m.startsWith('lat-h2load')) continue;
    const pair = m.startsWith('lat-own') ? [m, m.replace('own', 'h2load') as MeasureKey] : [m];
    groups.push({ title: MEASURE_TITLES[m].replace(', own client (CO-corrected)', ': own client and h2load'), measures: pair });
  }
  for (const g of groups) {
    const rows = r.systems.flatMap((s) => g.measures.map((m) => doc.row(s, m)).filter((x): x is Row => x !== undefined));
    const extra = r.rows.filter((x) => g.measures.includes(x.measure) && !r.systems.includes(x.system));
    const all = [...rows, ...extra];
    out.push(`### ${g.title}`, '');
    for (const m of g.measures) {
      const how = r.method.measures[m];
      if (how) out.push(`${g.measures.length > 1 ? `*${m}*: ` : ''}${mdCell(how, 2000)}`, '');
    }
    if (all.length === 0) {
      out.push('Not measured in this run.', '');
      continue;
    }
    const keys = [...new Set(all.flatMap((x) => Object.keys(x.values)))].sort(compareValueKeys);
    const other = all.some((x) => x.otherCpuPct);
    const twoClients = g.measures.length > 1;
    const header = ['System', ...(twoClients ? ['client'] : []), ...keys.map(valueLabel), ...(other ? ['other CPU %'] : []), 'runs ok', 'failures'];
    const body = all.map((x) => {
      const cells = x.ok === 0 ? keys.map(() => '**failed**') : keys.map((k) => (x.values[k] ? formatSpread(k, x.values[k]) : '–'));
      return [
        x.system === 'ambit' ? `**${systemLabel(x.system)}**` : mdCell(systemLabel(x.system)),
        ...(twoClients ? [x.measure.startsWith('lat-own') ? 'own' : 'h2load'] : []),
        ...cells,
        ...(other ? [x.otherCpuPct ? formatSpread('otherCpuPct', x.otherCpuPct) : '–'] : []),
        x.ok < x.runs ? `**${x.ok}/${x.runs}**` : `${x.ok}/${x.runs}`,
        x.failures.length ? mdCell(describeFailures(x)) : '–',
      ];
    });
    out.push(...mdTable(header, body), '');
  }
  return out;
}

function method(r: BenchReport): string[] {
  const sys = r.systems.filter((s) => r.method.systems[s]).map((s) => `- **${mdCell(systemLabel(s))}**: ${mdCell(r.method.systems[s]!, 2000)}`);
  const meas = MEASURES.filter((m) => r.method.measures[m]).map((m) => `- *${m}*: ${mdCell(r.method.measures[m]!, 2000)}`);
  return [
    '## Method',
    '',
    'Systems run in interleaved rounds (every system once per round, over the same client pod → server pod path), so slow drift of the machine affects all of them alike.',
    ...(sys.length ? ['', '**Systems.**', '', ...sys] : []),
    ...(meas.length ? ['', '**Measures.**', '', ...meas] : []),
    ...(r.method.notes.length ? ['', '**Notes.**', '', ...r.method.notes.map((n) => `- ${mdCell(n, 2000)}`)] : []),
  ];
}

function caveats(r: BenchReport): string[] {
  const c = r.machine.cores;
  const out = [
    `- ${c} core${c === 1 ? '' : 's'} (${r.machine.cpuModel}) shared by everything: the load generator, the apps in both pods and both ends of every proxy or tunnel. ` +
      'Absolute figures are "system + endpoints on these cores"; ratios within this run and per-core figures travel better than absolute numbers.',
    '- The load generator’s own floor is visible in the plain TCP row: plain has no proxy, so its throughput and latency are what the client, the app and the kernel path cost on this machine. No system can measure below it.',
  ];
  if (r.rows.some((x) => x.measure.startsWith('lat-h2load'))) {
    out.push('- h2load (`--rps`) keeps a constant request rate but is not coordinated-omission corrected: a stalled connection delays its later requests instead of counting them as late, so its tails are lower bounds. The targets use the own client.');
  }
  if (r.systems.includes('wireguard')) {
    const v = r.versions['wireguard-go'];
    out.push(`- wireguard-go${v ? ` (${mdCell(v, 100)})` : ''} is the Debian 12 package: an old userspace build without the offloads (GSO/GRO, batched I/O) of current releases. It stands for "a userspace tunnel", not for kernel WireGuard or current wireguard-go.`);
  }
  const loops = r.rows.filter((x) => x.system === 'ambit' && x.measure.startsWith('lat-own') && x.values['tunnelLoopDelayMaxMs']);
  if (loops.length) {
    const med = (x: Row, k: string): string => (x.values[k] ? `${formatValue(k, x.values[k].median)} ms` : '–');
    const parts = loops.map(
      (x) =>
        `at ${x.measure.replace('lat-own-', '')} req/s p99 ${med(x, 'p99Ms')}; tunnels' event loops late by p99 ${med(x, 'tunnelLoopDelayP99Ms')}, max ${med(x, 'tunnelLoopDelayMaxMs')}; ` +
        `the client's by p99 ${med(x, 'clientLoopDelayP99Ms')}, max ${med(x, 'clientLoopDelayMaxMs')}`,
    );
    out.push(
      `- Where Ambit's latency tail comes from (medians over rounds; loop delay sampled every 10 ms, worse of the two tunnels): ${parts.join('; ')}. ` +
        'A tail well above these loop delays is queueing outside those event loops: in the client’s pool (once round trips take longer than connections ÷ rate, e.g. 16 ÷ 4000/s = 4 ms, requests wait for a free connection, and the own client counts that wait while h2load does not), ' +
          'in the app server, the kernel, or CPU scheduling with the client, the app and two tunnel processes sharing the cores.',
    );
  }
  const busiest = Math.max(0, ...r.rows.map((x) => x.otherCpuPct?.max ?? 0));
  if (busiest > 0) out.push(`- Other work on the machine during the measurements peaked at ${Math.round(busiest)} % of a core (column "other CPU %" in the details).`);
  return ['## Caveats', '', ...out];
}

function charts(o: RenderOptions): string[] {
  const base = (o.chartLinkBase ?? 'bench/results/charts').replace(/\/+$/, '');
  return ['## Charts', '', ...CHARTS.flatMap((c) => [`[![${c.title}](${base}/${c.file})](${base}/${c.file})`, ''])];
}

export function renderMarkdown(report: BenchReport, opts: RenderOptions = {}): string {
  const notes = new Notes();
  const doc = new Doc(report, notes);
  // Notes are collected while the headline and ratio tables render, then listed under them.
  const summary = [...headline(doc), ...notes.render()];
  const ratioNotes = new Notes();
  const ratios = [...ratioTables(new Doc(report, ratioNotes)), ...ratioNotes.render()];
  const sections = [
    intro(report, opts),
    summary,
    ratios,
    targets(report),
    charts(opts),
    details(doc),
    caSection(report.ca),
    xdsSection(report.xds),
    method(report),
    caveats(report),
  ];
  return `${sections.map((s) => s.join('\n').trimEnd()).join('\n\n')}\n`;
}
