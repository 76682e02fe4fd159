// What the data-path handlers of one enrolled pod share (spec §6.5: one in-pod proxy per pod).
import type net from 'node:net';
import type { SocketFactory } from '../platform/sockets.js';
import type { ConnectionEnd, ConnectionSink } from '../dataplane/connections.js';
import type { DryRunEvent } from '../dataplane/inbound-authz.js';
import type { MeshState } from '../dataplane/mesh-state.js';

export interface PodRef {
  /** Name under /run/netns (what `ip netns` and the capture rules use). */
  netns: string;
  /** /run/netns/<netns>. */
  netnsPath: string;
  ip: string;
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
  ended?: ConnectionEnd;
}
