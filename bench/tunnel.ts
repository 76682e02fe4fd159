// Node tunnel benchmark (issue 5, item 7): the same pod A → pod B path measured as
//   plain    plain TCP, nothing captured or enrolled;
//   ambit    both pods enrolled in real node tunnels, one NodeTunnel per "node" in its own child
//            process (bench/support/tunnel-runner.ts): A's app dials B's pod IP, capture sends it
//            to A's 15001, HBONE (mTLS HTTP/2 CONNECT) to B:15008, B's tunnel dials the app;
//   stunnel  stunnel4 mTLS at both ends (TLS 1.3, ECDSA P-256, client certificate required).
// Systems are interleaved round-robin over N rounds (order rotated each round); medians with
// min–max are reported. Measures: iperf3 one stream (Gbit/s + tunnel/proxy CPU from
// /proc/<pid>/stat) and HTTP latency at a constant rate with the project's CO-corrected load
// client (`ambit app load`, in pod A) against `ambit app echo` (in pod B).
//
//   npm run bench:tunnel                 # 3 rounds, iperf3 -t 5, 10 s of load at 1000 req/s
//   npm run bench:tunnel -- --quick      # 1 round, iperf3 -t 3, 5 s of load
//   options: --rounds N --seconds S (iperf3) --lat-seconds S --rate RPS --connections N
//            --systems plain,ambit,stunnel --measure throughput,latency --retries N --budget S --quiet-wait S
//            --cpu-prof DIR (V8 profiles of the two tunnel processes) --runner-args '--trace-gc ...'
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessSet, allProcesses, cpuSeconds, createLab, deleteNetns, foreignCpuPct, machineCpu, netnsExists, ownCpu, pidsInNetns, sleep, waitListening, type Finished } from './support/lab.js';
import { openCa, snapshotOf, spiffeOf, workloadCertificate, type BenchPod } from './support/mesh.js';
import type { RunnerReply, RunnerRequest, RunnerStats } from './support/tunnel-runner.js';

// ---------------------------------------------------------------- settings
const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const num = (name: string, def: number, min = Number.MIN_VALUE): number => {
  const v = opt(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min === Number.MIN_VALUE ? '> 0' : min} (got '${v}')`);
  return n;
};
const quick = flag('quick');
const SYSTEMS = ['plain', 'ambit', 'stunnel'] as const;
type System = (typeof SYSTEMS)[number];
const settings = {
  preset: quick ? 'quick' : 'full',
  rounds: num('rounds', quick ? 1 : 3),
  iperfSeconds: num('seconds', quick ? 3 : 5),
  latencySeconds: num('lat-seconds', quick ? 5 : 10),
  warmupSeconds: 1,
  rate: num('rate', 1000),
  connections: num('connections', 16),
  requestBodyBytes: 1024,
  responsePaddingBytes: 1024,
  systems: (opt('systems')?.split(',') ?? [...SYSTEMS]) as System[],
  /** Before each slot, wait (at most this long) until other processes use less than quietPct of a core. */
  quietWaitSeconds: num('quiet-wait', quick ? 20 : 60, 0),
  quietPct: 15,
  /** A measurement during which other processes used more than this (100 = one core) is repeated, up to `retries` times. */
  disturbedPct: 15,
  retries: num('retries', 3, 0),
  /** After this many seconds of measuring, disturbed measurements are kept (flagged) instead of repeated, and quiet waits stop. */
  budgetSeconds: num('budget', quick ? 180 : 480),
  measure: (opt('measure')?.split(',') ?? ['throughput', 'latency']) as ('throughput' | 'latency')[],
};
for (const s of settings.systems) if (!SYSTEMS.includes(s)) throw new Error(`unknown system '${s}' (expected ${SYSTEMS.join(', ')})`);
const cpuProfDir = opt('cpu-prof');
/** Extra node flags for the two tunnel processes (diagnostics, e.g. --trace-gc). */
const runnerArgs = opt('runner-args')?.split(' ').filter(Boolean) ?? [];

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const AMBIT_BIN = path.join(here, '..', 'src', 'bin', 'ambit.js');
const RUNNER = path.join(here, 'support', 'tunnel-runner.js');
const LOAD_RUNNER = path.join(here, 'support', 'load-runner.js');
const RESULTS_DIR = path.join(here, '..', '..', 'bench', 'results');

const id = Math.random().toString(36).slice(2, 8);
const podA: BenchPod = { name: 'client', namespace: 'bench-a', serviceAccount: 'client', node: 'node1', ip: '10.79.0.1' };
const podB: BenchPod = { name: 'server', namespace: 'bench-b', serviceAccount: 'server', node: 'node2', ip: '10.79.0.2' };
const NS_A = `ambitbt-${id}-a`;
const NS_B = `ambitbt-${id}-b`;
const PORT = { iperf: 5201, http: 8080, echoTcp: 9000, stunnelCliIperf: 16001, stunnelCliHttp: 16002, stunnelSrvIperf: 16101, stunnelSrvHttp: 16102 };

// ---------------------------------------------------------------- lab state and teardown
const procs = new ProcessSet();
const runners: Runner[] = [];
let tmp = '';
let labUp = false;
let stunnelCli: ChildProcess | undefined;
let stunnelSrv: ChildProcess | undefined;

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    // Tunnels first: they remove their capture rules on close.
    await Promise.all(runners.map((r) => r.close()));
    await procs.stopAll();
    for (const ns of [NS_A, NS_B]) {
      // Anything still inside our own uniquely named namespaces was started by us.
      for (const pid of pidsInNetns(ns)) {
        console.error(`teardown: killing leftover pid ${pid} in ${ns}`);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      if (labUp || netnsExists(ns)) deleteNetns(ns);
    }
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

// ---------------------------------------------------------------- node tunnel child processes
class Runner {
  readonly child: ChildProcess;
  #pending: { resolve: (r: RunnerReply) => void; reject: (e: Error) => void } | undefined;

  constructor(readonly node: string) {
    this.child = fork(RUNNER, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      execArgv: [...runnerArgs, ...(cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `tunnel-${node}-${id}.cpuprofile`] : [])],
    });
    procs.add(`tunnel ${node}`, this.child);
    this.child.on('message', (m: RunnerReply) => {
      const p = this.#pending;
      this.#pending = undefined;
      if (!p) return;
      if (m.type === 'error') p.reject(new Error(`tunnel ${node}: ${m.message}`));
      else p.resolve(m);
    });
    this.child.once('exit', (code, signal) => {
      this.#pending?.reject(new Error(`tunnel ${node} exited (${signal ?? code})`));
      this.#pending = undefined;
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  request(m: RunnerRequest, timeoutMs = 15_000): Promise<RunnerReply> {
    if (this.#pending) return Promise.reject(new Error(`tunnel ${this.node}: request while another is pending`));
    if (!this.child.connected) return Promise.reject(new Error(`tunnel ${this.node} is not running`));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#pending = undefined;
        reject(new Error(`tunnel ${this.node}: no answer to '${m.type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending = {
        resolve: (r) => (clearTimeout(t), resolve(r)),
        reject: (e) => (clearTimeout(t), reject(e)),
      };
      this.child.send(m);
    });
  }

  async stats(reset = false): Promise<RunnerStats> {
    const r = await this.request({ type: 'stats', reset });
    if (r.type !== 'stats') throw new Error(`tunnel ${this.node}: unexpected reply ${r.type}`);
    return r.stats;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    if (this.child.connected) this.child.send({ type: 'close' } satisfies RunnerRequest);
    else this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(6000)]);
    await procs.stop(this.child);
  }
}

