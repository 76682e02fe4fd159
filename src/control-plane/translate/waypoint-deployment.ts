// A waypoint Gateway → the ServiceAccount, Deployment and Service that run it, as istiod's
// deployment controller renders them from its waypoint template (labels, annotations, ports,
// owner references to the Gateway). Pure: the local cluster's waypoint controller applies the
// result today; the mesh control plane can own it later unchanged.
// Facts: waypoint-spec §1.1; istio manifests/charts/istio-control/istio-discovery/files/waypoint.yaml,
// pilot/pkg/config/kube/gateway deploymentcontroller.go (extractServicePorts).
import type { Deployment, KubeObject, OwnerReference, Service, ServiceAccount } from '../../model/core/types.js';
import { WAYPOINT_COMMAND, WAYPOINT_HBONE_PORT, WAYPOINT_METRICS_PORT, WAYPOINT_READY_PATH, WAYPOINT_STATUS_PORT } from '../../mesh-api/waypoint-env.js';

export const WAYPOINT_CLASS = 'istio-waypoint';
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
export const GATEWAY_CLASS_NAME_LABEL = 'gateway.networking.k8s.io/gateway-class-name';
export const MANAGED_LABEL = 'gateway.istio.io/managed';
/** istiod's controller label for the waypoint class (constants.ManagedGatewayMeshControllerLabel). */
export const MESH_CONTROLLER_LABEL = 'istio.io-mesh-controller';
export const NAME_OVERRIDE_ANNOTATION = 'gateway.istio.io/name-override';
export const SERVICE_ACCOUNT_ANNOTATION = 'gateway.istio.io/service-account';
export const TRAFFIC_DISTRIBUTION_ANNOTATION = 'networking.istio.io/traffic-distribution';
/** Annotations istiod does not copy from the Gateway's infrastructure onto what it generates. */
const NOT_COPIED = ['kubectl.kubernetes.io/last-applied-configuration', NAME_OVERRIDE_ANNOTATION, SERVICE_ACCOUNT_ANNOTATION, 'gateway.istio.io/controller-version'];

/** The part of a Gateway this needs (a stored gateway.networking.k8s.io Gateway). */
export interface WaypointGateway extends KubeObject {
  spec: {
    gatewayClassName: string;
    listeners: { name: string; port: number; protocol: string }[];
    infrastructure?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  };
}

export interface WaypointObjects {
  serviceAccount: ServiceAccount;
  deployment: Deployment;
  service: Service;
  /** Why the Gateway is not the minimal waypoint shape (istiod still deploys it, and flags it). */
  listenerProblem?: string;
}

export function isWaypointGateway(o: KubeObject): o is WaypointGateway {
  return (o.spec as { gatewayClassName?: unknown } | undefined)?.gatewayClassName === WAYPOINT_CLASS;
}

/** istiod's unexpectedWaypointListener check: one listener, port 15008, protocol HBONE. */
export function waypointListenerProblem(gw: WaypointGateway): string | undefined {
  const ls = gw.spec.listeners ?? [];
  if (ls.length === 1 && ls[0]!.port === WAYPOINT_HBONE_PORT && ls[0]!.protocol === 'HBONE') return undefined;
  return `Expected a single listener on port ${WAYPOINT_HBONE_PORT} with protocol HBONE`;
}

/** The Deployment and Service name (the Gateway's, no suffix, unless name-override is set). */
export function waypointDeploymentName(gw: KubeObject): string {
  return gw.metadata.annotations?.[NAME_OVERRIDE_ANNOTATION] || gw.metadata.name!;
}

export function waypointServiceAccountName(gw: KubeObject): string {
  return gw.metadata.annotations?.[SERVICE_ACCOUNT_ANNOTATION] || waypointDeploymentName(gw);
}

const omit = (m: Record<string, string> | undefined, keys: string[]): Record<string, string> =>
  Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !keys.includes(k)));

