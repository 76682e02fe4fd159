// What every translation step reads: indexes built once per translate() call.
import type { Locality } from '../../mesh-api/types.js';
import type { Namespace, NodeObject, Service as KubeService } from '../../model/core/types.js';
import type { AuthorizationPolicyInput, Diagnostic, ServiceEntryInput } from './inputs.js';
import type { PeerAuthnIndex } from './peer-authentication.js';
import type { WaypointIndex } from './waypoints.js';

export interface SelectorPolicy {
  key: string;
  namespace: string;
  policy: AuthorizationPolicyInput;
}

export interface TranslateContext {
  clusterId: string;
  trustDomain: string;
  rootNamespace: string;
  namespaces: ReadonlyMap<string, Namespace>;
  /** Node name → its locality; nodes without topology labels are absent. */
  nodeLocality: ReadonlyMap<string, Locality>;
  services: readonly KubeService[];
  serviceEntries: readonly ServiceEntryInput[];
  /** Sent WORKLOAD_SELECTOR AuthorizationPolicies. */
  selectorPolicies: readonly SelectorPolicy[];
  peerAuthn: PeerAuthnIndex;
  waypoints: WaypointIndex;
  diagnostics: Diagnostic[];
}

export const namespaceLabels = (ctx: TranslateContext, ns: string): Record<string, string> | undefined => ctx.namespaces.get(ns)?.metadata.labels;
export const namespaceAnnotations = (ctx: TranslateContext, ns: string): Record<string, string> | undefined => ctx.namespaces.get(ns)?.metadata.annotations;

export const serviceHostname = (name: string, ns: string): string => `${name}.${ns}.svc.cluster.local`;

/** Wildcard ServiceEntry hosts cannot be addressed by a node tunnel. */
export const concreteHosts = (se: ServiceEntryInput): string[] => (se.spec?.hosts ?? []).filter((h) => !h.startsWith('*'));

export const TOPOLOGY_REGION_LABEL = 'topology.kubernetes.io/region';
export const TOPOLOGY_ZONE_LABEL = 'topology.kubernetes.io/zone';
export const TOPOLOGY_SUBZONE_LABEL = 'topology.istio.io/subzone';

/** A pod's locality is its node's topology labels (istiod's nodeLocality); none when all are empty. */
export function nodeLocality(node: NodeObject): Locality | undefined {
  const l = node.metadata.labels ?? {};
  const loc = { region: l[TOPOLOGY_REGION_LABEL] ?? '', zone: l[TOPOLOGY_ZONE_LABEL] ?? '', subzone: l[TOPOLOGY_SUBZONE_LABEL] ?? '' };
  return loc.region || loc.zone || loc.subzone ? loc : undefined;
}
