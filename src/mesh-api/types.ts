// The push contract between the control plane and node tunnels: Istio's ambient xDS
// resources (istio.workload.Workload / Service, istio.security.Authorization) as plain,
// validated TypeScript values. Field names follow Istio's protos (camelCased); the xDS layer
// maps them 1:1 to the wire with Istio's field numbers. Pure: no I/O.
// Facts: ../shared/reference/ambient-spec.md §4.4-4.6.

import type { WaypointRoutes } from './waypoint.js';

export type TunnelProtocol = 'NONE' | 'HBONE';
export type WorkloadStatus = 'HEALTHY' | 'UNHEALTHY';
export type WorkloadType = 'DEPLOYMENT' | 'CRONJOB' | 'POD' | 'JOB';

/** A waypoint or gateway: by service hostname (preferred) or by address. */
export interface GatewayAddress {
  hostname?: { namespace: string; hostname: string };
  address?: { network: string; address: string };
  hboneMtlsPort: number; // 15008
}

/** workloadapi.AppProtocol; UNKNOWN (0) is the wire default and is left out of Port. */
export const APP_PROTOCOLS = ['UNKNOWN', 'HTTP11', 'HTTP2', 'GRPC', 'TCP', 'TLS'] as const;
export type AppProtocol = (typeof APP_PROTOCOLS)[number];

export interface Port {
  servicePort: number;
  targetPort: number; // 0: use the per-workload mapping (named port)
  /** Service ports only; istiod leaves it unset in Workload.services. */
  appProtocol?: AppProtocol;
}

export interface Locality {
  region: string;
  zone: string;
  subzone: string;
}

export interface Workload {
  /** xDS name: `<cluster>//Pod/<ns>/<name>` or `<cluster>/networking.istio.io/WorkloadEntry/<ns>/<name>`. */
  uid: string;
  name: string;
  namespace: string;
  /** IPv4/IPv6 addresses as strings (bytes on the wire). */
  addresses: string[];
  hostname?: string;
  network: string;
  tunnelProtocol: TunnelProtocol;
  trustDomain: string; // '' means cluster.local
  serviceAccount: string; // '' means default
  waypoint?: GatewayAddress;
  node: string;
  canonicalName: string;
  canonicalRevision: string;
  workloadType: WorkloadType;
  workloadName: string;
  nativeTunnel: boolean;
  /** "ns/hostname" → ports (service port → target port for this workload). */
  services: Record<string, Port[]>;
  /** "ns/name" of selector-scoped Authorization policies that apply to this workload. */
  authorizationPolicies: string[];
  status: WorkloadStatus;
  clusterId: string;
  locality?: Locality;
  capacity?: number; // default 1
}

export interface NetworkAddress {
  network: string;
  address: string;
  /** CIDR prefix length for CIDR VIPs. */
  length?: number;
}

/** Scopes compared between the client and each endpoint (locality, node, cluster, network). */
export type LoadBalancingScope = 'REGION' | 'ZONE' | 'SUBZONE' | 'NODE' | 'CLUSTER' | 'NETWORK';

/**
 * Endpoint selection for direct sends (spec §2.13). STRICT: only endpoints matching every scope;
 * FAILOVER: those matching the most leading scopes; PASSTHROUGH: no selection, the original
 * destination. healthPolicy is omitted for the default ONLY_HEALTHY.
 */
export interface LoadBalancing {
  routingPreference: LoadBalancingScope[];
  mode: 'UNSPECIFIED_MODE' | 'STRICT' | 'FAILOVER' | 'PASSTHROUGH';
  healthPolicy?: 'ONLY_HEALTHY' | 'ALLOW_ALL';
}

/** One of Service.weightedWaypoints: a waypoint and its relative weight (0: no traffic). */
export interface WeightedWaypoint {
  destination: GatewayAddress;
  weight: number;
}

/** Who may resolve a service; omitted for the default PUBLIC. */
export type ServiceVisibility = 'PUBLIC' | 'NAMESPACE';
/** Which address families a Service answers for (node tunnels' DNS); AUTOMATIC when omitted. */
export type IpFamilies = 'AUTOMATIC' | 'IPV4_ONLY' | 'IPV6_ONLY' | 'DUAL';

export interface Service {
  name: string;
  namespace: string;
  hostname: string; // FQDN
  addresses: NetworkAddress[]; // empty for headless
  ports: Port[];
  subjectAltNames: string[];
  waypoint?: GatewayAddress;
  loadBalancing?: LoadBalancing;
  /** Field 12: ingress gateways route through the waypoint; omitted when false. */
  ingressUseWaypoint?: boolean;
  /** Field 13: per-connection weighted waypoint choice; `waypoint` stays the primary. */
  weightedWaypoints?: WeightedWaypoint[];
  /** Field 14; omitted for PUBLIC. */
  visibility?: ServiceVisibility;
  /** Omitted means AUTOMATIC. */
  ipFamilies?: IpFamilies;
  /** Wins lookups by VIP or hostname when the client's namespace has no service there (omitted: false). */
  canonical?: boolean;
}

export type AuthzScope = 'GLOBAL' | 'NAMESPACE' | 'WORKLOAD_SELECTOR';
export type AuthzAction = 'ALLOW' | 'DENY';

export type StringMatch = { exact: string } | { prefix: string } | { suffix: string } | { presence: true };

export interface AddressMatch {
  address: string;
  length: number;
}

export interface ServiceAccountMatch {
  namespace: string;
  serviceAccount: string;
}

/** Inside a Match the types are AND-ed; for one type the positive list needs any hit, the negative none. */
export interface Match {
  namespaces: StringMatch[];
  notNamespaces: StringMatch[];
  principals: StringMatch[];
  notPrincipals: StringMatch[];
  sourceIps: AddressMatch[];
  notSourceIps: AddressMatch[];
  destinationIps: AddressMatch[];
  notDestinationIps: AddressMatch[];
  destinationPorts: number[];
  notDestinationPorts: number[];
  serviceAccounts: ServiceAccountMatch[];
  notServiceAccounts: ServiceAccountMatch[];
}

/** A clause matches if any of its matches does; an empty Match never does, a clause with no matches always does (ztunnel). */
export interface Clause {
  matches: Match[];
}

/** A rule matches if all of its clauses do (an empty clause list matches). */
export interface Rule {
  clauses: Clause[];
}

export interface Authorization {
  name: string;
  namespace: string;
  scope: AuthzScope;
  action: AuthzAction;
  /** A policy matches if any rule does; zero rules never match. */
  rules: Rule[];
  dryRun: boolean;
}

/** xDS resource names (spec §4.1). */
export const workloadResourceName = (w: Workload): string => w.uid;
export const serviceResourceName = (s: Service): string => `${s.namespace}/${s.hostname}`;
export const authorizationResourceName = (a: Authorization): string => `${a.namespace}/${a.name}`;

export const emptyMatch = (): Match => ({
  namespaces: [],
  notNamespaces: [],
  principals: [],
  notPrincipals: [],
  sourceIps: [],
  notSourceIps: [],
  destinationIps: [],
  notDestinationIps: [],
  destinationPorts: [],
  notDestinationPorts: [],
  serviceAccounts: [],
  notServiceAccounts: [],
});

/**
 * What the control plane pushes. Node tunnels receive workloads, services and authorizations
 * (everything, wildcard mode); each waypoint also receives the waypointRoutes of the services
 * bound to it (src/xds/registry.ts decides who gets what).
 */
export interface MeshSnapshot {
  workloads: Workload[];
  services: Service[];
  authorizations: Authorization[];
  waypointRoutes?: WaypointRoutes[];
}
