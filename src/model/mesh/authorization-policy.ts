// security.istio.io AuthorizationPolicy (v1, v1beta1): schema, type and apply-time
// warnings for fields a node tunnel cannot enforce (spec §5.1, §5.2). Pure.
import { z } from 'zod';
import { ipProblem } from '../../lib/ip.js';
import { checkIps, checkNoEmpty, checkOneAttachment, checkServiceAccounts, checkTargetRef, issue, portTextProblem, serviceAccountProblem, wildcardValueProblem, type Path } from './checks.js';
import { meshMeta, meshStatus, policyTargetRef, portString, strings, workloadSelector, type MeshObject } from './common.js';
import { OPERATION_FIELDS, ruleL4View, SOURCE_FIELDS, spiffePrincipalWarnings, WHEN_KEYS, WHEN_MAP_KEYS, type OperationField, type SourceField } from './authorization-l4.js';
import type { MeshWarning } from './warning.js';
import { DRY_RUN_ANNOTATION } from '../../mesh-api/labels.js';

export { L4_WHEN_KEYS, spiffePrincipalWarnings } from './authorization-l4.js';

// The field lists come from the attribute table (in its order); only ports are not plain string lists.
const portList = z.array(portString).optional();
type OperationShape = { [K in OperationField]: K extends 'ports' | 'notPorts' ? typeof portList : z.ZodOptional<typeof strings> };
const source = z.strictObject(Object.fromEntries(SOURCE_FIELDS.map((k) => [k, strings.optional()])) as { [K in SourceField]: z.ZodOptional<typeof strings> });
const operation = z.strictObject(Object.fromEntries(OPERATION_FIELDS.map((k) => [k, k === 'ports' || k === 'notPorts' ? portList : strings.optional()])) as OperationShape);

const condition = z.strictObject({ key: z.string().optional(), values: strings.optional(), notValues: strings.optional() });

const rule = z.strictObject({
  from: z.array(z.strictObject({ source: source.optional() })).optional(),
  to: z.array(z.strictObject({ operation: operation.optional() })).optional(),
  when: z.array(condition).optional(),
});

export const AUTHZ_ACTIONS = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] as const;

// `when` keys istiod accepts (security.ValidateAttribute): the table's exact names, and `name[key]` maps.
const RETIRED_WHEN_KEYS: Record<string, string> = {
  'destination.namespace': 'is replaced by the policy\'s metadata.namespace',
  'destination.name': 'was only supported in v1alpha1',
  'destination.user': 'was only supported in v1alpha1',
};

function whenKeyProblem(key: string): string | undefined {
  if (WHEN_KEYS.includes(key)) return undefined;
  if (key.startsWith('destination.labels')) return `key ${key} is replaced by the workload selector`;
  if (RETIRED_WHEN_KEYS[key]) return `key ${key} ${RETIRED_WHEN_KEYS[key]}`;
  if (WHEN_MAP_KEYS.some((m) => key.startsWith(m))) {
    const open = key.indexOf('[');
    return key.endsWith(']') && open > 0 && open < key.length - 2 ? undefined : `key ${key} must have the form name[key]`;
  }
  return `unknown key ${key}; known keys: ${WHEN_KEYS.join(', ')}, ${WHEN_MAP_KEYS.map((m) => (m.endsWith('.') ? `${m}*[...]` : `${m}[...]`)).join(', ')}`;
}

function whenValueProblem(key: string, v: string): string | undefined {
  if (v === '') return 'must not be empty';
  if (key === 'source.ip' || key === 'remote.ip' || key === 'destination.ip') return ipProblem(v, true);
  if (key === 'destination.port') return portTextProblem(v);
  if (key === 'source.serviceAccount') return serviceAccountProblem(v);
  if (key === 'source.trustDomain') return wildcardValueProblem(v);
  return undefined;
}

type Source = z.infer<typeof source>;
type Operation = z.infer<typeof operation>;
const IP_FIELDS = ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const;
const NON_EMPTY_SOURCE = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', ...IP_FIELDS] as const;
const NON_EMPTY_OPERATION = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
// Source fields and `when` keys istiod refuses with CUSTOM (the external authorizer cannot see them).
const NOT_WITH_CUSTOM = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts'] as const;
const has = (o: object, k: string): boolean => ((o as Record<string, unknown[] | undefined>)[k]?.length ?? 0) > 0;

