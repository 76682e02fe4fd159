// Label, annotation and class names of Istio's ambient API that every layer reads or writes.

/** Namespace or pod enrollment: `ambient` or `none` (spec §6.1). */
export const DATAPLANE_MODE_LABEL = 'istio.io/dataplane-mode';
/** Written on a pod by the node agent once its traffic is captured (`enabled`). */
export const REDIRECTION_ANNOTATION = 'ambient.istio.io/redirection';
/** Names the waypoint (a Gateway) a namespace, service or pod uses. */
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
/** The waypoint's namespace when it is not the object's own. */
export const USE_WAYPOINT_NAMESPACE_LABEL = 'istio.io/use-waypoint-namespace';
/** On a waypoint Gateway: which traffic it takes (service, workload, all, none). */
export const WAYPOINT_FOR_LABEL = 'istio.io/waypoint-for';
/** The gatewayClassName of waypoints. */
export const WAYPOINT_GATEWAY_CLASS = 'istio-waypoint';
/** Set on a Gateway's pods by its deployment controller. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
/** On an AuthorizationPolicy: evaluate and report, do not enforce. */
export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';
