// `ambit bench` / `npm run bench`: Ambit against plain TCP and real peers, side by side in one run.
// Builds its own lab (two pod namespaces on a veth pair), starts every system over the same
// pod A → pod B path, runs the measures per system interleaved round-robin (order rotated each
// round), then the CA and xDS churn benchmarks, and writes one JSON per run, BENCHMARKS.md and
// SVG charts generated from it. The lab is torn down on exit, error and Ctrl-C.
//
//   ambit bench --quick                 # 3 short rounds, under 10 minutes
//   ambit bench                         # full preset
//   options: --rounds N --systems plain,ambit,... --measures tput-1,lat-own-4000,...
//            --seconds S (iperf3) --lat-seconds S --no-control-plane --no-report (JSON only)
//            --md FILE (default BENCHMARKS.md) --out DIR (default bench/results)
//            --tunnel-args='--cpu-prof --cpu-prof-dir /tmp/prof' (node flags for the tunnel processes; note the =)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_FLAGS, BENCH_SPEC } from '../src/cli/specs.js';
import { renderHelp, synopsis } from '../src/cli/help.js';
import { measureHandshakes } from './measures/handshakes.js';
import { measureLatencyH2load, measureLatencyOwn } from './measures/latency.js';
import { measureNewConnections } from './measures/new-connections.js';
import { measureThroughput } from './measures/throughput.js';
import type { MeasureContext, MeasureOutcome } from './measures/types.js';
import { writeReport } from './report/cli.js';
import { judgeTargets, summarize } from './report/summarize.js';
import type { BenchReport, MeasureKey, RunResult } from './report/types.js';
import { createBenchCa } from './support/certs.js';
import { ProcessSet, createLab, deleteNetns, netnsExists, pidsInNetns, waitListening } from './support/lab.js';
import { QuietMeter } from './support/quiet.js';
import { ambitSystem, type AmbitSystem } from './systems/ambit.js';
import { haproxySystem } from './systems/haproxy.js';
import { plainSystem } from './systems/plain.js';
import { stunnelSystem } from './systems/stunnel.js';
import { SYSTEM_NAMES, type BenchSystem, type Lab, type SystemName } from './systems/types.js';
import { wireguardSystem } from './systems/wireguard.js';

const ALL_MEASURES: MeasureKey[] = ['tput-1', 'tput-4', 'lat-own-1000', 'lat-own-4000', 'lat-h2load-1000', 'lat-h2load-4000', 'newconns', 'handshakes', 'idle-pods'];

/** Bad flags: one line saying what to fix, no stack trace, exit 2. */
function usageError(msg: string): never {
  console.error(`ambit bench: ${msg}\nusage: ${synopsis(BENCH_SPEC)}\n  systems: ${SYSTEM_NAMES.join(',')}\n  measures: ${ALL_MEASURES.join(',')}`);
  process.exit(2);
}

// Run directly (npm run bench -- --help) rather than through `ambit bench`.
if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  process.stdout.write(renderHelp(BENCH_SPEC));
  process.exit(0);
}

const { values: args } = (() => {
  try {
    return parseOptions();
  } catch (e) {
    return usageError((e as Error).message.split('\n')[0]!);
  }
})();
function parseOptions() {
  return parseArgs({ options: BENCH_FLAGS });
}
const quick = args.quick === true;
const num = (v: string | undefined, def: number, name: string): number => {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) usageError(`--${name} must be a positive number (got '${v}')`);
  return n;
};
const list = <T extends string>(v: string | undefined, all: readonly T[], name: string): T[] => {
  if (v === undefined) return [...all];
  const xs = v.split(',').filter(Boolean) as T[];
  for (const x of xs) if (!all.includes(x)) usageError(`--${name}: unknown '${x}' (expected ${all.join(', ')})`);
  return xs;
};

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const ROOT = path.join(here, '..', '..');
const settings = {
  preset: quick ? ('quick' as const) : ('full' as const),
  rounds: num(args.rounds, 3, 'rounds'),
  iperfSeconds: num(args.seconds, quick ? 3 : 5, 'seconds'),
  latencySeconds: num(args['lat-seconds'], quick ? 3 : 10, 'lat-seconds'),
  newConnSeconds: quick ? 2 : 5,
  handshakeSeconds: quick ? 2 : 5,
  latencyConnections: 16,
  connectConcurrency: 32,
  handshakeConcurrency: 32,
  idlePods: 20,
  rates: [1000, 4000],
  bodyBytes: 1024,
  systems: list<SystemName>(args.systems, SYSTEM_NAMES, 'systems'),
  measures: list<MeasureKey>(args.measures, ALL_MEASURES, 'measures'),
  controlPlane: args['no-control-plane'] !== true,
  /** Before each slot, wait at most this long for other processes to go below quietPct of a core. */
  quietWaitSeconds: quick ? 5 : 30,
  quietPct: 15,
  /** A measurement during which other processes used more than this is repeated (full preset only). */
  disturbedPct: 20,
  retries: quick ? 0 : 2,
};
const resultsDir = path.resolve(args.out ?? path.join(ROOT, 'bench', 'results'));
const mdPath = path.resolve(args.md ?? path.join(ROOT, 'BENCHMARKS.md'));

