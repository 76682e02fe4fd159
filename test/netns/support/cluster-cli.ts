// Drives a throwaway cluster through the real CLI (`dist/src/bin/ambit.js`), as a user would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const BIN = path.join(ROOT, 'dist', 'src', 'bin', 'ambit.js');

export interface Result {
  code: number;
  out: string;
  err: string;
}

export interface ClusterCli {
  env: NodeJS.ProcessEnv;
  ambit(...args: string[]): Result;
  /** Runs and asserts exit 0; returns stdout. */
  ok(...args: string[]): string;
  json<T>(...args: string[]): T;
}

export function clusterCli(cluster: string, stateDir: string): ClusterCli {
  const env = { ...process.env, AMBIT_STATE_DIR: stateDir, AMBIT_CLUSTER: cluster };
  const ambit = (...args: string[]): Result => {
    const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
  };
  const ok = (...args: string[]): string => {
    const r = ambit(...args);
    assert.equal(r.code, 0, `ambit ${args.join(' ')} failed (${r.code}):\n${r.out}\n${r.err}`);
    return r.out;
  };
  return { env, ambit, ok, json: <T>(...args: string[]): T => JSON.parse(ok(...args, '-o', 'json')) as T };
}

/** Polls fn until it returns something other than undefined (exceptions count as "not yet"). */
export async function eventually<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 45_000, everyMs = 300): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** A pod as the tests read it (`ambit get pod -o json`): the fields any of them looks at. */
export interface PodView {
  metadata: { name: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: { podIP?: string; startTime?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number }[] };
}

/** The pod's Ready condition is True. */
export const podReady = (p: Pick<PodView, 'status'>): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
