// HTTP latency at a constant rate from pod A to the echo app in pod B (1 KiB request body, 1 KiB
// of response padding, keep-alive connections, warm-up discarded), with two clients:
//   own     the project's load client (src/apps/load.ts): latency from the *intended* send time
//           of the schedule, i.e. corrected for coordinated omission;
//   h2load  nghttp2's h2load --h1 --rps (Debian): a real constant-rate client; latency from the
//           actual send, per request from its --log-file, so not CO-corrected.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brief } from './throughput.js';
import { proxyUsage, type ProxyUsage } from './proxy-usage.js';
import { failed, type MeasureContext, type MeasureOutcome } from './types.js';

const LOAD_RUNNER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'load-runner.js');
export const BODY_BYTES = 1024;
const WARMUP_S = 1;

const ms = (us: number): number => Math.round(us / 10) / 100;

function usageValues(used: ProxyUsage | undefined, requests: number): Record<string, number> {
  if (!used || used.processes === 0 || requests === 0) return {};
  return { cpuUsPerReq: Math.round((used.cpuSeconds / requests) * 1e6), peakRssMB: Math.round(used.peakRssMB * 10) / 10 };
}

export async function measureLatencyOwn(ctx: MeasureContext): Promise<MeasureOutcome> {
  const { lab, system, seconds } = ctx;
  const rate = ctx.rate ?? 1000;
  const to = system.target('http');
  const opts = {
    url: `http://${to.host}:${to.port}/bench?size=${BODY_BYTES}`,
    rate,
    durationSec: seconds,
    warmupSec: WARMUP_S,
    connections: ctx.concurrency ?? 16,
    payloadBytes: BODY_BYTES,
    timeoutMs: 5000,
  };
  const bound = WARMUP_S + seconds + 20;
  try {
    let end: (() => ProxyUsage) | undefined;
    let used: ProxyUsage | undefined;
    // The runner warms up (discarded) and prints `measure` when the measured run starts.
    const r = await lab.procs.runBounded(
      'load',
      ['ip', 'netns', 'exec', lab.a.netns, 'timeout', '-k', '2', String(bound), process.execPath, LOAD_RUNNER, JSON.stringify(opts)],
      (bound + 10) * 1000,
      (line) => {
        if (line === 'measure') end = proxyUsage(system);
        else if (line.startsWith('{')) used = end?.();
      },
    );
    type Report = { requests: number; ok: number; non2xx: number; errors: { total: number; byKind: Record<string, number> }; achievedRate: number; latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number } };
    let rep: Report;
    let clientLoop: { p99: number; max: number } | undefined;
    try {
      const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { report: Report; clientLoopDelayMs?: { p99: number; max: number } };
      rep = out.report;
      clientLoop = out.clientLoopDelayMs;
    } catch {
      return failed(`load client ${brief(r)}`);
    }
    const l = rep.latencyMs;
    const values = { p50Ms: l.p50, p90Ms: l.p90, p99Ms: l.p99, p999Ms: l.p999, maxMs: l.max, achievedRps: Math.round(rep.achievedRate), requests: rep.requests, errors: rep.errors.total + rep.non2xx, ...usageValues(used, rep.requests), ...(clientLoop ? { clientLoopDelayP99Ms: clientLoop.p99, clientLoopDelayMaxMs: clientLoop.max } : {}) };
    if (r.code !== 0 || rep.errors.total > 0 || rep.non2xx > 0) return { ok: false, error: `${rep.errors.total} errors ${JSON.stringify(rep.errors.byKind)}, ${rep.non2xx} non-2xx (exit ${r.code})`, values };
    return { ok: true, values };
  } catch (e) {
    return failed(e);
  }
}

export async function measureLatencyH2load(ctx: MeasureContext): Promise<MeasureOutcome> {
  const { lab, system, seconds } = ctx;
  const rate = ctx.rate ?? 1000;
  const clients = ctx.concurrency ?? 16;
  const to = system.target('http');
  const log = path.join(lab.tmp, `h2load-${system.name}-${rate}.log`);
  const body = path.join(lab.tmp, 'body-1k');
  fs.writeFileSync(body, Buffer.alloc(BODY_BYTES, 'x'));
  fs.rmSync(log, { force: true });
  const bound = WARMUP_S + seconds + 20;
  try {
    let used: ProxyUsage | undefined;
    // h2load has no "measured phase started" signal: the window includes the warm-up, and CPU per
    // request is divided over warm-up + measured requests (both at the same rate).
    const end = proxyUsage(system);
    const r = await lab.procs.runBounded(
      'h2load',
      ['ip', 'netns', 'exec', lab.a.netns, 'timeout', '-k', '2', String(bound), 'h2load', '--h1', '-c', String(clients), '--rps', String(rate / clients), '-D', String(seconds), '--warm-up-time', String(WARMUP_S), '-d', body, '-N', '5', '--log-file', log, `http://${to.host}:${to.port}/bench?size=${BODY_BYTES}`],
      (bound + 10) * 1000,
    );
    used = end();
    let lines: string[];
    try {
      lines = fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    } catch {
      return failed(`h2load wrote no log: ${brief(r)}`);
    }
    // Each line: start time (µs since epoch) \t status \t latency (µs).
    // A line without an HTTP status (≤ 0) is a request h2load cut off when -D ran out: not an
    // answer at all, so neither a latency nor a non-2xx; h2load's own summary says if it failed.
    const lat: number[] = [];
    let bad = 0;
    for (const line of lines) {
      const [, status, us] = line.split('\t');
      const code = Number(status);
      if (code >= 200 && code < 300) lat.push(Number(us));
      else if (code >= 100) bad++;
    }
    const summary = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(r.stdout);
    const failedN = summary ? Number(summary[5]) + Number(summary[6]) + Number(summary[7]) : 0;
    if (lat.length === 0) return failed(`h2load: no successful request (${brief(r)})`);
    lat.sort((a, b) => a - b);
    const q = (p: number): number => ms(lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)]!);
    const total = lat.length + bad;
    const values = { p50Ms: q(50), p90Ms: q(90), p99Ms: q(99), p999Ms: q(99.9), maxMs: ms(lat.at(-1)!), achievedRps: Math.round(total / seconds), requests: total, errors: bad + failedN, ...usageValues(used, Math.round(total * ((seconds + WARMUP_S) / seconds))) };
    if (r.code !== 0 || bad > 0 || failedN > 0) return { ok: false, error: `h2load: ${bad} non-2xx, ${failedN} failed/errored/timed out (${brief(r)})`, values };
    return { ok: true, values };
  } catch (e) {
    return failed(e);
  }
}
