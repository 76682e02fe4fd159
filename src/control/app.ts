// The control plane process: API server (store + registry) plus the controllers that
// play kube-controller-manager and kube-scheduler. Controllers talk to the API server
// over HTTP like any other client. With `ca` set it also runs the mesh CA (Istio's
// CreateCertificate over gRPC/TLS), publishes the root and CRL ConfigMaps, and serves
// Prometheus metrics on the monitoring port. With the CA it also pushes mesh configuration to
// node tunnels: delta ADS on the CA's port (as istiod serves both on :15012), fed by the mesh
// controller (informers → translate → XdsServer).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Authenticator, type TokenEntry } from '../apiserver/auth.js';
import { Registry } from '../apiserver/registry.js';
import { ApiServer } from '../apiserver/server.js';
import { ServiceIPAllocator } from '../apiserver/service-ips.js';
import { Store } from '../apiserver/store.js';
import { Wal } from '../apiserver/wal.js';
import { KubeClient } from '../client/kube-client.js';
import { SERVICE_CIDR } from '../cluster/addressing.js';
import { DeploymentController } from '../controllers/deployment-controller.js';
import { EndpointsController } from '../controllers/endpoints-controller.js';
import { Scheduler } from '../controllers/scheduler.js';
import { CertificateAuthority } from '../ca/authority.js';
import { NodeAuthority } from '../ca/node-auth.js';
import { NodePods } from '../ca/node-pods.js';
import { TrustPublisher } from '../ca/publisher.js';
import { caMetrics, CaServer } from '../ca/server.js';
import { DEFAULT_CLUSTER_ID } from '../identity/cluster-id.js';
import type { Logger } from '../lib/log.js';
import { MetricsRegistry } from '../lib/metrics.js';
import { XdsServer } from '../xds/server.js';
import { MeshController } from './mesh-controller.js';
import { startMonitoring, type MonitoringServer } from './monitoring.js';

export interface ControlPlaneConfig {
  dataDir: string;
  port: number;
  /** Tokens accepted from users and node agents. */
  tokens: TokenEntry[];
  /** PEM serving certificate, key and the CA that signed them. */
  tls?: { cert: string; key: string; ca: string };
  /** The mesh CA; needs `tls` (the CA's own clients of the API server use it). */
  ca?: CaConfig;
  /** Prometheus /metrics on 127.0.0.1:<port> (0 = any free port); none if unset. */
  metricsPort?: number;
  log: Logger;
}

export interface CaConfig {
  /** The CA directory (`<state>/<cluster>/ca`): opened, or a self-signed root made on first use. */
  dir: string;
  trustDomain: string;
  /** gRPC/TLS port of the CA (0 = any free port). */
  port: number;
  /** Seconds until each published CRL's nextUpdate (default 24h). */
  crlValiditySeconds?: number;
}

export interface ControlPlane {
  port: number;
  /** Where the CA and /metrics listen, when they run. */
  caPort?: number;
  metricsPort?: number;
  authority?: CertificateAuthority;
  /** The xDS server (runs with the CA). */
  xds?: XdsServer;
  close(): Promise<void>;
}

