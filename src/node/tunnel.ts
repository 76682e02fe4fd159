// The node tunnel: one process serving every enrolled pod on the node (spec §6). Enrolling a pod
// installs its capture rules and opens 15001/15006/15008 inside its netns from this process;
// unenrolling closes them and removes the rules. Listeners open after the rules, so the window
// in between fails closed (captured connections are refused, never sent in plaintext).
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { MeshSnapshot } from '../api/types.js';
import { HbonePool } from '../hbone/pool.js';
import type { HboneServer, TunnelInfo } from '../hbone/server.js';
import type { WorkloadCertificate } from '../identity/ca-client.js';
import { DEFAULT_PORTS, INPOD_MARK, applyCaptureRules, removeCaptureRules } from '../platform/capture-rules.js';
import { ffiSockets, type SocketFactory } from '../platform/sockets.js';
import { createHboneInbound, handlePlaintextInbound, type PlaintextEvent } from './inbound.js';
import { handleOutbound, type OutboundEvent } from './outbound.js';
import type { PodContext, PodRef } from './pod.js';
import { MeshState, spiffeIdOf } from './state.js';

export interface NodeTunnelOptions {
  snapshot: MeshSnapshot;
  certificateFor(identity: string): WorkloadCertificate | Promise<WorkloadCertificate>;
  sockets?: SocketFactory;
}

export interface NodeTunnelEvents {
  /** An HBONE CONNECT on a pod's 15008 finished (refused or closed). */
  inbound: [TunnelInfo & { pod: string }];
  outbound: [OutboundEvent];
  plaintext: [PlaintextEvent];
}

interface Enrolled {
  ref: PodRef;
  listeners: net.Server[];
  hbone: HboneServer;
  pool: HbonePool;
  sockets: Set<net.Socket>;
}

export class NodeTunnel extends EventEmitter<NodeTunnelEvents> {
  #state: MeshState;
  readonly #opts: NodeTunnelOptions;
  readonly #sockets: SocketFactory;
  readonly #pods = new Map<string, Enrolled>();

  constructor(opts: NodeTunnelOptions) {
    super();
    this.#opts = opts;
    this.#state = new MeshState(opts.snapshot);
    this.#sockets = opts.sockets ?? ffiSockets;
  }

  /** New config: applies to new connections (re-evaluating open ones is not done yet). */
  setSnapshot(snapshot: MeshSnapshot): void {
    this.#state = new MeshState(snapshot);
  }

  get state(): MeshState {
    return this.#state;
  }

  /** The pod must be a known workload (its certificate is its service account's). */
  async enroll(pod: { netns: string; ip: string }): Promise<void> {
    if (this.#pods.has(pod.ip)) return;
    const workload = this.#state.workloadByIp(pod.ip);
    if (!workload) throw new Error(`enroll ${pod.netns}: no workload with IP ${pod.ip} in the mesh config`);
    const identity = spiffeIdOf(workload);
    const certificate = await this.#opts.certificateFor(identity);
    const ref: PodRef = { netns: pod.netns, netnsPath: `/run/netns/${pod.netns}`, ip: pod.ip };
    const tracked = new Set<net.Socket>();
    const ctx: PodContext = {
      pod: ref,
      state: () => this.#state,
      sockets: this.#sockets,
      track: (s) => {
        tracked.add(s);
        s.once('close', () => tracked.delete(s));
      },
    };
    const pool = new HbonePool({
      connectSocket: (o) => this.#sockets.connectFromNetns(ref.netnsPath, { ...o, mark: INPOD_MARK }),
    });
    const hbone = createHboneInbound(ctx, certificate);
    hbone.on('tunnel', (t) => this.emit('inbound', { ...t, pod: ref.ip }));
    const e: Enrolled = { ref, listeners: [], hbone, pool, sockets: tracked };
    this.#pods.set(pod.ip, e);
    try {
      await applyCaptureRules(pod.netns);
      const open = (opts: Parameters<SocketFactory['listenInNetns']>[1]): net.Server => {
        const l = this.#sockets.listenInNetns(ref.netnsPath, { ...opts, mark: INPOD_MARK });
        l.on('error', () => {});
        e.listeners.push(l);
        return l;
      };
      open({ host: '127.0.0.1', port: DEFAULT_PORTS.outbound, reusePort: true }).on('connection', (c: net.Socket) =>
        handleOutbound({ ...ctx, pool, certificate: async () => await this.#opts.certificateFor(identity), onEvent: (ev) => this.emit('outbound', ev) }, c),
      );
      open({ host: '0.0.0.0', port: DEFAULT_PORTS.inbound, transparent: true, reusePort: true }).on('connection', (c: net.Socket) =>
        handlePlaintextInbound(ctx, c, (ev) => this.emit('plaintext', ev)),
      );
      hbone.attach(open({ host: '0.0.0.0', port: DEFAULT_PORTS.hbone, reusePort: true }));
    } catch (err) {
      await this.unenroll(pod.ip);
      throw err;
    }
  }

  enrolled(): string[] {
    return [...this.#pods.keys()];
  }

  /** Closes the pod's listeners and connections, then removes its capture rules. */
  async unenroll(ip: string): Promise<void> {
    const e = this.#pods.get(ip);
    if (!e) return;
    this.#pods.delete(ip);
    for (const l of e.listeners) l.close();
    e.pool.close();
    await e.hbone.close(0);
    for (const s of e.sockets) s.destroy();
    await removeCaptureRules(e.ref.netns);
  }

  /** Test hook / drain: stops accepting on a pod's listeners but keeps its capture rules (fails closed). */
  closeListeners(ip: string): void {
    for (const l of this.#pods.get(ip)?.listeners ?? []) l.close();
  }

  async close(): Promise<void> {
    for (const ip of [...this.#pods.keys()]) await this.unenroll(ip);
  }
}
