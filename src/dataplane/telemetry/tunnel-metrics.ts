// A proxy's Prometheus metrics (spec §8.1; ztunnel's names), fed from connection records and the
// xDS / certificate / handshake events (telemetry/attach.ts). No I/O: the stats server renders
// `registry`. Only the enrolled-pod gauge is the node tunnel's own (omitted without a source).
//
// Connection accounting follows ztunnel's ConnectionResult: opened (response_flags "-") when a
// connection starts, closed with its final flag, failed when it ended with a flag or an error.
// A connection refused before it opened (DENY, no route, HBONE refusal) counts as opened,
// closed and failed at once, so opened = closed + currently open. Bytes are added when the
// connection closes (the records carry totals, not a live count).
import { MetricsRegistry, type Counter, type Histogram } from '../../lib/metrics.js';
import type { ConnectionClosed, ConnectionRecord } from '../connections.js';
import { metricBytes, trafficLabels } from './labels.js';

/** Live state read at scrape time. */
export interface TunnelMetricSources {
  /** Enrolled pods (istio_active_proxy_count); the node tunnel's, absent for other proxies. */
  enrolledPods?(): number;
  /** Certificates held: identity and expiry. */
  certificates(): readonly { identity: string; notAfter?: Date | undefined }[];
  /** Whether the xDS stream is up. */
  xdsConnected(): boolean;
  /** Responses received per type URL. */
  xdsMessages(): ReadonlyMap<string, number>;
  /** Open connections per direction. */
  openConnections(): readonly Pick<ConnectionRecord, 'direction'>[];
}

/** ztunnel's xDS termination reasons (istio_xds_connection_terminations_total). */
export type XdsTerminationReason = 'ConnectionError' | 'Error' | 'Reconnect' | 'Complete';

