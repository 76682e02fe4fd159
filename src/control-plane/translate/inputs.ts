// Translation's inputs, as views of the config model's schema types (src/model/mesh/), so each
// kind's shape is defined once. Translation reads only metadata and spec; apiVersion, kind and
// status are left out of the views so callers may pass any object of the right shape.
import type { ObjectMeta } from '../../model/core/types.js';
import type {
  AuthorizationPolicy,
  AuthorizationPolicyRule,
  Gateway,
  GRPCRoute,
  HTTPRoute,
  ParentReference,
  PeerAuthentication,
  ServiceEntry,
  WorkloadEntry,
} from '../../model/mesh/index.js';

export type { AuthorizationPolicySpec, MtlsMode, WorkloadEntrySpec } from '../../model/mesh/index.js';

/** The part of a config object translation reads. */
type Input<T extends { metadata: ObjectMeta; spec?: unknown }> = Pick<T, 'metadata' | 'spec'>;
type Item<A> = NonNullable<A> extends readonly (infer E)[] ? E : never;

export type WorkloadSelectorInput = NonNullable<NonNullable<AuthorizationPolicy['spec']>['selector']>;

// --- AuthorizationPolicy (security.istio.io) ---
export type AuthorizationPolicyInput = Input<AuthorizationPolicy>;
export type RuleInput = AuthorizationPolicyRule;
export type SourceInput = NonNullable<Item<RuleInput['from']>['source']>;
export type OperationInput = NonNullable<Item<RuleInput['to']>['operation']>;
export type ConditionInput = Item<RuleInput['when']>;

// --- PeerAuthentication (security.istio.io) ---
export type PeerAuthenticationInput = Input<PeerAuthentication>;

// --- ServiceEntry / WorkloadEntry (networking.istio.io) ---
export type WorkloadEntryInput = Input<WorkloadEntry>;
export type ServiceEntryInput = Input<ServiceEntry>;
export type ServiceEntryPortInput = Item<ServiceEntry['spec']['ports']>;

// --- Gateway (gateway.networking.k8s.io) ---
export type GatewayInput = Input<Gateway>;

// --- HTTPRoute / GRPCRoute (gateway.networking.k8s.io), mesh (GAMMA) use ---
export type HTTPRouteInput = Input<HTTPRoute>;
export type GRPCRouteInput = Input<GRPCRoute>;
export type ParentRefInput = ParentReference;
export type HTTPRouteRuleInput = Item<HTTPRoute['spec']['rules']>;
/** GRPCRoute rules have no timeouts or retry (Gateway API v1). */
export type GRPCRouteRuleInput = Item<GRPCRoute['spec']['rules']>;
export type RouteRuleInput = HTTPRouteRuleInput | GRPCRouteRuleInput;
export type BackendRefInput = Item<RouteRuleInput['backendRefs']>;
export type HTTPMatchInput = Item<HTTPRouteRuleInput['matches']>;
export type GRPCMatchInput = Item<GRPCRouteRuleInput['matches']>;

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
