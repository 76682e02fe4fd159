// The waypoint's request telemetry (waypoint-spec §4): Istio's HTTP metrics with
// reporter="waypoint" (source = the original client, destination = the chosen backend) in
// Envoy's default buckets, and one access-log line per request in Envoy's default text format.
import type { Service, Workload } from '../mesh-api/types.js';
import { peerMeta, serviceMeta, type ConnectionRecord } from '../dataplane/connections.js';
import { trafficLabels } from '../dataplane/telemetry/labels.js';
import { MetricsRegistry, type Counter, type Histogram } from '../lib/metrics.js';
import type { ResponseFlag } from './local-reply.js';

/** Envoy's default histogram buckets (§4.2), used for durations (ms) and sizes (bytes). */
export const ENVOY_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000] as const;

/** One finished request, everything its metrics and log line need. */
export interface RequestRecord {
  startedAt: number;
  durationMs: number;
  /** Time to the upstream's response headers (x-envoy-upstream-service-time). */
  upstreamMs?: number;
  method: string;
  path: string;
  /** HTTP/1.1 or HTTP/2 (downstream). */
  protocol: string;
  grpc: boolean;
  status: number;
  grpcStatus?: string;
  flag: ResponseFlag;
  details: string;
  requestBytes: number;
  responseBytes: number;
  requestId: string;
  authority: string;
  userAgent?: string;
  forwardedFor?: string;
  /** The original client: HBONE peer identity and source address. */
  src: { addr: string; identity: string; workload?: Workload };
  /** The CONNECT authority (VIP:port or pod IP:port). */
  dstAuthority: string;
  service?: Service;
  /** The chosen backend endpoint, if one was picked. */
  upstream?: { addr: string; workload: Workload; service?: Service };
  cluster?: string;
  route?: string;
}

export class WaypointTelemetry {
  readonly registry: MetricsRegistry;
  readonly requests: Counter;
  readonly duration: Histogram;
  readonly requestBytes: Histogram;
  readonly responseBytes: Histogram;

  constructor(registry = new MetricsRegistry(), readonly log: (line: string) => void = () => {}) {
    this.registry = registry;
    this.requests = registry.counter('istio_requests_total', 'Requests through the waypoint', { labelled: true });
    this.duration = registry.histogram('istio_request_duration_milliseconds', 'Request duration', ENVOY_BUCKETS);
    this.requestBytes = registry.histogram('istio_request_bytes', 'Request body size', ENVOY_BUCKETS);
    this.responseBytes = registry.histogram('istio_response_bytes', 'Response body size', ENVOY_BUCKETS);
  }

  record(r: RequestRecord): void {
    const l = requestLabels(r);
    this.requests.inc(l);
    this.duration.observe(r.durationMs, l);
    this.requestBytes.observe(r.requestBytes, l);
    this.responseBytes.observe(r.responseBytes, l);
    this.log(accessLogLine(r));
  }
}

/** Istio's labels for one request: the TCP label set with reporter waypoint and the HTTP fields. */
export function requestLabels(r: RequestRecord): Record<string, string> {
  const upstreamService = r.upstream?.service ?? r.service;
  const rec: ConnectionRecord = {
    id: '',
    direction: 'inbound',
    pod: '',
    src: peerMeta(r.src.addr, r.src.workload, r.src.identity),
    dst: { ...(r.upstream ? peerMeta(r.upstream.addr, r.upstream.workload) : { addr: r.dstAuthority }), ...serviceMeta(upstreamService) },
    security: 'mutual_tls',
    startedAt: r.startedAt,
  };
  const base = trafficLabels(rec);
  return {
    ...base,
    reporter: 'waypoint',
    request_protocol: r.grpc ? 'grpc' : 'http',
    response_code: String(r.status),
    grpc_response_status: r.grpcStatus ?? '',
    response_flags: r.flag,
  };
}

const dash = (s: string | number | undefined): string => (s === undefined || s === '' ? '-' : String(s));

/** Envoy's default text access-log format (§4.3), one line. */
export function accessLogLine(r: RequestRecord): string {
  const upstreamHost = r.upstream ? `envoy://connect_originate/${r.upstream.addr}` : undefined;
  return (
    `[${new Date(r.startedAt).toISOString()}] "${r.method} ${r.path} ${r.protocol}" ${r.status} ${r.flag} ${r.details} - "-" ` +
    `${r.requestBytes} ${r.responseBytes} ${Math.round(r.durationMs)} ${dash(r.upstreamMs === undefined ? undefined : Math.round(r.upstreamMs))} ` +
    `"${dash(r.forwardedFor)}" "${dash(r.userAgent)}" "${r.requestId}" "${r.authority}" "${dash(upstreamHost)}" ${dash(r.cluster)} - ` +
    `${r.dstAuthority} ${r.src.addr} - ${dash(r.route)}`
  );
}
