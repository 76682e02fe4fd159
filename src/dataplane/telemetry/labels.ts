// Istio's TCP metric labels (CommonTrafficLabels, spec §8.1) for one connection record. Pure.
// Every value comes from workload-level facts (workload name, namespace, canonical service and
// revision, SPIFFE identity, cluster, service hostname), never from pod names, addresses, ports
// or connection ids, so the number of series stays bounded however many pods come and go.
import type { ConnectionRecord } from '../connections.js';
import type { ResponseFlag } from '../errors.js';

export type TrafficLabels = Record<(typeof TRAFFIC_LABEL_NAMES)[number], string>;

export const TRAFFIC_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_service',
  'destination_service_namespace',
  'destination_service_name',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

/** Istio renders a missing value as "unknown". */
const v = (s: string | undefined): string => (s ? s : 'unknown');

/**
 * The labels of a connection as reported by this side: outbound → reporter="source", inbound →
 * reporter="destination". The source principal is only the peer's mTLS identity (or our own on
 * outbound mTLS), never one guessed from an address; the destination principal is the
 * destination workload's identity, as ztunnel does.
 */
export function trafficLabels(r: ConnectionRecord, flag: ResponseFlag = '-'): TrafficLabels {
  const mtls = r.security === 'mutual_tls';
  const { src, dst } = r;
  return {
    reporter: r.direction === 'outbound' ? 'source' : 'destination',
    source_workload: v(src.workload),
    source_canonical_service: v(src.canonicalService),
    source_canonical_revision: v(src.canonicalRevision),
    source_workload_namespace: v(src.namespace),
    source_principal: v(mtls ? src.identity : undefined),
    source_app: v(src.app ?? src.canonicalService),
    source_version: v(src.canonicalRevision),
    source_cluster: v(src.cluster),
    destination_service: v(dst.service),
    destination_service_namespace: v(dst.serviceNamespace),
    destination_service_name: v(dst.serviceName),
    destination_workload: v(dst.workload),
    destination_canonical_service: v(dst.canonicalService),
    destination_canonical_revision: v(dst.canonicalRevision),
    destination_workload_namespace: v(dst.namespace),
    destination_principal: v(dst.identity),
    destination_app: v(dst.app ?? dst.canonicalService),
    destination_version: v(dst.canonicalRevision),
    destination_cluster: v(dst.cluster),
    request_protocol: 'tcp',
    response_flags: flag,
    connection_security_policy: mtls ? 'mutual_tls' : 'unknown',
  };
}

/**
 * Byte counters in Istio's convention (spec §8.1, istio/istio#32399): for both reporters
 * `received` is what the client sent (request direction) and `sent` what the server sent back —
 * "flipped" for the source reporter compared with its own socket's view.
 */
export function metricBytes(c: { bytesSent: number; bytesRecv: number }): { received: number; sent: number } {
  return { received: c.bytesSent, sent: c.bytesRecv };
}