// ---------------------------------------------------------------- measurements
interface Failure {
  ok: false;
  error: string;
  /** Not measured in this run (--measure): neither a result nor a failure. */
  skipped?: true;
}
interface Throughput {
  ok: true;
  gbps: number;
  retransmits: number;
  seconds: number;
  /** 100 = one core; client-side + server-side proxy/tunnel processes. */
  proxyCpuPct?: { client: number; server: number; total: number };
  iperfCpuPct: { sender: number; receiver: number };
  /** CPU of processes outside the benchmark during the run (other work on the machine), 100 = one core. */
  otherCpuPct: number;
}
interface Latency {
  ok: boolean;
  error?: string;
  requests: number;
  okResponses: number;
  errors: number;
  non2xx: number;
  achievedRate: number;
  ms: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  proxyCpuUsPerRequest?: number;
  otherCpuPct: number;
}
interface SlotResult {
  round: number;
  system: System;
  /** Machine quiet check before the slot. */
  quiet?: { waitedSeconds: number; otherCpuPct: number };
  throughput: Throughput | Failure;
  latency: Latency | Failure;
  /** Measurements repeated because other processes were busy during them (kept for the record, not in the medians). */
  disturbed: { measure: 'throughput' | 'latency'; otherCpuPct: number; by: string[]; result: Throughput | Latency }[];
  /** ambit only: proof the traffic went through both tunnels (counters of the two runners over the slot). */
  tunnels?: {
    outboundHbone: number;
    outboundOther: number;
    outboundFailed: number;
    inboundOk: number;
    inboundErrored: number;
    inboundRefused: number;
    lastErrors: string[];
    /** Event-loop delay of each tunnel over the slot (client node, server node). */
    loopDelayMs: RunnerStats['loopDelayMs'][];
  };
}

