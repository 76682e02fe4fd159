// Kubernetes Services and ServiceEntries → istio.workload.Service (spec §4.5, §2.13). Endpoints are not
// listed here: each Workload's services map carries its memberships (§4.4 field 22).
import type { IpFamilies, NetworkAddress, Service } from '../../mesh-api/types.js';
import type { Service as KubeService } from '../../model/core/types.js';
import { concreteHosts, namespaceAnnotations, namespaceLabels, serviceHostname, type TranslateContext } from './context.js';
import { byString, objectRef, type Diagnostic, type ServiceEntryInput } from './inputs.js';
import { kubeServiceLoadBalancing, passthroughLoadBalancing, preferenceLoadBalancing, trafficPreference } from './load-balancing.js';
import { addressMatch } from './match-values.js';
import { servicePort, serviceEntryServicePort } from './service-ports.js';
import { resolveWaypoint } from './waypoints.js';

/** ClusterIPs as VIPs; headless (`None`) or unallocated services have none. */
function vips(svc: KubeService): NetworkAddress[] {
  const ips = svc.spec.clusterIPs?.length ? svc.spec.clusterIPs : svc.spec.clusterIP ? [svc.spec.clusterIP] : [];
  return ips.filter((ip) => ip !== 'None' && ip !== '').map((address) => ({ network: '', address }));
}

/** spec.ipFamilies → §4.5 field 9: two families DUAL, one its own, none AUTOMATIC. */
export function ipFamiliesOf(families: readonly string[] | undefined): IpFamilies {
  if (families?.length === 2) return 'DUAL';
  if (families?.length === 1) return families[0] === 'IPv4' ? 'IPV4_ONLY' : 'IPV6_ONLY';
  return 'AUTOMATIC';
}

export function kubeServiceToService(ctx: TranslateContext, svc: KubeService): Service {
  const ns = svc.metadata.namespace ?? '';
  const name = svc.metadata.name ?? '';
  const waypoint = resolveWaypoint(ctx.waypoints, { objectRef: objectRef('Service', svc.metadata), objectNamespace: ns, objectLabels: svc.metadata.labels, namespaceLabels: namespaceLabels(ctx, ns), kind: 'service' }, ctx.diagnostics);
  const loadBalancing = kubeServiceLoadBalancing(svc.spec, svc.metadata.annotations, namespaceAnnotations(ctx, ns));
  const ipFamilies = ipFamiliesOf(svc.spec.ipFamilies);
  return {
    name,
    namespace: ns,
    hostname: serviceHostname(name, ns),
    addresses: vips(svc),
    ports: (svc.spec.ports ?? []).map(servicePort),
    subjectAltNames: [],
    ...(waypoint ? { waypoint } : {}),
    ...(loadBalancing ? { loadBalancing } : {}),
    ...(ipFamilies !== 'AUTOMATIC' ? { ipFamilies } : {}),
    // A Kubernetes Service always owns its hostname; other namespaces may only shadow it locally.
    canonical: true,
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

/** A translated Service with what hostname selection needs to know of its source object. */
export interface ServiceCandidate {
  service: Service;
  fromKubeService: boolean;
  creationTimestamp: string;
  ref: string;
}

/**
 * Services sharing a hostname (istiod's selectWorkloadServices): one per namespace, a Kubernetes
 * Service before any ServiceEntry, else the oldest entry; then one of them is canonical (wins
 * lookups from namespaces without their own): the Kubernetes Service, else the oldest entry.
 * Ties on age go to the lower namespace/name, so the result does not depend on input order.
 */
export function selectByHostname(candidates: readonly ServiceCandidate[], diagnostics: Diagnostic[]): Service[] {
  const better = (a: ServiceCandidate, b: ServiceCandidate): boolean =>
    a.fromKubeService !== b.fromKubeService ? a.fromKubeService : a.creationTimestamp !== b.creationTimestamp ? byString(a.creationTimestamp, b.creationTimestamp) < 0 : byString(a.ref, b.ref) < 0;
  const byHost = new Map<string, Map<string, ServiceCandidate>>();
  for (const c of candidates) {
    const perNs = byHost.get(c.service.hostname) ?? new Map<string, ServiceCandidate>();
    byHost.set(c.service.hostname, perNs);
    const cur = perNs.get(c.service.namespace);
    const [win, lose] = !cur || better(c, cur) ? [c, cur] : [cur, c];
    perNs.set(c.service.namespace, win);
    if (lose) diagnostics.push({ object: lose.ref, message: `host ${c.service.hostname} is also defined by ${win.ref} in the same namespace, which wins; this definition is not sent` });
  }
  const out: Service[] = [];
  for (const perNs of byHost.values()) {
    const winners = [...perNs.values()];
    const canonical = winners.reduce((a, b) => (better(b, a) ? b : a));
    for (const w of winners) out.push(w === canonical || w.fromKubeService ? { ...w.service, canonical: true } : w.service);
  }
  return out;
}
