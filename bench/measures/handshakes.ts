// Measure `handshakes`: full TLS 1.3 mTLS handshakes per second against the system's own TLS server
// in pod B (stunnel/haproxy: their server side; ambit: the HBONE listener :15008 of B's tunnel),
// from a client in pod A (bench/support/handshake-runner.ts), and what they cost the server:
//   perSecond      handshakes completed in the measured window ÷ its length
//   serverCpuPct   CPU of target.serverPids() over the window (utime+stime, 100 = one core)
//   perCoreSecond  handshakes ÷ those server CPU-seconds (the figure that does not depend on
//                  how many cores the client could use)
//   errors         failed attempts in the window
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INPOD_MARK } from '../../src/platform/capture-rules.js';
import { cpuSeconds, type Finished } from '../support/lab.js';
import type { HandshakeRunnerOptions, HandshakeRunnerResult } from '../support/handshake-runner.js';
import { failed, type MeasureContext, type MeasureOutcome } from './types.js';

const RUNNER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'handshake-runner.js');
const WARMUP_SEC = 1;

const brief = (f: Finished): string => `exit ${f.signal ?? f.code}${f.timedOut ? ' (timed out)' : ''}: ${(f.stderr || f.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`;
const topKinds = (kinds: Record<string, number>): string =>
  Object.entries(kinds)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, n]) => `${n}× ${k}`)
    .join('; ');

export async function measureHandshakes(ctx: MeasureContext): Promise<MeasureOutcome> {
  const { lab, system, seconds } = ctx;
  if (!system.handshakeTarget) return { ok: false, error: `not applicable: ${system.name} has no per-connection TLS handshake`, values: {} };
  try {
    const target = system.handshakeTarget();
    const opts: HandshakeRunnerOptions = {
      host: target.host,
      port: target.port,
      ...(target.servername ? { servername: target.servername } : {}),
      ...(target.alpn ? { alpn: target.alpn } : {}),
      // Pod A's SPIFFE workload certificate: what HBONE requires, and the TLS peers' client cert.
      cert: lab.certs.client.cert,
      key: lab.certs.client.key,
      ca: lab.certs.roots,
      spiffeIds: [lab.certs.podB.identity],
      concurrency: ctx.concurrency ?? 32,
      seconds,
      warmupSec: WARMUP_SEC,
      timeoutMs: 5000,
      // With pod A enrolled, A's capture would redirect the client's connection to B:15008 into
      // A's own tunnel (which B then refuses: 15008 is no app port). The tunnel's own mark
      // exempts the client from capture, as it exempts the tunnel's HBONE connections.
      ...(system.name === 'ambit' ? { mark: INPOD_MARK } : {}),
    };
    const bound = WARMUP_SEC + seconds + 15;
    const argv = ['ip', 'netns', 'exec', lab.a.netns, 'timeout', '-k', '2', String(bound), process.execPath, RUNNER, JSON.stringify(opts)];
    let cpu0: number | undefined;
    let cpu1: number | undefined;
    let t0 = 0;
    let t1 = 0;
    const serverCpu = (): number => target.serverPids().reduce((n, p) => n + cpuSeconds(p), 0);
    const r = await lab.procs.runBounded('handshake client', argv, (bound + 5) * 1000, (line) => {
      if (line === 'measure') {
        cpu0 = serverCpu();
        t0 = performance.now();
      } else if (line.startsWith('{')) {
        cpu1 = serverCpu();
        t1 = performance.now();
      }
    });
    let res: HandshakeRunnerResult;
    try {
      res = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('\n{') + 1)) as HandshakeRunnerResult;
    } catch {
      return { ok: false, error: `handshake client ${brief(r)}`, values: {} };
    }
    const values: Record<string, number> = { perSecond: Math.round(res.completed / res.seconds), errors: res.errors };
    if (cpu0 !== undefined && cpu1 !== undefined && t1 > t0) {
      const cpu = cpu1 - cpu0;
      values.serverCpuPct = Math.round((cpu / ((t1 - t0) / 1000)) * 100);
      if (cpu > 0) values.perCoreSecond = Math.round(res.completed / cpu);
    }
    const evidence = { target: `${target.host}:${target.port}`, alpn: target.alpn, completed: res.completed, errorKinds: res.errorKinds, warmup: res.warmup, concurrency: opts.concurrency };
    const attempts = res.completed + res.errors;
    if (res.completed === 0) return { ok: false, error: `no handshake completed (${res.errors} errors: ${topKinds(res.errorKinds) || brief(r)})`, values, evidence };
    if (res.errors > 0.01 * attempts) return { ok: false, error: `${res.errors} of ${attempts} handshakes failed: ${topKinds(res.errorKinds)}`, values, evidence };
    if (r.code !== 0) return { ok: false, error: `handshake client ${brief(r)}`, values, evidence };
    return { ok: true, values, evidence };
  } catch (e) {
    return failed(e);
  }
}