/** CPU (100 = one core) used by processes that are not part of this benchmark, averaged over the window. */
const ownNow = (): number => ownCpu([NS_A, NS_B], runners.map((r) => r.pid));
let lastOtherTop: string[] = [];
function otherCpuMeter(): () => number {
  const m0 = machineCpu().busy;
  const o0 = ownNow();
  const p0 = allProcesses();
  const t0 = performance.now();
  return () => {
    const dt = (performance.now() - t0) / 1000;
    const pct = Math.round(Math.max(0, (machineCpu().busy - m0 - (ownNow() - o0)) / dt) * 100);
    // Who it was (processes alive at both ends; ours are excluded by PID).
    const own = new Set<number>([process.pid, ...[NS_A, NS_B].flatMap(pidsInNetns), ...runners.map((r) => r.pid ?? 0)]);
    const top: [string, number][] = [];
    for (const [pid, p1] of allProcesses()) {
      const p = p0.get(pid);
      if (!p || own.has(pid) || p1.comm !== p.comm) continue;
      const use = ((p1.cpu - p.cpu) / dt) * 100;
      if (use >= 1) top.push([`${p1.comm}[${pid}]`, Math.round(use)]);
    }
    lastOtherTop = top.sort((a, b) => b[1] - a[1]).slice(0, 3).map(([n, u]) => `${n} ${u}%`);
    return pct;
  };
}

/** Waits until the machine is quiet apart from us; returns seconds waited and the last sample. */
let runStart = Date.now();
const overBudget = (): boolean => Date.now() - runStart > settings.budgetSeconds * 1000;
async function waitQuiet(): Promise<{ waitedSeconds: number; otherCpuPct: number }> {
  const t0 = Date.now();
  let pct = await foreignCpuPct(ownNow);
  while (pct > settings.quietPct && Date.now() - t0 < settings.quietWaitSeconds * 1000 && !overBudget()) pct = await foreignCpuPct(ownNow);
  return { waitedSeconds: Math.round((Date.now() - t0) / 100) / 10, otherCpuPct: Math.round(pct) };
}

const fail = (e: unknown): Failure => ({ ok: false, error: e instanceof Error ? e.message : String(e) });
const round2 = (n: number): number => Math.round(n * 100) / 100;

/** [client-side, server-side] proxy PIDs of a system. */
function proxyPids(system: System): [number | undefined, number | undefined] | undefined {
  if (system === 'ambit') return [runners[0]?.pid, runners[1]?.pid];
  if (system === 'stunnel') return [stunnelCli?.pid, stunnelSrv?.pid];
  return undefined;
}

const brief = (f: Finished): string => `exit ${f.signal ?? f.code}${f.timedOut ? ' (timed out)' : ''}: ${(f.stderr || f.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`;

async function throughput(system: System): Promise<Throughput | Failure> {
  const T = settings.iperfSeconds;
  // A one-shot server per run: a stuck or confused server cannot spoil the next run.
  const server = procs.startIn('iperf3 -s', NS_B, ['timeout', '-k', '2', String(T + 40), 'iperf3', '-s', '-1', '-p', String(PORT.iperf)], path.join(tmp, 'iperf3-server.log'));
  try {
    await waitListening(NS_B, PORT.iperf, 5000, () => procs.alive(server));
    const [host, port] = system === 'stunnel' ? ['127.0.0.1', PORT.stunnelCliIperf] : [podB.ip, PORT.iperf];
    const pids = proxyPids(system);
    const cpu0 = pids?.map(cpuSeconds);
    const other = otherCpuMeter();
    const r = await procs.runBounded('iperf3 -c', ['ip', 'netns', 'exec', NS_A, 'timeout', '-k', '2', String(T + 20), 'iperf3', '-c', host, '-p', String(port), '-t', String(T), '-J'], (T + 30) * 1000);
    const cpu1 = pids?.map(cpuSeconds);
    const otherCpuPct = other();
    let j: {
      error?: string;
      end?: { sum_received?: { bits_per_second: number; seconds: number }; sum_sent?: { retransmits?: number }; cpu_utilization_percent?: { host_total: number; remote_total: number } };
    };
    try {
      j = JSON.parse(r.stdout) as typeof j;
    } catch {
      return fail(`iperf3 ${brief(r)}`);
    }
    if (j.error) return fail(`iperf3: ${j.error}`);
    const rx = j.end?.sum_received;
    if (r.code !== 0 || !rx || !(rx.bits_per_second > 0)) return fail(`iperf3 ${brief(r)}`);
    const out: Throughput = {
      ok: true,
      gbps: round2(rx.bits_per_second / 1e9),
      retransmits: j.end?.sum_sent?.retransmits ?? 0,
      seconds: round2(rx.seconds),
      iperfCpuPct: { sender: Math.round(j.end?.cpu_utilization_percent?.host_total ?? 0), receiver: Math.round(j.end?.cpu_utilization_percent?.remote_total ?? 0) },
      otherCpuPct,
    };
    if (cpu0 && cpu1) {
      const pct = (i: number): number => Math.round(((cpu1[i]! - cpu0[i]!) / rx.seconds) * 100);
      out.proxyCpuPct = { client: pct(0), server: pct(1), total: pct(0) + pct(1) };
    }
    return out;
  } catch (e) {
    return fail(e);
  } finally {
    await Promise.race([new Promise((r) => (procs.alive(server) ? server.once('exit', r) : r(undefined))), sleep(3000)]);
    await procs.stop(server);
  }
}

