// AMB004: L7 attributes in a policy the node tunnels enforce (no targetRefs). Node tunnels
// only see L4, so (spec §5.2) an ALLOW rule with L7 attributes is dropped (and if every rule
// is dropped the ALLOW still exists and the workload denies everything), while a DENY rule
// loses its L7 attributes: a from / to / when part left with nothing L4 never matches, which
// makes the whole rule a no-op; otherwise the L4 remainder is enforced (more restrictive).
import { isL4WhenKey, L7_OPERATION_FIELDS, L7_SOURCE_FIELDS, ruleL4View } from '../../model/mesh/authorization-l4.js';
import { arr, type Check, finding, rec, str } from '../model.js';
import { actionOf, authorizationPolicies, hasTargetRefs, ruleFields, rulesOf, type FieldValues } from '../policy.js';
import type { Finding } from '../types.js';

const L7_FIELDS = new Set([...L7_SOURCE_FIELDS, ...L7_OPERATION_FIELDS]);

/** The rule as ruleL4View reads it, from unvalidated JSON. */
const ruleShape = (rule: unknown): Parameters<typeof ruleL4View>[0] => {
  const r = rec(rule);
  return {
    from: arr(r['from']).map((f) => ({ source: rec(rec(f)['source']) })),
    to: arr(r['to']).map((t) => ({ operation: rec(rec(t)['operation']) })),
    when: arr(r['when']).map((w) => ({ key: str(rec(w)['key']) ?? '' })),
  };
};

const isL7 = (f: FieldValues): boolean => (f.field.startsWith('when:') ? !isL4WhenKey(f.field.slice(5)) : L7_FIELDS.has(f.field));
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
    const raw = rulesOf(o);
    for (const r of l7) {
      const names = [...new Set(r.l7.map(label))].join(', ');
      const emptyParts = action === 'DENY' ? ruleL4View(ruleShape(raw[r.i])).emptyParts : [];
      const effect =
        action === 'ALLOW'
          ? 'node tunnels drop this rule, so traffic it was meant to allow is denied'
          : emptyParts.length > 0
            ? `node tunnels omit the L7 attributes, which leaves ${emptyParts.map((p) => `'${p}'`).join(', ')} with nothing to match; an empty condition never matches and conditions are AND-ed, so this DENY rule has no effect (no-op)`
            : 'node tunnels ignore the L7 attributes and deny on the L4 remainder, which is broader than intended';
      out.push(finding('AMB004', 'Warning', o, `rule ${r.i} uses L7 attributes (${names}) in a policy without targetRefs: ${effect}. ${FIX}`, r.l7[0]!.path));
    }
  }
  return out;
};
