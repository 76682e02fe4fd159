// AMB006: a Service port's named targetPort that no selected pod declares (that port gets
// no endpoints, so connections to it fail), and AMB007: a Service selector matching no pod.
import { arr, type Check, finding, nsOf, rec, selects, showLabels, str } from '../model.js';
import type { Finding } from '../types.js';

export const servicePorts: Check = (c) => {
  const out: Finding[] = [];
  for (const o of c.of('', 'Service')) {
    const spec = rec(o.spec);
    const selector = rec(spec['selector']) as Record<string, string>;
    // No selector: endpoints are managed by hand, nothing to resolve against.
    if (Object.keys(selector).length === 0) continue;
    const pods = c.workloads.filter((w) => w.namespace === nsOf(o) && selects(selector, w.labels));
    if (pods.length === 0) {
      out.push(finding('AMB007', 'Warning', o, `selector ${showLabels(selector)} matches no pod in namespace ${nsOf(o)}, so the Service has no endpoints. Fix the selector to match the pod template labels, or deploy the workload.`, 'spec.selector'));
      continue;
    }
    const names = new Set(pods.flatMap((w) => w.containers.flatMap((ct) => arr(rec(ct)['ports']).map((p) => str(rec(p)['name'])))));
    arr(spec['ports']).forEach((p, i) => {
      const target = str(rec(p)['targetPort']);
      if (target === undefined || names.has(target)) return;
      const known = [...names].filter((n): n is string => n !== undefined).sort();
      out.push(finding('AMB006', 'Error', o, `targetPort "${target}" names no containerPort of the ${pods.length} selected pod(s)${known.length ? ` (they name: ${known.join(', ')})` : ' (their ports have no names)'}, so this port has no endpoints and connections to it fail. Use a declared port name or a number.`, `spec.ports[${i}].targetPort`));
    });
  }
  return out;
};
