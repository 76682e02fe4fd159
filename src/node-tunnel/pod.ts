// What the data-path handlers of one enrolled pod share (spec §6.5: one in-pod proxy per pod).
import type net from 'node:net';
import type { SocketFactory } from '../platform/sockets.js';
import type { ConnectionClosed, ConnectionRecord, ResponseFlag } from '../dataplane/connections.js';
import type { DryRunEvent } from './inbound.js';
import type { MeshState } from '../dataplane/mesh-state.js';

export interface PodRef {
  /** Name under /run/netns (what `ip netns` and the capture rules use). */
  netns: string;
  /** /run/netns/<netns>. */
  netnsPath: string;
  ip: string;
}

/** Where the data path reports connections (metrics, access log, admin). */
export interface ConnectionSink {
  opened(r: ConnectionRecord): void;
  closed(r: ConnectionClosed): void;
}

export interface PodContext {
  pod: PodRef;
  /** The pod's SPIFFE ID. */
  identity: string;
  connections: ConnectionSink;
  /** The current config (read per connection, so a new snapshot applies to new connections). */
  state(): MeshState;
  sockets: SocketFactory;
  /** Registers a socket so unenrolling the pod can close it. */
  track(s: net.Socket): void;
  /** Resolves true once a workload with this IP is in the config, false after timeoutMs. */
  waitForWorkload(ip: string, timeoutMs: number): Promise<boolean>;
  /** Registers an authorized inbound connection so a policy change can re-check it (spec §5.3). */
  trackInbound(conn: InboundConnection): void;
  /** A dry-run policy's would-be decision on an inbound connection (logged and counted, never enforced). */
  onDryRun?(e: DryRunEvent): void;
}

/** What authorized an open inbound connection, and the socket that ends it. */
export interface InboundConnection {
  srcIp: string;
  dstPort: number;
  peerIdentity?: string;
  /** The tunnel → app socket: destroying it ends the connection on both sides. */
  app: net.Socket;
  /** Set when the tunnel ends the connection itself (policy change, revocation). */
  ended?: { flag: ResponseFlag; error: string };
}

/** Reports a connection's close once its socket closes; `s` is the tunnel's socket to the side whose reads are "sent". */
export function reportOnClose(sink: ConnectionSink, rec: ConnectionRecord, s: net.Socket, counts: () => { sent: number; recv: number }, end?: () => { flag: ResponseFlag; error: string } | undefined): void {
  s.once('close', (hadError) => {
    const c = counts();
    const e = end?.();
    sink.closed({ ...rec, bytesSent: c.sent, bytesRecv: c.recv, durationMs: Date.now() - rec.startedAt, flag: e?.flag ?? '-', ...(e ? { error: e.error } : hadError ? { error: 'connection reset' } : {}) });
  });
}

export { stripV4Mapped } from '../lib/ip.js';

/** Plain byte copy with half-close; an error on either side destroys both. */
export function pipeBoth(a: net.Socket, b: net.Socket): void {
  a.allowHalfOpen = true;
  b.allowHalfOpen = true;
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.once('close', (hadError) => hadError && b.destroy());
  b.once('close', (hadError) => hadError && a.destroy());
  a.pipe(b);
  b.pipe(a);
}