// ---------------------------------------------------------------- lab and teardown
const id = Math.random().toString(36).slice(2, 8);
const procs = new ProcessSet();
const started: BenchSystem[] = [];
let lab: Lab | undefined;
let tmp = '';
const NETNS = [`ambitb-${id}-a`, `ambitb-${id}-b`];

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    // Ambit first: its tunnels remove their capture rules on close.
    for (const s of [...started.filter((x) => x.name === 'ambit'), ...started.filter((x) => x.name !== 'ambit')]) await s.stop().catch((e: Error) => console.error(`stop ${s.name}: ${e.message}`));
    await procs.stopAll();
    for (const ns of NETNS) {
      // Anything still inside our own uniquely named namespaces was started by us.
      for (const pid of pidsInNetns(ns)) {
        console.error(`teardown: killing leftover pid ${pid} in ${ns}`);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      if (netnsExists(ns)) deleteNetns(ns);
    }
    for (const f of fs.readdirSync('/run/netns', { withFileTypes: true }).filter((d) => d.name.startsWith(`ambitbi-${id}-`))) deleteNetns(f.name);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: tearing the lab down`);
    void cleanup().finally(() => process.exit(130));
  });
}

function makeSystem(name: SystemName): BenchSystem {
  switch (name) {
    case 'plain':
      return plainSystem();
    case 'ambit':
      return ambitSystem({ execArgv: () => args['tunnel-args']?.split(' ').filter(Boolean) ?? [] });
    case 'stunnel':
      return stunnelSystem();
    case 'haproxy':
      return haproxySystem();
    case 'wireguard':
      return wireguardSystem();
  }
}

// Debian packages each system and measure needs; a missing one fails that system, loudly.
const TOOLS: Partial<Record<SystemName, string[]>> = { stunnel: ['stunnel4'], haproxy: ['haproxy'], wireguard: ['wireguard-go', 'wg'] };
const have = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error('ambit bench needs root: it creates network namespaces, veth links and nftables rules (run it with sudo)');
  const missing = ['ip', 'nft', 'ss', 'iperf3', 'h2load', 'timeout'].filter((t) => !have(t));
  if (missing.length) throw new Error(`missing tools: ${missing.join(', ')} (bash scripts/setup.sh --deps-only installs them: iproute2 nftables iperf3 nghttp2-client coreutils)`);
}

function version(cmd: string[], re: RegExp): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  return text.split('\n').find((l) => re.test(l))?.trim() ?? 'not installed';
}

// ---------------------------------------------------------------- measures
type Runner = (ctx: MeasureContext) => Promise<MeasureOutcome>;
function measuresOf(system: BenchSystem): [MeasureKey, Runner][] {
  const s = settings;
  const all: [MeasureKey, Runner][] = [
    ['tput-1', (c) => measureThroughput({ ...c, seconds: s.iperfSeconds }, 1)],
    ['tput-4', (c) => measureThroughput({ ...c, seconds: s.iperfSeconds }, 4)],
    ['lat-own-1000', (c) => measureLatencyOwn({ ...c, seconds: s.latencySeconds, rate: 1000, concurrency: s.latencyConnections })],
    ['lat-own-4000', (c) => measureLatencyOwn({ ...c, seconds: s.latencySeconds, rate: 4000, concurrency: s.latencyConnections })],
    ['lat-h2load-1000', (c) => measureLatencyH2load({ ...c, seconds: s.latencySeconds, rate: 1000, concurrency: s.latencyConnections })],
    ['lat-h2load-4000', (c) => measureLatencyH2load({ ...c, seconds: s.latencySeconds, rate: 4000, concurrency: s.latencyConnections })],
    ['newconns', (c) => measureNewConnections({ ...c, seconds: s.newConnSeconds, concurrency: s.connectConcurrency })],
  ];
  // Full mTLS handshakes only where the system does one per connection or session.
  if (system.handshakeTarget) all.push(['handshakes', (c) => measureHandshakes({ ...c, seconds: s.handshakeSeconds, concurrency: s.handshakeConcurrency })]);
  return all.filter(([k]) => s.measures.includes(k));
}

const fmt = (o: MeasureOutcome): string =>
  o.ok
    ? Object.entries(o.values)
        .filter(([k]) => ['gbps', 'proxyCpuPct', 'p50Ms', 'p99Ms', 'p999Ms', 'cpuUsPerReq', 'perSecond', 'p99SetupMs', 'perCoreSecond', 'peakRssMB', 'rssMB'].includes(k))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : `FAILED: ${o.error}`;

async function slot(system: BenchSystem, round: number, quiet: QuietMeter, out: RunResult[], startError: string | undefined): Promise<void> {
  const measures = measuresOf(system);
  if (startError) {
    for (const [measure] of measures) out.push({ round, system: system.name, measure, ok: false, error: startError, values: {} });
    return;
  }
  await quiet.waitQuiet(settings.quietPct, settings.quietWaitSeconds);
  const mine: RunResult[] = [];
  try {
    await system.enter?.();
    for (const [measure, run] of measures) {
      let r: RunResult;
      for (let attempt = 0; ; attempt++) {
        const meter = quiet.start();
        const o = await run({ lab: lab!, system, seconds: 0 });
        const other = meter();
        if (o.ok) Object.assign(o.values, await system.afterMeasure?.());
        r = { round, system: system.name, measure, ok: o.ok, ...(o.error ? { error: o.error } : {}), values: o.values, otherCpuPct: other, ...(o.evidence ? { evidence: o.evidence } : {}) };
        if (other <= settings.disturbedPct || attempt >= settings.retries) break;
        console.error(`  ${measure}: disturbed (others ${other} % CPU: ${quiet.lastOthers.join(', ')}), repeating`);
        await quiet.waitQuiet(settings.quietPct, settings.quietWaitSeconds);
      }
      console.error(`round ${round} ${system.name.padEnd(9)} ${measure.padEnd(15)} ${fmt(r)}${(r.otherCpuPct ?? 0) > settings.disturbedPct ? ` [disturbed: others ${r.otherCpuPct} %]` : ''}`);
      mine.push(r);
    }
    // Numbers that did not go through the system would be plain TCP's: fail them all.
    const bypass = await system.verify?.();
    if (bypass) for (const r of mine) Object.assign(r, { ok: false, error: bypass });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    for (const [measure] of measures) if (!mine.some((r) => r.measure === measure)) mine.push({ round, system: system.name, measure, ok: false, error: msg, values: {} });
  } finally {
    await system.leave?.().catch((e: Error) => console.error(`${system.name}: leave: ${e.message}`));
  }
  out.push(...mine);
}

async function idlePods(system: AmbitSystem, round: number): Promise<RunResult> {
  try {
    const r = await system.idlePods(settings.idlePods);
    const values = { pods: r.pods, rssMB: Math.round(r.rssAfterMB * 10) / 10, rssBeforeMB: Math.round(r.rssBeforeMB * 10) / 10, rssPerPodMB: Math.round(((r.rssAfterMB - r.rssBeforeMB) / r.pods) * 100) / 100 };
    console.error(`round ${round} ambit     idle-pods       ${r.pods} pods: RSS ${values.rssBeforeMB} → ${values.rssMB} MB`);
    return { round, system: 'ambit', measure: 'idle-pods', ok: true, values };
  } catch (e) {
    return { round, system: 'ambit', measure: 'idle-pods', ok: false, error: e instanceof Error ? e.message : String(e), values: {} };
  }
}

/** A control-plane benchmark in a child process, bounded; its JSON is embedded in the report. */
function controlPlaneBench(script: string, extra: string[], boundS: number): { ok: true; result: unknown } | { ok: false; error: string } {
  const file = path.join(tmp, `${path.basename(script, '.js')}.json`);
  console.error(`running ${script} ${extra.join(' ')}`);
  const r = spawnSync('timeout', ['-k', '5', String(boundS), process.execPath, path.join(here, script), ...extra, '--json', file], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  try {
    return { ok: true, result: JSON.parse(fs.readFileSync(file, 'utf8')) as unknown };
  } catch {
    const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    return { ok: false, error: `${script} exit ${r.status ?? r.signal}${r.status === 124 ? ` (timed out after ${boundS} s)` : ''}: ${tail.slice(0, 400)}` };
  }
}

// ---------------------------------------------------------------- main
async function main(): Promise<void> {
  preflight();
  const t0 = Date.now();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), `ambit-bench-${id}-`));
  fs.chmodSync(tmp, 0o700);
  const a = { netns: NETNS[0]!, ip: '10.79.0.1' };
  const b = { netns: NETNS[1]!, ip: '10.79.0.2' };
  const certs = await createBenchCa(tmp, { name: 'client', namespace: 'bench-a', serviceAccount: 'client', node: 'node1', ip: a.ip }, { name: 'server', namespace: 'bench-b', serviceAccount: 'server', node: 'node2', ip: b.ip });
  createLab(a, b);
  lab = { id, tmp, a, b, ports: { iperf: 5201, http: 8080, echo: 9000 }, procs, certs };
  console.error(`lab ${a.netns} (${a.ip}) <-veth-> ${b.netns} (${b.ip}); ${settings.rounds} round(s) of ${settings.systems.join(', ')}`);

  const echo = procs.startIn('echo', b.netns, [process.execPath, path.join(here, '..', 'src', 'bin', 'ambit.js'), 'app', 'echo', '--http-port', '8080', '--tcp-port', '9000', '--name', 'bench-server'], path.join(tmp, 'echo.log'));
  await waitListening(b.netns, 8080, 10_000, () => procs.alive(echo));
  await waitListening(b.netns, 9000, 10_000, () => procs.alive(echo));

  // Start every system once; one that cannot start fails all its measures with the reason.
  const systems = settings.systems.map(makeSystem);
  const startErrors = new Map<SystemName, string>();
  for (const s of systems) {
    const missing = (TOOLS[s.name] ?? []).filter((t) => !have(t));
    if (missing.length) {
      startErrors.set(s.name, `not installed: ${missing.join(', ')} (bash scripts/setup.sh --deps-only installs it)`);
      continue;
    }
    try {
      started.push(s);
      await s.start(lab);
      console.error(`${s.name}: started`);
    } catch (e) {
      startErrors.set(s.name, `could not start: ${e instanceof Error ? e.message : String(e)}`);
      console.error(`${s.name}: ${startErrors.get(s.name)}`);
    }
  }

  const quiet = new QuietMeter(
    () => [...NETNS, ...fs.readdirSync('/run/netns').filter((n) => n.startsWith(`ambitbi-${id}-`))],
    () => started.flatMap((s) => [...s.pids().client, ...s.pids().server]),
  );
  const runs: RunResult[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    const k = (round - 1) % systems.length;
    for (const system of [...systems.slice(k), ...systems.slice(0, k)]) {
      await slot(system, round, quiet, runs, startErrors.get(system.name));
      if (system.name === 'ambit' && settings.measures.includes('idle-pods')) {
        runs.push(startErrors.has('ambit') ? { round, system: 'ambit', measure: 'idle-pods', ok: false, error: startErrors.get('ambit')!, values: {} } : await idlePods(system as AmbitSystem, round));
      }
    }
  }
  // The lab's processes are done; the control-plane benchmarks run alone.
  await cleanup();

  const report: BenchReport = {
    benchmark: 'ambit-bench',
    schema: 1,
    date: new Date().toISOString(),
    preset: settings.preset,
    command: `ambit bench ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10, kernel: `${os.type()} ${os.release()}` },
    versions: {
      node: process.version,
      'node openssl': process.versions.openssl,
      iperf3: version(['iperf3', '--version'], /^iperf/),
      stunnel: version(['stunnel4', '-version'], /^stunnel \d/),
      haproxy: version(['haproxy', '-v'], /^HAProxy version/i),
      'wireguard-go': version(['dpkg-query', '-W', 'wireguard-go'], /wireguard-go/),
      h2load: version(['h2load', '--version'], /h2load/),
    },
    settings: { ...settings, lab: 'two network namespaces joined by one veth pair (10.79.0.1 ↔ 10.79.0.2); node tunnels run in the host namespace' },
    systems: settings.systems,
    method: {
      systems: Object.fromEntries(systems.map((s) => [s.name, s.description])),
      measures: {
        'tput-1': `iperf3 -t ${settings.iperfSeconds}, one stream, received rate; proxy CPU = utime+stime of the client- and server-side processes (all threads) from /proc, 100 = one core; peak RSS = VmHWM reset before each run`,
        'tput-4': `iperf3 -t ${settings.iperfSeconds} -P 4`,
        'lat-own-1000': `the project's load client (src/apps/load.ts, CO-corrected: latency from the intended send time), ${settings.latencyConnections} keep-alive HTTP/1.1 connections, POST 1 KiB, 1 KiB response, 1 s warm-up discarded, ${settings.latencySeconds} s measured; CPU per request = proxy CPU-seconds ÷ requests`,
        'lat-own-4000': 'as lat-own-1000 at 4000 req/s',
        'lat-h2load-1000': `h2load --h1 -c ${settings.latencyConnections} --rps (rate ÷ connections) -D ${settings.latencySeconds} --warm-up-time 1, POST 1 KiB; percentiles from its per-request log (from the actual send: not CO-corrected)`,
        'lat-h2load-4000': 'as lat-h2load-1000 at 4000 req/s',
        newconns: `new TCP connections from pod A to B's echo port for ${settings.newConnSeconds} s, ${settings.connectConcurrency} in flight, 64 bytes echoed then closed; setup time = connect() → echo received; after a 1 s warm-up (Ambit's HBONE pool is warm)`,
        handshakes: `full TLS 1.3 mTLS handshakes (no resumption) against the system's TLS server in pod B, ${settings.handshakeConcurrency} concurrent, ${settings.handshakeSeconds} s; per core-second = handshakes ÷ server CPU-seconds`,
        'idle-pods': `a fresh node tunnel process (the data plane: NodeTunnel, as the other measures use; the daemon adds its xDS client and certificate manager) with ${settings.idlePods} pods enrolled (own netns, identity and certificate), no traffic; RSS 2 s after enrolling, and before enrolling`,
      },
      notes: [
        `Systems interleaved round-robin, order rotated each round; medians over ${settings.rounds} rounds with min–max.`,
        `Other processes' CPU is sampled during each measurement (otherCpuPct in the JSON); above ${settings.disturbedPct} % of a core it is ${settings.retries ? `repeated up to ${settings.retries} times, then ` : ''}flagged.`,
      ],
    },
    rows: [],
    runs,
    targets: [],
    failures: [...startErrors].map(([s, e]) => `${s}: ${e}`),
    runSeconds: 0,
  };
  report.rows = summarize(runs, settings.systems);
  report.targets = judgeTargets(report.rows);
  if (settings.controlPlane) {
    report.ca = controlPlaneBench('ca.js', quick ? ['--seconds', '8', '--sign-count', '300', '--requests', '1000'] : [], quick ? 90 : 180);
    report.xds = controlPlaneBench('xds-scale.js', quick ? ['--quick', '--clients', '100', '--namespaces', '50', '--seconds', '15', '--relabel-every', '10'] : ['--quick'], quick ? 150 : 300);
  }
  report.runSeconds = Math.round((Date.now() - t0) / 1000);

  fs.mkdirSync(resultsDir, { recursive: true });
  const json = path.join(resultsDir, `bench-${settings.preset}-${report.date.slice(0, 19).replace(/:/g, '')}.json`);
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  console.error(`wrote ${path.relative(process.cwd(), json)}`);
  if (args['no-report'] !== true) {
    const written = writeReport(report, { mdPath, chartsDir: path.join(resultsDir, 'charts'), chartLinkBase: path.relative(path.dirname(mdPath), path.join(resultsDir, 'charts')) });
    for (const f of written) console.error(`wrote ${path.relative(process.cwd(), f)}`);
  }
  const bad = report.rows.filter((r) => r.ok < r.runs);
  if (bad.length) console.error(`\n${bad.length} measure(s) had failures: ${bad.map((r) => `${r.system}/${r.measure} ${r.runs - r.ok}/${r.runs}`).join(', ')} (details in the report)`);
}

let code = 0;
try {
  await main();
} catch (e) {
  console.error(`ambit bench: ${e instanceof Error ? e.message : String(e)}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
