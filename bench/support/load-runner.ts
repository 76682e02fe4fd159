// The latency client of the benchmark, run inside pod A's netns:
//   node dist/bench/support/load-runner.js '<LoadOptions JSON + warmupSec>'
// It is the project's own load client (src/apps/load.ts runLoad, what `ambit app load` runs:
// constant rate, latency from the intended send time). A warm-up on the same connections comes
// first and is discarded, so the measured run sees steady-state request latency, as the peer
// baselines were measured, and not connection setup (a TLS handshake per connection for stunnel,
// a CONNECT per connection for the node tunnel).
// Prints a line `measure` when the measured run starts (the parent samples CPU counters there),
// then {"warmup": {...}, "clientLoopDelayMs": {p50, p99, max}, "report": LoadReport}; exit 1 if the measured run had errors.
import { runLoad, type LoadOptions, type PhaseResult } from '../../src/apps/load.js';
import { LoopDelay } from './loop-delay.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
let warm: PhaseResult | undefined;
// The client's own lateness: a descheduled or busy client delays its sends, and the latency
// it reports (from the intended send time) includes that, whatever the system under test did.
const loop = new LoopDelay();
const report = await runLoad({
  ...opts,
  onWarmup: (w) => (warm = w),
  onMeasureStart: () => {
    loop.enable();
    process.stdout.write('measure\n');
  },
});
const clientLoopDelayMs = loop.read();
const warmup = warm && { requests: warm.issued, ok: warm.ok, errors: warm.errors, p99Ms: Math.round(warm.hist.percentile(99)) / 1000 };
process.stdout.write(`${JSON.stringify({ warmup, clientLoopDelayMs, report })}\n`);
process.exit(report.errors.total === 0 && report.non2xx === 0 ? 0 : 1);
