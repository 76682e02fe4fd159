// The node agent's side of the enrollment protocol (api/zds.ts, spec §6.2): it listens on a
// Unix socket (0600) and keeps the set of pods that should be enrolled. Each tunnel that
// connects gets the whole set and `snapshot_sent`; later changes go out one message at a time,
// each waiting for its ack. Adds go to the newest tunnel, deletes to every connected one
// (during a handoff two tunnels may serve, spec §9).
import * as fs from 'node:fs';
import net from 'node:net';
import { frame, LineReader, parseResponse, ZDS_VERSION, type AddWorkload, type WorkloadRequest } from '../../mesh-api/zds.js';
import type { Logger } from '../../lib/log.js';

const ACK_TIMEOUT_MS = 15_000;

class Peer {
  #queue: Promise<unknown> = Promise.resolve();
  #waiting: ((error: string) => void) | undefined;
  hello = false;

  constructor(readonly socket: net.Socket) {}

  onAck(error: string): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.(error);
  }

  /** Sends after the previous message was acked; resolves with the ack's error ('' = ACK). */
  send(msg: WorkloadRequest): Promise<string> {
    const p = this.#queue.then(
      () =>
        new Promise<string>((resolve) => {
          if (this.socket.destroyed) return resolve('tunnel disconnected');
          const t = setTimeout(() => {
            this.#waiting = undefined;
            resolve(`no ack within ${ACK_TIMEOUT_MS / 1000}s`);
          }, ACK_TIMEOUT_MS);
          this.#waiting = (error) => (clearTimeout(t), resolve(error));
          this.socket.write(frame(msg));
        }),
    );
    this.#queue = p;
    return p;
  }

  fail(): void {
    this.onAck('tunnel disconnected');
  }
}

export class TunnelLink {
  readonly #path: string;
  readonly #log: Logger;
  readonly #wanted = new Map<string, AddWorkload>();
  /** Connected tunnels that said hello, oldest first. */
  readonly #peers: Peer[] = [];
  #server: net.Server | undefined;
  #onResent: ((uid: string, error: string) => void) | undefined;

  constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  async listen(): Promise<void> {
    fs.rmSync(this.#path, { force: true });
    const server = net.createServer((s) => this.#accept(s));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#path, () => resolve());
    });
    fs.chmodSync(this.#path, 0o600);
  }

  /** Called with each pod's ack when a (re)connecting tunnel is sent the enrolled set. */
  onResent(listener: (uid: string, error: string) => void): void {
    this.#onResent = listener;
  }

  /** True while at least one node tunnel is connected. */
  get connected(): boolean {
    return this.#peers.length > 0;
  }

  #accept(s: net.Socket): void {
    const peer = new Peer(s);
    const reader = new LineReader();
    s.setEncoding('utf8');
    s.on('error', () => {});
    s.on('data', (chunk: string) => {
      try {
        reader.push(chunk, (line) => {
          const m = parseResponse(line);
          if (m.type === 'hello') {
            if (m.version !== ZDS_VERSION) throw new Error(`tunnel speaks version ${m.version}, want ${ZDS_VERSION}`);
            if (!peer.hello) void this.#greet(peer);
          } else peer.onAck(m.error);
        });
      } catch (e) {
        this.#log(`node tunnel connection: ${(e as Error).message}; closing it`);
        s.destroy();
      }
    });
    s.on('close', () => {
      peer.fail();
      const i = this.#peers.indexOf(peer);
      if (i >= 0) this.#peers.splice(i, 1);
      if (peer.hello) this.#log('node tunnel disconnected');
    });
  }

  async #greet(peer: Peer): Promise<void> {
    peer.hello = true;
    this.#peers.push(peer);
    this.#log(`node tunnel connected; sending ${this.#wanted.size} enrolled pods`);
    for (const m of this.#wanted.values()) {
      const err = await peer.send(m);
      if (err) this.#log(`tunnel could not enroll ${m.workload.namespace}/${m.workload.name}: ${err}`);
      if (this.#wanted.has(m.uid)) this.#onResent?.(m.uid, err);
    }
    await peer.send({ type: 'snapshot_sent' });
  }

  /**
   * The pod should be enrolled. Resolves with the newest tunnel's ack error ('' on success),
   * or a reason when no tunnel is connected (the pod is sent when one connects).
   */
  async add(m: AddWorkload): Promise<string> {
    this.#wanted.set(m.uid, m);
    const peer = this.#peers.at(-1);
    if (!peer) return 'no node tunnel connected';
    return peer.send(m);
  }

  async del(uid: string): Promise<void> {
    if (!this.#wanted.delete(uid)) return;
    await Promise.all(this.#peers.map((p) => p.send({ type: 'del', uid })));
  }

  wanted(uid: string): boolean {
    return this.#wanted.has(uid);
  }

  async close(): Promise<void> {
    for (const p of this.#peers) p.socket.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    fs.rmSync(this.#path, { force: true });
  }
}