function loadArgv(system: System): string[] {
  const host = system === 'stunnel' ? `127.0.0.1:${PORT.stunnelCliHttp}` : `${podB.ip}:${PORT.http}`;
  const opts = {
    url: `http://${host}/bench?size=${settings.responsePaddingBytes}`,
    rate: settings.rate,
    durationSec: settings.latencySeconds,
    warmupSec: settings.warmupSeconds,
    connections: settings.connections,
    payloadBytes: settings.requestBodyBytes,
    timeoutMs: 5000,
  };
  const bound = settings.warmupSeconds + settings.latencySeconds + 20;
  return ['ip', 'netns', 'exec', NS_A, 'timeout', '-k', '2', String(bound), process.execPath, LOAD_RUNNER, JSON.stringify(opts)];
}

async function latency(system: System): Promise<Latency | Failure> {
  try {
    const pids = proxyPids(system);
    let cpu0: number[] | undefined;
    let cpu1: number[] | undefined;
    let other: (() => number) | undefined;
    let otherCpuPct = 0;
    // The runner warms up first (discarded) and says `measure` when the measured run starts.
    const r = await procs.runBounded('load', loadArgv(system), (settings.warmupSeconds + settings.latencySeconds + 30) * 1000, (line) => {
      if (line === 'measure') {
        cpu0 = pids?.map(cpuSeconds);
        other = otherCpuMeter();
      } else if (line.startsWith('{')) {
        cpu1 = pids?.map(cpuSeconds);
        otherCpuPct = other?.() ?? 0;
      }
    });
    type Report = { requests: number; ok: number; non2xx: number; errors: { total: number; byKind: Record<string, number> }; achievedRate: number; latencyMs: Latency['ms'] };
    let rep: Report;
    try {
      rep = (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { report: Report }).report;
    } catch {
      return fail(`load ${brief(r)}`);
    }
    const out: Latency = {
      ok: r.code === 0 && rep.errors.total === 0 && rep.non2xx === 0,
      requests: rep.requests,
      okResponses: rep.ok,
      errors: rep.errors.total,
      non2xx: rep.non2xx,
      achievedRate: Math.round(rep.achievedRate),
      ms: rep.latencyMs,
      otherCpuPct,
    };
    if (!out.ok) out.error = `${rep.errors.total} errors ${JSON.stringify(rep.errors.byKind)}, ${rep.non2xx} non-2xx (exit ${r.code})`;
    if (cpu0 && cpu1 && rep.requests > 0) out.proxyCpuUsPerRequest = Math.round(((cpu1[0]! - cpu0[0]! + (cpu1[1]! - cpu0[1]!)) / rep.requests) * 1e6);
    return out;
  } catch (e) {
    return fail(e);
  }
}

async function setEnrolled(on: boolean): Promise<void> {
  const want = on ? 'ready' : 'unenrolled';
  const replies = await Promise.all(runners.map((r) => r.request({ type: on ? 'enroll' : 'unenroll' })));
  for (const r of replies) if (r.type !== want) throw new Error(`tunnel: expected ${want}, got ${r.type}`);
}

