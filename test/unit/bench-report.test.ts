// The `ambit bench` reporting code on a synthetic run: summary rows, ratios, targets, the
// Markdown (failures shown with their reason) and the SVG charts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { writeReport } from '../../bench/report/cli.js';
import { renderMarkdown } from '../../bench/report/markdown.js';
import { judgeTargets, ratio, summarize } from '../../bench/report/summarize.js';
import { latencyChart, throughputChart } from '../../bench/report/svg.js';
import type { BenchReport, MeasureKey, Row, RunResult, SystemName, Target } from '../../bench/report/types.js';

const SYSTEMS: SystemName[] = ['plain', 'ambit', 'stunnel', 'haproxy', 'wireguard'];
const WG_ERROR = 'wireguard-go: exited with code 1: <no TUN device> | permission denied';

/** Per system and measure, the values of rounds 1..3 (one value per key per round). */
const DATA: Partial<Record<SystemName, Partial<Record<MeasureKey, Record<string, [number, number, number]>>>>> = {
  plain: {
    'tput-1': { gbps: [28, 24.5, 26] },
    'tput-4': { gbps: [40, 42, 41] },
    'lat-own-1000': { p50Ms: [0.2, 0.22, 0.21], p90Ms: [0.3, 0.3, 0.3], p99Ms: [2, 2.1, 1.9], p999Ms: [4, 5, 4.5], achievedRps: [1000, 1000, 1000] },
    'lat-own-4000': { p50Ms: [0.25, 0.25, 0.25], p90Ms: [0.4, 0.4, 0.4], p99Ms: [3, 3, 3], p999Ms: [6, 6, 6], achievedRps: [4000, 4000, 4000] },
    'lat-h2load-1000': { p50Ms: [0.3, 0.3, 0.3], p99Ms: [1.5, 1.5, 1.5] },
    newconns: { perSecond: [20000, 21000, 19000] },
  },
  ambit: {
    'tput-1': { gbps: [2.6, 3.01, 2.83], proxyCpuPct: [160, 150, 170], peakRssMB: [70, 72, 71] },
    'tput-4': { gbps: [4, 4.4, 4.2], peakRssMB: [80, 82, 81] },
    'lat-own-1000': { p50Ms: [0.7, 0.71, 0.72], p90Ms: [1, 1, 1], p99Ms: [7.5, 5.7, 15], p999Ms: [14, 15, 16], cpuUsPerReq: [397, 390, 400], achievedRps: [1000, 1000, 1000] },
    'lat-own-4000': { p50Ms: [0.8, 0.8, 0.8], p90Ms: [1.2, 1.2, 1.2], p99Ms: [3.9, 4, 4.1], p999Ms: [9, 9, 9], cpuUsPerReq: [70, 75, 79], achievedRps: [4000, 3990, 4000] },
    'lat-h2load-1000': { p50Ms: [0.8, 0.8, 0.8], p99Ms: [5, 5, 5] },
    handshakes: { perSecond: [900, 950, 1000], perCoreSecond: [1000, 1100, 1200] },
    newconns: { perSecond: [4000, 4500, 4200] },
    'idle-pods': { rssMB: [55, 56, 57], pods: [20, 20, 20] },
  },
  stunnel: {
    'tput-1': { gbps: [3.76, 3.73, 4.06], peakRssMB: [10, 10, 10] },
    'tput-4': { gbps: [4, 4, 4], peakRssMB: [12, 12, 12] },
    'lat-own-1000': { p50Ms: [0.45, 0.45, 0.45], p90Ms: [0.6, 0.6, 0.6], p99Ms: [3.4, 3.3, 3.9], p999Ms: [13, 13, 13], cpuUsPerReq: [192, 190, 195] },
    'lat-own-4000': { p50Ms: [0.5, 0.5, 0.5], p90Ms: [0.7, 0.7, 0.7], p99Ms: [4, 4, 4], p999Ms: [10, 10, 10], cpuUsPerReq: [150, 150, 150] },
    handshakes: { perSecond: [1500, 1500, 1500], perCoreSecond: [2000, 2000, 2000] },
    newconns: { perSecond: [6000, 6000, 6000] },
  },
  haproxy: {
    'tput-1': { gbps: [5, 5, 5] },
    'tput-4': { gbps: [8, 8, 8] },
    'lat-own-1000': { p50Ms: [0.4, 0.4, 0.4], p99Ms: [3, 3, 3] },
  },
};

// The shape bench/ca.ts writes (bench/results/ca-*.json).
const CA_RESULT = {
  benchmark: 'ca',
  sign: { count: 1000, seconds: 7.531, perSecond: 132.8, p50Ms: 6.03, p99Ms: 21.88 },
  createCertificate: { concurrency: 32, requests: 1893, ok: 1893, errors: 0, seconds: 20.129, perSecond: 94, p50Ms: 321.16, p99Ms: 602.06 },
};

