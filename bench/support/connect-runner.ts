// The new-connection client of `ambit bench` (measure `newconns`), run inside pod A's netns:
//   node dist/bench/support/connect-runner.js '<ConnectRunnerOptions JSON>'
// Keeps `concurrency` connections in flight against a TCP echo server: each is a new TCP
// connection that writes 64 bytes, waits for all 64 echoed back, then closes first (FIN from us,
// so TIME_WAIT stays in pod A). A slot is refilled when its socket has closed, so a system that is
// slow to pass the close on is slower here too. Setup time = connect() call → all 64 bytes back.
// A warm-up (discarded; warms e.g. Ambit's HBONE pool) comes first; the line `measure` marks the
// start of the measured window and the JSON result line its end.
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';

export interface ConnectRunnerOptions {
  host: string;
  port: number;
  concurrency: number;
  seconds: number;
  warmupSec: number;
  timeoutMs: number;
}

export interface ConnectRunnerResult {
  connections: number;
  errors: number;
  errorKinds: Record<string, number>;
  seconds: number;
  setupMs: { p50: number; p99: number; max: number };
  /** Closes that took over 2 s after our FIN (the socket was then destroyed). */
  slowCloses: number;
  warmup: { connections: number; errors: number };
}

const o = JSON.parse(process.argv[2] ?? '{}') as ConnectRunnerOptions;
const PAYLOAD = randomBytes(64);

const kindOf = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  return (err.code && /^E[A-Z]+$/.test(err.code) ? err.code : err.message ?? String(e)).slice(0, 160);
};

const quantile = (sorted: Float64Array, q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);
const ms3 = (x: number): number => Math.round(x * 1000) / 1000;

function phase(sec: number): Promise<Omit<ConnectRunnerResult, 'warmup'>> {
  let setups = new Float64Array(4096);
  let connections = 0;
  let errors = 0;
  let slowCloses = 0;
  const errorKinds: Record<string, number> = {};
  const t0 = performance.now();
  const end = t0 + sec * 1000;
  const open = new Set<net.Socket>();
  let over = false;
  const error = (kind: string): void => {
    if (over) return;
    errors++;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };
  const record = (ms: number): void => {
    if (connections === setups.length) {
      const grown = new Float64Array(setups.length * 2);
      grown.set(setups);
      setups = grown;
    }
    setups[connections++] = ms;
  };

  const launch = (): void => {
    if (over || performance.now() >= end) return;
    const start = performance.now();
    let got = 0;
    let done = false; // echo complete or failed
    const s = net.connect({ host: o.host, port: o.port, noDelay: true });
    open.add(s);
    const fail = (kind: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      error(kind);
      s.destroy();
    };
    const timer = setTimeout(() => fail(got ? `timeout after ${got} of 64 bytes` : 'timeout'), o.timeoutMs);
    s.once('connect', () => s.write(PAYLOAD));
    s.on('data', (d: Buffer) => {
      if (done) return;
      if (!d.equals(PAYLOAD.subarray(got, got + d.length))) return fail('echo differs');
      got += d.length;
      if (got < PAYLOAD.length) return;
      done = true;
      clearTimeout(timer);
      if (!over) record(performance.now() - start);
      s.end();
      const guard = setTimeout(() => {
        if (!over) slowCloses++;
        s.destroy();
      }, 2000);
      s.once('close', () => clearTimeout(guard));
    });
    s.on('error', (e) => fail(kindOf(e)));
    s.once('end', () => fail(`closed by peer after ${got} of 64 bytes`));
    s.once('close', () => {
      open.delete(s);
      fail('closed');
      launch();
    });
  };

  return new Promise((resolve) => {
    setTimeout(() => {
      over = true;
      const seconds = (performance.now() - t0) / 1000;
      for (const s of open) s.destroy();
      const sorted = setups.slice(0, connections).sort();
      resolve({ connections, errors, errorKinds, seconds, slowCloses, setupMs: { p50: ms3(quantile(sorted, 0.5)), p99: ms3(quantile(sorted, 0.99)), max: ms3(sorted.at(-1) ?? 0) } });
    }, sec * 1000);
    for (let i = 0; i < o.concurrency; i++) launch();
  });
}

const warm = o.warmupSec > 0 ? await phase(o.warmupSec) : undefined;
// Let the warm-up's sockets finish closing so they do not spill into the measured window.
await new Promise((r) => setTimeout(r, 200));
process.stdout.write('measure\n');
const r = await phase(o.seconds);
const result: ConnectRunnerResult = { ...r, warmup: { connections: warm?.connections ?? 0, errors: warm?.errors ?? 0 } };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
