// The contract between the `ambit bench` harness and one measure.
import type { BenchSystem, Lab } from '../systems/types.js';

export interface MeasureContext {
  lab: Lab;
  system: BenchSystem;
  /** How long to load the system (seconds; the measure bounds every command it runs by this plus a margin). */
  seconds: number;
  /** Rate for latency measures (requests/s), concurrency for the others. */
  rate?: number;
  concurrency?: number;
}

export interface MeasureOutcome {
  ok: boolean;
  /** Why it failed: a clear, one-line message (stderr tail of the tool, timeout, …). */
  error?: string;
  /** Figures keyed as documented on MeasureKey in ../report/types.ts. */
  values: Record<string, number>;
  evidence?: Record<string, unknown>;
}

export const failed = (e: unknown): MeasureOutcome => ({ ok: false, error: e instanceof Error ? e.message : String(e), values: {} });