async function slot(system: System, round: number): Promise<SlotResult> {
  const skipped: Failure = { ok: false, error: 'not measured', skipped: true };
  const res: SlotResult = { round, system, throughput: skipped, latency: skipped, disturbed: [] };
  let before: RunnerStats[] | undefined;
  try {
    res.quiet = await waitQuiet();
    if (system === 'ambit') {
      await setEnrolled(true);
      before = await Promise.all(runners.map((r) => r.stats(true)));
    }
    const measured = async <T extends Throughput | Latency>(measure: 'throughput' | 'latency', run: () => Promise<T | Failure>): Promise<T | Failure> => {
      for (let attempt = 0; ; attempt++) {
        const r = await run();
        if (!('otherCpuPct' in r) || r.otherCpuPct <= settings.disturbedPct || attempt >= settings.retries || overBudget()) return r;
        res.disturbed.push({ measure, otherCpuPct: r.otherCpuPct, by: lastOtherTop, result: r });
        console.error(`round ${round} ${system}: ${measure} disturbed (other processes ${r.otherCpuPct} % CPU: ${lastOtherTop.join(', ') || 'none of them alive at both ends'}), repeating`);
        await waitQuiet();
      }
    };
    if (settings.measure.includes('throughput')) res.throughput = await measured('throughput', () => throughput(system));
    if (settings.measure.includes('latency')) res.latency = await measured('latency', () => latency(system));
    if (system === 'ambit' && before) {
      await sleep(200); // inbound 'tunnel' events arrive when the streams close
      const after = await Promise.all(runners.map((r) => r.stats()));
      const d = (f: (s: RunnerStats) => number): number => after.reduce((n, s, i) => n + f(s) - f(before![i]!), 0);
      res.tunnels = {
        outboundHbone: d((s) => s.outbound.hbone),
        outboundOther: d((s) => s.outbound.tcp),
        outboundFailed: d((s) => s.outbound.failed),
        inboundOk: d((s) => s.inbound.ok),
        inboundErrored: d((s) => s.inbound.errored),
        inboundRefused: d((s) => s.inbound.refused),
        lastErrors: after.flatMap((s) => s.lastErrors).slice(-5),
        loopDelayMs: after.map((s) => s.loopDelayMs),
      };
      // No HBONE streams means the traffic bypassed the tunnels: the numbers would be plain TCP's.
      if (res.tunnels.outboundHbone === 0 || res.tunnels.inboundOk + res.tunnels.inboundErrored === 0) {
        const why = fail(`traffic did not go through the node tunnels (${JSON.stringify(res.tunnels)})`);
        res.throughput = why;
        res.latency = why;
      }
    }
  } catch (e) {
    if (settings.measure.includes('throughput') && !res.throughput.ok && (res.throughput as Failure).skipped) res.throughput = fail(e);
    if (settings.measure.includes('latency') && !res.latency.ok && (res.latency as Failure).skipped) res.latency = fail(e);
  } finally {
    if (system === 'ambit') await setEnrolled(false).catch((e: Error) => console.error(`unenroll: ${e.message}`));
  }
  return res;
}

// ---------------------------------------------------------------- summary
interface Spread {
  median: number;
  min: number;
  max: number;
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (xs: number[]): Spread | undefined => (xs.length ? { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) } : undefined);

function summarize(results: SlotResult[]) {
  const out: Record<string, unknown> = {};
  for (const system of settings.systems) {
    const mine = results.filter((r) => r.system === system);
    const isSkipped = (x: Throughput | Latency | Failure): boolean => !x.ok && (x as Failure).skipped === true;
    const mineT = mine.filter((r) => !isSkipped(r.throughput));
    const mineL = mine.filter((r) => !isSkipped(r.latency));
    const tp = mineT.map((r) => r.throughput).filter((t): t is Throughput => t.ok);
    const lat = mineL.map((r) => r.latency).filter((l): l is Latency => l.ok);
    const cpu = tp.map((t) => t.proxyCpuPct?.total).filter((x): x is number => x !== undefined);
    const ms = (k: keyof Latency['ms']): Spread | undefined => spread(lat.map((l) => l.ms[k]));
    const usReq = lat.map((l) => l.proxyCpuUsPerRequest).filter((x): x is number => x !== undefined);
    out[system] = {
      throughput: {
        runs: mineT.length,
        repeatedDisturbed: mine.reduce((n, r) => n + r.disturbed.filter((d) => d.measure === 'throughput').length, 0),
        ok: tp.length,
        gbps: spread(tp.map((t) => t.gbps)),
        proxyCpuPct: spread(cpu),
        gbpsPerProxyCore: cpu.length ? spread(tp.map((t) => (t.proxyCpuPct ? round2(t.gbps / (t.proxyCpuPct.total / 100)) : 0))) : undefined,
        retransmits: spread(tp.map((t) => t.retransmits)),
        otherCpuPct: spread(tp.map((t) => t.otherCpuPct)),
        keptDisturbed: tp.filter((t) => t.otherCpuPct > settings.disturbedPct).length,
        failures: mineT.map((r) => r.throughput).filter((t): t is Failure => !t.ok).map((f) => f.error),
      },
      latency: {
        runs: mineL.length,
        repeatedDisturbed: mine.reduce((n, r) => n + r.disturbed.filter((d) => d.measure === 'latency').length, 0),
        ok: lat.length,
        p50: ms('p50'),
        p90: ms('p90'),
        p99: ms('p99'),
        p999: ms('p999'),
        max: ms('max'),
        achievedRate: spread(lat.map((l) => l.achievedRate)),
        proxyCpuUsPerRequest: spread(usReq),
        otherCpuPct: spread(lat.map((l) => l.otherCpuPct)),
        keptDisturbed: lat.filter((l) => l.otherCpuPct > settings.disturbedPct).length,
        failures: mineL.map((r) => r.latency).filter((l): l is Failure | Latency => !l.ok).map((f) => f.error ?? '?'),
      },
    };
  }
  return out as Record<System, { throughput: { runs: number; repeatedDisturbed: number; ok: number; gbps?: Spread; proxyCpuPct?: Spread; gbpsPerProxyCore?: Spread; retransmits?: Spread; otherCpuPct?: Spread; keptDisturbed: number; failures: string[] }; latency: { runs: number; repeatedDisturbed: number; ok: number; p50?: Spread; p90?: Spread; p99?: Spread; p999?: Spread; max?: Spread; achievedRate?: Spread; proxyCpuUsPerRequest?: Spread; otherCpuPct?: Spread; keptDisturbed: number; failures: string[] } }>;
}

