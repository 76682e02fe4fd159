// The waypoint process (`ambit waypoint run`, in a waypoint pod's network namespace): its own
// certificate from the CA with the pod's service-account token, delta xDS as a waypoint client
// (Address, Authorization and its own WaypointRoutes), the L7 proxy on :15008, and the ops
// ports: Prometheus on 15020, readiness on 15021 (ready after the certificate and the first
// xDS sync; the node agent probes it), admin on 15000 (/config_dump).
import * as fs from 'node:fs';
import { CaClient, DEFAULT_CA_SERVERNAME } from '../identity/ca-client.js';
import { CertManager } from '../identity/cert-manager.js';
import type { Logger } from '../lib/log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../lib/metrics.js';
import { AmbitError } from '../lib/errors.js';
import type { MeshSnapshot } from '../mesh-api/types.js';
import { WAYPOINT_HBONE_PORT, WAYPOINT_METRICS_PORT, WAYPOINT_READY_PATH, WAYPOINT_STATUS_PORT } from '../mesh-api/waypoint-env.js';
import { certificateDump } from '../dataplane/admin/config-dump.js';
import { json, serveOps, text } from '../dataplane/admin/http.js';
import { MeshState } from '../dataplane/mesh-state.js';
import { XdsClient } from '../dataplane/xds-client.js';
import { WAYPOINT_TYPES } from '../xds/registry.js';
import { waypointIdentity, waypointNode, type WaypointProcessConfig } from './config.js';
import { WaypointProxy, type RouteStore } from './proxy.js';
import { WaypointTelemetry } from './telemetry.js';

export const WAYPOINT_ADMIN_PORT = 15000;

export interface WaypointDaemonOptions {
  /** Ports (0 = any, for tests); default Istio's. */
  ports?: { hbone?: number; stats?: number; readiness?: number; admin?: number };
  /** Where the proxy and the stats/readiness ports listen (default 0.0.0.0: the pod's netns). */
  host?: string;
  /** The admin port's address (default 127.0.0.1, like Envoy's admin). */
  adminHost?: string;
  log: Logger;
  /** Access-log lines (default: log). */
  accessLog?: (line: string) => void;
}

export interface WaypointDaemon {
  identity: string;
  xds: XdsClient;
  certs: CertManager;
  telemetry: WaypointTelemetry;
  /** Resolves once serving: certificate issued, xDS synced, HBONE listening. */
  ready: Promise<void>;
  isReady(): boolean;
  proxy(): WaypointProxy | undefined;
  ports(): { hbone: number; stats: number; readiness: number; admin: number };
  close(): Promise<void>;
}

