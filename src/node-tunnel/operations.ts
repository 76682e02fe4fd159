// The node tunnel's operations surface (spec §1, §8, §9), attached to a running daemon:
// Prometheus metrics on the stats port (/metrics, /stats/prometheus), the access log (one JSON
// line per connection on the tunnel's log stream), readiness (/healthz/ready) and the admin
// port (/config_dump, /logging, /quitquitquit). Every port binds 127.0.0.1 only.
// The admin port wants the cluster's admin token as a bearer credential (all but its index):
// ztunnel's localhost:15000 is inside its own pod netns, ours is the host's, which every local
// user shares, so loopback alone is no boundary. Metrics and readiness stay open (no secrets, no
// effects; Prometheus and probes read them).
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { CertManager } from '../identity/cert-manager.js';
import { getLogLevel, LOG_LEVELS, logEnabled, parseLogLevel, setLogLevel, type Logger } from '../lib/log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../lib/metrics.js';
import { onHandshake } from '../dataplane/hbone/handshake-events.js';
import type { XdsClient } from '../dataplane/xds-client.js';
import { configDump, renderConfigDump } from '../dataplane/admin/config-dump.js';
import { json, serveOps, text, type OpsServer } from '../dataplane/admin/http.js';
import type { MeshSnapshot, Workload } from '../mesh-api/types.js';
import type { ConnectionClosed, ConnectionRecord } from '../dataplane/connections.js';
import { readiness, readinessResponse, type Readiness } from '../dataplane/readiness.js';
import { accessLogEntry, formatAccessLog, hostOf } from '../dataplane/telemetry/access-log.js';
import { TunnelMetrics, xdsTerminationReason } from '../dataplane/telemetry/tunnel-metrics.js';
import type { ZdsClient } from './zds-client.js';

export interface TunnelPorts {
  admin: number;
  stats: number;
  readiness: number;
}

export interface TunnelOperationsOptions {
  node: string;
  /** 0 picks a free port (tests). */
  ports: TunnelPorts;
  host?: string;
  trustDomain?: string;
  log: Logger;
  /** Where access-log lines go (default: stderr, the tunnel's log file). */
  accessLog?: (line: string) => void;
  /** /quitquitquit: a graceful self-stop (default: SIGTERM to this process, the same path as a signal). */
  quit?: () => void;
  /**
   * The admin credential (the cluster's admin token), read per request so a rotated one applies.
   * Without one, every admin endpoint but the index is refused (fail closed).
   */
  adminToken?: () => string | undefined;
}

/** 'ok', or why the request may not use the admin port. */
export function checkAdminCredential(req: IncomingMessage, expected: string | undefined): 'ok' | 'missing' | 'wrong' | 'unconfigured' {
  if (!expected) return 'unconfigured';
  const m = /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return 'missing';
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b) ? 'ok' : 'wrong';
}

export interface TunnelOperations {
  metrics: TunnelMetrics;
  readiness(): Readiness;
  /** Bound ports (after `listening`). */
  ports(): TunnelPorts;
  /** Resolves once all three ports listen. */
  listening: Promise<TunnelPorts>;
  close(): Promise<void>;
}

/** What operations reads of the tunnel: a NodeTunnel or the worker-thread front (structurally). */
export interface TunnelView {
  readonly state: { readonly snapshot: MeshSnapshot; workloadByIp(ip: string): Workload | undefined };
  pods(): { uid: string; ip: string; netns: string; identity: string }[];
  connections(): ConnectionRecord[];
  on(event: 'connectionOpened', listener: (r: ConnectionRecord) => void): unknown;
  on(event: 'connectionClosed', listener: (r: ConnectionClosed) => void): unknown;
  on(event: 'certRevoked', listener: (e: { sessions: number }) => void): unknown;
  on(event: 'dryRun', listener: (e: { policy: string; decision: 'allow' | 'deny' }) => void): unknown;
}

interface DaemonParts {
  tunnel: TunnelView;
  xds: XdsClient;
  certs: CertManager;
  zds: ZdsClient;
}

