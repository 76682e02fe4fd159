// security.istio.io AuthorizationPolicy (v1, v1beta1): schema, type and apply-time
// warnings for fields a node tunnel cannot enforce (spec §5.1, §5.2). Pure.
import { z } from 'zod';
import { meshMeta, meshStatus, policyTargetRef, portString, strings, workloadSelector, type MeshObject } from './common.js';
import { ruleL4View, spiffePrincipalWarnings } from './authorization-l4.js';
import type { MeshWarning } from './warning.js';

export { L4_WHEN_KEYS, spiffePrincipalWarnings } from './authorization-l4.js';

const source = z.strictObject({
  principals: strings.optional(),
  notPrincipals: strings.optional(),
  requestPrincipals: strings.optional(),
  notRequestPrincipals: strings.optional(),
  namespaces: strings.optional(),
  notNamespaces: strings.optional(),
  serviceAccounts: strings.optional(),
  notServiceAccounts: strings.optional(),
  ipBlocks: strings.optional(),
  notIpBlocks: strings.optional(),
  remoteIpBlocks: strings.optional(),
  notRemoteIpBlocks: strings.optional(),
});

const operation = z.strictObject({
  hosts: strings.optional(),
  notHosts: strings.optional(),
  ports: z.array(portString).optional(),
  notPorts: z.array(portString).optional(),
  methods: strings.optional(),
  notMethods: strings.optional(),
  paths: strings.optional(),
  notPaths: strings.optional(),
});

const condition = z
  .strictObject({ key: z.string().min(1, { error: 'required' }), values: strings.optional(), notValues: strings.optional() })
  .refine((c) => (c.values?.length ?? 0) + (c.notValues?.length ?? 0) > 0, { error: 'must set values or notValues' });

const rule = z.strictObject({
  from: z.array(z.strictObject({ source })).optional(),
  to: z.array(z.strictObject({ operation })).optional(),
  when: z.array(condition).optional(),
});

export const AUTHZ_ACTIONS = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] as const;

export const authorizationPolicySpec = z
  .strictObject({
    selector: workloadSelector.optional(),
    targetRef: policyTargetRef.optional(),
    targetRefs: z.array(policyTargetRef).optional(),
    rules: z.array(rule).optional(),
    action: z.enum(AUTHZ_ACTIONS, { error: `must be one of ${AUTHZ_ACTIONS.join(', ')}` }).optional(),
    provider: z.strictObject({ name: z.string().min(1, { error: 'required' }) }).optional(),
  })
  .superRefine((s, ctx) => {
    // The same exclusivity rules Istio's validation webhook applies.
    if (s.targetRef && s.targetRefs?.length) ctx.addIssue({ code: 'custom', path: ['targetRefs'], message: 'only one of targetRef or targetRefs may be set' });
    if (s.selector && (s.targetRef || s.targetRefs?.length)) ctx.addIssue({ code: 'custom', path: ['selector'], message: 'only one of selector or targetRef(s) may be set' });
    if (s.action === 'CUSTOM' && !s.provider) ctx.addIssue({ code: 'custom', path: ['provider'], message: 'required when action is CUSTOM' });
    if (s.provider && s.action !== 'CUSTOM') ctx.addIssue({ code: 'custom', path: ['provider'], message: 'only allowed when action is CUSTOM' });
  });

export const authorizationPolicySchema = z.strictObject({
  apiVersion: z.enum(['security.istio.io/v1', 'security.istio.io/v1beta1']),
  kind: z.literal('AuthorizationPolicy'),
  metadata: meshMeta,
  spec: authorizationPolicySpec.optional(),
  status: meshStatus,
});

export type AuthorizationPolicy = MeshObject<z.infer<typeof authorizationPolicySchema>>;
export type AuthorizationPolicySpec = z.infer<typeof authorizationPolicySpec>;
export type AuthorizationPolicyRule = z.infer<typeof rule>;
export type AuthorizationPolicyAction = (typeof AUTHZ_ACTIONS)[number];

/** The L7 attributes a rule uses, as paths relative to the rule (`to[0].operation.paths`). */
export const l7Attributes = (r: AuthorizationPolicyRule): string[] => ruleL4View(r).l7;

const WAYPOINT_FIX = 'add targetRefs to a waypoint to enforce it at L7';

/** What the node tunnel does with rule i's L7 attributes (spec §5.2, istiod's status messages). */
function l7RuleWarning(action: 'ALLOW' | 'DENY', r: AuthorizationPolicyRule, i: number): MeshWarning | undefined {
  const { l7, emptyParts } = ruleL4View(r);
  if (l7.length === 0) return undefined;
  const which = ` (${l7.join(', ')})`;
  const path = `spec.rules[${i}]`;
  if (action === 'ALLOW') {
    return { path, message: `the rule at rules[${i}] has L7 attributes${which} and is dropped at L4, so it allows nothing: traffic will be denied unless another policy allows it; ${WAYPOINT_FIX}` };
  }
  if (emptyParts.length > 0) {
    return {
      path,
      message: `L7 attributes${which} are omitted at L4, which leaves ${emptyParts.map((e) => `'${e}'`).join(', ')} with nothing to match; node tunnels never match an empty condition and conditions are AND-ed, so this DENY rule has no effect (no-op); ${WAYPOINT_FIX}`,
    };
  }
  return { path, message: `L7 attributes${which} are ignored at L4; the L4 remainder is enforced (more restrictive)` };
}

/** Valid but surprising: spiffe:// principals anywhere; L7 fields or CUSTOM/AUDIT in a policy a node tunnel enforces (no targetRef). */
export function authorizationPolicyWarnings(ap: Pick<AuthorizationPolicy, 'spec'>): MeshWarning[] {
  const spec = ap.spec ?? {};
  const rules = spec.rules ?? [];
  const principals = spiffePrincipalWarnings(rules);
  if (spec.targetRef || spec.targetRefs?.length) return principals; // L7 is enforced by a waypoint or gateway
  const action = spec.action ?? 'ALLOW';
  if (action === 'CUSTOM' || action === 'AUDIT') {
    return [{ path: 'spec.action', message: `${action} is not enforced by node tunnels; it needs targetRefs to a waypoint` }, ...principals];
  }
  return [...rules.flatMap((r, i) => l7RuleWarning(action, r, i) ?? []), ...principals];
}
