// AuthorizationPolicy → istio.security.Authorization for node tunnels (spec §5.1, §5.2),
// following istiod's `convertAuthorizationPolicy` / `handleRule`.
import { emptyMatch, type Authorization, type AuthzAction, type AuthzScope, type Clause, type Match, type Rule } from '../../api/types.js';
import { isEmptyMatch } from '../../authz/evaluate.js';
import { addressMatch, portValue, principalToMatch, serviceAccountMatch, stringToMatch } from './match-values.js';
import { objectRef, type AuthorizationPolicyInput, type ConditionInput, type Diagnostic, type OperationInput, type RuleInput, type SourceInput } from './inputs.js';

export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

/** `when` keys a node tunnel can enforce (istiod `l4WhenAttributes`). */
export const L4_WHEN_KEYS = ['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port'] as const;
const SOURCE_L7 = ['remoteIpBlocks', 'notRemoteIpBlocks', 'requestPrincipals', 'notRequestPrincipals'] as const;
const OPERATION_L7 = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

export const hasTargetRefs = (p: AuthorizationPolicyInput): boolean => p.spec?.targetRef !== undefined || (p.spec?.targetRefs?.length ?? 0) > 0;

class InvalidValue extends Error {}

function convertAll<T>(values: readonly (string | number)[] | undefined, what: string, f: (v: string) => T | undefined): T[] {
  return (values ?? []).map((v) => {
    const out = f(String(v));
    if (out === undefined) throw new InvalidValue(`invalid ${what} '${String(v)}'`);
    return out;
  });
}
const ips = (v: readonly string[] | undefined, what: string): Match['sourceIps'] => convertAll(v, what, addressMatch);
const ports = (v: readonly (string | number)[] | undefined, what: string): number[] => convertAll(v, what, portValue);

function sourceMatch(s: SourceInput, ns: string): Match {
  return {
    ...emptyMatch(),
    principals: (s.principals ?? []).map(principalToMatch),
    notPrincipals: (s.notPrincipals ?? []).map(principalToMatch),
    namespaces: (s.namespaces ?? []).map(stringToMatch),
    notNamespaces: (s.notNamespaces ?? []).map(stringToMatch),
    serviceAccounts: (s.serviceAccounts ?? []).map((v) => serviceAccountMatch(v, ns)),
    notServiceAccounts: (s.notServiceAccounts ?? []).map((v) => serviceAccountMatch(v, ns)),
    sourceIps: ips(s.ipBlocks, 'ipBlocks'),
    notSourceIps: ips(s.notIpBlocks, 'notIpBlocks'),
  };
}

const operationMatch = (o: OperationInput): Match => ({ ...emptyMatch(), destinationPorts: ports(o.ports, 'ports'), notDestinationPorts: ports(o.notPorts, 'notPorts') });

/** One `when` condition; values fill the positive list, notValues the negative one. */
function conditionMatch(c: ConditionInput): Match {
  const m = emptyMatch();
  const [pos, neg] = [c.values ?? [], c.notValues ?? []];
  switch (c.key) {
    case 'source.ip':
      return { ...m, sourceIps: ips(pos, 'source.ip'), notSourceIps: ips(neg, 'source.ip') };
    case 'source.namespace':
      return { ...m, namespaces: pos.map(stringToMatch), notNamespaces: neg.map(stringToMatch) };
    case 'source.principal':
      return { ...m, principals: pos.map(principalToMatch), notPrincipals: neg.map(principalToMatch) };
    case 'destination.ip':
      return { ...m, destinationIps: ips(pos, 'destination.ip'), notDestinationIps: ips(neg, 'destination.ip') };
    case 'destination.port':
      return { ...m, destinationPorts: ports(pos, 'destination.port'), notDestinationPorts: ports(neg, 'destination.port') };
    default:
      return m;
  }
}

const presentL7 = <K extends string>(o: Partial<Record<K, unknown[] | undefined>>, keys: readonly K[]): string[] => keys.filter((k) => (o[k]?.length ?? 0) > 0);

interface EntryResult {
  match: Match;
  l7: string[];
}

type RuleOutcome = { kind: 'rule'; rule: Rule; ignoredL7: string[] } | { kind: 'dropped'; l7: string[] } | { kind: 'no-effect'; l7: string[] } | { kind: 'invalid'; message: string };

/**
 * §5.2: each of from / to / when becomes one clause (AND), each entry one Match (OR).
 * ALLOW: a rule with any L7 field is dropped whole. DENY: L7 fields are omitted; an entry left
 * empty by that is removed and a dimension left with no entries is omitted (the L4 remainder is
 * enforced, more restrictive than written); a rule with nothing L4 left has no effect.
 */
