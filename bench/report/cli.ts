// Regenerates BENCHMARKS.md and the charts from a saved `ambit bench` JSON:
//   node dist/bench/report/cli.js <report.json> [--out-md BENCHMARKS.md] [--charts-dir bench/results/charts] [--recompute]
// --recompute re-derives rows and targets from the runs (after a change to summarize.ts).
// writeReport is also what the harness calls right after a run.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderMarkdown } from './markdown.js';
import { judgeTargets, summarize } from './summarize.js';
import { CHARTS } from './svg.js';
import type { BenchReport } from './types.js';

export interface WriteReportOptions {
  mdPath: string;
  chartsDir: string;
  /** Chart directory as linked from the Markdown (default: chartsDir relative to mdPath's directory). */
  chartLinkBase?: string;
  /** The run's JSON file, linked from the Markdown as the source of its numbers. */
  jsonPath?: string;
}

const posixRelative = (fromDir: string, to: string): string => path.relative(fromDir, to).split(path.sep).join('/') || '.';

/** Writes the Markdown and every chart; returns the paths written. */
export function writeReport(report: BenchReport, opts: WriteReportOptions): string[] {
  const mdDir = path.dirname(path.resolve(opts.mdPath));
  const chartLinkBase = opts.chartLinkBase ?? posixRelative(mdDir, path.resolve(opts.chartsDir));
  const jsonLink = opts.jsonPath === undefined ? undefined : posixRelative(mdDir, path.resolve(opts.jsonPath));
  mkdirSync(opts.chartsDir, { recursive: true });
  const written: string[] = [];
  for (const c of CHARTS) {
    const file = path.join(opts.chartsDir, c.file);
    writeFileSync(file, `${c.render(report)}\n`);
    written.push(file);
  }
  writeFileSync(opts.mdPath, renderMarkdown(report, { chartLinkBase, ...(jsonLink === undefined ? {} : { jsonLink }) }));
  written.push(opts.mdPath);
  return written;
}

/** Just enough checking that a wrong file fails with a clear message instead of a TypeError deep in rendering. */
export function parseReport(text: string, source: string): BenchReport {
  const r = JSON.parse(text) as Partial<BenchReport>;
  if (r.benchmark !== 'ambit-bench' || r.schema !== 1) throw new Error(`${source}: not an ambit bench report (benchmark "${String(r.benchmark)}", schema ${String(r.schema)})`);
  for (const k of ['machine', 'versions', 'settings', 'systems', 'method', 'rows', 'runs', 'targets', 'failures'] as const) {
    if (r[k] === undefined) throw new Error(`${source}: missing "${k}"`);
  }
  return r as BenchReport;
}

function main(argv: string[]): void {
  const usage = 'usage: node dist/bench/report/cli.js <report.json> [--out-md BENCHMARKS.md] [--charts-dir bench/results/charts] [--recompute]';
  let input: string | undefined;
  let mdPath = 'BENCHMARKS.md';
  let chartsDir = 'bench/results/charts';
  let recompute = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--out-md' || a === '--charts-dir') {
      const v = argv[++i];
      if (!v) throw new Error(`${a} needs a value\n${usage}`);
      if (a === '--out-md') mdPath = v;
      else chartsDir = v;
    } else if (a === '--recompute') recompute = true;
    else if (a === '-h' || a === '--help') {
      console.log(usage);
      return;
    } else if (!a.startsWith('-') && input === undefined) input = a;
    else throw new Error(`unexpected argument ${a}\n${usage}`);
  }
  if (!input) throw new Error(usage);
  const report = parseReport(readFileSync(input, 'utf8'), input);
  if (recompute) {
    report.rows = summarize(report.runs, report.systems);
    report.targets = judgeTargets(report.rows);
  }
  for (const f of writeReport(report, { mdPath, chartsDir, jsonPath: input })) console.log(`wrote ${f}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  }
}
