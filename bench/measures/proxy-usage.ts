// CPU and peak memory of a system's proxy/tunnel processes over one measurement window.
import { cpuSeconds, peakRssMB, resetPeakRss } from '../support/lab.js';
import type { BenchSystem } from '../systems/types.js';

export interface ProxyUsage {
  /** CPU-seconds used by the client-side and server-side processes (all threads). */
  cpuSeconds: number;
  /** Sum over the processes of each one's peak RSS in the window (MB). */
  peakRssMB: number;
  processes: number;
}

/** Starts a window: resets the peak RSS counters and reads CPU; the returned function ends it. */
export function proxyUsage(system: BenchSystem): () => ProxyUsage {
  const { client, server } = system.pids();
  const pids = [...client, ...server];
  for (const p of pids) resetPeakRss(p);
  const cpu0 = pids.map(cpuSeconds);
  return () => ({
    cpuSeconds: pids.reduce((n, p, i) => n + cpuSeconds(p) - cpu0[i]!, 0),
    peakRssMB: pids.reduce((n, p) => n + peakRssMB(p), 0),
    processes: pids.length,
  });
}

export const round2 = (n: number): number => Math.round(n * 100) / 100;
