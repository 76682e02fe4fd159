// What a waypoint process (`ambit waypoint run`) is started with: environment variables, named
// as Istio's waypoint template and istio-agent name them where they exist. Pure constants.
//
// The waypoint's Deployment (built from its Gateway, control-plane/translate/waypoint-deployment.ts)
// runs `ambit waypoint run`; the node agent that starts the pod sets every variable below
// (Kubernetes would fill them from the template's fieldRefs and projected volumes):
//
//   POD_NAME, POD_NAMESPACE, POD_IP, NODE_NAME  the pod, as the downward API gives them
//   SERVICE_ACCOUNT        the pod's service account (= the Gateway name unless overridden)
//   TRUST_DOMAIN           the mesh trust domain; the waypoint's identity is
//                          spiffe://<TRUST_DOMAIN>/ns/<POD_NAMESPACE>/sa/<SERVICE_ACCOUNT>
//   ISTIO_META_CLUSTER_ID  the cluster id to send as `clusterid` to the CA (Istio: Kubernetes)
//   WAYPOINT_NAME          the Gateway this pod serves (its `gateway.networking.k8s.io/gateway-name`)
//   CA_ADDRESS             the CA's gRPC/TLS address, host:port (Istio: CA_ADDR istiod.istio-system.svc:15012)
//   XDS_ADDRESS            the control plane's delta ADS address, host:port (same listener as the CA)
//   CA_ROOT_FILE           PEM roots that sign the control plane's serving certificate
//                          (Istio mounts them at /var/run/secrets/istio/root-cert.pem);
//                          the serving certificate names `istiod.istio-system.svc`, so verify that name
//   ISTIO_TOKEN_FILE       a Kubernetes service-account JWT for the pod, audience `istio-ca`, mode 0600
//                          (Istio: /var/run/secrets/tokens/istio-token). Send it as
//                          `authorization: Bearer <token>` to the CA (CreateCertificate WITHOUT
//                          ImpersonatedIdentity, or with the token's own identity) and to xDS. The
//                          node agent rewrites the file before the token expires: re-read it on use.
//
// Readiness: the waypoint serves `GET /healthz/ready` on WAYPOINT_STATUS_PORT (15021) once it
// has its certificate and its first xDS push; the pod becomes Ready, and its Gateway gets
// `status.addresses`, only then.
import { HBONE_PORT, READINESS_PORT, STATS_PORT } from './ports.js';

export const WAYPOINT_ENV = {
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  podIP: 'POD_IP',
  nodeName: 'NODE_NAME',
  serviceAccount: 'SERVICE_ACCOUNT',
  trustDomain: 'TRUST_DOMAIN',
  clusterId: 'ISTIO_META_CLUSTER_ID',
  waypointName: 'WAYPOINT_NAME',
  caAddress: 'CA_ADDRESS',
  xdsAddress: 'XDS_ADDRESS',
  caRootFile: 'CA_ROOT_FILE',
  tokenFile: 'ISTIO_TOKEN_FILE',
} as const;

/** The command a waypoint pod's container runs. */
export const WAYPOINT_COMMAND = ['ambit', 'waypoint', 'run'] as const;
/** Istio's waypoint ports: HBONE, the readiness/status port, merged Prometheus metrics. */
export const WAYPOINT_HBONE_PORT = HBONE_PORT;
export const WAYPOINT_STATUS_PORT = READINESS_PORT;
export const WAYPOINT_METRICS_PORT = STATS_PORT;
export const WAYPOINT_READY_PATH = '/healthz/ready';
/** The audience of the token in ISTIO_TOKEN_FILE (istio-agent's projected token). */
export const ISTIO_CA_AUDIENCE = 'istio-ca';
