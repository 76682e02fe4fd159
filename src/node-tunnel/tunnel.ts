// The node tunnel: one process serving every enrolled pod on the node (spec §6). Enrolling a pod
// installs its capture rules and opens 15001/15006/15008 inside its netns from this process;
// unenrolling closes them and removes the rules. Listeners open after the rules, so the window
// in between fails closed (captured connections are refused, never sent in plaintext).
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { MeshSnapshot } from '../mesh-api/types.js';
import { HbonePool } from '../dataplane/hbone/pool.js';
import type { HboneServer, TunnelInfo } from '../dataplane/hbone/server.js';
import type { WorkloadCertificate } from '../identity/ca-client.js';
import { DEFAULT_PORTS, INPOD_MARK, applyCaptureRules, removeCaptureRules } from '../platform/capture-rules.js';
import { ffiSockets, type SocketFactory } from '../platform/sockets.js';
import { createHboneInbound, handlePlaintextInbound, inboundVerdict, type PlaintextEvent } from './inbound.js';
import { handleOutbound, type OutboundEvent } from './outbound.js';
import type { InboundConnection, PodContext, PodRef } from './pod.js';
import { nextConnectionId, peerMeta, sourceWorkload, stripV4Mapped, type ConnectionClosed, type ConnectionRecord } from '../dataplane/connections.js';
import { failure, kindOfHboneStatus } from '../dataplane/errors.js';
import type { DryRunEvent } from '../dataplane/inbound-authz.js';
import { DEFAULT_TRUST_DOMAIN } from '../identity/spiffe.js';
import { MeshState } from '../dataplane/mesh-state.js';
import { spiffeIdOf } from '../dataplane/state/identity.js';

export interface NodeTunnelOptions {
  snapshot: MeshSnapshot;
  certificateFor(identity: string): WorkloadCertificate | Promise<WorkloadCertificate>;
  sockets?: SocketFactory;
  /** Trust domain of identities made from enrollment info (default cluster.local). */
  trustDomain?: string;
  /**
   * Whether enroll/unenroll install and remove the in-pod capture rules (default true). The
   * node agent does it itself in a cluster (istio-cni's role), so the tunnel daemon passes false.
   */
  manageCaptureRules?: boolean;
}

/** A pod to serve: its netns, its IP, and (from the node agent) who it is. */
export interface PodEnrollment {
  /** Pod UID (default: the IP). A re-enroll of a known UID with another netns or IP replaces it. */
  uid?: string;
  netns: string;
  ip: string;
  /** Namespace and service account give the identity; without them it comes from the mesh config. */
  namespace?: string;
  serviceAccount?: string;
}

export interface EnrolledPod {
  uid: string;
  ip: string;
  netns: string;
  identity: string;
}

/** What the daemon, enrollment, telemetry and admin use: a NodeTunnel, or several threads of them (node/workers.ts). */
export interface TunnelApi extends EventEmitter<NodeTunnelEvents> {
  readonly state: MeshState;
  setSnapshot(snapshot: MeshSnapshot): void;
  updateCertificate(cert: WorkloadCertificate): void;
  /** Revoked serials (normalized) from the CA's CRL. */
  setRevoked(serials: ReadonlySet<string>): void;
  enroll(pod: PodEnrollment): Promise<void>;
  unenroll(uidOrIp: string): Promise<void>;
  pods(): EnrolledPod[];
  enrolled(): string[];
  connections(): ConnectionRecord[];
  drain(deadlineMs: number): Promise<{ forced: number }>;
  close(): Promise<void>;
}

export interface RevokedEvent {
  pod: string;
  src: string;
  dstPort: number;
  peerIdentity?: string;
  reason: string;
}

export interface NodeTunnelEvents {
  /** An HBONE CONNECT on a pod's 15008 finished (refused or closed). */
  inbound: [TunnelInfo & { pod: string; podIdentity: string }];
  outbound: [OutboundEvent];
  plaintext: [PlaintextEvent];
  /** An open inbound connection closed because new policy denies it. */
  revoked: [RevokedEvent];
  /** A dry-run policy would have decided this inbound connection (spec §5.3 step 2; not enforced). */
  dryRun: [DryRunEvent];
  /** Every proxied connection, both directions: telemetry and the admin view read these. */
  connectionOpened: [ConnectionRecord];
  connectionClosed: [ConnectionClosed];
  /** A session with a peer whose certificate the CRL now lists was torn down (CERT_REVOKED). */
  certRevoked: [{ pod: string; side: 'server' | 'client'; peerIdentity?: string; serial?: string; sessions: number }];
}

interface Enrolled {
  uid: string;
  identity: string;
  ref: PodRef;
  inbound: Set<InboundConnection>;
  listeners: net.Server[];
  hbone: HboneServer;
  pool: HbonePool;
  sockets: Set<net.Socket>;
}

