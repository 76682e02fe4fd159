// What a node tunnel keeps of one AuthorizationPolicy rule (istiod `handleRule`, spec §5.2),
// for warnings and `ambit analyze`. Structural input: objects may be unvalidated. Pure.
//
// istiod builds one clause for `to` (a Match per entry), one for `from` (a Match per entry) and
// one per `when` condition; clauses are AND-ed. L7 attributes are left out of the Matches. A
// clause whose Matches are all empty never matches at the node tunnel (ztunnel skips empty
// Matches), so in a DENY rule it makes the whole rule a no-op.
import type { MeshWarning } from './warning.js';

export const L4_WHEN_KEYS: readonly string[] = ['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port'];
export const L4_SOURCE_FIELDS: readonly string[] = ['principals', 'notPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'ipBlocks', 'notIpBlocks'];
export const L7_SOURCE_FIELDS: readonly string[] = ['requestPrincipals', 'notRequestPrincipals', 'remoteIpBlocks', 'notRemoteIpBlocks'];
export const L4_OPERATION_FIELDS: readonly string[] = ['ports', 'notPorts'];
export const L7_OPERATION_FIELDS: readonly string[] = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'];

export interface RuleShape {
  from?: readonly { source?: object }[];
  to?: readonly { operation?: object }[];
  when?: readonly { key?: string }[];
}

export interface RuleL4View {
  /** L7 attributes, as paths relative to the rule (`to[0].operation.paths`, `when[1] (key x)`). */
  l7: string[];
  /** Parts left with only empty Matches once L7 is omitted (`from`, `to`, `when[1]`). */
  emptyParts: string[];
}

const has = (o: object | undefined, k: string): boolean => {
  const v = (o as Record<string, unknown> | undefined)?.[k];
  return Array.isArray(v) && v.length > 0;
};

export function ruleL4View(r: RuleShape): RuleL4View {
  const l7: string[] = [];
  const emptyParts: string[] = [];
  const from = r.from ?? [];
  const to = r.to ?? [];
  from.forEach((f, i) => L7_SOURCE_FIELDS.forEach((k) => has(f.source, k) && l7.push(`from[${i}].source.${k}`)));
  to.forEach((t, i) => L7_OPERATION_FIELDS.forEach((k) => has(t.operation, k) && l7.push(`to[${i}].operation.${k}`)));
  (r.when ?? []).forEach((w, i) => {
    if (L4_WHEN_KEYS.includes(w.key ?? '')) return;
    l7.push(`when[${i}] (key ${w.key ?? ''})`);
    emptyParts.push(`when[${i}]`);
  });
  // Order as istiod emits the clauses: to, from, then each when.
  if (to.length > 0 && !to.some((t) => L4_OPERATION_FIELDS.some((k) => has(t.operation, k)))) emptyParts.unshift('to');
  if (from.length > 0 && !from.some((f) => L4_SOURCE_FIELDS.some((k) => has(f.source, k)))) emptyParts.splice(emptyParts[0] === 'to' ? 1 : 0, 0, 'from');
  return { l7, emptyParts };
}

/** A principal written with its scheme: node tunnels compare principals without `spiffe://`, so it never matches. */
export const isSpiffeUriPrincipal = (v: string): boolean => v.startsWith('spiffe://');

export interface PrincipalRuleShape {
  from?: readonly { source?: { principals?: readonly string[]; notPrincipals?: readonly string[] } }[];
  when?: readonly { key?: string; values?: readonly string[]; notValues?: readonly string[] }[];
}

/**
 * `principals` / `notPrincipals` / `when: source.principal` values written with `spiffe://`.
 * istiod sends them as written and ztunnel compares them with the peer's identity stripped of
 * the scheme, so they never hit: in a positive list the entry matches nobody, in a negative
 * list it excludes nobody.
 */
export function spiffePrincipalWarnings(rules: readonly PrincipalRuleShape[]): MeshWarning[] {
  const out: MeshWarning[] = [];
  const check = (values: readonly string[] | undefined, path: string, negative: boolean): void =>
    (values ?? []).forEach((v, k) => {
      if (typeof v !== 'string' || !isSpiffeUriPrincipal(v)) return;
      const effect = negative ? 'so it never excludes anyone' : 'so it never matches';
      out.push({ path: `${path}[${k}]`, message: `principal '${v}' includes the spiffe:// scheme; Istio matches principals without it (node tunnels and waypoints alike), ${effect}; write '${v.slice('spiffe://'.length)}'` });
    });
  rules.forEach((r, i) => {
    (r.from ?? []).forEach((f, j) => {
      check(f.source?.principals, `spec.rules[${i}].from[${j}].source.principals`, false);
      check(f.source?.notPrincipals, `spec.rules[${i}].from[${j}].source.notPrincipals`, true);
    });
    (r.when ?? []).forEach((w, j) => {
      if (w.key !== 'source.principal') return;
      check(w.values, `spec.rules[${i}].when[${j}].values`, false);
      check(w.notValues, `spec.rules[${i}].when[${j}].notValues`, true);
    });
  });
  return out;
}