function buildRuns(): RunResult[] {
  const runs: RunResult[] = [];
  for (const round of [1, 2, 3]) {
    for (const [system, measures] of Object.entries(DATA) as [SystemName, Record<string, Record<string, number[]>>][]) {
      for (const [measure, keys] of Object.entries(measures)) {
        const values = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, v[round - 1]!]));
        runs.push({ round, system, measure: measure as MeasureKey, ok: true, values, otherCpuPct: round * 2 });
      }
    }
    // haproxy's 4k-rps latency fails in round 2 only; wireguard fails everything.
    runs.push(round === 2 ? { round, system: 'haproxy', measure: 'lat-own-4000', ok: false, error: 'load client: 12 request errors', values: {} } : { round, system: 'haproxy', measure: 'lat-own-4000', ok: true, values: { p50Ms: 0.5, p99Ms: 3.5 + round } });
    for (const measure of ['tput-1', 'tput-4', 'lat-own-1000', 'lat-own-4000'] as MeasureKey[]) {
      runs.push({ round, system: 'wireguard', measure, ok: false, error: WG_ERROR, values: {} });
    }
  }
  return runs;
}

function buildReport(rowsOverride?: Row[]): BenchReport {
  const runs = buildRuns();
  const rows = rowsOverride ?? summarize(runs, SYSTEMS);
  return {
    benchmark: 'ambit-bench',
    schema: 1,
    date: '2026-11-24T10:00:00.000Z',
    preset: 'quick',
    command: 'ambit bench --quick',
    machine: { cpuModel: 'AMD EPYC', cores: 2, memGiB: 23.5, kernel: 'Linux 6.18' },
    versions: { node: 'v20.20.2', 'wireguard-go': '0.0.20220316' },
    settings: { rounds: 3, seconds: 3 },
    systems: SYSTEMS,
    method: { systems: { ambit: 'two node tunnels, HBONE' }, measures: { 'tput-1': 'iperf3 -t 3, one stream' }, notes: ['interleaved'] },
    rows,
    runs,
    targets: judgeTargets(rows),
    ca: { ok: true, result: CA_RESULT },
    xds: { ok: false, error: 'xds-scale: timed out after 150 s' },
    failures: [],
    runSeconds: 321,
  };
}

const row = (rows: Row[], s: SystemName, m: MeasureKey): Row => {
  const r = rows.find((x) => x.system === s && x.measure === m);
  assert.ok(r, `row ${s} ${m}`);
  return r;
};
const target = (ts: Target[], name: string): Target => {
  const t = ts.find((x) => x.name.startsWith(name));
  assert.ok(t, `target ${name}`);
  return t;
};

describe('bench report: summarize', () => {
  const rows = summarize(buildRuns(), SYSTEMS);

  it('takes median, min, max and n over the ok rounds', () => {
    assert.deepEqual(row(rows, 'ambit', 'tput-1').values.gbps, { median: 2.83, min: 2.6, max: 3.01, n: 3 });
    assert.deepEqual(row(rows, 'plain', 'tput-1').values.gbps, { median: 26, min: 24.5, max: 28, n: 3 });
    assert.deepEqual(row(rows, 'ambit', 'tput-1').otherCpuPct, { median: 4, min: 2, max: 6, n: 3 });
    // Two ok rounds: the median is their mean; the failed round is listed, not averaged in.
    const h = row(rows, 'haproxy', 'lat-own-4000');
    assert.deepEqual([h.runs, h.ok], [3, 2]);
    assert.deepEqual(h.values.p99Ms, { median: 5.5, min: 4.5, max: 6.5, n: 2 });
    assert.deepEqual(h.failures, ['round 2: load client: 12 request errors']);
  });

  it('keeps a measure whose rounds all failed, with its errors and no values', () => {
    const w = row(rows, 'wireguard', 'tput-1');
    assert.deepEqual([w.runs, w.ok, Object.keys(w.values).length], [3, 0, 0]);
    assert.deepEqual(w.failures, [1, 2, 3].map((r) => `round ${r}: ${WG_ERROR}`));
  });

  it('orders rows by the given systems, then by measure', () => {
    assert.deepEqual([...new Set(rows.map((r) => r.system))], SYSTEMS);
    assert.deepEqual(
      rows.filter((r) => r.system === 'plain').map((r) => r.measure),
      ['tput-1', 'tput-4', 'lat-own-1000', 'lat-h2load-1000', 'lat-own-4000', 'newconns'],
    );
  });

  it('computes ratios of medians, undefined when a side is missing or failed', () => {
    assert.equal(ratio(rows, 'ambit', 'tput-1', 'gbps', 'plain'), 2.83 / 26);
    assert.equal(ratio(rows, 'ambit', 'tput-1', 'gbps', 'stunnel'), 2.83 / 3.76);
    assert.equal(ratio(rows, 'ambit', 'lat-own-1000', 'p99Ms', 'plain'), 7.5 / 2);
    assert.equal(ratio(rows, 'ambit', 'tput-1', 'gbps', 'wireguard'), undefined);
    assert.equal(ratio(rows, 'ambit', 'handshakes', 'perCoreSecond', 'plain'), undefined);
  });
});

