// What a node tunnel keeps of one AuthorizationPolicy rule (istiod `handleRule`, spec §5.2),
// for warnings and `ambit analyze`. Structural input: objects may be unvalidated. Pure.
//
// istiod builds one clause for `to` (a Match per entry), one for `from` (a Match per entry) and
// one per `when` condition; clauses are AND-ed. L7 attributes are left out of the Matches. A
// clause whose Matches are all empty never matches at the node tunnel (ztunnel skips empty
// Matches), so in a DENY rule it makes the whole rule a no-op.
import type { MeshWarning } from './warning.js';

export type AttributePart = 'source' | 'operation' | 'when';
export type AttributeLayer = 'L4' | 'L7';

/**
 * The one table of AuthorizationPolicy attributes: the list fields of `from.source` and
 * `to.operation`, and the exact `when` keys istiod accepts (security.ValidateAttribute), each
 * with whether a node tunnel can enforce it (L4: istiod's handleRule puts it in a Match) or
 * not (L7: only a waypoint can). The schema, translation and `ambit analyze` all read it.
 */
export const AUTHZ_ATTRIBUTES = {
  source: {
    principals: 'L4',
    notPrincipals: 'L4',
    requestPrincipals: 'L7',
    notRequestPrincipals: 'L7',
    namespaces: 'L4',
    notNamespaces: 'L4',
    serviceAccounts: 'L4',
    notServiceAccounts: 'L4',
    ipBlocks: 'L4',
    notIpBlocks: 'L4',
    remoteIpBlocks: 'L7',
    notRemoteIpBlocks: 'L7',
  },
  operation: {
    hosts: 'L7',
    notHosts: 'L7',
    ports: 'L4',
    notPorts: 'L4',
    methods: 'L7',
    notMethods: 'L7',
    paths: 'L7',
    notPaths: 'L7',
  },
  when: {
    'source.ip': 'L4',
    'remote.ip': 'L7',
    'source.namespace': 'L4',
    'source.serviceAccount': 'L7',
    'source.principal': 'L4',
    'source.trustDomain': 'L7',
    'request.auth.principal': 'L7',
    'request.auth.audiences': 'L7',
    'request.auth.presenter': 'L7',
    'destination.ip': 'L4',
    'destination.port': 'L4',
    'connection.sni': 'L7',
  },
} as const satisfies Record<AttributePart, Record<string, AttributeLayer>>;

/** `when` keys of the form `name[key]` (all L7); `experimental.envoy.filters.` is a prefix. */
export const WHEN_MAP_KEYS: readonly string[] = ['request.headers', 'request.auth.claims', 'experimental.envoy.filters.'];

export type SourceField = keyof typeof AUTHZ_ATTRIBUTES.source;
export type OperationField = keyof typeof AUTHZ_ATTRIBUTES.operation;

const namesOf = <P extends AttributePart>(part: P, layer?: AttributeLayer): (keyof (typeof AUTHZ_ATTRIBUTES)[P] & string)[] =>
  Object.entries(AUTHZ_ATTRIBUTES[part])
    .filter(([, l]) => layer === undefined || l === layer)
    .map(([k]) => k as keyof (typeof AUTHZ_ATTRIBUTES)[P] & string);

export const SOURCE_FIELDS: readonly SourceField[] = namesOf('source');
export const OPERATION_FIELDS: readonly OperationField[] = namesOf('operation');
export const WHEN_KEYS: readonly string[] = namesOf('when');
export const L4_WHEN_KEYS: readonly string[] = namesOf('when', 'L4');
export const L4_SOURCE_FIELDS: readonly string[] = namesOf('source', 'L4');
export const L7_SOURCE_FIELDS: readonly string[] = namesOf('source', 'L7');
export const L4_OPERATION_FIELDS: readonly string[] = namesOf('operation', 'L4');
export const L7_OPERATION_FIELDS: readonly string[] = namesOf('operation', 'L7');

/** Whether a node tunnel enforces this `when` key (anything not in the table is L7 too). */
export const isL4WhenKey = (key: string): boolean => L4_WHEN_KEYS.includes(key);

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
