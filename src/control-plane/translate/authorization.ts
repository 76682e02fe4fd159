// AuthorizationPolicy → istio.security.Authorization for node tunnels (spec §5.1, §5.2),
// following istiod's `convertAuthorizationPolicy` / `handleRule`.
import { emptyMatch, type Authorization, type AuthzAction, type AuthzScope, type Match, type Rule } from '../../mesh-api/types.js';
import { isEmptyMatch } from '../../authz/evaluate.js';
import { L4_WHEN_KEYS, L7_OPERATION_FIELDS, L7_SOURCE_FIELDS, spiffePrincipalWarnings } from '../../model/mesh/authorization-l4.js';
import { addressMatch, portValue, serviceAccountMatch, stringToMatch } from './match-values.js';
import { objectRef, type AuthorizationPolicyInput, type ConditionInput, type Diagnostic, type OperationInput, type RuleInput, type SourceInput } from './inputs.js';
import { DRY_RUN_ANNOTATION } from '../../mesh-api/labels.js';

export { DRY_RUN_ANNOTATION } from '../../mesh-api/labels.js';

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
    principals: (s.principals ?? []).map(stringToMatch),
    notPrincipals: (s.notPrincipals ?? []).map(stringToMatch),
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
      return { ...m, principals: pos.map(stringToMatch), notPrincipals: neg.map(stringToMatch) };
    case 'destination.ip':
      return { ...m, destinationIps: ips(pos, 'destination.ip'), notDestinationIps: ips(neg, 'destination.ip') };
    case 'destination.port':
      return { ...m, destinationPorts: ports(pos, 'destination.port'), notDestinationPorts: ports(neg, 'destination.port') };
    default:
      return m;
  }
}

const presentL7 = (o: object, keys: readonly string[]): string[] => keys.filter((k) => ((o as Record<string, unknown[] | undefined>)[k]?.length ?? 0) > 0);

type RuleOutcome =
  | { kind: 'rule'; rule: Rule; ignoredL7: string[] }
  | { kind: 'no-op'; rule: Rule; l7: string[]; emptyParts: string[] }
  | { kind: 'dropped'; l7: string[] }
  | { kind: 'invalid'; message: string };

/**
 * istiod `handleRule` (§5.2): one clause for `to` (a Match per entry), one for `from` (a Match
 * per entry), then one clause per `when` condition; clauses are AND-ed, a clause's Matches
 * OR-ed. L7 attributes are left out of the Matches. ALLOW: a rule with any L7 is dropped.
 * DENY: the rule is sent as built; a part that had only L7 is a clause of one empty Match,
 * which never matches, so the whole rule is a no-op. A part mixing L4 and L7 keeps its L4
 * remainder (more restrictive than written).
 */
export function convertRule(action: AuthzAction, rule: RuleInput, policyNamespace: string): RuleOutcome {
  const l7: string[] = [];
  const parts: { name: string; matches: Match[] }[] = [];
  try {
    const to = rule.to ?? [];
    const from = rule.from ?? [];
    if (to.length > 0) {
      parts.push({ name: 'to', matches: to.map((t) => operationMatch(t.operation ?? {})) });
      for (const t of to) l7.push(...presentL7(t.operation ?? {}, L7_OPERATION_FIELDS));
    }
    if (from.length > 0) {
      parts.push({ name: 'from', matches: from.map((f) => sourceMatch(f.source ?? {}, policyNamespace)) });
      for (const f of from) l7.push(...presentL7(f.source ?? {}, L7_SOURCE_FIELDS));
    }
    (rule.when ?? []).forEach((w, i) => {
      // The schema requires a key; a keyless condition (unvalidated input) is treated as an unknown, L7 one.
      if (w.key === undefined || !L4_WHEN_KEYS.includes(w.key)) l7.push(`when ${w.key ?? '(no key)'}`);
      parts.push({ name: `when[${i}]`, matches: [conditionMatch(w)] });
    });
  } catch (e) {
    if (e instanceof InvalidValue) return { kind: 'invalid', message: e.message };
    throw e;
  }
  const unique = [...new Set(l7)];
  if (action === 'ALLOW' && unique.length > 0) return { kind: 'dropped', l7: unique };
  const out: Rule = { clauses: parts.map((p) => ({ matches: p.matches })) };
  const emptyParts = parts.filter((p) => p.matches.every(isEmptyMatch)).map((p) => p.name);
  if (unique.length > 0 && emptyParts.length > 0) return { kind: 'no-op', rule: out, l7: unique, emptyParts };
  return { kind: 'rule', rule: out, ignoredL7: unique };
}

/** istiod reads the annotation with Go's strconv.ParseBool; anything else is enforced as written. */
function parseDryRun(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
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
  const dryRunValue = p.metadata.annotations?.[DRY_RUN_ANNOTATION];
  const parsedDryRun = parseDryRun(dryRunValue);
  if (parsedDryRun === undefined) diagnostics.push({ object: ref, message: `${DRY_RUN_ANNOTATION} '${dryRunValue ?? ''}' is not a boolean; the policy is enforced` });
  const namespace = p.metadata.namespace ?? '';
  const rules: Rule[] = [];
  let effective = 0;
  (p.spec?.rules ?? []).forEach((r, i) => {
    const out = convertRule(action, r, namespace);
    const where = `rule ${i}`;
    switch (out.kind) {
      case 'rule':
        rules.push(out.rule);
        effective++;
        if (out.ignoredL7.length > 0) diagnostics.push({ object: ref, message: `${where}: L7 fields (${out.ignoredL7.join(', ')}) are ignored by node tunnels; the L4 remainder is denied, which is more restrictive than written` });
        break;
      case 'no-op':
        // Sent as istiod sends it: the empty clause makes the node tunnel skip the rule.
        rules.push(out.rule);
        diagnostics.push({ object: ref, message: `${where}: L7 fields (${out.l7.join(', ')}) are omitted by node tunnels, which leaves ${out.emptyParts.join(', ')} with nothing to match; an empty condition never matches, so this DENY rule has no effect (no-op)` });
        break;
      case 'dropped':
        diagnostics.push({ object: ref, message: `${where}: L7 fields (${out.l7.join(', ')}) cannot be enforced by node tunnels; the ALLOW rule is dropped and allows nothing` });
        break;
      case 'invalid':
        diagnostics.push({ object: ref, message: `${where}: ${out.message}; the rule is dropped` });
        break;
    }
    for (const w of spiffePrincipalWarnings([r])) diagnostics.push({ object: ref, message: `${where}: ${w.message}` });
  });
  if (action === 'ALLOW' && rules.length === 0 && (p.spec?.rules?.length ?? 0) > 0) {
    // §5.2: an ALLOW that exists but matches nothing makes its workloads deny everything else.
    diagnostics.push({ object: ref, message: 'no rule can be enforced by node tunnels; the selected workloads deny all traffic not allowed by another policy' });
  }
  if (action === 'DENY' && effective === 0 && rules.length > 0) {
    // istiod's httpDenyNoEffectBoilerplate, for the policy as a whole.
    diagnostics.push({ object: ref, message: 'no rule can be enforced by node tunnels; this DENY policy has no effect there (enforce it in a waypoint with targetRefs)' });
  }
  return {
    name: p.metadata.name ?? '',
    namespace,
    scope: policyScope(p, rootNamespace),
    action,
    rules,
    dryRun: parsedDryRun ?? false,
  };
}