describe('bench report: targets', () => {
  const ts = judgeTargets(summarize(buildRuns(), SYSTEMS));

  it('judges met, not met and the figures behind them', () => {
    const one = target(ts, 'one-stream');
    assert.equal(one.met, false);
    assert.match(one.got, /0\.75× stunnel \(2\.83 Gbit\/s vs 3\.76 Gbit\/s\)/);
    assert.equal(target(ts, 'four-stream').met, true); // 4.2 vs 4.0
    assert.equal(target(ts, 'p99 at 1k').met, false); // 3.75× plain
    assert.match(target(ts, 'p99 at 1k').got, /3\.75× plain/);
    assert.equal(target(ts, 'p99 at 4k').met, true); // 4.0 / 3.0 = 1.33× ≤ 1.35
    assert.equal(target(ts, 'tunnel CPU').met, true); // 75 µs
    assert.equal(target(ts, 'tunnel CPU').got, '75 µs/req');
    assert.equal(target(ts, 'node tunnel RSS').met, true); // 56 MB
    assert.equal(target(ts, 'new connections').met, false); // 4200/s
    // Absolute targets show what the other systems reached on the same machine.
    assert.equal(target(ts, 'new connections').others, 'plain TCP 20,000/s · stunnel 6,000/s');
    assert.equal(target(ts, 'tunnel CPU').others, 'stunnel 150 µs/req');
    assert.equal(target(ts, 'one-stream').others, undefined);
    assert.deepEqual(new Set(ts.map((t) => t.issue)), new Set(['#5', '#6']));
  });

  it('says not measured when a needed row is missing, and not met when Ambit failed it', () => {
    const rows = summarize(buildRuns(), SYSTEMS).filter((r) => !(r.system === 'stunnel' && r.measure === 'tput-4') && !(r.system === 'ambit' && r.measure === 'idle-pods'));
    const failedAmbit = rows.map((r) => (r.system === 'ambit' && r.measure === 'newconns' ? { ...r, ok: 0, values: {}, failures: ['round 1: connect ECONNREFUSED'] } : r));
    const t = judgeTargets(failedAmbit);
    assert.equal(target(t, 'four-stream').met, 'not measured');
    assert.match(target(t, 'four-stream').got, /no tput-4 row for stunnel/);
    assert.equal(target(t, 'node tunnel RSS').met, 'not measured');
    assert.equal(target(t, 'new connections').met, false);
    assert.match(target(t, 'new connections').got, /ECONNREFUSED/);
    assert.ok(judgeTargets([]).every((x) => x.met === 'not measured'));
  });

  it('shows when Ambit did not reach the latency measure\'s rate', () => {
    const rows = summarize(
      buildRuns().map((r) => (r.system === 'ambit' && r.measure === 'lat-own-4000' ? { ...r, values: { ...r.values, achievedRps: 3000 } } : r)),
      SYSTEMS,
    );
    assert.match(target(judgeTargets(rows), 'p99 at 4k').got, /Ambit achieved only 3,000 of 4000 req\/s/);
  });
});

