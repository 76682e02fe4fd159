// How late a benchmark process's event loop ran, for the report's diagnostics. Sampled every
// 10 ms: a 1 ms timer woke each node tunnel 1000 times a second (strace: a third of its epoll
// wake-ups at 1k req/s), CPU charged to the system being measured; the stalls that matter for
// the tail are longer than that.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const RESOLUTION_MS = 10;

export interface LoopDelayMs {
  p50: number;
  p99: number;
  max: number;
}

export class LoopDelay {
  readonly #h: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  enable(): void {
    this.#h.enable();
  }

  /** Lateness since enable() or the last reset, in ms: what exceeds the sampling interval (the histogram holds whole intervals). */
  read(reset = false): LoopDelayMs {
    const late = (ns: number): number => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
    const r = { p50: late(this.#h.percentile(50)), p99: late(this.#h.percentile(99)), max: late(this.#h.max) };
    if (reset) this.#h.reset();
    return r;
  }
}
