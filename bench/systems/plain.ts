// Plain TCP: pod A dials pod B directly over the veth pair. The physical ceiling of the lab, and
// the load generator's own floor for latency.
import type { BenchSystem, Lab } from './types.js';

export function plainSystem(): BenchSystem {
  let lab: Lab | undefined;
  return {
    name: 'plain',
    description: 'pod A → pod B directly over the veth pair, nothing captured, nothing encrypted',
    async start(l) {
      lab = l;
    },
    target(service) {
      if (!lab) throw new Error('plain: not started');
      return { host: lab.b.ip, port: lab.ports[service] };
    },
    pids: () => ({ client: [], server: [] }),
    async stop() {},
  };
}