export function startTunnelOperations(d: DaemonParts, opts: TunnelOperationsOptions): TunnelOperations {
  const { tunnel, xds, certs, zds, log } = { ...d, log: opts.log };
  const host = opts.host ?? '127.0.0.1';
  const writeAccess = opts.accessLog ?? ((line: string) => void process.stderr.write(`${line}\n`));

  const metrics = new TunnelMetrics({
    enrolledPods: () => tunnel.pods().length,
    certificates: () => certs.snapshot(),
    xdsConnected: () => xds.connected,
    xdsMessages: () => xds.messagesByType,
    openConnections: () => tunnel.connections(),
  });

  const podName = (addr: string): string | undefined => tunnel.state.workloadByIp(hostOf(addr))?.name;
  const onOpened = metrics.connectionOpened.bind(metrics);
  const onClosed = (c: ConnectionClosed): void => {
    const opened = metrics.connectionClosed(c);
    const names = c.direction === 'outbound' ? { src: podName(c.pod), dst: podName(c.dst.addr) } : { src: podName(c.src.addr), dst: podName(c.pod) };
    const entry = accessLogEntry(c, opened, { ...(names.src ? { src: names.src } : {}), ...(names.dst ? { dst: names.dst } : {}) }, new Date());
    if (logEnabled(entry.level)) writeAccess(formatAccessLog(entry));
  };
  tunnel.on('connectionOpened', onOpened);
  tunnel.on('connectionClosed', onClosed);
  tunnel.on('certRevoked', (e) => metrics.crlRejections.inc({}, e.sessions));
  tunnel.on('dryRun', (e) => metrics.dryRun.inc({ decision: e.decision, policy: e.policy }));

  let hadResponse = false;
  const onConnected = (): void => void (hadResponse = true);
  const onDisconnected = (st: { code: number }): void => {
    metrics.xdsTerminated(xdsTerminationReason(st.code, hadResponse));
    hadResponse = false;
  };
  xds.on('connected', onConnected);
  xds.on('disconnected', onDisconnected);
  let xdsSynced = false;
  void xds.ready.then(() => (xdsSynced = true));

  const onIssued = (): void => metrics.certsIssued.inc();
  const onFailed = (): void => metrics.certFailures.inc();
  certs.on('updated', onIssued);
  certs.on('fetchFailed', onFailed);
  const stopHandshakes = onHandshake((e) => (e.refused ? metrics.handshakeRefused(e.refused) : metrics.handshake(e.side, e.durationMs, e.ok)));

  const ready = (): Readiness =>
    readiness({ xdsSynced, enrollmentSynced: zds.synced, identities: tunnel.pods().map((p) => p.identity), certificates: certs.snapshot(), now: Date.now() });

  const stats = serveOps('stats port', host, opts.ports.stats, (req, url) => {
    if (req.method === 'GET' && (url.pathname === '/metrics' || url.pathname === '/stats/prometheus')) return { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: metrics.render() };
    return text(404, 'not found: the stats port serves GET /metrics and /stats/prometheus\n');
  }, log);

  const readinessServer = serveOps('readiness port', host, opts.ports.readiness, (req, url) => {
    if (req.method === 'GET' && url.pathname === '/healthz/ready') {
      const r = readinessResponse(ready());
      return text(r.status, r.body);
    }
    return text(404, 'not found: the readiness port serves GET /healthz/ready\n');
  }, log);

  const quit = opts.quit ?? (() => process.kill(process.pid, 'SIGTERM'));
  const readToken = (): string | undefined => {
    try {
      return opts.adminToken?.();
    } catch {
      return undefined; // unreadable: fail closed
    }
  };
  const admin = serveOps('admin port', host, opts.ports.admin, (req, url) => {
    if (url.pathname === '/') {
      return text(200, 'node tunnel admin (all but this index need "Authorization: Bearer <admin token>"; `ambit tunnel-config` sends it):\n  GET  /config_dump\n  GET  /logging\n  POST /logging?level=debug|info|warn|error\n  POST /quitquitquit\n');
    }
    const cred = checkAdminCredential(req, readToken());
    if (cred === 'unconfigured') return text(403, 'this node tunnel has no admin credential configured, so its admin endpoints are off\n');
    if (cred !== 'ok') {
      log(`admin ${req.method ?? ''} ${url.pathname}: refused (${cred} credential) from ${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`);
      return text(401, `${cred === 'missing' ? 'missing' : 'wrong'} credential: send "Authorization: Bearer <admin token>" (the cluster's admin token in tokens.json), or use ambit tunnel-config\n`);
    }
    switch (url.pathname) {
      case '/config_dump': {
        if (req.method !== 'GET') return text(405, 'use GET\n');
        const dump = configDump({
          node: opts.node,
          ports: ports(),
          logLevel: getLogLevel(),
          ...(opts.trustDomain ? { trustDomain: opts.trustDomain } : {}),
          xds: { connected: xds.connected, synced: xdsSynced, stats: { ...xds.stats } },
          enrollmentSynced: zds.synced,
          snapshot: tunnel.state.snapshot,
          certificates: certs.snapshot(),
          pods: tunnel.pods(),
          connections: tunnel.connections(),
          now: Date.now(),
        });
        return { status: 200, type: 'application/json', body: renderConfigDump(dump) };
      }
      case '/logging': {
        if (req.method === 'GET') return json(200, { level: getLogLevel(), levels: LOG_LEVELS });
        if (req.method !== 'POST') return text(405, 'use GET to read the level, POST ?level=L to change it\n');
        const raw = url.searchParams.get('level');
        const level = parseLogLevel(raw ?? undefined);
        if (!level) return text(400, `level must be one of ${LOG_LEVELS.join(', ')} (got '${raw ?? ''}')\n`);
        const before = getLogLevel();
        setLogLevel(level);
        if (before !== level) log(`log level ${before} → ${level} (admin /logging)`);
        return json(200, { level });
      }
      case '/quitquitquit':
        if (req.method !== 'POST') return text(405, 'use POST\n');
        log('/quitquitquit: shutting down gracefully');
        setImmediate(quit);
        return text(200, 'OK\n');
      default:
        return text(404, 'not found: see GET /\n');
    }
  }, log);

  const ports = (): TunnelPorts => ({ admin: admin.port(), stats: stats.port(), readiness: readinessServer.port() });
  const servers: OpsServer[] = [admin, stats, readinessServer];
  const listening = Promise.all(servers.map((s) => s.listening)).then(() => ports());
  void listening.then((p) => log(`operations: admin http://${host}:${p.admin}/config_dump, metrics http://${host}:${p.stats}/metrics, readiness http://${host}:${p.readiness}/healthz/ready; access log: JSON lines with "scope":"access"`));
  return {
    metrics,
    readiness: ready,
    ports,
    listening,
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      stopHandshakes();
      certs.off('updated', onIssued);
      certs.off('fetchFailed', onFailed);
      xds.off('connected', onConnected);
      xds.off('disconnected', onDisconnected);
      // Connection events stay subscribed: a drain after this still writes its access-log lines.
    },
  };
}
