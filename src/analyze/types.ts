// Finding and the minimal structural shapes `ambit analyze` reads. The inputs are plain JSON
// objects (from files or the API server), possibly never validated, so every field is
// optional here and checks read them through the guards in model.ts.
import type { KubeObject } from '../model/core/types.js';

export type Level = 'Error' | 'Warning' | 'Info';

export interface Finding {
  /** Stable code (AMB001...), documented in docs/analyze.md. */
  code: string;
  level: Level;
  /** `Kind ns/name` (or `Kind name` for cluster-scoped objects). */
  object: string;
  /** Field path inside the object, e.g. `spec.rules[0].from[0].source.principals[1]`. */
  path?: string;
  /** What is wrong and what to do about it. */
  message: string;
}

export type { KubeObject };

// Istio / Gateway API shapes by their YAML field names (only the fields the checks read).
export interface Selector { matchLabels?: Record<string, string> }
export interface TargetRef { group?: string; kind?: string; name?: string; namespace?: string }

export interface Source {
  principals?: string[]; notPrincipals?: string[];
  requestPrincipals?: string[]; notRequestPrincipals?: string[];
  namespaces?: string[]; notNamespaces?: string[];
  serviceAccounts?: string[]; notServiceAccounts?: string[];
  ipBlocks?: string[]; notIpBlocks?: string[];
  remoteIpBlocks?: string[]; notRemoteIpBlocks?: string[];
}
export interface Operation {
  hosts?: string[]; notHosts?: string[];
  ports?: string[]; notPorts?: string[];
  methods?: string[]; notMethods?: string[];
  paths?: string[]; notPaths?: string[];
}
export interface Condition { key?: string; values?: string[]; notValues?: string[] }
export interface Rule { from?: { source?: Source }[]; to?: { operation?: Operation }[]; when?: Condition[] }
export interface AuthorizationPolicySpec {
  selector?: Selector;
  targetRef?: TargetRef;
  targetRefs?: TargetRef[];
  action?: string;
  rules?: Rule[];
}
export interface PeerAuthenticationSpec {
  selector?: Selector;
  mtls?: { mode?: string };
  portLevelMtls?: Record<string, { mode?: string }>;
}
export interface ParentRef { group?: string; kind?: string; namespace?: string; name?: string; sectionName?: string; port?: number }
export interface HTTPRouteSpec {
  parentRefs?: ParentRef[];
  hostnames?: string[];
  rules?: { matches?: Record<string, unknown>[] }[];
}
export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: { match?: Record<string, unknown>[] }[];
}
export interface GatewaySpec { gatewayClassName?: string }
