// L4 authorization decision as ztunnel makes it (spec §5.3, ztunnel `assert_rbac` / rbac.rs). Pure.
import { authorizationResourceName, type AddressMatch, type Authorization, type Match, type Rule, type ServiceAccountMatch, type StringMatch, type Workload } from '../mesh-api/types.js';
import { inCidr } from '../lib/ip.js';

/** The authenticated peer; absent on plaintext (15006) connections. */
export interface PeerIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

export interface Connection {
  srcIp: string;
  dstIp: string;
  /** The app's target port (on HBONE, not 15008). */
  dstPort: number;
  identity?: PeerIdentity;
}

export interface Decision {
  allowed: boolean;
  reason: 'denied by policy' | 'no allow policies' | 'allowed by policy' | 'allow policies exist, but none allowed';
  /** "ns/name" of the deciding policy, when one matched. */
  policy?: string;
  /** What dry-run policies would have done (only logged and counted, never enforced). */
  dryRun: DryRunOutcome[];
  /** Keys listed by the workload that name no known policy (skipped). */
  unknownKeys: string[];
}

/**
 * One dry-run policy's would-be effect on a connection, as ztunnel's `assert_rbac` logs it:
 * a matching DENY would deny; a matching ALLOW would allow; dry-run ALLOWs of which none
 * matched, where no enforced ALLOW exists, would each have denied (the connection is allowed
 * only because they are not enforced).
 */
export interface DryRunOutcome {
  /** "ns/name". */
  policy: string;
  action: Authorization['action'];
  decision: 'allow' | 'deny';
  /** ztunnel's log message for it. */
  message: 'dry-run: deny policy match' | 'dry-run: allow policy match' | 'dry-run: no allow policies match';
}

export const principalOf = (id: PeerIdentity): string => `${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;

export function stringMatches(m: StringMatch, value: string): boolean {
  if ('exact' in m) return value === m.exact;
  if ('prefix' in m) return value.startsWith(m.prefix);
  if ('suffix' in m) return value.endsWith(m.suffix);
  return value !== '';
}

export const isEmptyMatch = (m: Match): boolean => Object.values(m).every((v: unknown[]) => v.length === 0);

/** Positive list: empty passes, else needs a hit. Negative list: must have no hit. */
function check<T>(pos: readonly T[], neg: readonly T[], hit: (x: T) => boolean): boolean {
  return (pos.length === 0 || pos.some(hit)) && !neg.some(hit);
}

/** Without identity nothing identity-based can hit: positives fail, negatives pass (§5.3). */
const idHit = <T>(id: PeerIdentity | undefined, f: (id: PeerIdentity, x: T) => boolean) => (x: T): boolean => (id ? f(id, x) : false);

export function matchMatches(m: Match, c: Connection): boolean {
  const ip = (addr: string) => (a: AddressMatch): boolean => inCidr(addr, a.address, a.length);
  const sa = (id: PeerIdentity, s: ServiceAccountMatch): boolean => id.namespace === s.namespace && id.serviceAccount === s.serviceAccount;
  return (
    check(m.namespaces, m.notNamespaces, idHit(c.identity, (id, s: StringMatch) => stringMatches(s, id.namespace))) &&
    check(m.principals, m.notPrincipals, idHit(c.identity, (id, s: StringMatch) => stringMatches(s, principalOf(id)))) &&
    check(m.sourceIps, m.notSourceIps, ip(c.srcIp)) &&
    check(m.destinationIps, m.notDestinationIps, ip(c.dstIp)) &&
    check(m.destinationPorts, m.notDestinationPorts, (p: number) => p === c.dstPort) &&
    check(m.serviceAccounts, m.notServiceAccounts, idHit(c.identity, sa))
  );
}

/** A clause with no Matches matches (ztunnel rbac.rs); otherwise any non-empty Match must. */
const clauseMatches = (cl: Rule['clauses'][number], c: Connection): boolean => cl.matches.length === 0 || cl.matches.some((m) => !isEmptyMatch(m) && matchMatches(m, c));

/** Any rule; all clauses (none → match); any non-empty match. Zero rules never match. */
export function policyMatches(p: Authorization, c: Connection): boolean {
  return p.rules.some((r) => r.clauses.every((cl) => clauseMatches(cl, c)));
}

/** §5.3 step 1: NAMESPACE policies of the destination's namespace, GLOBAL ones, and the workload's keys. */
export function applicablePolicies(all: Iterable<Authorization>, dest: Pick<Workload, 'namespace' | 'authorizationPolicies'>): { policies: Authorization[]; unknownKeys: string[] } {
  const byKey = new Map<string, Authorization>();
  const policies: Authorization[] = [];
  for (const p of all) {
    byKey.set(authorizationResourceName(p), p);
    if (p.scope === 'GLOBAL' || (p.scope === 'NAMESPACE' && p.namespace === dest.namespace)) policies.push(p);
  }
  const unknownKeys: string[] = [];
  for (const k of dest.authorizationPolicies) {
    const p = byKey.get(k);
    if (!p) unknownKeys.push(k);
    else if (!policies.includes(p)) policies.push(p);
  }
  return { policies, unknownKeys };
}

/** §5.3 in ztunnel's order; dry-run policies are evaluated where ztunnel does and only reported. */
export function evaluate(all: Iterable<Authorization>, dest: Pick<Workload, 'namespace' | 'authorizationPolicies'>, c: Connection): Decision {
  const { policies, unknownKeys } = applicablePolicies(all, dest);
  return decide(policies, unknownKeys, c);
}

/** §5.3 over the policies that apply (in applicablePolicies' order, which decides which policy is named). */
export function decide(policies: readonly Authorization[], unknownKeys: string[], c: Connection): Decision {
  const dryRun: DryRunOutcome[] = [];
  const of = (action: Authorization['action'], dry: boolean): Authorization[] => policies.filter((p) => p.action === action && p.dryRun === dry);
  const base = { dryRun, unknownKeys };
  for (const p of of('DENY', true)) if (policyMatches(p, c)) dryRun.push({ policy: authorizationResourceName(p), action: 'DENY', decision: 'deny', message: 'dry-run: deny policy match' });
  const deny = of('DENY', false).find((p) => policyMatches(p, c));
  if (deny) return { ...base, allowed: false, reason: 'denied by policy', policy: authorizationResourceName(deny) };
  const allows = of('ALLOW', false);
  const dryAllows = of('ALLOW', true);
  for (const p of dryAllows) if (policyMatches(p, c)) dryRun.push({ policy: authorizationResourceName(p), action: 'ALLOW', decision: 'allow', message: 'dry-run: allow policy match' });
  if (allows.length === 0 && dryAllows.length > 0 && !dryRun.some((d) => d.action === 'ALLOW')) {
    for (const p of dryAllows) dryRun.push({ policy: authorizationResourceName(p), action: 'ALLOW', decision: 'deny', message: 'dry-run: no allow policies match' });
  }
  if (allows.length === 0) return { ...base, allowed: true, reason: 'no allow policies' };
  const allow = allows.find((p) => policyMatches(p, c));
  if (allow) return { ...base, allowed: true, reason: 'allowed by policy', policy: authorizationResourceName(allow) };
  return { ...base, allowed: false, reason: 'allow policies exist, but none allowed' };
}