export function readTokens(file: string): TokenEntry[] {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the token file ${file}: ${(e as Error).message}`);
  }
  return JSON.parse(raw) as TokenEntry[];
}

export async function startControlPlane(cfg: ControlPlaneConfig): Promise<ControlPlane> {
  const store = new Store(new Wal(cfg.dataDir));
  if (store.truncatedBytes) cfg.log(`store: dropped a torn final log record (${store.truncatedBytes} bytes) left by a crash`);
  cfg.log(`store: loaded at resourceVersion ${store.resourceVersion} from ${cfg.dataDir}`);
  const registry = new Registry(store, new ServiceIPAllocator(SERVICE_CIDR));
  registry.bootstrap();
  // Controllers get their own in-memory token: nothing on disk grants their rights.
  const controllerToken = randomBytes(32).toString('hex');
  const auth = new Authenticator([...cfg.tokens, { token: controllerToken, user: 'system:controller-manager', role: 'admin' }]);
  const api = new ApiServer({ registry, auth, port: cfg.port, log: cfg.log, ...(cfg.tls ? { tls: { cert: cfg.tls.cert, key: cfg.tls.key } } : {}) });
  const port = await api.listen();
  const scheme = cfg.tls ? 'https' : 'http';
  cfg.log(`api server listening on ${scheme}://127.0.0.1:${port}`);
  const client = new KubeClient({ baseUrl: `${scheme}://127.0.0.1:${port}`, token: controllerToken, ...(cfg.tls ? { ca: cfg.tls.ca } : {}) });
  const controllers = [new Scheduler(client, cfg.log), new DeploymentController(client, cfg.log), new EndpointsController(client, cfg.log)];
  await Promise.all(controllers.map((c) => c.start()));
  cfg.log('controllers started: scheduler, deployment, endpoints');
  const metrics = new MetricsRegistry();
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) await c();
    for (const c of controllers) c.stop();
    client.close();
    await api.close();
    store.close();
  };
  const out: ControlPlane = { port, close: closeAll };
  try {
    if (cfg.ca) {
      const mesh = await startCa(cfg.ca, cfg, `${scheme}://127.0.0.1:${port}`, controllerToken, metrics);
      closers.push(mesh.close);
      out.caPort = mesh.port;
      out.authority = mesh.authority;
      out.xds = mesh.xds;
    }
    if (cfg.metricsPort !== undefined) {
      const mon: MonitoringServer = await startMonitoring(metrics, cfg.metricsPort);
      closers.push(mon.close);
      out.metricsPort = mon.port;
      cfg.log(`metrics on http://127.0.0.1:${mon.port}/metrics`);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  return out;
}

/** Opens the CA and starts its gRPC server and the root/CRL publisher. */
async function startCa(ca: CaConfig, cfg: ControlPlaneConfig, baseUrl: string, token: string, metrics: MetricsRegistry): Promise<{ port: number; authority: CertificateAuthority; xds: XdsServer; close(): Promise<void> }> {
  if (!cfg.tls) throw new Error('the CA needs the API server to run with TLS (ControlPlaneConfig.tls)');
  const authority = await CertificateAuthority.open(ca.dir, { trustDomain: ca.trustDomain });
  recordTrustDomain(ca.dir, ca.trustDomain, authority.mode);
  // Its own client (connection pool): the CA's watches must not queue behind the controllers'.
  const client = new KubeClient({ baseUrl, token, ca: cfg.tls.ca });
  const publisher = new TrustPublisher({ client, authority, log: cfg.log, ...(ca.crlValiditySeconds ? { crlValiditySeconds: ca.crlValiditySeconds } : {}) });
  const nodeAuth = NodeAuthority.open(ca.dir);
  // The same node tokens authenticate xDS: ztunnel sends one token to the CA and to xDS (spec §4.1).
  const xds = new XdsServer({ nodeAuth, metrics, log: cfg.log });
  // Its own API client, so 50,000 pod events do not queue behind the CA's watches.
  const meshClient = new KubeClient({ baseUrl, token, ca: cfg.tls.ca });
  const mesh = new MeshController({ client: meshClient, xds, clusterId: DEFAULT_CLUSTER_ID, trustDomain: ca.trustDomain, log: cfg.log });
  let server: CaServer | undefined;
  try {
    await publisher.start();
    await mesh.start();
    server = await CaServer.start({
      authority,
      nodeAuth,
      registerServices: (srv) => xds.register(srv),
      // A reconnecting node tunnel lists every resource it holds in initial_resource_versions.
      maxReceiveMessageBytes: 64 * 1024 * 1024,
      pods: new NodePods(client, cfg.log),
      adminTokens: cfg.tokens.filter((t) => t.role === 'admin').map((t) => t.token),
      metrics: caMetrics(metrics),
      clusterId: DEFAULT_CLUSTER_ID,
      port: ca.port,
      onChange: () => publisher.publish(),
      log: cfg.log,
    });
  } catch (e) {
    mesh.stop();
    xds.close();
    meshClient.close();
    publisher.stop();
    client.close();
    throw e;
  }
  const st = authority.status();
  cfg.log(`ca: ${st.mode} CA for trust domain ${st.trustDomain} serving istio.v1.auth.IstioCertificateService and delta ADS on 127.0.0.1:${server.port} (TLS); root ${st.roots[0]?.fingerprintSha256 ?? '?'}`);
  const srv = server;
  return {
    port: srv.port,
    authority,
    xds,
    async close() {
      mesh.stop();
      xds.close();
      await srv.close();
      meshClient.close();
      publisher.stop();
      client.close();
    },
  };
}

/** Writes <ca dir>/config.json (the file `ambit ca init` writes) when no one has yet, so offline `ambit ca` uses the same trust domain. */
function recordTrustDomain(dir: string, trustDomain: string, mode: string): void {
  const file = path.join(dir, 'config.json');
  if (fs.existsSync(file)) return;
  fs.writeFileSync(file, `${JSON.stringify({ trustDomain, mode, createdAt: new Date().toISOString() }, null, 2)}\n`, { mode: 0o644 });
}
