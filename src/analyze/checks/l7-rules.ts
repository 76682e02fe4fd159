// AMB004: L7 attributes in a policy the node tunnels enforce (no targetRefs). Node tunnels
// only see L4, so (spec §5.2) an ALLOW rule with L7 attributes is dropped (and if every rule
// is dropped the ALLOW still exists and the workload denies everything), while a DENY rule
// loses its L7 attributes and is enforced on the L4 remainder (more restrictive than asked).
import { type Check, finding } from '../model.js';
import { actionOf, authorizationPolicies, hasTargetRefs, ruleFields, rulesOf, type FieldValues } from '../policy.js';
import type { Finding } from '../types.js';

const L7_FIELDS = new Set(['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths', 'requestPrincipals', 'notRequestPrincipals', 'remoteIpBlocks', 'notRemoteIpBlocks']);
const L4_WHEN = new Set(['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port']);

const isL7 = (f: FieldValues): boolean => (f.field.startsWith('when:') ? !L4_WHEN.has(f.field.slice(5)) : L7_FIELDS.has(f.field));
const label = (f: FieldValues): string => (f.field.startsWith('when:') ? `when key ${f.field.slice(5)}` : f.field);
const FIX = 'Attach the policy to a waypoint with targetRefs (kind Gateway, gatewayClassName istio-waypoint, or kind Service) so L7 is enforced there, or remove the L7 fields.';

export const l7RuleWithoutWaypoint: Check = (c) => {
  const out: Finding[] = [];
  for (const o of authorizationPolicies(c.objects)) {
    const action = actionOf(o);
    if (hasTargetRefs(o) || (action !== 'ALLOW' && action !== 'DENY')) continue;
    const rules = rulesOf(o).map((r, i) => ({ i, fields: ruleFields(r, i).filter((f) => f.values.length > 0) }));
    const l7 = rules.map((r) => ({ ...r, l7: r.fields.filter(isL7) })).filter((r) => r.l7.length > 0);
    if (l7.length === 0) continue;
    if (action === 'ALLOW' && l7.length === rules.length) {
      const names = [...new Set(l7.flatMap((r) => r.l7.map(label)))].join(', ');
      out.push(finding('AMB004', 'Error', o, `every rule uses L7 attributes (${names}) but the policy has no targetRefs, so node tunnels enforce it at L4: they drop those rules, and an ALLOW policy that matches nothing denies ALL traffic to the selected workloads. ${FIX}`, 'spec.rules'));
      continue;
    }
    for (const r of l7) {
      const names = [...new Set(r.l7.map(label))].join(', ');
      const effect =
        action === 'ALLOW'
          ? 'node tunnels drop this rule, so traffic it was meant to allow is denied'
          : r.fields.length === r.l7.length
            ? 'node tunnels ignore the L7 attributes and nothing L4 is left, so this DENY rule has no effect'
            : 'node tunnels ignore the L7 attributes and deny on the L4 remainder, which is broader than intended';
      out.push(finding('AMB004', 'Warning', o, `rule ${r.i} uses L7 attributes (${names}) in a policy without targetRefs: ${effect}. ${FIX}`, r.l7[0]!.path));
    }
  }
  return out;
};
