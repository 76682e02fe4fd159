// AMB011/AMB012/AMB015: `istio.io/use-waypoint` must name a Gateway of class istio-waypoint
// that accepts this kind of binding. Otherwise istiod sets no waypoint, traffic goes
// directly to the destination and the waypoint's L7 policy is silently skipped (spec §5.5).
import { type Check, finding, GATEWAY_API, is, nsOf, rec, str, USE_WAYPOINT, USE_WAYPOINT_NAMESPACE, WAYPOINT_CLASS, WAYPOINT_FOR } from '../model.js';
import { labeled, labelPath } from '../labels.js';
import type { Finding } from '../types.js';
import { HBONE_PORT } from '../../mesh-api/ports.js';

export const waypointReferences: Check = (c) => {
  const out: Finding[] = [];
  const gateways = c.objects.filter((o) => is(o, GATEWAY_API, 'Gateway'));
  for (const l of labeled(c.objects)) {
    const name = l.labels[USE_WAYPOINT];
    if (name === undefined || name === 'none') continue; // "none" opts out (spec §7.2)
    const ownNs = l.as === 'Namespace' && !l.obj.metadata.namespace ? (l.obj.metadata.name ?? '') : nsOf(l.obj);
    const ns = l.labels[USE_WAYPOINT_NAMESPACE] ?? ownNs;
    const gw = gateways.find((g) => nsOf(g) === ns && g.metadata.name === name);
    const path = labelPath(l, USE_WAYPOINT);
    if (!gw) {
      out.push(finding('AMB011', 'Error', l.obj, `${USE_WAYPOINT}=${name} names Gateway ${ns}/${name}, which does not exist, so traffic bypasses the waypoint and its L7 policies are not applied. Create the waypoint (a Gateway with gatewayClassName ${WAYPOINT_CLASS} and listener {name: mesh, port: ${HBONE_PORT}, protocol: HBONE}) or fix the name${ns !== ownNs ? '' : ` (use ${USE_WAYPOINT_NAMESPACE} for a waypoint in another namespace)`}.`, path));
      continue;
    }
    const cls = str(rec(gw.spec)['gatewayClassName']);
    if (cls !== WAYPOINT_CLASS) {
      out.push(finding('AMB012', 'Error', l.obj, `${USE_WAYPOINT}=${name} names Gateway ${ns}/${name}, whose gatewayClassName is ${cls ?? '(unset)'}, not ${WAYPOINT_CLASS}, so it is not a waypoint and traffic bypasses it. Point the label at a Gateway of class ${WAYPOINT_CLASS}.`, path));
      continue;
    }
    // waypoint-for (default service) limits what may bind (spec §7.1, §7.2).
    const forWhat = (rec(gw.metadata.labels) as Record<string, string>)[WAYPOINT_FOR] ?? 'service';
    const needs = l.as === 'Pod' || l.as === 'WorkloadEntry' ? 'workload' : l.as === 'Namespace' ? undefined : 'service';
    if (forWhat === 'all' || (forWhat !== 'none' && (needs === undefined || forWhat === needs))) continue;
    const want = needs ?? 'service';
    out.push(finding('AMB015', 'Warning', l.obj, `Gateway ${ns}/${name} has ${WAYPOINT_FOR}=${forWhat}, so it ignores ${want} bindings like this ${l.as} label and traffic bypasses it. Label the Gateway ${WAYPOINT_FOR}=${want} (or all)${needs ? `, or bind ${needs === 'workload' ? 'the Service' : 'the pods'} instead` : ''}.`, path));
  }
  return out;
};
