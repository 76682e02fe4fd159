// Every proxy's operations ports (spec §1, §8, §9): Prometheus metrics on the stats port
// (/metrics, /stats/prometheus), readiness (/healthz/ready) and the admin port (/config_dump,
// /logging, /quitquitquit). What they serve comes from the proxy; the routes are shared.
// The admin port wants the cluster's admin token as a bearer credential (all but its index):
// ztunnel's localhost:15000 is inside its own pod netns, a node tunnel's here is in the host's,
// which every local user shares, so loopback alone is no boundary. Metrics and readiness stay
// open (no secrets, no effects; Prometheus and probes read them).
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { getLogLevel, LOG_LEVELS, parseLogLevel, setLogLevel, type Logger } from '../../lib/log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../lib/metrics.js';
import { readinessResponse, type Readiness } from '../readiness.js';
import { json, serveOps, text, type OpsServer } from './http.js';

export interface ProxyPorts {
  admin: number;
  stats: number;
  readiness: number;
}

export interface ProxyOpsOptions {
  /** What the admin index calls this proxy ('node tunnel', 'waypoint'). */
  proxy: string;
  /** 0 picks a free port (tests). */
  ports: ProxyPorts;
  /** Default 127.0.0.1: the ports are local only. */
  host?: string;
  log: Logger;
  /** The Prometheus text exposition. */
  metrics(): string;
  readiness(): Readiness;
  /** /config_dump's JSON body, given the bound ports. */
  configDump(ports: ProxyPorts): string;
  /** /quitquitquit: a graceful self-stop (default: SIGTERM to this process, the same path as a signal). */
  quit?: () => void;
  /**
   * The admin credential (the cluster's admin token), read per request so a rotated one applies;
   * returning undefined refuses every admin endpoint but the index (fail closed). 'none' only for
   * a proxy whose admin port sits in its own network namespace (a waypoint pod), as ztunnel's.
   */
  adminToken: (() => string | undefined) | 'none';
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

export interface ProxyOpsServers {
  /** Bound ports (after `listening`). */
  ports(): ProxyPorts;
  /** Resolves once all three ports listen. */
  listening: Promise<ProxyPorts>;
  close(): Promise<void>;
}

export function serveProxyOps(o: ProxyOpsOptions): ProxyOpsServers {
  const host = o.host ?? '127.0.0.1';
  const { log } = o;
  const stats = serveOps('stats port', host, o.ports.stats, (req, url) => {
    if (req.method === 'GET' && (url.pathname === '/metrics' || url.pathname === '/stats/prometheus')) return { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: o.metrics() };
    return text(404, 'not found: the stats port serves GET /metrics and /stats/prometheus\n');
  }, log);

  const readinessServer = serveOps('readiness port', host, o.ports.readiness, (req, url) => {
    if (req.method === 'GET' && url.pathname === '/healthz/ready') {
      const r = readinessResponse(o.readiness());
      return text(r.status, r.body);
    }
    return text(404, 'not found: the readiness port serves GET /healthz/ready\n');
  }, log);

  const quit = o.quit ?? (() => process.kill(process.pid, 'SIGTERM'));
  const readToken = (): string | undefined => {
    if (o.adminToken === 'none') return undefined;
    try {
      return o.adminToken();
    } catch {
      return undefined; // unreadable: fail closed
    }
  };
  const admin = serveOps('admin port', host, o.ports.admin, (req, url) => {
    if (url.pathname === '/') {
      const auth = o.adminToken === 'none' ? '' : ' (all but this index need "Authorization: Bearer <admin token>"; `ambit tunnel-config` sends it)';
      return text(200, `${o.proxy} admin${auth}:\n  GET  /config_dump\n  GET  /logging\n  POST /logging?level=debug|info|warn|error\n  POST /quitquitquit\n`);
    }
    if (o.adminToken !== 'none') {
      const cred = checkAdminCredential(req, readToken());
      if (cred === 'unconfigured') return text(403, `this ${o.proxy} has no admin credential configured, so its admin endpoints are off\n`);
      if (cred !== 'ok') {
        log(`admin ${req.method ?? ''} ${url.pathname}: refused (${cred} credential) from ${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`);
        return text(401, `${cred === 'missing' ? 'missing' : 'wrong'} credential: send "Authorization: Bearer <admin token>" (the cluster's admin token in tokens.json), or use ambit tunnel-config\n`);
      }
    }
    switch (url.pathname) {
      case '/config_dump':
        if (req.method !== 'GET') return text(405, 'use GET\n');
        return { status: 200, type: 'application/json', body: o.configDump(ports()) };
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

  const ports = (): ProxyPorts => ({ admin: admin.port(), stats: stats.port(), readiness: readinessServer.port() });
  const servers: OpsServer[] = [admin, stats, readinessServer];
  const listening = Promise.all(servers.map((s) => s.listening)).then(() => ports());
  void listening.then((p) => log(`operations: admin http://${host}:${p.admin}/config_dump, metrics http://${host}:${p.stats}/metrics, readiness http://${host}:${p.readiness}/healthz/ready; access log: JSON lines with "scope":"access"`));
  return {
    ports,
    listening,
    async close() {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
