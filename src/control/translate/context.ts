// What every translation step reads: indexes built once per translate() call.
import type { Namespace, Service as KubeService } from '../../model/core/types.js';
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
