// The node tunnel's side of the enrollment protocol (api/zds.ts, Istio's ZDS, spec §6.2):
// connect to the node agent's socket with backoff (10 ms doubling to 15 s), say hello, apply
// each add/del in order and ack it. After `snapshot_sent` the tunnel drops pods the agent did
// not name and counts as synced. A failed add is acked with its error and retried every 5 s
// while the pod stays wanted (ztunnel retries failed proxy starts the same way).
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { frame, LineReader, parseRequest, ZDS_VERSION, type AddWorkload, type WorkloadRequest } from '../mesh-api/zds.js';
import type { Logger } from '../lib/log.js';
import type { PodEnrollment } from './tunnel.js';

/** What the client needs of the tunnel (NodeTunnel implements it). */
export interface EnrollmentTarget {
  enroll(pod: PodEnrollment): Promise<void>;
  unenroll(uid: string): Promise<void>;
  pods(): { uid: string }[];
}

const RETRY_ADD_MS = 5000;

export class ZdsClient extends EventEmitter<{ synced: []; disconnected: [] }> {
  readonly #path: string;
  readonly #target: EnrollmentTarget;
  readonly #log: Logger;
  #socket: net.Socket | undefined;
  #delay = 10;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #synced = false;
  /** UIDs added since this connection began (snapshot bookkeeping). */
  #seen = new Set<string>();
  /** Adds that failed and are still wanted, by UID. */
  readonly #failed = new Map<string, { msg: AddWorkload; timer: NodeJS.Timeout }>();
  #chain: Promise<void> = Promise.resolve();

  constructor(path: string, target: EnrollmentTarget, log: Logger) {
    super();
    this.#path = path;
    this.#target = target;
    this.#log = log;
  }

  /** True once a snapshot from the node agent has been applied (readiness). */
  get synced(): boolean {
    return this.#synced;
  }

  start(): void {
    this.#connect();
  }

  #connect(): void {
    if (this.#closed) return;
    const s = net.createConnection(this.#path);
    this.#socket = s;
    const reader = new LineReader();
    s.setEncoding('utf8');
    s.on('connect', () => {
      this.#delay = 10;
      this.#seen = new Set();
      this.#log(`connected to the node agent at ${this.#path}`);
      s.write(frame({ type: 'hello', version: ZDS_VERSION }));
    });
    s.on('data', (chunk: string) => {
      try {
        reader.push(chunk, (line) => {
          let msg: WorkloadRequest;
          try {
            msg = parseRequest(line);
          } catch (e) {
            this.#ack(s, `bad message: ${(e as Error).message}`);
            return;
          }
          this.#chain = this.#chain.then(() => this.#handle(s, msg));
        });
      } catch (e) {
        this.#log(`node agent connection: ${(e as Error).message}; reconnecting`);
        s.destroy();
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (this.#socket === s) this.#socket = undefined;
      this.emit('disconnected');
      if (this.#closed) return;
      this.#timer = setTimeout(() => this.#connect(), this.#delay);
      this.#delay = Math.min(this.#delay * 2, 15_000);
    });
  }

  #ack(s: net.Socket, error: string): void {
    if (!s.destroyed) s.write(frame({ type: 'ack', error }));
  }

  async #handle(s: net.Socket, msg: WorkloadRequest): Promise<void> {
    if (msg.type === 'add') {
      this.#seen.add(msg.uid);
      this.#ack(s, await this.#add(msg));
    } else if (msg.type === 'del') {
      this.#seen.delete(msg.uid);
      this.#cancelRetry(msg.uid);
      await this.#target.unenroll(msg.uid).catch((e: Error) => this.#log(`unenroll ${msg.uid}: ${e.message}`));
      this.#log(`pod ${msg.uid} removed`);
      this.#ack(s, '');
    } else {
      for (const p of this.#target.pods()) {
        if (this.#seen.has(p.uid)) continue;
        this.#log(`pod ${p.uid} is not in the node agent's snapshot; removing it`);
        await this.#target.unenroll(p.uid).catch(() => undefined);
      }
      for (const uid of [...this.#failed.keys()]) if (!this.#seen.has(uid)) this.#cancelRetry(uid);
      this.#ack(s, '');
      if (!this.#synced) {
        this.#synced = true;
        this.emit('synced');
      }
    }
  }

  async #add(msg: AddWorkload): Promise<string> {
    this.#cancelRetry(msg.uid);
    const who = `${msg.workload.namespace}/${msg.workload.name} (${msg.ip})`;
    try {
      await this.#target.enroll({ uid: msg.uid, netns: msg.netns, ip: msg.ip, namespace: msg.workload.namespace, serviceAccount: msg.workload.serviceAccount });
      this.#log(`pod ${who} enrolled: listening on 15001/15006/15008 in ${msg.netns}`);
      return '';
    } catch (e) {
      const error = `enrolling ${who} failed: ${(e as Error).message}`;
      this.#log(`${error}; retrying in ${RETRY_ADD_MS / 1000}s (its traffic is refused meanwhile)`);
      const timer = setTimeout(() => {
        this.#failed.delete(msg.uid);
        this.#chain = this.#chain.then(async () => void (await this.#add(msg)));
      }, RETRY_ADD_MS);
      this.#failed.set(msg.uid, { msg, timer });
      return error;
    }
  }

  #cancelRetry(uid: string): void {
    const f = this.#failed.get(uid);
    if (f) clearTimeout(f.timer);
    this.#failed.delete(uid);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const uid of [...this.#failed.keys()]) this.#cancelRetry(uid);
    this.#socket?.destroy();
  }
}
