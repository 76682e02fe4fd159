// Constant-rate (open-loop) HTTP load client, wrk2-style: requests have fixed intended start
// times and latency is measured from that intended time, so a stalled server or a full
// connection pool shows up as latency instead of silently lowering the request rate.
import { performance } from 'node:perf_hooks';
import { formatDuration } from '../lib/duration.js';
import { Histogram } from './histogram.js';
import { rawHttp1Transport } from './load-http1.js';
import { http2Transport, type Outcome, type Transport } from './load-transport.js';

export interface LoadOptions {
  url: string;
  /** Requests per second (intended schedule). */
  rate: number;
  durationSec: number;
  /** Size of the fixed keep-alive connection pool (HTTP/2: number of sessions). */
  connections: number;
  /** Request body size; > 0 makes the default method POST. */
  payloadBytes: number;
  method?: string;
  /** Per-request timeout and the bound on waiting for in-flight requests after the run. */
  timeoutMs?: number;
  http2?: boolean;
  /** Seconds of load at the same rate on the same connections before the measured run; discarded. */
  warmupSec?: number;
  onWarmup?: (w: PhaseResult) => void;
  /** Called as the measured run starts (after any warm-up). */
  onMeasureStart?: () => void;
}

export interface LoadReport {
  target: string;
  protocol: 'http/1.1' | 'h2c';
  rate: number;
  durationSec: number;
  connections: number;
  payloadBytes: number;
  /** Requests issued (= ok + non2xx + errors.total). */
  requests: number;
  ok: number;
  non2xx: number;
  errors: { total: number; byKind: Record<string, number> };
  statusCodes: Record<string, number>;
  /** Completed responses per second of wall time (start → last completion). */
  throughputRps: number;
  /** Requests issued per second over the issuing window. */
  achievedRate: number;
  elapsedSec: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
}

const DEFAULT_TIMEOUT_MS = 5000;

export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  validate(opts);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const method = (opts.method ?? (opts.payloadBytes > 0 ? 'POST' : 'GET')).toUpperCase();
  const body = opts.payloadBytes > 0 ? Buffer.alloc(opts.payloadBytes, 'x') : undefined;
  const tOpts = { url: new URL(opts.url), connections: opts.connections, method, body, timeoutMs };
  const transport: Transport = opts.http2 ? http2Transport(tOpts) : rawHttp1Transport(tOpts);
  try {
    // The warm-up shares the pool, so the measured run sees warm connections (steady-state
    // latency, not the setup of fresh connections).
    if (opts.warmupSec) opts.onWarmup?.(await runPhase(transport, opts.rate, opts.warmupSec, timeoutMs));
    opts.onMeasureStart?.();
    const p = await runPhase(transport, opts.rate, opts.durationSec, timeoutMs);
    const ms = (us: number): number => Math.round(us) / 1000;
    return {
      target: opts.url,
      protocol: opts.http2 ? 'h2c' : 'http/1.1',
      rate: opts.rate,
      durationSec: opts.durationSec,
      connections: opts.connections,
      payloadBytes: opts.payloadBytes,
      requests: p.issued,
      ok: p.ok,
      non2xx: p.non2xx,
      errors: { total: p.errors, byKind: p.byKind },
      statusCodes: p.statusCodes,
      throughputRps: round3((p.ok + p.non2xx) / p.elapsedSec),
      achievedRate: round3(p.issued / p.issueSec),
      elapsedSec: round3(p.elapsedSec),
      latencyMs: {
        p50: ms(p.hist.percentile(50)),
        p90: ms(p.hist.percentile(90)),
        p99: ms(p.hist.percentile(99)),
        p999: ms(p.hist.percentile(99.9)),
        max: ms(p.hist.max),
        mean: ms(p.hist.mean),
      },
    };
  } finally {
    transport.close();
  }
}

export interface PhaseResult {
  issued: number;
  ok: number;
  non2xx: number;
  errors: number;
  byKind: Record<string, number>;
  statusCodes: Record<string, number>;
  /** Microseconds from each request's intended start to its completion. */
  hist: Histogram;
  elapsedSec: number;
  issueSec: number;
}

