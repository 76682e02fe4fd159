// AMB001: a policy's selector matches no workload, so the policy applies to nothing.
import { type Check, finding, is, nsOf, rec, ROOT_NAMESPACE, SECURITY_ISTIO, selected, showLabels } from '../model.js';
import type { Finding } from '../types.js';

const KINDS = ['AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication'];

export const selectorMatchesNothing: Check = (c) => {
  const out: Finding[] = [];
  for (const o of c.objects) {
    if (!KINDS.some((k) => is(o, SECURITY_ISTIO, k))) continue;
    const spec = rec(o.spec);
    // targetRef policies bind to a waypoint/gateway, not to pods.
    if (spec['targetRef'] !== undefined || spec['targetRefs'] !== undefined) continue;
    const labels = rec(rec(spec['selector'])['matchLabels']) as Record<string, string>;
    if (Object.keys(labels).length === 0) continue;
    const ns = nsOf(o);
    if (selected(c, ns, labels).length > 0) continue;
    const where = ns === ROOT_NAMESPACE ? 'any namespace' : `namespace ${ns}`;
    out.push(finding('AMB001', 'Warning', o, `selector ${showLabels(labels)} matches no pod in ${where}, so this ${o.kind} applies to nothing. Fix the labels to match the workload's pod labels, or deploy the workload.`, 'spec.selector.matchLabels'));
  }
  return out;
};