type Summary = ReturnType<typeof summarize>;

function ratios(s: Summary) {
  const g = (sys: System): number | undefined => s[sys]?.throughput.gbps?.median;
  const p = (sys: System): number | undefined => s[sys]?.latency.p99?.median;
  const div = (a?: number, b?: number): number | undefined => (a !== undefined && b !== undefined && b > 0 ? Math.round((a / b) * 1000) / 1000 : undefined);
  const r = {
    throughputAmbitOverPlain: div(g('ambit'), g('plain')),
    throughputAmbitOverStunnel: div(g('ambit'), g('stunnel')),
    p99AmbitOverPlain: div(p('ambit'), p('plain')),
    p99AmbitOverStunnel: div(p('ambit'), p('stunnel')),
  };
  return {
    ...r,
    targets: {
      oneStreamAtLeastStunnel: r.throughputAmbitOverStunnel === undefined ? 'not measured' : r.throughputAmbitOverStunnel >= 1 ? 'met' : 'not met',
      p99AtMost125xPlain: r.p99AmbitOverPlain === undefined ? 'not measured' : r.p99AmbitOverPlain <= 1.25 ? 'met' : 'not met',
    },
  };
}

function table(s: Summary, rt: ReturnType<typeof ratios>): string {
  const f = (x: Spread | undefined, digits = 2): string => (x ? `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}–${x.max.toFixed(digits)})` : '–');
  const m = (x: Spread | undefined, digits = 2): string => (x ? x.median.toFixed(digits) : '–');
  const lines = [
    `| system | 1-stream Gbit/s, median (min–max) | tunnel/proxy CPU % (cli+srv) | Gbit/s per proxy core | p50 ms | p90 ms | p99 ms, median (min–max) | p99.9 ms | proxy CPU µs/req | runs ok (tput / lat) | disturbed: repeated, kept (tput / lat) |`,
    `|---|---|---|---|---|---|---|---|---|---|---|`,
  ];
  for (const sys of settings.systems) {
    const t = s[sys].throughput;
    const l = s[sys].latency;
    // A system that failed every run shows as failed, never as a blank.
    const tv = (v: string): string => (t.runs === 0 ? '–' : t.ok === 0 ? '**failed**' : v);
    const lv = (v: string): string => (l.runs === 0 ? '–' : l.ok === 0 ? '**failed**' : v);
    const runs = (x: { ok: number; runs: number }): string => (x.runs === 0 ? '–' : `${x.ok}/${x.runs}${x.ok < x.runs ? ` (**${x.runs - x.ok} failed**)` : ''}`);
    lines.push(
      `| ${sys} | ${tv(f(t.gbps))} | ${tv(m(t.proxyCpuPct, 0))} | ${tv(m(t.gbpsPerProxyCore))} | ${lv(m(l.p50))} | ${lv(m(l.p90))} | ${lv(f(l.p99))} | ${lv(m(l.p999))} | ${lv(m(l.proxyCpuUsPerRequest, 0))} | ${runs(t)} / ${runs(l)} | ${t.repeatedDisturbed}, ${t.keptDisturbed} / ${l.repeatedDisturbed}, ${l.keptDisturbed} |`,
    );
  }
  const x = (v: number | undefined): string => (v === undefined ? '–' : `${v.toFixed(2)}×`);
  lines.push('');
  lines.push(`Ambit / plain: throughput ${x(rt.throughputAmbitOverPlain)}, p99 ${x(rt.p99AmbitOverPlain)}. Ambit / stunnel: throughput ${x(rt.throughputAmbitOverStunnel)}, p99 ${x(rt.p99AmbitOverStunnel)}.`);
  lines.push(`Targets: one-stream ≥ stunnel: ${rt.targets.oneStreamAtLeastStunnel}; p99 ≤ 1.25× plain at ${settings.rate} req/s: ${rt.targets.p99AtMost125xPlain}.`);
  return lines.join('\n');
}

function machine() {
  const first = (cmd: string[], re: RegExp): string => {
    const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
    const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
    return text.split('\n').find((l) => re.test(l))?.trim() ?? 'unknown';
  };
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    nodeOpenssl: process.versions.openssl,
    kernel: `${os.type()} ${os.release()}`,
    iperf3: first(['iperf3', '--version'], /^iperf/),
    stunnel: first(['stunnel4', '-version'], /^stunnel \d/),
    stunnelOpenssl: first(['stunnel4', '-version'], /OpenSSL/),
  };
}