/** Seconds: 0.5 ms … 10 s (a TLS 1.3 handshake on loopback takes ~1-5 ms). */
export const HANDSHAKE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class TunnelMetrics {
  readonly registry = new MetricsRegistry();
  readonly opened: Counter;
  readonly closed: Counter;
  readonly failed: Counter;
  readonly sentBytes: Counter;
  readonly receivedBytes: Counter;
  readonly xdsTerminations: Counter;
  readonly certsIssued: Counter;
  readonly certFailures: Counter;
  readonly handshakes: Histogram;
  readonly handshakesRefused: Counter;
  readonly handshakesByGroup: Counter;
  readonly crlRejections: Counter;
  readonly dryRun: Counter;
  /** Ids of connections counted as opened and not yet closed (bounded by open connections). */
  readonly #open = new Set<string>();

  constructor(src: TunnelMetricSources) {
    const r = this.registry;
    this.opened = r.counter('istio_tcp_connections_opened_total', 'The total number of TCP connections opened', { labelled: true });
    this.closed = r.counter('istio_tcp_connections_closed_total', 'The total number of TCP connections closed', { labelled: true });
    this.failed = r.counter('istio_tcp_connections_failed_total', 'The total number of TCP connections that failed (unstable)', { labelled: true });
    this.receivedBytes = r.counter('istio_tcp_received_bytes_total', 'The size of total bytes received during request in case of a TCP connection', { labelled: true });
    this.sentBytes = r.counter('istio_tcp_sent_bytes_total', 'The size of total bytes sent during response in case of a TCP connection', { labelled: true });
    r.collected('istio_tcp_sockets_open', 'Open proxied connections, by reporter (unstable)', 'gauge', () => {
      let source = 0;
      let destination = 0;
      for (const c of src.openConnections()) c.direction === 'outbound' ? source++ : destination++;
      return [{ labels: { reporter: 'source' }, value: source }, { labels: { reporter: 'destination' }, value: destination }];
    });
    const enrolled = src.enrolledPods?.bind(src);
    if (enrolled) r.collected('istio_active_proxy_count', 'Pods this node tunnel serves (enrolled)', 'gauge', () => [{ value: enrolled() }]);
    this.xdsTerminations = r.counter('istio_xds_connection_terminations_total', 'xDS stream terminations, by reason (unstable)', { labelled: true });
    r.collected('istio_xds_message_total', 'xDS responses received, by type URL (unstable)', 'counter', () => [...src.xdsMessages()].map(([url, value]) => ({ labels: { url }, value })));
    r.collected('ambit_xds_connected', '1 while the xDS stream to the control plane is up', 'gauge', () => [{ value: src.xdsConnected() ? 1 : 0 }]);
    this.certsIssued = r.counter('ambit_certificates_issued_total', 'Workload certificates received from the CA (first fetch or rotation)');
    this.certFailures = r.counter('ambit_certificate_fetch_failures_total', 'Failed workload certificate fetches');
    r.collected('ambit_certificate_expiration_timestamp_seconds', 'When each held workload certificate expires (Unix time), by identity', 'gauge', () =>
      src
        .certificates()
        .filter((c) => c.notAfter !== undefined)
        .map((c) => ({ labels: { identity: c.identity }, value: Math.floor(c.notAfter!.getTime() / 1000) })),
    );
    this.crlRejections = r.counter('istio_crl_policy_rejections_total', 'HBONE sessions refused at handshake or torn down because the peer certificate is revoked', { labelled: true });
    this.dryRun = r.counter('ambit_authz_dry_run_total', 'Inbound connections a dry-run AuthorizationPolicy would have decided (not enforced), by decision (allow, deny) and policy (ns/name)', { labelled: true });
    this.handshakes = r.histogram('ambit_tls_handshake_duration_seconds', 'HBONE TLS handshake duration, by side (client: outbound pool, server: inbound 15008) and result', HANDSHAKE_BUCKETS);
    this.handshakesByGroup = r.counter('ambit_tls_handshakes_total', 'Completed HBONE TLS handshakes, by side and key-exchange group (X25519MLKEM768: post-quantum hybrid; unknown: the server side, where Node does not expose the group)', { labelled: true });
    this.handshakesRefused = r.counter('ambit_hbone_handshakes_refused_total', 'Inbound HBONE connections closed before the TLS handshake because too many handshakes were unfinished, by limit (global: per listener; source: per source IP)', { labelled: true });
  }

  connectionOpened(r: ConnectionRecord): void {
    if (this.#open.has(r.id)) return;
    this.#open.add(r.id);
    this.opened.inc(trafficLabels(r, '-'));
  }

  /** Returns whether the connection had been reported opened (false: an early refusal). */
  connectionClosed(c: ConnectionClosed): boolean {
    const wasOpen = this.#open.delete(c.id);
    if (!wasOpen) this.opened.inc(trafficLabels(c, '-'));
    const labels = trafficLabels(c, c.flag);
    this.closed.inc(labels);
    if (c.flag !== '-' || c.error !== undefined) this.failed.inc(labels);
    const b = metricBytes(c);
    this.receivedBytes.inc(labels, b.received);
    this.sentBytes.inc(labels, b.sent);
    return wasOpen;
  }

  xdsTerminated(reason: XdsTerminationReason): void {
    this.xdsTerminations.inc({ reason });
  }

  handshakeRefused(limit: 'global' | 'source'): void {
    this.handshakesRefused.inc({ limit });
  }

  handshake(side: 'client' | 'server', durationMs: number, ok: boolean, group?: string): void {
    this.handshakes.observe(durationMs / 1000, { side, result: ok ? 'ok' : 'error' });
    if (ok) this.handshakesByGroup.inc({ side, group: groupLabel(group) });
  }

  render(): string {
    return this.registry.render();
  }
}

/** The groups HBONE offers (hbone/tls.ts); anything else is `other`, so the series stay bounded. */
const KNOWN_GROUPS = new Set(['X25519MLKEM768', 'X25519', 'P-256', 'prime256v1']);
export const groupLabel = (g: string | undefined): string => (g === undefined ? 'unknown' : KNOWN_GROUPS.has(g) ? (g === 'prime256v1' ? 'P-256' : g) : 'other');

/**
 * ztunnel's reason for an ended xDS stream: never got a response → ConnectionError; OK →
 * Complete; the benign codes a server uses to rotate streams → Reconnect; anything else → Error.
 */
export function xdsTerminationReason(code: number, hadResponse: boolean): XdsTerminationReason {
  if (code === 0) return 'Complete';
  if (!hadResponse) return 'ConnectionError';
  // CANCELLED, UNKNOWN, DEADLINE_EXCEEDED
  if (code === 1 || code === 2 || code === 4) return 'Reconnect';
  return 'Error';
}