export function convertRule(action: AuthzAction, rule: RuleInput, policyNamespace: string): RuleOutcome {
  let dims: EntryResult[][];
  try {
    dims = [
      (rule.from ?? []).map((f) => ({ match: sourceMatch(f.source ?? {}, policyNamespace), l7: presentL7(f.source ?? {}, SOURCE_L7) })),
      (rule.to ?? []).map((t) => ({ match: operationMatch(t.operation ?? {}), l7: presentL7(t.operation ?? {}, OPERATION_L7) })),
      (rule.when ?? []).map((w) => ({ match: conditionMatch(w), l7: (L4_WHEN_KEYS as readonly string[]).includes(w.key) ? [] : [`when ${w.key}`] })),
    ];
  } catch (e) {
    if (e instanceof InvalidValue) return { kind: 'invalid', message: e.message };
    throw e;
  }
  const l7 = [...new Set(dims.flat().flatMap((e) => e.l7))];
  if (action === 'ALLOW' && l7.length > 0) return { kind: 'dropped', l7 };
  const clauses: Clause[] = [];
  for (const entries of dims) {
    if (entries.length === 0) continue;
    const kept = entries.filter((e) => e.l7.length === 0 || !isEmptyMatch(e.match));
    if (kept.length > 0) clauses.push({ matches: kept.map((e) => e.match) });
  }
  const hadContent = dims.some((d) => d.length > 0);
  if (hadContent && clauses.length === 0) return { kind: 'no-effect', l7 };
  return { kind: 'rule', rule: { clauses }, ignoredL7: l7 };
}

export function policyScope(p: AuthorizationPolicyInput, rootNamespace: string): AuthzScope {
  if (p.spec?.selector) return 'WORKLOAD_SELECTOR';
  return p.metadata.namespace === rootNamespace ? 'GLOBAL' : 'NAMESPACE';
}

/**
 * One AuthorizationPolicy → the Authorization node tunnels receive, or undefined when it is not
 * sent (§5.1: targetRef(s) policies belong to waypoints; CUSTOM and AUDIT are unsupported).
 */
export function convertAuthorizationPolicy(p: AuthorizationPolicyInput, rootNamespace: string, diagnostics: Diagnostic[]): Authorization | undefined {
  const ref = objectRef('AuthorizationPolicy', p.metadata);
  if (hasTargetRefs(p)) return undefined;
  const rawAction = p.spec?.action ?? 'ALLOW';
  if (rawAction !== 'ALLOW' && rawAction !== 'DENY') {
    diagnostics.push({ object: ref, message: `ztunnel does not support the ${rawAction} action` });
    return undefined;
  }
  const action: AuthzAction = rawAction;
  const namespace = p.metadata.namespace ?? '';
  const rules: Rule[] = [];
  (p.spec?.rules ?? []).forEach((r, i) => {
    const out = convertRule(action, r, namespace);
    const where = `rule ${i}`;
    switch (out.kind) {
      case 'rule':
        rules.push(out.rule);
        if (out.ignoredL7.length > 0) diagnostics.push({ object: ref, message: `${where}: L7 fields (${out.ignoredL7.join(', ')}) are ignored by node tunnels; the L4 remainder is denied, which is more restrictive than written` });
        break;
      case 'dropped':
        diagnostics.push({ object: ref, message: `${where}: L7 fields (${out.l7.join(', ')}) cannot be enforced by node tunnels; the ALLOW rule is dropped and allows nothing` });
        break;
      case 'no-effect':
        diagnostics.push({ object: ref, message: `${where}: only L7 fields (${out.l7.join(', ')}); node tunnels cannot enforce them, so this DENY rule has no effect` });
        break;
      case 'invalid':
        diagnostics.push({ object: ref, message: `${where}: ${out.message}; the rule is dropped` });
        break;
    }
  });
  if (action === 'ALLOW' && rules.length === 0 && (p.spec?.rules?.length ?? 0) > 0) {
    // §5.2: an ALLOW that exists but matches nothing makes its workloads deny everything else.
    diagnostics.push({ object: ref, message: 'no rule can be enforced by node tunnels; the selected workloads deny all traffic not allowed by another policy' });
  }
  return {
    name: p.metadata.name ?? '',
    namespace,
    scope: policyScope(p, rootNamespace),
    action,
    rules,
    dryRun: p.metadata.annotations?.[DRY_RUN_ANNOTATION] === 'true',
  };
}