// ---------------------------------------------------------------- lab bring-up
function stunnelConf(side: 'client' | 'server', files: { cert: string; key: string; roots: string }): string {
  const common = (name: string, accept: string, connect: string): string[] => [
    `[${name}]`,
    ...(side === 'client' ? ['client = yes'] : []),
    `accept = ${accept}`,
    `connect = ${connect}`,
    `cert = ${files.cert}`,
    `key = ${files.key}`,
    `CAfile = ${files.roots}`,
    'verifyChain = yes',
    // client: the server's certificate must name B's IP; server: a client certificate is required.
    ...(side === 'client' ? [`checkIP = ${podB.ip}`] : ['requireCert = yes']),
    'sslVersion = TLSv1.3',
    'ciphersuites = TLS_AES_256_GCM_SHA384',
  ];
  const services =
    side === 'client'
      ? [...common('iperf', `127.0.0.1:${PORT.stunnelCliIperf}`, `${podB.ip}:${PORT.stunnelSrvIperf}`), ...common('http', `127.0.0.1:${PORT.stunnelCliHttp}`, `${podB.ip}:${PORT.stunnelSrvHttp}`)]
      : [...common('iperf', `${podB.ip}:${PORT.stunnelSrvIperf}`, `127.0.0.1:${PORT.iperf}`), ...common('http', `${podB.ip}:${PORT.stunnelSrvHttp}`, `127.0.0.1:${PORT.http}`)];
  return ['foreground = yes', 'pid =', 'debug = 3', ...services, ''].join('\n');
}

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error('bench:tunnel needs root (it creates network namespaces, veth links and nftables rules)');
  const missing = ['ip', 'nft', 'ss', 'iperf3', 'stunnel4', 'timeout', 'getconf'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length) throw new Error(`missing tools: ${missing.join(', ')} (scripts/setup.sh installs them: iproute2 nftables iperf3 stunnel4 coreutils)`);
  for (const f of [AMBIT_BIN, RUNNER, LOAD_RUNNER]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run npm run build`);
}

async function main(): Promise<void> {
  preflight();
  if (cpuProfDir) fs.mkdirSync(cpuProfDir, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), `ambit-bench-tunnel-${id}-`));
  fs.chmodSync(tmp, 0o700);
  console.error(`lab ${NS_A} (${podA.ip}) <-veth-> ${NS_B} (${podB.ip}); ${settings.rounds} round(s) of ${settings.systems.join(', ')}`);

  // Certificates: SPIFFE workload certs for the tunnels (and the stunnel client), an IP-SAN server cert for stunnel's server.
  const ca = await openCa(path.join(tmp, 'ca'));
  const certA = await workloadCertificate(ca, podA);
  const certB = await workloadCertificate(ca, podB);
  const srv = await ca.issueServerCert([], [podB.ip], 3 * 3600);
  const write = (name: string, body: string): string => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, body, { mode: 0o600 });
    return p;
  };
  const roots = write('roots.pem', ca.rootsPem);
  const cliFiles = { cert: write('stunnel-client.pem', certA.chainPem.join('')), key: write('stunnel-client.key', certA.keyPem), roots };
  const srvFiles = { cert: write('stunnel-server.pem', srv.certChain), key: write('stunnel-server.key', srv.key), roots };

  labUp = true;
  createLab({ netns: NS_A, ip: podA.ip }, { netns: NS_B, ip: podB.ip });

  const echo = procs.startIn('echo', NS_B, [process.execPath, AMBIT_BIN, 'app', 'echo', '--http-port', String(PORT.http), '--tcp-port', String(PORT.echoTcp), '--name', 'bench-server'], path.join(tmp, 'echo.log'));
  if (settings.systems.includes('stunnel')) {
    stunnelSrv = procs.startIn('stunnel server', NS_B, ['stunnel4', write('stunnel-server.conf', stunnelConf('server', srvFiles))], path.join(tmp, 'stunnel-server.log'));
    stunnelCli = procs.startIn('stunnel client', NS_A, ['stunnel4', write('stunnel-client.conf', stunnelConf('client', cliFiles))], path.join(tmp, 'stunnel-client.log'));
  }
  const showLog = (name: string): string => {
    try {
      return fs.readFileSync(path.join(tmp, name), 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {
      return '';
    }
  };
  await waitListening(NS_B, PORT.http, 10_000, () => procs.alive(echo)).catch((e: Error) => {
    throw new Error(`${e.message}\n${showLog('echo.log')}`);
  });
  if (stunnelSrv && stunnelCli) {
    const [s, c] = [stunnelSrv, stunnelCli];
    await waitListening(NS_B, PORT.stunnelSrvHttp, 10_000, () => procs.alive(s)).catch((e: Error) => {
      throw new Error(`${e.message}\n${showLog('stunnel-server.log')}`);
    });
    await waitListening(NS_A, PORT.stunnelCliHttp, 10_000, () => procs.alive(c)).catch((e: Error) => {
      throw new Error(`${e.message}\n${showLog('stunnel-client.log')}`);
    });
  }

  if (settings.systems.includes('ambit')) {
    // One node tunnel per node, each enrolling its own pod; both know the whole mesh.
    const snapshot = snapshotOf([podA, podB]);
    for (const [pod, ns, cert] of [[podA, NS_A, certA], [podB, NS_B, certB]] as const) {
      const r = new Runner(pod.node);
      runners.push(r);
      const reply = await r.request({ type: 'init', node: pod.node, snapshot, certificate: cert, pod: { netns: ns, ip: pod.ip } });
      if (reply.type !== 'ready') throw new Error(`tunnel ${pod.node}: expected ready, got ${reply.type}`);
      console.error(`node tunnel ${pod.node} (pid ${r.pid}) enrolled ${ns} as ${spiffeOf(pod)}`);
    }
    await setEnrolled(false); // each slot enrolls; the others run uncaptured
  }

  const results: SlotResult[] = [];
  const t0 = Date.now();
  runStart = t0;
  for (let round = 1; round <= settings.rounds; round++) {
    const k = (round - 1) % settings.systems.length;
    const order = [...settings.systems.slice(k), ...settings.systems.slice(0, k)];
    for (const system of order) {
      const r = await slot(system, round);
      results.push(r);
      const t = !r.throughput.ok && (r.throughput as Failure).skipped ? '–' : r.throughput.ok ? `${r.throughput.gbps} Gbit/s${r.throughput.proxyCpuPct ? ` (proxies ${r.throughput.proxyCpuPct.total} % CPU)` : ''} [other ${r.throughput.otherCpuPct} %]` : `FAILED: ${r.throughput.error}`;
      const l = !r.latency.ok && (r.latency as Failure).skipped ? '–' : r.latency.ok ? `p50 ${r.latency.ms.p50} ms p99 ${r.latency.ms.p99} ms p99.9 ${r.latency.ms.p999} ms [other ${r.latency.otherCpuPct} %]` : `FAILED: ${r.latency.error ?? '?'}`;
      console.error(`round ${round} ${system.padEnd(7)} iperf3 ${t}; load ${l}`);
    }
  }
  const runSeconds = Math.round((Date.now() - t0) / 1000);

  const summary = summarize(results);
  const rt = ratios(summary);
  const md = table(summary, rt);
  console.log(`\nNode tunnel benchmark (${settings.preset}: ${settings.rounds} round(s), iperf3 -t ${settings.iperfSeconds}, ${settings.rate} req/s for ${settings.latencySeconds} s, ${settings.connections} connections, 1 KiB bodies)\n`);
  console.log(md);

  const date = new Date().toISOString();
  const result = {
    benchmark: 'tunnel',
    date,
    machine: machine(),
    settings: { ...settings, runSeconds, lab: { a: { netns: 'ambitbt-<id>-a', ip: podA.ip }, b: { netns: 'ambitbt-<id>-b', ip: podB.ip }, link: 'one veth pair' } },
    method: {
      plain: `iperf3 / ambit app load in pod A → ${podB.ip}:5201 / :8080 directly (nothing enrolled)`,
      ambit: 'both pods enrolled in real NodeTunnels, one per node, each in its own child process; A dials B’s pod IP, in-pod capture → A:15001 → HBONE mTLS HTTP/2 CONNECT → B:15008 → B’s tunnel → app (client IP preserved)',
      stunnel: `stunnel4 client in A (127.0.0.1:${PORT.stunnelCliIperf}/${PORT.stunnelCliHttp}) → stunnel4 server in B (${podB.ip}:${PORT.stunnelSrvIperf}/${PORT.stunnelSrvHttp}) → 127.0.0.1; TLS 1.3 TLS_AES_256_GCM_SHA384, ECDSA P-256, client certificate required`,
      throughput: 'iperf3 one stream, received bit rate; tunnel/proxy CPU = utime+stime of the client-side and server-side processes (all threads) over the transfer, 100 = one core',
      latency: `the project's load client (src/apps/load.ts runLoad, as \`ambit app load\`: constant rate, coordinated-omission corrected) in pod A against \`ambit app echo\` in pod B; up to ${settings.connections} keep-alive HTTP/1.1 connections, POST with a ${settings.requestBodyBytes}-byte body, JSON response with ${settings.responsePaddingBytes} bytes of padding; a ${settings.warmupSeconds} s warm-up in the same client process is discarded`,
      order: 'systems interleaved round-robin, order rotated each round; medians over rounds',
    },
    summary,
    ratios: rt,
    runs: results,
  };
  const file = path.join(RESULTS_DIR, `tunnel-${quick ? 'quick-' : ''}${date.slice(0, 10)}.json`);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.error(`\nwrote ${path.relative(process.cwd(), file)}`);
}

let code = 0;
try {
  await main();
} catch (e) {
  console.error(`bench:tunnel: ${(e as Error).stack ?? String(e)}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
