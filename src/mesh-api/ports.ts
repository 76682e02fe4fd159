// The mesh's well-known ports, as Istio numbers them (spec §2, §3). One definition for every layer.

/** HBONE: mTLS HTTP/2 CONNECT tunnels between node tunnels and waypoints. */
export const HBONE_PORT = 15008;
/** The node tunnel's capture port for a pod's outbound TCP (ztunnel 15001). */
export const OUTBOUND_CAPTURE_PORT = 15001;
/** The node tunnel's capture port for plaintext inbound TCP (ztunnel 15006). */
export const INBOUND_CAPTURE_PORT = 15006;
/** A proxy's admin server (ztunnel 15000). */
export const ADMIN_PORT = 15000;
/** A proxy's Prometheus stats (ztunnel 15020). */
export const STATS_PORT = 15020;
/** A proxy's readiness endpoint (ztunnel 15021). */
export const READINESS_PORT = 15021;
/** The control plane's secure gRPC: xDS and the CA (istiod 15012). */
export const SECURE_GRPC_PORT = 15012;
/** The control plane's monitoring endpoint (istiod 15014). */
export const CONTROL_PLANE_MONITORING_PORT = 15014;
