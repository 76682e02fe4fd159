// One record per proxied connection, the single source for metrics, the access log and the
// admin connection list (spec §8). Plain data, so it can cross worker threads. Pure.
import type { Service, Workload } from '../api/types.js';
import { spiffeIdOf } from './state.js';

/** ztunnel's response flags (spec §8.1); '-' means none. */
export type ResponseFlag = '-' | 'DENY' | 'CONNECT' | 'TLS_FAILURE' | 'H2_HANDSHAKE_FAILURE' | 'NETWORK_POLICY' | 'IDENTITY_ERROR' | 'CERT_REVOKED';

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
}

/** The workload fields telemetry labels need, from a pushed Workload (or just the address). */
export function peerMeta(addr: string, w?: Workload, identity?: string): PeerMeta {
  const id = identity ?? (w ? spiffeIdOf(w) : undefined);
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

export function serviceMeta(s?: Service): Pick<ConnectionRecord['dst'], 'service' | 'serviceName' | 'serviceNamespace'> {
  return s ? { service: s.hostname, serviceName: s.name, serviceNamespace: s.namespace } : {};
}

/** `forwarded: for="…";host=<svc>` → the service hostname (spec §2.4). */
export function forwardedHost(header: string | string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  const m = v?.match(/(?:^|;)\s*host=("?)([^";,]+)\1/i);
  return m?.[2];
}

let seq = 0;
export const nextConnectionId = (): string => `${process.pid.toString(36)}-${(++seq).toString(36)}`;