describe('bench report: markdown', () => {
  const md = renderMarkdown(buildReport());

  it('shows a failed system as failed with its reason, never blank or 0', () => {
    const wgLine = md.split('\n').find((l) => l.startsWith('| wireguard-go |'));
    assert.ok(wgLine);
    const note = /\*\*failed\*\* (\[\d+\])/.exec(wgLine)?.[1];
    assert.ok(note, wgLine);
    assert.doesNotMatch(wgLine, /\| 0(\.0+)? \|/);
    // The note under the table gives the reason, escaped for Markdown (no raw '<', '|' escaped).
    assert.ok(md.includes(`- ${note} wireguard-go failed: rounds 1, 2, 3: wireguard-go: exited with code 1: &lt;no TUN device>`));
    assert.ok(md.includes('\\| permission denied'));
    assert.ok(!md.includes('<no TUN device>'));
  });

  it('has the headline, ratios, targets, details, CA, xDS failure, method, caveats and charts', () => {
    for (const h of ['# Benchmarks', '## Summary', '## Ratios', '## Targets', '## Details', '## CA', '## xDS push at scale', '## Method', '## Caveats', '## Charts']) {
      assert.ok(md.includes(`\n${h}\n`) || md.startsWith(`${h}\n`), h);
    }
    assert.match(md, /`ambit bench --quick`/);
    assert.match(md, /\| Ambit \| 2\.83 \| 4\.20 \| 0\.71 \/ 7\.50 \| 0\.80 \/ 4\.00 \| 75 \| 81\.0 \| 1,100 \| 4,200 \| 56\.0 \|/);
    assert.match(md, /\| stunnel \| 0\.75× \| 1\.05× \|/); // Ambit ÷ stunnel
    assert.match(md, /\| Ambit \| 0\.11× \| 0\.10× \| 3\.75× \|/); // Ambit ÷ plain
    assert.match(md, /\| #5 \| one-stream throughput \| ≥ stunnel \| .* \| \*\*NOT met\*\* \|/);
    assert.match(md, /\| #6 \| four-stream throughput \| ≥ stunnel \| .* \| met \|/);
    assert.match(md, /\| \*\*Ambit\*\* \| 2\.83 \(2\.60–3\.01\) \|/);
    assert.match(md, /\| HAProxy \| own \| .*\| \*\*2\/3\*\* \| round 2: load client: 12 request errors \|/);
    assert.match(md, /\| \*\*Ambit\*\* \| h2load \| 0\.80 \|/);
    assert.match(md, /132\.8 signatures\/s/);
    assert.match(md, /## xDS push at scale\n\n\*\*failed\*\*: xds-scale: timed out after 150 s/);
    assert.match(md, /2 cores \(AMD EPYC\) shared by everything/);
    assert.match(md, /not coordinated-omission corrected/);
    assert.match(md, /wireguard-go \(0\.0\.20220316\) is the Debian 12 package/);
    assert.match(md, /\(bench\/results\/charts\/throughput\.svg\)/);
    assert.match(md, /\(bench\/results\/charts\/latency-4000\.svg\)/);
  });

  it('shows a system that never ran but is named in the run failures as failed', () => {
    const r = buildReport();
    r.rows = r.rows.filter((x) => x.system !== 'haproxy');
    r.failures = ['haproxy: could not start: address in use'];
    const line = renderMarkdown(r).split('\n').find((l) => l.startsWith('| HAProxy |'));
    assert.ok(line);
    assert.match(line, /\*\*failed\*\*/);
    assert.match(renderMarkdown(r), /HAProxy: haproxy: could not start: address in use/);
  });
});

describe('bench report: svg', () => {
  const report = buildReport();

  it('draws one bar per ok system × stream count, failed ones as "failed"', () => {
    const svg = throughputChart(report);
    assert.ok(svg.startsWith('<svg '));
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.equal(svg.match(/<rect class="bar"/g)?.length, 8); // 4 ok systems × 2
    assert.equal(svg.match(/<g class="failed">/g)?.length, 2); // wireguard × 2
    assert.match(svg, />2\.83</);
    assert.equal(svg.match(/<svg/g)?.length, 1);
  });

  it('draws one latency curve per system with results, and lists the failed one', () => {
    const svg = latencyChart(report, 1000);
    assert.ok(svg.startsWith('<svg '));
    assert.equal(svg.match(/<polyline class="curve"/g)?.length, 4);
    assert.match(svg, /wireguard-go: failed/);
    assert.equal(latencyChart(report, 4000).match(/<polyline class="curve"/g)?.length, 4); // haproxy has 2 of 3 rounds
  });

  it('escapes names', () => {
    const odd = 'we<ird&"name' as SystemName;
    const r = buildReport();
    r.systems = [...SYSTEMS, odd];
    r.rows = [...r.rows, { system: odd, measure: 'tput-1', runs: 1, ok: 1, failures: [], values: { gbps: { median: 1, min: 1, max: 1, n: 1 } } }];
    const svg = throughputChart(r);
    assert.ok(!svg.includes('we<ird'));
    assert.ok(svg.includes('we&lt;ird&amp;&quot;name'));
    assert.equal(svg.match(/<rect class="bar"/g)?.length, 9);
    const lat = latencyChart(r, 1000);
    assert.ok(!lat.includes('we<ird'));
  });
});

describe('bench report: writeReport', () => {
  it('writes the Markdown and the three charts with links relative to the Markdown', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ambit-bench-report-'));
    try {
      const written = writeReport(buildReport(), { mdPath: path.join(dir, 'BENCHMARKS.md'), chartsDir: path.join(dir, 'bench/results/charts'), jsonPath: path.join(dir, 'bench/results/bench-quick.json') });
      assert.equal(written.length, 4);
      const md = readFileSync(path.join(dir, 'BENCHMARKS.md'), 'utf8');
      assert.match(md, /\(bench\/results\/charts\/latency-1000\.svg\)/);
      assert.match(md, /\[`bench\/results\/bench-quick\.json`\]\(bench\/results\/bench-quick\.json\)/);
      assert.ok(readFileSync(path.join(dir, 'bench/results/charts/throughput.svg'), 'utf8').startsWith('<svg'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
