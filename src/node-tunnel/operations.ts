// The node tunnel's operations surface (spec §1, §8, §9), attached to a running daemon: the
// shared proxy ports (dataplane/admin/ops-servers.ts: metrics, readiness, admin) and telemetry
// (dataplane/telemetry/attach.ts), with what only the node tunnel has: enrolled pods, the node
// agent's enrollment sync, dry-run and CRL counters. Every port binds 127.0.0.1 only.
import type { CertManager } from '../identity/cert-manager.js';
import { getLogLevel, type Logger } from '../lib/log.js';
import type { XdsClient } from '../dataplane/xds-client.js';
import { configDump, renderConfigDump } from '../dataplane/admin/config-dump.js';
import { serveProxyOps, type ProxyPorts } from '../dataplane/admin/ops-servers.js';
import type { MeshSnapshot, Workload } from '../mesh-api/types.js';
import type { ConnectionClosed, ConnectionRecord } from '../dataplane/connections.js';
import { readiness, type Readiness } from '../dataplane/readiness.js';
import { attachTelemetry } from '../dataplane/telemetry/attach.js';
import { TunnelMetrics } from '../dataplane/telemetry/tunnel-metrics.js';
import type { ZdsClient } from './zds-client.js';

export type TunnelPorts = ProxyPorts;

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
  const metrics = new TunnelMetrics({
    enrolledPods: () => tunnel.pods().length,
    certificates: () => certs.snapshot(),
    xdsConnected: () => xds.connected,
    xdsMessages: () => xds.messagesByType,
    openConnections: () => tunnel.connections(),
  });
  const detach = attachTelemetry(metrics, {
    connections: tunnel,
    xds,
    certs,
    nameOf: (ip) => tunnel.state.workloadByIp(ip)?.name,
    accessLog: opts.accessLog ?? ((line: string) => void process.stderr.write(`${line}\n`)),
  });
  tunnel.on('certRevoked', (e) => metrics.crlRejections.inc({}, e.sessions));
  tunnel.on('dryRun', (e) => metrics.dryRun.inc({ decision: e.decision, policy: e.policy }));

  let xdsSynced = false;
  void xds.ready.then(() => (xdsSynced = true));
  const ready = (): Readiness =>
    readiness({ xdsSynced, enrollmentSynced: zds.synced, identities: tunnel.pods().map((p) => p.identity), certificates: certs.snapshot(), now: Date.now() });

  const servers = serveProxyOps({
    proxy: 'node tunnel',
    ports: opts.ports,
    ...(opts.host ? { host: opts.host } : {}),
    log,
    metrics: () => metrics.render(),
    readiness: ready,
    ...(opts.quit ? { quit: opts.quit } : {}),
    adminToken: opts.adminToken ?? (() => undefined),
    configDump: (ports) =>
      renderConfigDump(
        configDump({
          node: opts.node,
          ports,
          logLevel: getLogLevel(),
          ...(opts.trustDomain ? { trustDomain: opts.trustDomain } : {}),
          xds: { connected: xds.connected, synced: xdsSynced, stats: { ...xds.stats } },
          enrollmentSynced: zds.synced,
          snapshot: tunnel.state.snapshot,
          certificates: certs.snapshot(),
          pods: tunnel.pods(),
          connections: tunnel.connections(),
          now: Date.now(),
        }),
      ),
  });
  return {
    metrics,
    readiness: ready,
    ports: servers.ports,
    listening: servers.listening,
    async close() {
      await servers.close();
      detach();
    },
  };
}
