// AMB013: CUSTOM and AUDIT policies are never sent to node tunnels (spec §5.1); without
// targetRefs to a waypoint nothing enforces them. CUSTOM is an Error because the external
// authorizer it names is silently never asked; AUDIT only loses logging, so a Warning.
import { type Check, finding } from '../model.js';
import { actionOf, authorizationPolicies, hasTargetRefs } from '../policy.js';
import type { Finding } from '../types.js';

export const unsupportedActionWithoutWaypoint: Check = (c) => {
  const out: Finding[] = [];
  for (const o of authorizationPolicies(c.objects)) {
    const action = actionOf(o);
    if ((action !== 'CUSTOM' && action !== 'AUDIT') || hasTargetRefs(o)) continue;
    const effect = action === 'CUSTOM' ? 'the external authorizer is never consulted and the traffic it should check is let through' : 'nothing is audited';
    out.push(finding('AMB013', action === 'CUSTOM' ? 'Error' : 'Warning', o, `action ${action} is not supported by node tunnels and this policy has no targetRefs, so ${effect}. Add targetRefs to a waypoint (kind Gateway, gatewayClassName istio-waypoint) and route the workload through it (istio.io/use-waypoint).`, 'spec.action'));
  }
  return out;
};