/** Reads a file the node agent writes; a missing one is an operator error that names it. */
function readFileOrFail(what: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new AmbitError('AMBIT_E_SYSTEM', `${what} ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'the node agent writes it before starting the waypoint pod; check the pod was started by it' });
  }
}

const snapshotOf = (xds: XdsClient): MeshSnapshot => ({ workloads: [...xds.state.workloads.values()], services: [...xds.state.services.values()], authorizations: [...xds.state.authorizations.values()] });

export function startWaypointDaemon(cfg: WaypointProcessConfig, opts: WaypointDaemonOptions): WaypointDaemon {
  const { log } = opts;
  const host = opts.host ?? '0.0.0.0';
  const identity = waypointIdentity(cfg);
  // Both files are checked at start so a broken pod fails with their names, not a gRPC error.
  const roots = readFileOrFail('CA_ROOT_FILE', cfg.caRootFile);
  readFileOrFail('ISTIO_TOKEN_FILE', cfg.tokenFile);
  const readToken = (): string => fs.readFileSync(cfg.tokenFile, 'utf8').trim(); // refreshed by the node agent
  const ca = new CaClient({ address: cfg.caAddress, rootsPem: () => fs.readFileSync(cfg.caRootFile, 'utf8'), token: readToken, servername: DEFAULT_CA_SERVERNAME, clusterId: cfg.clusterId });
  const certs = new CertManager(ca);
  const telemetry = new WaypointTelemetry(undefined, opts.accessLog ?? log);

  let mesh = new MeshState({ workloads: [], services: [], authorizations: [] });
  const xds = new XdsClient({ address: cfg.xdsAddress, roots, token: readToken, node: waypointNode(cfg), servername: DEFAULT_CA_SERVERNAME, types: WAYPOINT_TYPES, log });
  // The proxy reads routes live from the xDS store; the mesh index is rebuilt on each change.
  const routes: RouteStore = { get: (service) => xds.state.waypointRoutes.get(service) };
  xds.on('change', () => (mesh = new MeshState(snapshotOf(xds))));
  xds.on('connected', () => log(`xDS connected to ${cfg.xdsAddress}`));
  xds.on('disconnected', (st) => log(`xDS disconnected (${st.details || st.code}); serving from the last known config`));
  let xdsSynced = false;
  void xds.ready.then(() => {
    xdsSynced = true;
    log(`xDS synced: ${xds.state.services.size} services, ${xds.state.waypointRoutes.size} route sets`);
  });
  xds.start();

  let proxy: WaypointProxy | undefined;
  let hbonePort = 0;
  let closed = false;
  let markListening!: () => void;
  const listening = new Promise<void>((r) => (markListening = r));
  certs.on('fetchFailed', (id, e) => log(`certificate for ${id}: ${e.message}`));
  certs.on('updated', (c) => {
    log(`certificate for ${c.identity} issued, valid until ${c.notAfter.toISOString()}`);
    if (proxy) return proxy.setCertificate(c);
    if (closed) return;
    const p = new WaypointProxy({ certificate: c, mesh: () => mesh, routes, telemetry, log });
    proxy = p;
    p.listen(opts.ports?.hbone ?? WAYPOINT_HBONE_PORT, host).then(
      (a) => {
        hbonePort = a.port;
        log(`HBONE listening on ${host}:${a.port} as ${identity}`);
        markListening();
      },
      (e: Error) => log(`HBONE ${host}:${opts.ports?.hbone ?? WAYPOINT_HBONE_PORT}: ${e.message}`),
    );
  });
  certs.prefetch(identity);

  const hasCert = (): boolean => certs.snapshot().some((s) => s.identity === identity && s.notAfter !== undefined && s.notAfter.getTime() > Date.now());
  const pending = (): string[] => [...(xdsSynced ? [] : ['xDS (first sync)']), ...(hasCert() ? [] : [`certificate (${identity})`]), ...(hbonePort ? [] : ['HBONE listener'])];
  const isReady = (): boolean => pending().length === 0;
  const ready = Promise.all([xds.ready, listening]).then(() => log('serving'));

  const stats = serveOps('stats port', host, opts.ports?.stats ?? WAYPOINT_METRICS_PORT, (req, url) => {
    if (req.method === 'GET' && (url.pathname === '/metrics' || url.pathname === '/stats/prometheus')) return { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: telemetry.registry.render() };
    return text(404, 'not found: the stats port serves GET /stats/prometheus and /metrics\n');
  }, log);
  const readiness = serveOps('readiness port', host, opts.ports?.readiness ?? WAYPOINT_STATUS_PORT, (req, url) => {
    if (req.method === 'GET' && url.pathname === WAYPOINT_READY_PATH) return isReady() ? text(200, 'ready\n') : text(503, `not ready, pending: ${pending().join(', ')}\n`);
    return text(404, `not found: the readiness port serves GET ${WAYPOINT_READY_PATH}\n`);
  }, log);
  const admin = serveOps('admin port', opts.adminHost ?? '127.0.0.1', opts.ports?.admin ?? WAYPOINT_ADMIN_PORT, (req, url) => {
    if (url.pathname === '/') return text(200, 'waypoint admin:\n  GET /config_dump\n  GET /stats/prometheus\n');
    if (url.pathname === '/stats/prometheus') return { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: telemetry.registry.render() };
    if (url.pathname !== '/config_dump') return text(404, 'not found: see GET /\n');
    if (req.method !== 'GET') return text(405, 'use GET\n');
    return json(200, {
      waypoint: { name: cfg.waypointName, namespace: cfg.podNamespace, pod: cfg.podName, node: cfg.nodeName, identity },
      ready: isReady(),
      pending: pending(),
      xds: { address: cfg.xdsAddress, connected: xds.connected, synced: xdsSynced, stats: { ...xds.stats } },
      certificates: certs.snapshot().map(certificateDump),
      services: [...xds.state.services.values()],
      workloads: [...xds.state.workloads.values()],
      policies: [...xds.state.authorizations.values()],
      routes: [...xds.state.waypointRoutes.values()],
    });
  }, log);

  return {
    identity,
    xds,
    certs,
    telemetry,
    ready,
    isReady,
    proxy: () => proxy,
    ports: () => ({ hbone: hbonePort, stats: stats.port(), readiness: readiness.port(), admin: admin.port() }),
    async close() {
      closed = true;
      // Stop answering ready first, so the pod leaves the endpoints before the listener goes.
      await readiness.close();
      await proxy?.close();
      xds.close();
      certs.close();
      await Promise.all([stats.close(), admin.close()]);
    },
  };
}
