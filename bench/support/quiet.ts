// Is the machine quiet apart from us? CPU used by processes outside the benchmark (by /proc),
// so a measurement disturbed by other work can be repeated or flagged instead of silently kept.
import { allProcesses, foreignCpuPct, machineCpu, ownCpu, pidsInNetns } from './lab.js';

export class QuietMeter {
  /** Who else used CPU in the last window, top three (for the log). */
  lastOthers: string[] = [];

  constructor(
    private readonly netns: () => string[],
    private readonly extraPids: () => number[],
  ) {}

  #own(): number {
    return ownCpu(this.netns(), this.extraPids());
  }

  /** Starts a window; the returned function gives other processes' CPU over it (100 = one core). */
  start(): () => number {
    const m0 = machineCpu().busy;
    const o0 = this.#own();
    const p0 = allProcesses();
    const t0 = performance.now();
    return () => {
      const dt = (performance.now() - t0) / 1000;
      const pct = Math.round(Math.max(0, (machineCpu().busy - m0 - (this.#own() - o0)) / dt) * 100);
      const own = new Set<number>([process.pid, ...this.netns().flatMap(pidsInNetns), ...this.extraPids()]);
      const top: [string, number][] = [];
      for (const [pid, p1] of allProcesses()) {
        const p = p0.get(pid);
        if (!p || own.has(pid) || p1.comm !== p.comm) continue;
        const use = ((p1.cpu - p.cpu) / dt) * 100;
        if (use >= 1) top.push([`${p1.comm}[${pid}]`, Math.round(use)]);
      }
      this.lastOthers = top.sort((a, b) => b[1] - a[1]).slice(0, 3).map(([n, u]) => `${n} ${u}%`);
      return pct;
    };
  }

  /** Waits (at most maxSeconds) until others use less than pct of a core. */
  async waitQuiet(pct: number, maxSeconds: number): Promise<{ waitedSeconds: number; otherCpuPct: number }> {
    const t0 = Date.now();
    let now = await foreignCpuPct(() => this.#own());
    while (now > pct && Date.now() - t0 < maxSeconds * 1000) now = await foreignCpuPct(() => this.#own());
    return { waitedSeconds: Math.round((Date.now() - t0) / 100) / 10, otherCpuPct: Math.round(now) };
  }
}
