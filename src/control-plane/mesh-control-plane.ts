// The mesh control plane (istiod's role), on its own: the CA (Istio's CreateCertificate over
// gRPC/TLS), delta ADS on the same port (as istiod serves both on :15012) fed by the mesh
// controller (informers → translate → XdsServer), the root/CRL publisher, and Prometheus
// /metrics. Everything it knows about the cluster comes from a Kubernetes API server through
// `api`, so it runs against the local stand-in (composed in-process by `ambit control-plane`)
// or any Kubernetes-conventional API server (`ambit mesh-control-plane --kubeconfig`).
// It must not import the local cluster's stand-in (cluster/, apiserver/, controllers/, node-agent/).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CertificateAuthority } from '../ca/authority.js';
import { NodeAuthority } from '../ca/node-auth.js';
import { NodePods } from '../ca/node-pods.js';
import { TrustPublisher } from '../ca/publisher.js';
import { caMetrics, CaServer, MAX_AUTHENTICATED_MESSAGE_BYTES } from '../ca/server.js';
import { kubeTokenReviewer } from '../ca/token-review.js';
import { DELTA_ADS_PATH } from '../xds/proto.js';
import { KubeClient, type ClientConfig } from '../kube/kube-client.js';
import type { ListenAddress } from '../lib/config.js';
import type { Logger } from '../lib/log.js';
import { MetricsRegistry } from '../lib/metrics.js';
import { XdsServer } from './xds-server.js';
import { MeshController } from './mesh-controller.js';
import { startMonitoring, type MonitoringServer } from './monitoring.js';

export interface MeshControlPlaneConfig {
  /** How to reach the Kubernetes API server (base URL, credentials, its CA). */
  api: ClientConfig;
  /** istiod's CLUSTER_ID (default Kubernetes): the cluster named in workload addresses. */
  clusterId: string;
  /** SPIFFE trust domain of the identities the CA issues. */
  trustDomain: string;
  /** The control plane's own namespace (istiod's POD_NAMESPACE): where the CRL ConfigMap goes. */
  systemNamespace: string;
  /** The CA directory (istiod's ROOT_CA_DIR): opened, or a self-signed root made on first use. */
  caDir: string;
  /** The key that signs and verifies node tokens (made if missing; node tokens must be signed by it). */
  nodeTokenKeyFile: string;
  /** The CA + xDS gRPC/TLS listener (istiod's --secureGRPCAddr; port 0 = any free port). */
  grpc: ListenAddress;
  /** Prometheus /metrics (istiod's --monitoringAddr); none if unset. */
  monitoring?: ListenAddress;
  /** Bearer tokens allowed to call the CaAdmin service (`ambit ca ...`); none = nobody. */
  adminTokens: string[];
  /** Seconds until each published CRL's nextUpdate (default 24h). */
  crlValiditySeconds?: number;
}

export interface MeshControlPlane {
  /** Where the CA + xDS and /metrics listen (the bound ports, also when 0 was asked). */
  grpcPort: number;
  metricsPort?: number;
  authority: CertificateAuthority;
  xds: XdsServer;
  close(): Promise<void>;
}

/** Starts the mesh control plane; on failure, whatever it started is stopped again. */
export async function startMeshControlPlane(cfg: MeshControlPlaneConfig, log: Logger): Promise<MeshControlPlane> {
  const authority = await CertificateAuthority.open(cfg.caDir, { trustDomain: cfg.trustDomain });
  recordTrustDomain(cfg.caDir, cfg.trustDomain, authority.mode);
  const metrics = new MetricsRegistry();
  // Its own client (connection pool): the CA's watches must not queue behind anything else.
  const client = new KubeClient(cfg.api);
  const publisher = new TrustPublisher({ client, authority, log, systemNamespace: cfg.systemNamespace, ...(cfg.crlValiditySeconds ? { crlValiditySeconds: cfg.crlValiditySeconds } : {}) });
  // The same node tokens authenticate xDS: ztunnel sends one token to the CA and to xDS (spec §4.1).
  const nodeAuth = NodeAuthority.openKey(cfg.nodeTokenKeyFile);
  // Workloads (waypoints) authenticate with their own service-account token, reviewed by the API server.
  const reviewToken = kubeTokenReviewer(client);
  const xds = new XdsServer({ nodeAuth, reviewToken, trustDomain: cfg.trustDomain, metrics, log });
  // Its own API client, so 50,000 pod events do not queue behind the CA's watches.
  const meshClient = new KubeClient(cfg.api);
  const mesh = new MeshController({ client: meshClient, xds, clusterId: cfg.clusterId, trustDomain: cfg.trustDomain, log, metrics });
  let server: CaServer | undefined;
  let monitoring: MonitoringServer | undefined;
  // xDS streams end before the gRPC server shuts down, so its shutdown does not wait on them.
  const close = async (): Promise<void> => {
    await monitoring?.close();
    mesh.stop();
    xds.close();
    await server?.close();
    meshClient.close();
    publisher.stop();
    client.close();
  };
  try {
    await publisher.start();
    await mesh.start();
    server = await CaServer.start({
      authority,
      nodeAuth,
      reviewToken,
      registerServices: (srv) => xds.register(srv),
      // Tokens are checked before any message is read; only then may a node tunnel send its
      // (large, on reconnect) initial_resource_versions.
      guards: { [DELTA_ADS_PATH]: (md, peer) => xds.guard(md, peer) },
      maxReceiveMessageBytes: MAX_AUTHENTICATED_MESSAGE_BYTES,
      pods: new NodePods(client, log),
      adminTokens: cfg.adminTokens,
      metrics: caMetrics(metrics),
      clusterId: cfg.clusterId,
      host: cfg.grpc.host,
      port: cfg.grpc.port,
      onChange: () => publisher.publish(),
      log,
    });
    const st = authority.status();
    log(`ca: ${st.mode} CA for trust domain ${st.trustDomain} serving istio.v1.auth.IstioCertificateService and delta ADS on ${cfg.grpc.host}:${server.port} (TLS); root ${st.roots[0]?.fingerprintSha256 ?? '?'}`);
    if (cfg.monitoring) {
      monitoring = await startMonitoring(metrics, cfg.monitoring.port, cfg.monitoring.host);
      log(`metrics on http://${cfg.monitoring.host}:${monitoring.port}/metrics`);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { grpcPort: server.port, ...(monitoring ? { metricsPort: monitoring.port } : {}), authority, xds, close };
}

/** Writes <ca dir>/config.json (the file `ambit ca init` writes) when no one has yet, so offline `ambit ca` uses the same trust domain. */
function recordTrustDomain(dir: string, trustDomain: string, mode: string): void {
  const file = path.join(dir, 'config.json');
  if (fs.existsSync(file)) return;
  fs.writeFileSync(file, `${JSON.stringify({ trustDomain, mode, createdAt: new Date().toISOString() }, null, 2)}\n`, { mode: 0o644 });
}
