// The JSON one `ambit bench` run writes (bench/results/bench-<preset>-<date>.json). BENCHMARKS.md
// and the charts are generated from this file alone, so every number in them comes from one run.
import type { SystemName } from '../systems/types.js';

export type { SystemName };

/** Median with min–max over the rounds that succeeded. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many values (successful rounds). */
  n: number;
}

/**
 * A measure key:
 *   tput-1, tput-4                     iperf3 with 1 / 4 parallel streams
 *   lat-own-1000, lat-own-4000         the project's CO-corrected load client at 1k / 4k req/s
 *   lat-h2load-1000, lat-h2load-4000   h2load --h1 --rps (a real constant-rate client, not CO-corrected)
 *   handshakes                         full mTLS handshakes against the system's TLS server
 *   newconns                           new connections per second through the (warm) system
 *   idle-pods                          ambit only: node tunnel with 20 enrolled idle pods
 */
export type MeasureKey = 'tput-1' | 'tput-4' | 'lat-own-1000' | 'lat-own-4000' | 'lat-h2load-1000' | 'lat-h2load-4000' | 'handshakes' | 'newconns' | 'idle-pods';

/**
 * Value keys a measure may report (each a Spread over rounds):
 *   tput-*:      gbps, proxyCpuPct (100 = one core, client+server side), gbpsPerProxyCore, retransmits, peakRssMB
 *   lat-*:       p50Ms, p90Ms, p99Ms, p999Ms, maxMs, achievedRps, cpuUsPerReq (proxy CPU per request, both sides), peakRssMB
 *   handshakes:  perSecond (observed), serverCpuPct, perCoreSecond (handshakes ÷ server CPU-seconds)
 *   newconns:    perSecond, p50SetupMs, p99SetupMs (connect → all 64 bytes echoed back), cpuUsPerConn
 *   idle-pods:   rssMB (after enrolling), rssPerPodMB, pods
 */
export type ValueKey = string;

/** One measure of one system in one round. */
export interface RunResult {
  round: number;
  system: SystemName;
  measure: MeasureKey;
  ok: boolean;
  /** Why it failed (a peer that failed is reported, never dropped). */
  error?: string;
  values: Record<ValueKey, number>;
  /** CPU used by processes outside the benchmark during the measurement (100 = one core). */
  otherCpuPct?: number;
  /** Free-form evidence (e.g. ambit: HBONE streams seen by the tunnels). */
  evidence?: Record<string, unknown>;
}

/** Medians of one measure of one system over all rounds. */
export interface Row {
  system: SystemName;
  measure: MeasureKey;
  runs: number;
  ok: number;
  /** "round N: error" per failed run. */
  failures: string[];
  values: Record<ValueKey, Spread>;
  /** CPU used outside the benchmark during the successful rounds (RunResult.otherCpuPct), if reported. */
  otherCpuPct?: Spread;
}

export interface Target {
  /** Which issue set it (e.g. '#6'). */
  issue: string;
  name: string;
  /** Human text of the target, e.g. '≥ stunnel'. */
  want: string;
  /** The measured figure it is judged on, as text (e.g. '0.82× stunnel'). */
  got: string;
  met: boolean | 'not measured';
  /** For an absolute target: the same figure for the other systems in this run (what is reachable here). */
  others?: string;
}

export interface BenchReport {
  benchmark: 'ambit-bench';
  schema: 1;
  date: string;
  preset: 'quick' | 'full';
  command: string;
  machine: { cpuModel: string; cores: number; memGiB: number; kernel: string };
  /** Versions of everything measured and measuring (node, openssl, iperf3, stunnel, haproxy, wireguard-go, h2load). */
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  systems: SystemName[];
  /** Path description per system, and how each measure is taken. */
  method: { systems: Partial<Record<SystemName, string>>; measures: Partial<Record<MeasureKey, string>>; notes: string[] };
  rows: Row[];
  runs: RunResult[];
  targets: Target[];
  /** Control-plane benchmarks run in the same invocation (their own JSON, embedded), or why not. */
  ca?: { ok: true; result: unknown } | { ok: false; error: string };
  xds?: { ok: true; result: unknown } | { ok: false; error: string };
  /** Whole-run problems (a system that could not start, the lab, …). */
  failures: string[];
  runSeconds: number;
}