export class NodeTunnel extends EventEmitter<NodeTunnelEvents> implements TunnelApi {
  #state: MeshState;
  readonly #opts: NodeTunnelOptions;
  readonly #sockets: SocketFactory;
  /** By pod UID. */
  readonly #pods = new Map<string, Enrolled>();
  /** Internal: fires on every new snapshot (waiters for a workload to appear). */
  readonly #snapshots = new EventEmitter().setMaxListeners(0);
  readonly #open = new Map<string, ConnectionRecord>();
  readonly #sink = {
    opened: (r: ConnectionRecord): void => {
      this.#open.set(r.id, r);
      this.emit('connectionOpened', r);
    },
    closed: (r: ConnectionClosed): void => {
      this.#open.delete(r.id);
      this.emit('connectionClosed', r);
    },
  };

  constructor(opts: NodeTunnelOptions) {
    super();
    this.#opts = opts;
    this.#state = new MeshState(opts.snapshot);
    this.#sockets = opts.sockets ?? ffiSockets;
  }

  /** New config for new connections; open inbound connections that it now denies are closed (§5.3). */
  setSnapshot(snapshot: MeshSnapshot): void {
    this.#state = new MeshState(snapshot);
    this.#snapshots.emit('snapshot');
    for (const e of this.#pods.values()) {
      const ctx = this.#context(e);
      for (const c of e.inbound) {
        const d = inboundVerdict(ctx, { srcIp: c.srcIp, dstIp: e.ref.ip, dstPort: c.dstPort, ...(c.peerIdentity !== undefined ? { peerIdentity: c.peerIdentity } : {}) });
        if (d.allowed) continue;
        e.inbound.delete(c);
        c.ended = failure(d.kind ?? 'POLICY_DENIED', `policy changed: ${d.reason}`);
        c.app.destroy(new Error(`policy changed: ${d.reason}`));
        this.emit('revoked', { pod: e.ref.ip, src: c.srcIp, dstPort: c.dstPort, ...(c.peerIdentity !== undefined ? { peerIdentity: c.peerIdentity } : {}), reason: d.reason });
      }
    }
  }

  get state(): MeshState {
    return this.#state;
  }

  #revoked: ReadonlySet<string> = new Set();

  /** A new CRL: revoked peers are refused at handshake, and open sessions with them are torn down (spec §9). */
  setRevoked(serials: ReadonlySet<string>): void {
    this.#revoked = serials;
    for (const e of this.#pods.values()) this.#applyRevoked(e);
  }

  #applyRevoked(e: Enrolled): void {
    e.hbone.setRevoked(this.#revoked);
    const n = e.pool.setRevoked(this.#revoked);
    if (n > 0) this.emit('certRevoked', { pod: e.ref.ip, side: 'client', sessions: n });
  }

  /** A rotated certificate: the HBONE listeners of pods with that identity present it from now on. */
  updateCertificate(cert: WorkloadCertificate): void {
    for (const e of this.#pods.values()) if (e.identity === cert.identity) e.hbone.setCertificate(cert);
  }

  #identityOf(pod: PodEnrollment): string {
    if (pod.namespace !== undefined) {
      return spiffeIdOf({ trustDomain: this.#opts.trustDomain ?? DEFAULT_TRUST_DOMAIN, namespace: pod.namespace, serviceAccount: pod.serviceAccount ?? '' });
    }
    const workload = this.#state.workloadByIp(pod.ip);
    if (!workload) throw new Error(`enroll ${pod.netns}: no workload with IP ${pod.ip} in the mesh config`);
    return spiffeIdOf(workload);
  }

  /** Open connections (both directions) as the admin endpoint lists them. */
  connections(): ConnectionRecord[] {
    return [...this.#open.values()];
  }

  #context(e: Pick<Enrolled, 'ref' | 'sockets' | 'inbound' | 'identity'>): PodContext {
    return {
      pod: e.ref,
      identity: e.identity,
      connections: this.#sink,
      state: () => this.#state,
      sockets: this.#sockets,
      track: (s) => {
        e.sockets.add(s);
        s.once('close', () => e.sockets.delete(s));
      },
      waitForWorkload: (ip, timeoutMs) => this.#waitForWorkload(ip, timeoutMs),
      trackInbound: (c) => {
        e.inbound.add(c);
        c.app.once('close', () => e.inbound.delete(c));
      },
      onDryRun: (d) => this.emit('dryRun', d),
    };
  }

  #refusal(ctx: PodContext, t: TunnelInfo): ConnectionClosed {
    const state = this.#state;
    const srcIp = stripV4Mapped(t.srcAddr);
    const local = state.workloadByIp(ctx.pod.ip);
    return {
      id: nextConnectionId(),
      direction: 'inbound',
      pod: ctx.pod.ip,
      src: peerMeta(srcIp, sourceWorkload(state, srcIp, local, t.peer), t.peerIdentity, t.peer?.baggage),
      dst: { ...peerMeta(t.dst, local, ctx.identity), hboneAddr: t.dst },
      security: 'mutual_tls',
      startedAt: Date.now(),
      bytesSent: 0,
      bytesRecv: 0,
      durationMs: 0,
      ...failure(t.kind ?? kindOfHboneStatus(t.status), `HTTP ${t.status}: ${t.reason ?? ''}`),
    };
  }

  #waitForWorkload(ip: string, timeoutMs: number): Promise<boolean> {
    if (this.#state.workloadByIp(ip)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.#state.workloadByIp(ip)) return;
        clearTimeout(t);
        this.#snapshots.off('snapshot', check);
        resolve(true);
      };
      const t = setTimeout(() => (this.#snapshots.off('snapshot', check), resolve(false)), timeoutMs);
      this.#snapshots.on('snapshot', check);
    });
  }

  /** Opens the pod's listeners (after its capture rules, if this tunnel manages them). */
  async enroll(pod: PodEnrollment): Promise<void> {
    const uid = pod.uid ?? pod.ip;
    const known = this.#pods.get(uid);
    if (known && known.ref.netns === pod.netns && known.ref.ip === pod.ip) return;
    if (known) await this.unenroll(uid);
    for (const other of this.#pods.values()) {
      if (other.ref.ip === pod.ip) throw new Error(`enroll ${pod.netns}: IP ${pod.ip} is already served for pod ${other.uid}`);
    }
    const identity = this.#identityOf(pod);
    const certificate = await this.#opts.certificateFor(identity);
    const ref: PodRef = { netns: pod.netns, netnsPath: `/run/netns/${pod.netns}`, ip: pod.ip };
    const base = { ref, identity, sockets: new Set<net.Socket>(), inbound: new Set<InboundConnection>() };
    const ctx = this.#context(base);
    const pool = new HbonePool({
      connectSocket: (o) => this.#sockets.connectFromNetns(ref.netnsPath, { ...o, mark: INPOD_MARK }),
    });
    const hbone = createHboneInbound(ctx, certificate);
    hbone.on('tunnel', (t) => {
      this.emit('inbound', { ...t, pod: ref.ip, podIdentity: identity });
      // Accepted tunnels are reported by the data path; refusals end here.
      if (t.status !== 200) this.#sink.closed(this.#refusal(ctx, t));
    });
    hbone.on('rejected', (r) => {
      if (/ is revoked$/.test(r.reason)) this.emit('certRevoked', { pod: ref.ip, side: 'server', sessions: 1 });
    });
    hbone.on('revokedPeer', (p) => {
      // Mark this peer's connections before the session goes, so their records say why.
      const ip = stripV4Mapped(p.remoteAddr);
      for (const c of base.inbound) if (c.peerIdentity === p.peerIdentity && c.srcIp === ip) c.ended = failure('CERT_REVOKED', `peer certificate ${p.serial} revoked`);
      this.emit('certRevoked', { pod: ref.ip, side: 'server', peerIdentity: p.peerIdentity, serial: p.serial, sessions: 1 });
    });
    const e: Enrolled = { uid, ...base, listeners: [], hbone, pool };
    this.#applyRevoked(e);
    this.#pods.set(uid, e);
    try {
      if (this.#opts.manageCaptureRules ?? true) await applyCaptureRules(pod.netns);
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
      await this.unenroll(uid);
      throw err;
    }
  }

  /** Enrolled pods: UID, IP, netns and identity. */
  pods(): EnrolledPod[] {
    return [...this.#pods.values()].map((e) => ({ uid: e.uid, ip: e.ref.ip, netns: e.ref.netns, identity: e.identity }));
  }

  /** IPs of the enrolled pods. */
  enrolled(): string[] {
    return [...this.#pods.values()].map((e) => e.ref.ip);
  }

  #find(uidOrIp: string): Enrolled | undefined {
    return this.#pods.get(uidOrIp) ?? [...this.#pods.values()].find((e) => e.ref.ip === uidOrIp);
  }

  /** Closes the pod's listeners and connections, then (if managed here) removes its capture rules. */
  async unenroll(uidOrIp: string): Promise<void> {
    const e = this.#find(uidOrIp);
    if (!e) return;
    this.#pods.delete(e.uid);
    for (const l of e.listeners) l.close();
    e.pool.close();
    await e.hbone.close(0);
    for (const s of e.sockets) s.destroy();
    if (this.#opts.manageCaptureRules ?? true) await removeCaptureRules(e.ref.netns);
  }

  /** Test hook / drain: stops accepting on a pod's listeners but keeps its capture rules (fails closed). */
  closeListeners(uidOrIp: string): void {
    for (const l of this.#find(uidOrIp)?.listeners ?? []) l.close();
  }

  /**
   * Graceful stop (spec §9): every listener stops accepting at once (with SO_REUSEPORT a newer
   * tunnel's listeners in the same pods take the new connections), inbound HBONE sessions and
   * pooled outbound connections get GOAWAY, open connections run until they end or the deadline
   * passes, then whatever is left is closed.
   */
  async drain(deadlineMs: number): Promise<{ forced: number }> {
    const pods = [...this.#pods.values()];
    for (const e of pods) for (const l of e.listeners) l.close();
    for (const e of pods) {
      e.pool.close();
      void e.hbone.drain(deadlineMs);
    }
    const open = (): number => pods.reduce((n, e) => n + e.sockets.size, 0);
    const deadline = Date.now() + deadlineMs;
    while (open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const forced = open();
    await this.close();
    return { forced };
  }

  async close(): Promise<void> {
    for (const uid of [...this.#pods.keys()]) await this.unenroll(uid);
  }
}
