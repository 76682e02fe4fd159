// The latency client of the tunnel benchmark, run inside pod A's netns:
//   node dist/bench/support/load-runner.js '<LoadOptions JSON + warmupSec>'
// It is the project's own load client (src/apps/load.ts runLoad, what `ambit app load` runs:
// constant rate, latency from the intended send time), called twice in one process: a warm-up
// whose result is discarded, then the measured run. Both runs share one keep-alive pool (runLoad
// makes an http.Agent per run; here every `new http.Agent` returns the same one, and the
// warm-up's close does not destroy it), so the measured run sees warm connections — steady-state
// request latency, as the peer baselines were measured — and not the setup of fresh connections
// (a TLS handshake per connection for stunnel, a CONNECT per connection for the node tunnel).
// Prints a line `measure` when the measured run starts (the parent samples CPU counters there),
// then {"warmup": {...}, "report": LoadReport}; exit 1 if the measured run had errors.
import http from 'node:http';
import { runLoad, type LoadOptions } from '../../src/apps/load.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as LoadOptions & { warmupSec: number; freshConnections?: boolean };
const { warmupSec, freshConnections, ...load } = opts;

let shared: http.Agent | undefined;
let destroyShared = (): void => {};
if (!freshConnections) {
  const RealAgent = http.Agent;
  const SharedAgent = function (this: unknown, o?: http.AgentOptions): http.Agent {
    if (!shared) {
      shared = new RealAgent(o);
      destroyShared = shared.destroy.bind(shared);
      shared.destroy = () => {}; // runLoad closes its transport after each run
    }
    return shared;
  };
  (http as unknown as { Agent: unknown }).Agent = SharedAgent;
}

const warm = await runLoad({ ...load, durationSec: warmupSec });
process.stdout.write('measure\n');
const report = await runLoad(load);
destroyShared();
process.stdout.write(
  `${JSON.stringify({ warmup: { requests: warm.requests, ok: warm.ok, errors: warm.errors.total, p99Ms: warm.latencyMs.p99 }, sharedPool: !freshConnections, report })}\n`,
);
process.exit(report.errors.total === 0 && report.non2xx === 0 ? 0 : 1);
