// Feeds a proxy's metrics and access log from its events: connection records, the xDS stream,
// certificate fetches and TLS handshakes. Returns a detach for everything but the connection
// events (a drain after close still writes its access-log lines).
import type { CertManager } from '../../identity/cert-manager.js';
import { logEnabled } from '../../lib/log.js';
import type { ConnectionClosed, ConnectionRecord } from '../connections.js';
import { onHandshake } from '../hbone/handshake-events.js';
import type { XdsClient } from '../xds-client.js';
import { accessLogEntry, formatAccessLog, hostOf } from './access-log.js';
import { xdsTerminationReason, type TunnelMetrics } from './tunnel-metrics.js';

export interface ConnectionEvents {
  on(event: 'connectionOpened', listener: (r: ConnectionRecord) => void): unknown;
  on(event: 'connectionClosed', listener: (r: ConnectionClosed) => void): unknown;
}

export interface TelemetrySources {
  connections: ConnectionEvents;
  xds: XdsClient;
  certs: CertManager;
  /** Pod name of an address, for the access log's src/dst names. */
  nameOf(ip: string): string | undefined;
  /** Where access-log lines go. */
  accessLog(line: string): void;
}

export function attachTelemetry(metrics: TunnelMetrics, s: TelemetrySources): () => void {
  const podName = (addr: string): string | undefined => s.nameOf(hostOf(addr));
  s.connections.on('connectionOpened', (r) => metrics.connectionOpened(r));
  s.connections.on('connectionClosed', (c) => {
    const opened = metrics.connectionClosed(c);
    const names = c.direction === 'outbound' ? { src: podName(c.pod), dst: podName(c.dst.addr) } : { src: podName(c.src.addr), dst: podName(c.pod) };
    const entry = accessLogEntry(c, opened, { ...(names.src ? { src: names.src } : {}), ...(names.dst ? { dst: names.dst } : {}) }, new Date());
    if (logEnabled(entry.level)) s.accessLog(formatAccessLog(entry));
  });

  let hadResponse = false;
  const onConnected = (): void => void (hadResponse = true);
  const onDisconnected = (st: { code: number }): void => {
    metrics.xdsTerminated(xdsTerminationReason(st.code, hadResponse));
    hadResponse = false;
  };
  s.xds.on('connected', onConnected);
  s.xds.on('disconnected', onDisconnected);

  const onIssued = (): void => metrics.certsIssued.inc();
  const onFailed = (): void => metrics.certFailures.inc();
  s.certs.on('updated', onIssued);
  s.certs.on('fetchFailed', onFailed);
  const stopHandshakes = onHandshake((e) => (e.refused ? metrics.handshakeRefused(e.refused) : metrics.handshake(e.side, e.durationMs, e.ok, e.group)));

  return () => {
    stopHandshakes();
    s.certs.off('updated', onIssued);
    s.certs.off('fetchFailed', onFailed);
    s.xds.off('connected', onConnected);
    s.xds.off('disconnected', onDisconnected);
  };
}