export function waypointObjects(gw: WaypointGateway): WaypointObjects {
  const name = gw.metadata.name!;
  const namespace = gw.metadata.namespace!;
  const deploymentName = waypointDeploymentName(gw);
  const sa = waypointServiceAccountName(gw);
  const owner: OwnerReference = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name, uid: gw.metadata.uid! };
  const infraLabels = gw.spec.infrastructure?.labels ?? {};
  const infraAnnotations = omit(gw.spec.infrastructure?.annotations, NOT_COPIED);
  const identity = { [GATEWAY_NAME_LABEL]: name, [GATEWAY_CLASS_NAME_LABEL]: WAYPOINT_CLASS };
  const managed = { ...identity, [MANAGED_LABEL]: MESH_CONTROLLER_LABEL };
  const meta = (objName: string, labels: Record<string, string>, annotations: Record<string, string>): KubeObject['metadata'] => ({
    name: objName,
    namespace,
    labels: { ...infraLabels, ...labels },
    ...(Object.keys(annotations).length ? { annotations } : {}),
    ownerReferences: [owner],
  });

  const serviceAccount: ServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(sa, identity, infraAnnotations) };
  const deployment: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(deploymentName, managed, infraAnnotations),
    spec: {
      replicas: 1,
      selector: { matchLabels: { [GATEWAY_NAME_LABEL]: name } },
      template: {
        metadata: {
          annotations: {
            ...infraAnnotations,
            'istio.io/rev': 'default',
            'prometheus.io/path': '/stats/prometheus',
            'prometheus.io/port': String(WAYPOINT_METRICS_PORT),
            'prometheus.io/scrape': 'true',
          },
          labels: {
            'sidecar.istio.io/inject': 'false',
            // Not captured by the node tunnel: the waypoint speaks HBONE itself.
            'istio.io/dataplane-mode': 'none',
            'service.istio.io/canonical-name': deploymentName,
            'service.istio.io/canonical-revision': 'latest',
            ...infraLabels,
            ...managed,
          },
        },
        spec: {
          serviceAccountName: sa,
          containers: [
            {
              name: 'istio-proxy',
              command: [...WAYPOINT_COMMAND],
              ports: [
                { containerPort: WAYPOINT_METRICS_PORT, name: 'metrics', protocol: 'TCP' },
                { containerPort: WAYPOINT_STATUS_PORT, name: 'status-port', protocol: 'TCP' },
                { containerPort: WAYPOINT_HBONE_PORT, name: 'hbone', protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: WAYPOINT_READY_PATH, port: WAYPOINT_STATUS_PORT, scheme: 'HTTP' }, initialDelaySeconds: 0, periodSeconds: 15, timeoutSeconds: 1, failureThreshold: 4, successThreshold: 1 },
            },
          ],
        },
      },
    },
  };
  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(deploymentName, identity, { [TRAFFIC_DISTRIBUTION_ANNOTATION]: 'PreferClose', ...infraAnnotations }),
    spec: {
      type: 'ClusterIP',
      selector: { [GATEWAY_NAME_LABEL]: name },
      // extractServicePorts: status-port first, then one port per listener named after it.
      ports: [
        { name: 'status-port', port: WAYPOINT_STATUS_PORT, protocol: 'TCP', appProtocol: 'tcp' },
        ...(gw.spec.listeners ?? []).map((l) => ({ name: l.name, port: l.port, protocol: 'TCP' as const, appProtocol: l.protocol.toLowerCase() })),
      ],
    },
  };
  const problem = waypointListenerProblem(gw);
  return { serviceAccount, deployment, service, ...(problem ? { listenerProblem: problem } : {}) };
}

export interface GatewayCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

/**
 * The status istiod writes on a waypoint Gateway: `addresses` (the Service's ClusterIP, then its
 * hostname) only once a pod is ready, Accepted, and Programmed (True with "assigned to service(s)
 * <host>:15008", else AddressNotAssigned while no pod is ready). Conditions keep their
 * lastTransitionTime while status and reason stay the same; other conditions are kept.
 */
export function waypointGatewayStatus(gw: KubeObject, service: Service | undefined, readyPods: number, now: Date): Record<string, unknown> {
  const gen = gw.metadata.generation ?? 1;
  const host = `${waypointDeploymentName(gw)}.${gw.metadata.namespace}.svc.cluster.local`;
  const assigned = ((gw.spec as WaypointGateway['spec']).listeners ?? []).map((l) => `${host}:${l.port}`).join(', ');
  const ip = service?.spec.clusterIP;
  const usable = !!ip && ip !== 'None' && readyPods > 0;
  const prev = (gw.status as { conditions?: GatewayCondition[] } | undefined)?.conditions ?? [];
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = (type: string, ok: boolean, reason: string, message: string): GatewayCondition => {
    const p = prev.find((c) => c.type === type);
    const same = p && p.status === (ok ? 'True' : 'False') && p.reason === reason;
    return { type, status: ok ? 'True' : 'False', reason, message, observedGeneration: gen, lastTransitionTime: same ? p.lastTransitionTime : stamp };
  };
  const programmed = !service
    ? cond('Programmed', false, 'Invalid', `the waypoint Service ${host} does not exist yet`)
    : usable
      ? cond('Programmed', true, 'Programmed', `Resource programmed, assigned to service(s) ${assigned}`)
      : cond('Programmed', false, 'AddressNotAssigned', `Assigned to service(s) ${assigned}, but failed to assign to all requested addresses: no ready waypoint pod yet`);
  // The API server writes Accepted on every write of a mesh kind (validation); keep its verdict.
  const accepted = prev.find((c) => c.type === 'Accepted') ?? cond('Accepted', true, 'Accepted', 'Resource accepted');
  const others = prev.filter((c) => c.type !== 'Accepted' && c.type !== 'Programmed');
  const base = gw.status && typeof gw.status === 'object' ? (gw.status as Record<string, unknown>) : {};
  const { addresses: _drop, ...rest } = base;
  return {
    ...rest,
    ...(usable ? { addresses: [{ type: 'IPAddress', value: ip }, { type: 'Hostname', value: host }] } : {}),
    conditions: [accepted, programmed, ...others],
  };
}
