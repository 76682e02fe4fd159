// Minimal structural input shapes for the Istio and Gateway API kinds that translation reads.
// Field names follow Istio's YAML so the schema engineer's real types (src/model/mesh/) are
// assignable to these. Only the fields translation uses are listed; everything is optional
// because the objects arrive as plain JSON.
import type { ObjectMeta } from '../../model/core/types.js';

export interface IstioObject<Spec> {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Spec;
}

export interface PolicyTargetReference {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface WorkloadSelectorInput {
  matchLabels?: Record<string, string>;
}

// --- AuthorizationPolicy (security.istio.io) ---
export interface SourceInput {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}
export interface OperationInput {
  hosts?: string[];
  notHosts?: string[];
  ports?: (string | number)[];
  notPorts?: (string | number)[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}
export interface ConditionInput {
  key: string;
  values?: string[];
  notValues?: string[];
}
export interface RuleInput {
  from?: { source?: SourceInput }[];
  to?: { operation?: OperationInput }[];
  when?: ConditionInput[];
}
export interface AuthorizationPolicySpec {
  selector?: WorkloadSelectorInput;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  action?: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM' | string;
  provider?: { name?: string };
  rules?: RuleInput[];
}
export type AuthorizationPolicyInput = IstioObject<AuthorizationPolicySpec>;

// --- PeerAuthentication (security.istio.io) ---
export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';
export interface PeerAuthenticationSpec {
  selector?: WorkloadSelectorInput;
  mtls?: { mode?: MtlsMode | string };
  /** Keys are port numbers (YAML map keys arrive as strings in JSON). */
  portLevelMtls?: Record<string, { mode?: MtlsMode | string }>;
}
export type PeerAuthenticationInput = IstioObject<PeerAuthenticationSpec>;

// --- ServiceEntry / WorkloadEntry (networking.istio.io) ---
export interface WorkloadEntrySpec {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}
export type WorkloadEntryInput = IstioObject<WorkloadEntrySpec>;

export interface ServiceEntryPortInput {
  number: number;
  protocol?: string;
  name?: string;
  targetPort?: number;
}
export interface ServiceEntrySpec {
  hosts?: string[];
  addresses?: string[];
  ports?: ServiceEntryPortInput[];
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL' | string;
  resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN' | string;
  endpoints?: WorkloadEntrySpec[];
  workloadSelector?: { labels?: Record<string, string> };
  subjectAltNames?: string[];
}
export type ServiceEntryInput = IstioObject<ServiceEntrySpec>;

// --- Gateway (gateway.networking.k8s.io) ---
export interface GatewaySpec {
  gatewayClassName?: string;
  listeners?: { name?: string; port?: number; protocol?: string }[];
}
export type GatewayInput = IstioObject<GatewaySpec>;

// --- HTTPRoute / GRPCRoute (gateway.networking.k8s.io), mesh (GAMMA) use ---
export interface ParentRefInput {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}
export interface BackendRefInput {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  filters?: Record<string, unknown>[];
}
export interface HTTPMatchInput {
  path?: { type?: string; value?: string };
  headers?: Record<string, unknown>[];
  queryParams?: Record<string, unknown>[];
  method?: string;
}
export interface GRPCMatchInput {
  method?: { type?: string; service?: string; method?: string };
  headers?: Record<string, unknown>[];
}
export interface RouteRuleInput<M> {
  name?: string;
  matches?: M[];
  filters?: Record<string, unknown>[];
  backendRefs?: BackendRefInput[];
  timeouts?: { request?: string; backendRequest?: string };
  retry?: Record<string, unknown>;
}
export interface RouteSpecInput<M> {
  parentRefs?: ParentRefInput[];
  hostnames?: string[];
  rules?: RouteRuleInput<M>[];
}
export type HTTPRouteInput = IstioObject<RouteSpecInput<HTTPMatchInput>>;
export type GRPCRouteInput = IstioObject<RouteSpecInput<GRPCMatchInput>>;

/** Something translation could not honour, addressed to the object that caused it. */
export interface Diagnostic {
  /** `Kind/namespace/name`. */
  object: string;
  message: string;
}

export const objectRef = (kind: string, meta: ObjectMeta): string => `${kind}/${meta.namespace ?? ''}/${meta.name ?? ''}`;

/** matchLabels-only selector (Istio's WorkloadSelector); an empty selector selects everything. */
export function selects(selector: WorkloadSelectorInput | undefined, labels: Record<string, string> | undefined): boolean {
  const want = selector?.matchLabels ?? {};
  for (const [k, v] of Object.entries(want)) if (labels?.[k] !== v) return false;
  return true;
}

export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
