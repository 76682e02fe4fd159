// A node tunnel on several cores (spec §1 "Threads"; ztunnel's worker count): N data-plane
// threads (node/tunnel-worker.ts), each with its own listeners in every enrolled pod, bound
// with SO_REUSEPORT so the kernel spreads connections over them. This main thread keeps xDS,
// certificates, enrollment and admin, and offers the same API as a single-threaded NodeTunnel.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { MeshSnapshot } from '../mesh-api/types.js';
import type { WorkloadCertificate } from '../identity/ca-client.js';
import type { ConnectionRecord } from '../dataplane/connections.js';
import { MeshState } from '../dataplane/mesh-state.js';
import type { EnrolledPod, NodeTunnelEvents, PodEnrollment, TunnelApi } from './tunnel.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

export interface WorkerTunnelOptions {
  threads: number;
  snapshot: MeshSnapshot;
  certificateFor(identity: string): WorkloadCertificate | Promise<WorkloadCertificate>;
  trustDomain?: string;
}

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve(v: unknown): void; reject(e: Error): void }>;
  ready: Promise<void>;
  connections: number;
}

/** ztunnel's default: 2 threads or 25% of the cores, whichever is larger. */
export const defaultThreads = (cores: number): number => Math.max(2, Math.floor(cores / 4));

/** ZTUNNEL_WORKER_THREADS: a count or a percentage of the cores ("50%"). */
export function parseThreads(v: string | undefined, cores: number): number {
  if (v === undefined || v === '') return defaultThreads(cores);
  const pct = /^(\d+)%$/.exec(v);
  const n = pct ? Math.floor((cores * Number(pct[1])) / 100) : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`ZTUNNEL_WORKER_THREADS=${v}: want 1-64 threads or a percentage of the ${cores} cores`);
  return n;
}

export class WorkerTunnel extends EventEmitter<NodeTunnelEvents> implements TunnelApi {
  #state: MeshState;
  readonly #threads: Thread[] = [];
  readonly #opts: WorkerTunnelOptions;
  readonly #pods = new Map<string, EnrolledPod>();
  readonly #open = new Map<string, ConnectionRecord>();
  #seq = 0;

  constructor(opts: WorkerTunnelOptions) {
    super();
    this.#opts = opts;
    this.#state = new MeshState(opts.snapshot);
    const init: WorkerInit = { snapshot: opts.snapshot, ...(opts.trustDomain ? { trustDomain: opts.trustDomain } : {}) };
    for (let i = 0; i < opts.threads; i++) this.#threads.push(this.#spawn(init));
  }

  #spawn(init: WorkerInit): Thread {
    const worker = new Worker(new URL('./tunnel-worker.js', import.meta.url), { workerData: init });
    let markReady!: () => void;
    const t: Thread = { worker, pending: new Map(), ready: new Promise((r) => (markReady = r)), connections: 0 };
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') markReady();
      else if (m.type === 'reply') {
        const p = t.pending.get(m.id);
        t.pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(m.error));
        else p?.resolve(m.result);
      } else if (m.type === 'needCert') {
        Promise.resolve()
          .then(() => this.#opts.certificateFor(m.identity))
          .then(
            (cert) => worker.postMessage({ type: 'cert', cert } satisfies ToWorker),
            (e: Error) => worker.postMessage({ type: 'certError', identity: m.identity, error: e.message } satisfies ToWorker),
          );
      } else this.#onEvent(t, m.name, m.payload);
    });
    worker.on('error', (e) => {
      for (const p of t.pending.values()) p.reject(e);
      t.pending.clear();
      this.emit('outbound', { pod: '-', dst: '-', route: 'fail', error: `data-plane thread crashed: ${e.message}` });
    });
    return t;
  }

  #onEvent(t: Thread, name: keyof NodeTunnelEvents, payload: unknown): void {
    if (name === 'connectionOpened') {
      const r = payload as ConnectionRecord;
      this.#open.set(r.id, r);
      t.connections++;
    } else if (name === 'connectionClosed') this.#open.delete((payload as ConnectionRecord).id);
    (this.emit as (n: string, p: unknown) => boolean)(name, payload);
  }

  async #call(t: Thread, m: ToWorker): Promise<unknown> {
    await t.ready;
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      t.pending.set(id, { resolve, reject });
      t.worker.postMessage({ ...m, id });
    });
  }

  #all(m: ToWorker): Promise<unknown[]> {
    return Promise.all(this.#threads.map((t) => this.#call(t, m)));
  }

  get state(): MeshState {
    return this.#state;
  }

  /** Connections each thread has opened so far (the kernel's spread). */
  threadStats(): number[] {
    return this.#threads.map((t) => t.connections);
  }

  setSnapshot(snapshot: MeshSnapshot): void {
    this.#state = new MeshState(snapshot);
    for (const t of this.#threads) t.worker.postMessage({ type: 'snapshot', snapshot } satisfies ToWorker);
  }

  updateCertificate(cert: WorkloadCertificate): void {
    for (const t of this.#threads) t.worker.postMessage({ type: 'cert', cert } satisfies ToWorker);
  }

  setRevoked(serials: ReadonlySet<string>): void {
    for (const t of this.#threads) t.worker.postMessage({ type: 'revoked', serials: [...serials] } satisfies ToWorker);
  }

  async enroll(pod: PodEnrollment): Promise<void> {
    try {
      const [first] = (await this.#all({ type: 'enroll', pod })) as EnrolledPod[];
      if (first) this.#pods.set(first.uid, first);
    } catch (e) {
      await this.#all({ type: 'unenroll', uid: pod.uid ?? pod.ip }).catch(() => undefined);
      throw e;
    }
  }

  async unenroll(uidOrIp: string): Promise<void> {
    const p = this.#pods.get(uidOrIp) ?? [...this.#pods.values()].find((x) => x.ip === uidOrIp);
    await this.#all({ type: 'unenroll', uid: p?.uid ?? uidOrIp });
    if (p) this.#pods.delete(p.uid);
  }

  pods(): EnrolledPod[] {
    return [...this.#pods.values()];
  }

  enrolled(): string[] {
    return this.pods().map((p) => p.ip);
  }

  connections(): ConnectionRecord[] {
    return [...this.#open.values()];
  }

  async drain(deadlineMs: number): Promise<{ forced: number }> {
    const r = (await this.#all({ type: 'drain', deadlineMs })) as { forced: number }[];
    this.#pods.clear();
    return { forced: r.reduce((n, x) => n + x.forced, 0) };
  }

  async close(): Promise<void> {
    await this.#all({ type: 'close' }).catch(() => undefined);
    this.#pods.clear();
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }
}
