// Measure `newconns`: new connections per second through the (warm) system, from a client in pod A
// (bench/support/connect-runner.ts) to the TCP echo server in pod B, each: connect, 64 bytes
// there and back, close. Setup includes the system's per-connection path setup (a TLS handshake
// for stunnel/haproxy, a new HTTP/2 CONNECT stream on the pooled HBONE session for ambit).
//   perSecond     connections completed in the measured window ÷ its length
//   p50SetupMs, p99SetupMs   connect() call → all 64 bytes echoed
//   cpuUsPerConn  CPU of the system's client+server processes over the window ÷ connections (not for plain)
//   connections, errors
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, type Finished } from '../support/lab.js';
import type { ConnectRunnerOptions, ConnectRunnerResult } from '../support/connect-runner.js';
import { failed, type MeasureContext, type MeasureOutcome } from './types.js';

const RUNNER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'connect-runner.js');
const WARMUP_SEC = 1;

const brief = (f: Finished): string => `exit ${f.signal ?? f.code}${f.timedOut ? ' (timed out)' : ''}: ${(f.stderr || f.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`;
const topKinds = (kinds: Record<string, number>): string =>
  Object.entries(kinds)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, n]) => `${n}× ${k}`)
    .join('; ');

/**
 * Thousands of connections a second for several seconds would run pod A out of ephemeral ports
 * (the client closes first, so TIME_WAIT lands in A): widen the range and let connect() reuse
 * TIME_WAIT ports (after 1 s). The range starts at 20000, not lower: an ephemeral port (or its
 * TIME_WAIT) on a port a listener in A binds later makes that bind fail — seen with 1024–65000,
 * when Ambit's tunnel re-bound 15006 at the next enroll. Both sysctls are per network namespace;
 * the host's are left alone.
 */
async function tunePodA(ctx: MeasureContext): Promise<string | undefined> {
  for (const kv of ['net.ipv4.ip_local_port_range=20000 65000', 'net.ipv4.tcp_tw_reuse=1']) {
    const r = await ctx.lab.procs.runBounded('sysctl', ['ip', 'netns', 'exec', ctx.lab.a.netns, 'timeout', '5', 'sysctl', '-q', '-w', kv], 10_000);
    if (r.code !== 0) return `sysctl ${kv} in ${ctx.lab.a.netns}: ${brief(r)}`;
  }
  return undefined;
}

export async function measureNewConnections(ctx: MeasureContext): Promise<MeasureOutcome> {
  const { lab, system, seconds } = ctx;
  try {
    const tuneError = await tunePodA(ctx);
    if (tuneError) return { ok: false, error: tuneError, values: {} };
    const target = system.target('echo');
    const opts: ConnectRunnerOptions = { host: target.host, port: target.port, concurrency: ctx.concurrency ?? 32, seconds, warmupSec: WARMUP_SEC, timeoutMs: 5000 };
    const bound = WARMUP_SEC + seconds + 15;
    const argv = ['ip', 'netns', 'exec', lab.a.netns, 'timeout', '-k', '2', String(bound), process.execPath, RUNNER, JSON.stringify(opts)];
    const pids = system.pids();
    const all = [...pids.client, ...pids.server];
    const cpu = (): number => all.reduce((n, p) => n + cpuSeconds(p), 0);
    let cpu0: number | undefined;
    let cpu1: number | undefined;
    const r = await lab.procs.runBounded('connect client', argv, (bound + 5) * 1000, (line) => {
      if (line === 'measure') cpu0 = cpu();
      else if (line.startsWith('{')) cpu1 = cpu();
    });
    let res: ConnectRunnerResult;
    try {
      res = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('\n{') + 1)) as ConnectRunnerResult;
    } catch {
      return { ok: false, error: `connect client ${brief(r)}`, values: {} };
    }
    const values: Record<string, number> = {
      perSecond: Math.round(res.connections / res.seconds),
      p50SetupMs: res.setupMs.p50,
      p99SetupMs: res.setupMs.p99,
      connections: res.connections,
      errors: res.errors,
    };
    if (all.length && cpu0 !== undefined && cpu1 !== undefined && res.connections > 0) values.cpuUsPerConn = Math.round(((cpu1 - cpu0) / res.connections) * 1e6);
    const evidence = { target: `${target.host}:${target.port}`, errorKinds: res.errorKinds, maxSetupMs: res.setupMs.max, slowCloses: res.slowCloses, warmup: res.warmup, concurrency: opts.concurrency };
    const attempts = res.connections + res.errors;
    if (res.connections === 0) return { ok: false, error: `no connection completed (${res.errors} errors: ${topKinds(res.errorKinds) || brief(r)})`, values, evidence };
    if (res.errors > 0.01 * attempts) return { ok: false, error: `${res.errors} of ${attempts} connections failed: ${topKinds(res.errorKinds)}`, values, evidence };
    if (r.code !== 0) return { ok: false, error: `connect client ${brief(r)}`, values, evidence };
    return { ok: true, values, evidence };
  } catch (e) {
    return failed(e);
  }
}