/** The rule checks of istiod's ValidateAuthorizationPolicy, with the path of each problem. */
function checkRule(ctx: z.RefinementCtx, r: AuthorizationPolicyRule, base: Path, action: string): void {
  if (r.from && r.from.length === 0) issue(ctx, [...base, 'from'], 'must not be empty (leave it out to match any source)');
  r.from?.forEach((f, j) => {
    const at: Path = [...base, 'from', j, 'source'];
    if (!f.source) return issue(ctx, at, 'required');
    const src: Source = f.source;
    if (!Object.values(src).some((v) => (v as unknown[]).length > 0)) issue(ctx, at, 'must set at least one field');
    if ((has(src, 'principals') || has(src, 'notPrincipals') || has(src, 'namespaces') || has(src, 'notNamespaces')) && (has(src, 'serviceAccounts') || has(src, 'notServiceAccounts'))) {
      issue(ctx, at, 'serviceAccounts cannot be set with namespaces or principals');
    }
    for (const k of IP_FIELDS) checkIps(ctx, src[k], [...at, k]);
    for (const k of NON_EMPTY_SOURCE) checkNoEmpty(ctx, src[k], [...at, k]);
    checkServiceAccounts(ctx, src.serviceAccounts, [...at, 'serviceAccounts']);
    checkServiceAccounts(ctx, src.notServiceAccounts, [...at, 'notServiceAccounts']);
    if (action === 'CUSTOM') for (const k of NOT_WITH_CUSTOM) if (has(src, k)) issue(ctx, [...at, k], 'is not supported with action CUSTOM');
  });
  if (r.to && r.to.length === 0) issue(ctx, [...base, 'to'], 'must not be empty (leave it out to match any operation)');
  r.to?.forEach((t, j) => {
    const at: Path = [...base, 'to', j, 'operation'];
    if (!t.operation) return issue(ctx, at, 'required');
    const op: Operation = t.operation;
    if (!Object.values(op).some((v) => (v as unknown[]).length > 0)) issue(ctx, at, 'must set at least one field');
    for (const k of NON_EMPTY_OPERATION) checkNoEmpty(ctx, op[k], [...at, k]);
  });
  r.when?.forEach((c, j) => {
    const at: Path = [...base, 'when', j];
    if (!c.key) return issue(ctx, [...at, 'key'], 'required');
    if (!c.values?.length && !c.notValues?.length) return issue(ctx, at, 'must set values or notValues');
    const keyProblem = whenKeyProblem(c.key);
    if (keyProblem) return issue(ctx, [...at, 'key'], keyProblem);
    if (action === 'CUSTOM' && (['source.namespace', 'source.serviceAccount', 'source.trustDomain', 'source.principal'].includes(c.key) || c.key.startsWith('request.auth.'))) {
      issue(ctx, [...at, 'key'], `${c.key} is not supported with action CUSTOM`);
    }
    for (const field of ['values', 'notValues'] as const) {
      c[field]?.forEach((v, n) => {
        const p = whenValueProblem(c.key!, v);
        if (p) issue(ctx, [...at, field, n], p);
      });
    }
  });
}

// Go's strconv.ParseBool, which istiod parses the annotation with.
const GO_BOOLS = ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'];

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
    // The checks of Istio's validation webhook (ValidateAuthorizationPolicy).
    checkOneAttachment(ctx, s);
    checkTargetRef(ctx, s.targetRef, ['targetRef']);
    s.targetRefs?.forEach((r, i) => checkTargetRef(ctx, r, ['targetRefs', i]));
    const action = s.action ?? 'ALLOW';
    // Without rules a DENY or CUSTOM policy never triggers; `rules: [{}]` is how to match everything.
    if ((action === 'DENY' || action === 'CUSTOM') && !s.rules?.length) issue(ctx, ['rules'], `required when action is ${action} (use [{}] to match every request)`);
    if (action === 'CUSTOM' && !s.provider) issue(ctx, ['provider'], 'required when action is CUSTOM');
    if (s.provider && action !== 'CUSTOM') issue(ctx, ['provider'], 'only allowed when action is CUSTOM');
    s.rules?.forEach((r, i) => checkRule(ctx, r, ['rules', i], action));
  });

export const authorizationPolicySchema = z.strictObject({
  apiVersion: z.enum(['security.istio.io/v1', 'security.istio.io/v1beta1']),
  kind: z.literal('AuthorizationPolicy'),
  metadata: meshMeta,
  spec: authorizationPolicySpec.optional(),
  status: meshStatus,
}).superRefine((ap, ctx) => {
  // istiod checkDryRunAnnotation: a Go boolean, and only for ALLOW and DENY.
  const dryRun = ap.metadata.annotations?.[DRY_RUN_ANNOTATION];
  if (dryRun === undefined) return;
  const action = ap.spec?.action ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') issue(ctx, ['metadata', 'annotations', DRY_RUN_ANNOTATION], `only supported with action ALLOW or DENY (action is ${action})`);
  else if (!GO_BOOLS.includes(dryRun)) issue(ctx, ['metadata', 'annotations', DRY_RUN_ANNOTATION], `must be true or false (got '${dryRun}')`);
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
  const out: MeshWarning[] = [];
  // istiod warns too: an empty selector is easily mistaken for "no workloads".
  if (spec.selector && !Object.keys(spec.selector.matchLabels ?? {}).length) out.push({ path: 'spec.selector', message: 'has no matchLabels, so it selects every workload in the namespace' });
  const action = spec.action ?? 'ALLOW';
  if (action === 'CUSTOM' || action === 'AUDIT') {
    return [...out, { path: 'spec.action', message: `${action} is not enforced by node tunnels; it needs targetRefs to a waypoint` }, ...principals];
  }
  return [...out, ...rules.flatMap((r, i) => l7RuleWarning(action, r, i) ?? []), ...principals];
}
