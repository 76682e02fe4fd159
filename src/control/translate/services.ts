// Kubernetes Services and ServiceEntries → istio.workload.Service (spec §4.5, §2.13). Endpoints are not
// listed here: each Workload's services map carries its memberships (§4.4 field 22).
import type { NetworkAddress, Service } from '../../api/types.js';
import type { Service as KubeService } from '../../model/core/types.js';
import { concreteHosts, namespaceAnnotations, namespaceLabels, serviceHostname, type TranslateContext } from './context.js';
import { objectRef, type ServiceEntryInput } from './inputs.js';
import { passthroughLoadBalancing, preferenceLoadBalancing, trafficPreference } from './load-balancing.js';
import { addressMatch } from './match-values.js';
import { servicePort, serviceEntryServicePort } from './service-ports.js';
import { resolveWaypoint } from './waypoints.js';

/** ClusterIPs as VIPs; headless (`None`) or unallocated services have none. */
function vips(svc: KubeService): NetworkAddress[] {
  const ips = svc.spec.clusterIPs?.length ? svc.spec.clusterIPs : svc.spec.clusterIP ? [svc.spec.clusterIP] : [];
  return ips.filter((ip) => ip !== 'None' && ip !== '').map((address) => ({ network: '', address }));
}

export function kubeServiceToService(ctx: TranslateContext, svc: KubeService): Service {
  const ns = svc.metadata.namespace ?? '';
  const name = svc.metadata.name ?? '';
  const waypoint = resolveWaypoint(ctx.waypoints, { objectRef: objectRef('Service', svc.metadata), objectNamespace: ns, objectLabels: svc.metadata.labels, namespaceLabels: namespaceLabels(ctx, ns), kind: 'service' }, ctx.diagnostics);
  const loadBalancing = preferenceLoadBalancing(trafficPreference(svc.spec.trafficDistribution, svc.metadata.annotations, namespaceAnnotations(ctx, ns)));
  return {
    name,
    namespace: ns,
    hostname: serviceHostname(name, ns),
    addresses: vips(svc),
    ports: (svc.spec.ports ?? []).map(servicePort),
    subjectAltNames: [],
    ...(waypoint ? { waypoint } : {}),
    ...(loadBalancing ? { loadBalancing } : {}),
  };
}

/** ServiceEntry addresses: IPs, or CIDRs which become CIDR VIPs (§4.5 field 4). */
function entryAddresses(ctx: TranslateContext, se: ServiceEntryInput): NetworkAddress[] {
  const out: NetworkAddress[] = [];
  for (const a of se.spec?.addresses ?? []) {
    const m = addressMatch(a);
    if (!m) {
      ctx.diagnostics.push({ object: objectRef('ServiceEntry', se.metadata), message: `address '${a}' is not an IP or CIDR; ignored` });
      continue;
    }
    const isHost = (m.address.includes(':') ? 128 : 32) === m.length && !a.includes('/');
    out.push(isHost ? { network: '', address: m.address } : { network: '', address: m.address, length: m.length });
  }
  return out;
}

/** One Service per concrete host; wildcard hosts are reported and skipped. */
export function serviceEntryToServices(ctx: TranslateContext, se: ServiceEntryInput): Service[] {
  const ns = se.metadata.namespace ?? '';
  const ref = objectRef('ServiceEntry', se.metadata);
  for (const h of se.spec?.hosts ?? []) if (h.startsWith('*')) ctx.diagnostics.push({ object: ref, message: `wildcard host '${h}' cannot be addressed by node tunnels; skipped` });
  const waypoint = resolveWaypoint(ctx.waypoints, { objectRef: ref, objectNamespace: ns, objectLabels: se.metadata.labels, namespaceLabels: namespaceLabels(ctx, ns), kind: 'service' }, ctx.diagnostics);
  const addresses = entryAddresses(ctx, se);
  const ports = (se.spec?.ports ?? []).map(serviceEntryServicePort);
  const loadBalancing =
    (se.spec?.resolution ?? 'NONE') === 'NONE' ? passthroughLoadBalancing() : preferenceLoadBalancing(trafficPreference(undefined, se.metadata.annotations, namespaceAnnotations(ctx, ns)));
  return concreteHosts(se).map((hostname) => ({
    name: se.metadata.name ?? '',
    namespace: ns,
    hostname,
    addresses,
    ports,
    subjectAltNames: se.spec?.subjectAltNames ?? [],
    ...(waypoint ? { waypoint } : {}),
    ...(loadBalancing ? { loadBalancing } : {}),
  }));
}