async function runPhase(transport: Transport, rate: number, durationSec: number, timeoutMs: number): Promise<PhaseResult> {
  const hist = new Histogram(); // microseconds, up to 60 s
  const byKind: Record<string, number> = {};
  const statusCodes: Record<string, number> = {};
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let lastDone = 0;
  const inflight = new Set<() => void>();

  const issue = (intended: number): void => {
    let settled = false;
    const finish = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      inflight.delete(abort);
      const now = performance.now();
      lastDone = now;
      if ('error' in o) {
        errors++;
        byKind[o.error] = (byKind[o.error] ?? 0) + 1;
        return;
      }
      // Latency from the intended start includes any wait for a free connection (CO correction).
      hist.record((now - intended) * 1000);
      statusCodes[o.status] = (statusCodes[o.status] ?? 0) + 1;
      if (o.status >= 200 && o.status < 300) ok++;
      else non2xx++;
    };
    const abort = (): void => {
      finish({ error: 'unfinished' });
      cancel();
    };
    inflight.add(abort);
    const cancel = transport.send(finish);
  };

  const start = performance.now();
  const total = Math.floor(rate * durationSec);
  const issued = await schedule(start, 1000 / rate, total, issue);
  const issueEnd = performance.now();

  await drain(inflight, timeoutMs);
  for (const abort of [...inflight]) abort();

  const end = lastDone > 0 ? lastDone : performance.now();
  return {
    issued,
    ok,
    non2xx,
    errors,
    byKind,
    statusCodes,
    hist,
    elapsedSec: Math.max(1e-9, (end - start) / 1000),
    issueSec: Math.max(durationSec, (issueEnd - start) / 1000),
  };
}

/**
 * Issues request i at start + i·interval; if the client falls behind, overdue requests go out
 * at once (their latency shows the lag). Timers only, never a setImmediate spin: a spinning
 * client takes a whole core from the system under test (on a 2-core box, half the machine).
 * The price is timer lateness (≤ ~1 ms) in every latency, the same for every target: the
 * generator's floor, visible against plain TCP.
 */
function schedule(start: number, interval: number, total: number, issue: (intended: number) => void): Promise<number> {
  return new Promise((resolve) => {
    let i = 0;
    const tick = (): void => {
      const now = performance.now();
      while (i < total && start + i * interval <= now) {
        issue(start + i * interval);
        i++;
      }
      if (i >= total) {
        resolve(i);
        return;
      }
      const wait = start + i * interval - performance.now();
      setTimeout(tick, Math.max(0, Math.floor(wait - 1)));
    };
    tick();
  });
}

/** Resolves when nothing is in flight or after timeoutMs, whichever is first. */
function drain(inflight: Set<unknown>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = (): void => {
      if (inflight.size === 0 || performance.now() >= deadline) resolve();
      else setTimeout(check, Math.min(10, Math.max(1, deadline - performance.now())));
    };
    check();
  });
}

function validate(o: LoadOptions): void {
  const bad = (what: string): never => {
    throw new RangeError(`load: ${what}`);
  };
  if (!(o.rate > 0) || !Number.isFinite(o.rate)) bad(`rate must be > 0 (got ${o.rate})`);
  if (!(o.durationSec > 0) || !Number.isFinite(o.durationSec)) bad(`duration must be > 0 (got ${o.durationSec})`);
  if (!Number.isInteger(o.connections) || o.connections < 1) bad(`connections must be an integer ≥ 1 (got ${o.connections})`);
  if (!Number.isInteger(o.payloadBytes) || o.payloadBytes < 0) bad(`payload must be an integer ≥ 0 (got ${o.payloadBytes})`);
  if (o.timeoutMs !== undefined && !(o.timeoutMs > 0)) bad(`timeout must be > 0 (got ${o.timeoutMs})`);
  let u: URL;
  try {
    u = new URL(o.url);
  } catch {
    return bad(`invalid url '${o.url}'`);
  }
  if (u.protocol !== 'http:') bad(`only http:// urls are supported (got '${o.url}')`);
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** One line: `load http://x/ 1000 rps 10s: 9998 ok, 2 err, p50 0.41ms p90 0.80ms p99 2.1ms p99.9 5.3ms`. */
export function formatLoadSummary(r: LoadReport): string {
  const non2xx = r.non2xx > 0 ? `, ${r.non2xx} non-2xx` : '';
  const l = r.latencyMs;
  return (
    `load ${r.target} ${r.rate} rps ${formatDuration(r.durationSec * 1000)}: ` +
    `${r.ok} ok, ${r.errors.total} err${non2xx}, ` +
    `p50 ${fmtMs(l.p50)} p90 ${fmtMs(l.p90)} p99 ${fmtMs(l.p99)} p99.9 ${fmtMs(l.p999)}`
  );
}

function fmtMs(v: number): string {
  if (v < 1) return `${v.toFixed(2)}ms`;
  if (v < 100) return `${v.toFixed(1)}ms`;
  return `${v.toFixed(0)}ms`;
}
