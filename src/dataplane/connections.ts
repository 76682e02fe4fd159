// One record per proxied connection, the single source for metrics, the access log and the
// admin connection list (spec §8). Plain data, so it can cross worker threads. Pure.
import type net from 'node:net';
import type { Service, Workload } from '../mesh-api/types.js';
import type { Baggage } from './hbone/baggage.js';
import type { ResponseFlag } from './errors.js';
import type { PeerTelemetry } from './hbone/server.js';
import type { MeshState } from './mesh-state.js';
import { spiffeIdOf } from './state/identity.js';


export interface PeerMeta {
  /** ip:port as seen on the wire. */
  addr: string;
  /** SPIFFE ID: the mTLS peer's, or a known workload's. */
  identity?: string;
  workload?: string;
  namespace?: string;
  canonicalService?: string;
  canonicalRevision?: string;
  cluster?: string;
  /**
   * The *_app label when it is not the canonical service: for a peer known only from its
   * baggage ztunnel reports its workload name there (metrics.rs with_derived_source).
   */
  app?: string;
}

export interface ConnectionRecord {
  id: string;
  direction: 'outbound' | 'inbound';
  /** The pod this tunnel serves on the connection (its IP). */
  pod: string;
  src: PeerMeta;
  dst: PeerMeta & {
    /** The CONNECT :authority when the connection is HBONE. */
    hboneAddr?: string;
    /** The service the client addressed (hostname), if any. */
    service?: string;
    serviceName?: string;
    serviceNamespace?: string;
  };
  security: 'mutual_tls' | 'unknown';
  /**
   * The TLS key-exchange group of the HBONE connection (X25519MLKEM768 = post-quantum hybrid).
   * Known on the outbound (client) side only: Node does not expose it on a server socket.
   */
  tlsGroup?: string;
  /** Epoch ms. */
  startedAt: number;
}

export interface ConnectionClosed extends ConnectionRecord {
  /** Client → server bytes (what the source sent). */
  bytesSent: number;
  /** Server → client bytes. */
  bytesRecv: number;
  durationMs: number;
  flag: ResponseFlag;
  /** Why it failed or was refused (absent on a clean close). */
  error?: string;
  /** The stable AMBIT_E_* code of the failure (errors.ts), when its kind is known. */
  code?: string;
}

/** How a connection the proxy ended itself ended (errors.ts failure()). */
export interface ConnectionEnd {
  flag: ResponseFlag;
  error: string;
  code?: string;
}

/** Where the data path reports connections (metrics, access log, admin). */
export interface ConnectionSink {
  opened(r: ConnectionRecord): void;
  closed(r: ConnectionClosed): void;
}

/** Reports a connection's close once its socket closes; `s` is the proxy's socket to the side whose reads are "sent". */
export function reportOnClose(sink: ConnectionSink, rec: ConnectionRecord, s: net.Socket, counts: () => { sent: number; recv: number }, end?: () => ConnectionEnd | undefined): void {
  s.once('close', (hadError) => {
    const c = counts();
    const e = end?.();
    sink.closed({ ...rec, bytesSent: c.sent, bytesRecv: c.recv, durationMs: Date.now() - rec.startedAt, flag: e?.flag ?? '-', ...(e ? { error: e.error, ...(e.code ? { code: e.code } : {}) } : hadError ? { error: 'connection reset' } : {}) });
  });
}

/** A record of a connection refused before it opened. */
export function refused(rec: ConnectionRecord, end: ConnectionEnd, durationMs = 0): ConnectionClosed {
  return { ...rec, bytesSent: 0, bytesRecv: 0, durationMs, ...end };
}

export const stripV4Mapped = (ip: string): string => (ip.startsWith('::ffff:') ? ip.slice(7) : ip);

/**
 * The workload fields telemetry labels need, from a pushed Workload; for a peer not in our
 * config, from what it said in its baggage (ztunnel: local state wins over baggage); else just
 * the address.
 */
export function peerMeta(addr: string, w?: Workload, identity?: string, baggage?: Baggage): PeerMeta {
  const id = identity ?? (w ? spiffeIdOf(w) : undefined);
  if (!w && baggage && Object.keys(baggage).length > 0) {
    return {
      addr,
      ...(id ? { identity: id } : {}),
      ...(baggage.workloadName ? { workload: baggage.workloadName } : {}),
      ...(baggage.namespace ? { namespace: baggage.namespace } : {}),
      ...(baggage.serviceName ? { canonicalService: baggage.serviceName } : {}),
      ...(baggage.serviceVersion ? { canonicalRevision: baggage.serviceVersion } : {}),
      ...(baggage.clusterName ? { cluster: baggage.clusterName } : {}),
      app: baggage.workloadName ?? '',
    };
  }
  if (!w) return { addr, ...(id ? { identity: id } : {}) };
  return {
    addr,
    ...(id ? { identity: id } : {}),
    workload: w.workloadName || w.name,
    namespace: w.namespace,
    canonicalService: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    cluster: w.clusterId,
  };
}

/** What we say about a workload in baggage (ztunnel Workload::baggage: workload_name, no fallback). */
export function baggageOf(w: Workload | undefined): Baggage | undefined {
  if (!w) return undefined;
  return {
    clusterName: w.clusterId,
    namespace: w.namespace,
    workloadType: w.workloadType?.toLowerCase() as NonNullable<Baggage['workloadType']>,
    workloadName: w.workloadName,
    serviceName: w.canonicalName,
    serviceVersion: w.canonicalRevision,
    ...(w.locality ? { region: w.locality.region, zone: w.locality.zone } : {}),
  };
}

export function serviceMeta(s?: Service): Pick<ConnectionRecord['dst'], 'service' | 'serviceName' | 'serviceNamespace'> {
  return s ? { service: s.hostname, serviceName: s.name, serviceNamespace: s.namespace } : {};
}

/**
 * The source workload of an inbound connection: looked up by IP, unless the request says it
 * came from another network through a gateway (`x-forwarded-network`), where the IP means
 * nothing here (ztunnel inbound.rs); then only its baggage describes it.
 */
export function sourceWorkload(state: Pick<MeshState, 'workloadByIp'>, srcIp: string, local: Workload | undefined, peer?: PeerTelemetry): Workload | undefined {
  const from = peer?.forwardedNetwork;
  if (from !== undefined && from.toLowerCase() !== (local?.network ?? '').toLowerCase()) return undefined;
  return state.workloadByIp(srcIp);
}

/** `forwarded: for="…";host=<svc>` → the service hostname (spec §2.4). */
export function forwardedHost(header: string | string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  const m = v?.match(/(?:^|;)\s*host=("?)([^";,]+)\1/i);
  return m?.[2];
}

let seq = 0;
export const nextConnectionId = (): string => `${process.pid.toString(36)}-${(++seq).toString(36)}`;
