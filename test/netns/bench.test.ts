// `ambit bench` end to end, as a user runs it: one short round of plain TCP, Ambit and stunnel
// in a lab the harness builds and tears down. Checks the run's products (JSON rows per system
// and measure, BENCHMARKS.md with Ambit's ratios to the peer, charts) and that nothing is left
// behind; the numbers themselves are the benchmark's business, not this test's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { hasTool, isRoot } from '../../src/platform/exec.js';
import type { BenchReport } from '../../bench/report/types.js';

const missing = ['ip', 'nft', 'iperf3', 'stunnel4'].filter((t) => !hasTool(t));
const skip = !isRoot() ? 'needs root: creates network namespaces' : missing.length > 0 ? `needs ${missing.join(', ')} installed` : false;
if (skip) console.error(`\n*** SKIPPING ambit bench test: ${skip} ***\n`);

const AMBIT = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..', '..', 'src', 'bin', 'ambit.js');
const netnsNames = (): string[] => (fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : []);

describe('ambit bench', { skip }, () => {
  it('one quick round of plain, ambit and stunnel writes JSON, BENCHMARKS.md and charts, and removes its lab', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-bench-test-'));
    const before = new Set(netnsNames());
    try {
      const md = path.join(dir, 'BENCHMARKS.md');
      const argv = [AMBIT, 'bench', '--quick', '--rounds', '1', '--systems', 'plain,ambit,stunnel', '--measures', 'tput-1,lat-own-1000,newconns,idle-pods', '--seconds', '1', '--lat-seconds', '1', '--no-control-plane', '--md', md, '--out', dir];
      const r = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 240_000 });
      assert.equal(r.status, 0, `ambit bench exited ${r.status}:\n${r.stderr.slice(-3000)}`);

      const json = fs.readdirSync(dir).filter((f) => /^bench-quick-.*\.json$/.test(f));
      assert.equal(json.length, 1, `one JSON per run in ${dir}: ${fs.readdirSync(dir).join(', ')}`);
      const report = JSON.parse(fs.readFileSync(path.join(dir, json[0]!), 'utf8')) as BenchReport;
      assert.deepEqual(report.systems, ['plain', 'ambit', 'stunnel']);
      assert.ok(report.machine.cores >= 1 && report.versions['node'], JSON.stringify(report.machine));
      for (const [system, measure] of [['plain', 'tput-1'], ['ambit', 'tput-1'], ['stunnel', 'tput-1'], ['plain', 'lat-own-1000'], ['ambit', 'lat-own-1000'], ['stunnel', 'lat-own-1000'], ['ambit', 'newconns'], ['ambit', 'idle-pods']] as const) {
        const run = report.runs.find((x) => x.system === system && x.measure === measure);
        assert.ok(run, `a ${system} ${measure} run`);
        assert.equal(run.ok, true, `${system} ${measure}: ${run.error ?? ''}`);
      }
      const gbps = (s: string): number => report.runs.find((x) => x.system === s && x.measure === 'tput-1')!.values['gbps'] ?? 0;
      assert.ok(gbps('ambit') > 0 && gbps('stunnel') > 0 && gbps('plain') > 0);
      const lat = report.runs.find((x) => x.system === 'ambit' && x.measure === 'lat-own-1000')!;
      assert.equal(lat.values['errors'], 0);
      assert.ok((lat.values['requests'] ?? 0) >= 900, `requests ${lat.values['requests']}`);
      const idle = report.runs.find((x) => x.system === 'ambit' && x.measure === 'idle-pods')!;
      assert.equal(idle.values['pods'], 20);
      assert.ok((idle.values['rssMB'] ?? 0) > 20, `tunnel RSS ${idle.values['rssMB']} MB`);

      const text = fs.readFileSync(md, 'utf8');
      assert.match(text, /^# Benchmarks/);
      assert.match(text, /\*\*Ambit ÷ each peer\.\*\*/);
      assert.match(text, /\| stunnel \| [\d.]+× \|/, 'a ratio row for stunnel');
      for (const chart of ['throughput.svg', 'latency-1000.svg']) {
        const svg = fs.readFileSync(path.join(dir, 'charts', chart), 'utf8');
        assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
        assert.ok(text.includes(`charts/${chart}`), `BENCHMARKS.md links ${chart}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const left = netnsNames().filter((n) => !before.has(n) && (n.startsWith('ambitb-') || n.startsWith('ambitbi-')));
    assert.deepEqual(left, [], 'the lab is torn down');
  });
});
