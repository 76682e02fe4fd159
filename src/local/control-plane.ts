// The local cluster's control-plane process: the stand-in for Kubernetes — API server (store +
// registry) plus the controllers that play kube-controller-manager and kube-scheduler — composed
// with the mesh control plane (CA, xDS, mesh controller, root/CRL publisher, /metrics) through
// the same entry the standalone `ambit mesh-control-plane` uses. Controllers and the mesh control
// plane talk to the API server over HTTPS like any other client, each with its own in-memory token.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { Authenticator, type TokenEntry } from './apiserver/auth.js';
import { Registry } from './apiserver/registry.js';
import { ApiServer } from './apiserver/server.js';
import { ServiceIPAllocator } from './apiserver/service-ips.js';
import { ServiceAccountTokens } from './apiserver/service-account-tokens.js';
import { Store } from './apiserver/store.js';
import { Wal } from './apiserver/wal.js';
import { KubeClient } from '../kube/kube-client.js';
import { SERVICE_CIDR } from './cluster/addressing.js';
import { DeploymentController } from './controllers/deployment-controller.js';
import { EndpointsController } from './controllers/endpoints-controller.js';
import { Scheduler } from './controllers/scheduler.js';
import { WaypointController } from './controllers/waypoint-controller.js';
import type { CertificateAuthority } from '../ca/authority.js';
import type { Logger } from '../lib/log.js';
import type { XdsServer } from '../control-plane/xds-server.js';
import { startMeshControlPlane, type MeshControlPlaneConfig } from '../control-plane/mesh-control-plane.js';

/** The mesh control plane's config minus what the composing process supplies (its API client, the admin tokens). */
export type LocalMeshConfig = Omit<MeshControlPlaneConfig, 'api' | 'adminTokens'>;

export interface ControlPlaneConfig {
  dataDir: string;
  port: number;
  /** Tokens accepted from users and node agents (the admin ones may also call the CA's admin API). */
  tokens: TokenEntry[];
  /** PEM serving certificate, key and the CA that signed them. */
  tls?: { cert: string; key: string; ca: string };
  /** The mesh control plane, run in-process against this API server; needs `tls`. */
  mesh?: LocalMeshConfig;
  log: Logger;
}

export interface ControlPlane {
  port: number;
  /** Where the CA + xDS and /metrics listen, when the mesh control plane runs. */
  caPort?: number;
  metricsPort?: number;
  authority?: CertificateAuthority;
  /** The xDS server (runs with the CA). */
  xds?: XdsServer;
  /** The object store behind the API server (tests write through it to bypass admission). */
  store: Store;
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
  if (cfg.mesh && !cfg.tls) throw new Error('the mesh control plane needs the API server to run with TLS (ControlPlaneConfig.tls)');
  const store = new Store(new Wal(cfg.dataDir), { log: cfg.log });
  if (store.truncatedBytes) cfg.log(`store: dropped a torn final log record (${store.truncatedBytes} bytes) left by a crash`);
  cfg.log(`store: loaded at resourceVersion ${store.resourceVersion} from ${cfg.dataDir}`);
  const registry = new Registry(store, new ServiceIPAllocator(SERVICE_CIDR));
  registry.bootstrap();
  // In-memory tokens: nothing on disk grants the controllers' or the mesh control plane's rights.
  const controllerToken = randomBytes(32).toString('hex');
  const meshToken = randomBytes(32).toString('hex');
  const auth = new Authenticator([
    ...cfg.tokens,
    { token: controllerToken, user: 'system:controller-manager', role: 'admin' },
    { token: meshToken, user: 'system:serviceaccount:istio-system:istiod', role: 'admin' },
  ]);
  const api = new ApiServer({ registry, auth, port: cfg.port, log: cfg.log, saTokens: ServiceAccountTokens.open(cfg.dataDir), ...(cfg.tls ? { tls: { cert: cfg.tls.cert, key: cfg.tls.key } } : {}) });
  const port = await api.listen();
  const scheme = cfg.tls ? 'https' : 'http';
  const baseUrl = `${scheme}://127.0.0.1:${port}`;
  cfg.log(`api server listening on ${baseUrl}`);
  const client = new KubeClient({ baseUrl, token: controllerToken, ...(cfg.tls ? { ca: cfg.tls.ca } : {}) });
  const controllers = [new Scheduler(client, cfg.log), new DeploymentController(client, cfg.log), new EndpointsController(client, cfg.log), new WaypointController(client, cfg.log)];
  await Promise.all(controllers.map((c) => c.start()));
  cfg.log('controllers started: scheduler, deployment, endpoints, waypoint');
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) await c();
    for (const c of controllers) c.stop();
    client.close();
    await api.close();
    store.close();
  };
  const out: ControlPlane = { port, store, close: closeAll };
  if (cfg.mesh) {
    try {
      const mesh = await startMeshControlPlane(
        { ...cfg.mesh, api: { baseUrl, token: meshToken, ca: cfg.tls!.ca }, adminTokens: cfg.tokens.filter((t) => t.role === 'admin').map((t) => t.token) },
        cfg.log,
      );
      closers.push(mesh.close);
      out.caPort = mesh.grpcPort;
      if (mesh.metricsPort !== undefined) out.metricsPort = mesh.metricsPort;
      out.authority = mesh.authority;
      out.xds = mesh.xds;
    } catch (e) {
      await closeAll();
      throw e;
    }
  }
  return out;
}
