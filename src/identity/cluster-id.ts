// The cluster a node tunnel says it belongs to, sent as `clusterid` gRPC metadata to the CA
// (ztunnel identity/auth.rs, with its token); istiod uses it to pick the cluster whose API server
// validates the token. ztunnel config.rs: ISTIO_META_CLUSTER_ID, else CLUSTER_ID, else "Kubernetes".
export const DEFAULT_CLUSTER_ID = 'Kubernetes';

export function clusterIdFromEnv(env: NodeJS.ProcessEnv): string {
  return env['ISTIO_META_CLUSTER_ID'] || env['CLUSTER_ID'] || DEFAULT_CLUSTER_ID;
}
