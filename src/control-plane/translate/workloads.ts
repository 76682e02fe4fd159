// Pods, WorkloadEntries and STATIC ServiceEntry endpoints → istio.workload.Workload (spec §4.4).
import type { Locality, Port, Workload } from '../../mesh-api/types.js';
import { podIsReady, type Pod, type ServicePort } from '../../model/core/types.js';
import { concreteHosts, namespaceLabels, serviceHostname, type TranslateContext } from './context.js';
import { tunnelOf } from './enrollment.js';
import { byString, objectRef, selects, type ServiceEntryInput, type WorkloadEntryInput, type WorkloadEntrySpec } from './inputs.js';
import { peerAuthenticationKeys } from './peer-authentication.js';
import { podTargetPort, serviceEntryEndpointPort, serviceEntryPort, workloadEntryTargetPort } from './service-ports.js';
import { GATEWAY_NAME_LABEL, resolveWaypoint } from './waypoints.js';

const trustDomainField = (td: string): string => (td === 'cluster.local' ? '' : td);

/** Telemetry names (§4.4 fields 10, 11), Istio's label precedence. */
export function canonicalNames(labels: Record<string, string> | undefined, fallbackName: string): { canonicalName: string; canonicalRevision: string } {
  return {
    canonicalName: labels?.['service.istio.io/canonical-name'] ?? labels?.['app.kubernetes.io/name'] ?? labels?.['app'] ?? fallbackName,
    canonicalRevision: labels?.['service.istio.io/canonical-revision'] ?? labels?.['app.kubernetes.io/version'] ?? labels?.['version'] ?? 'latest',
  };
}

/**
 * §4.4 field 13: the controlling owner's name, ReplicaSet and Job names mapped back to their
 * Deployment / CronJob, overridden by the service.istio.io/workload-name label (istiod's
 * GetWorkloadMetaFromPod). Field 12 is always POD for pods: istiod stopped sending the owner kind.
 */
export function workloadNameOf(pod: Pod): string {
  const override = pod.metadata.labels?.['service.istio.io/workload-name'];
  if (override !== undefined) return override;
  const owner = pod.metadata.ownerReferences?.find((r) => r.controller) ?? pod.metadata.ownerReferences?.[0];
  const hash = pod.metadata.labels?.['pod-template-hash'];
  switch (owner?.kind) {
    case 'Deployment':
      return owner.name;
    case 'ReplicaSet':
      return hash && owner.name.endsWith(`-${hash}`) ? owner.name.slice(0, -hash.length - 1) : owner.name;
    case 'Job':
      // A CronJob's Jobs are named `<cronjob>-<scheduled minutes>`.
      return /^(.+)-\d{8,10}$/.exec(owner.name)?.[1] ?? owner.name;
    default:
      return pod.metadata.name ?? '';
  }
}

/** §4.4 field 16: selector policies in the workload's namespace or the root namespace (sorted), then PeerAuthentication's keys, in istiod's order. */
export function policyKeys(ctx: TranslateContext, namespace: string, labels: Record<string, string> | undefined): string[] {
  const keys = ctx.selectorPolicies
    .filter((p) => (p.namespace === namespace || p.namespace === ctx.rootNamespace) && selects(p.policy.spec?.selector, labels))
    .map((p) => p.key);
  return [...new Set([...keys.sort(byString), ...peerAuthenticationKeys(ctx.peerAuthn, namespace, labels)])];
}

type TargetPortOf = (sp: ServicePort) => number | undefined;

/** §4.4 field 22: each Service / ServiceEntry selecting the workload, with this workload's target ports. */
function serviceMemberships(ctx: TranslateContext, namespace: string, labels: Record<string, string> | undefined, targetPort: TargetPortOf, who: string): Record<string, Port[]> {
  const out = new Map<string, Port[]>();
  for (const svc of ctx.services) {
    const sel = svc.spec.selector;
    if (svc.metadata.namespace !== namespace || !sel || Object.keys(sel).length === 0 || !selects({ matchLabels: sel }, labels)) continue;
    const ports: Port[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const t = targetPort(sp);
      if (t === undefined) {
        ctx.diagnostics.push({ object: who, message: `Service ${namespace}/${svc.metadata.name ?? ''} port ${sp.port} targets '${String(sp.targetPort)}', which this workload does not declare; the port is left out` });
        continue;
      }
      ports.push({ servicePort: sp.port, targetPort: t });
    }
    out.set(`${namespace}/${serviceHostname(svc.metadata.name ?? '', namespace)}`, ports);
  }
  for (const se of ctx.serviceEntries) {
    const want = se.spec?.workloadSelector?.labels;
    if (se.metadata.namespace !== namespace || !want || !selects({ matchLabels: want }, labels)) continue;
    for (const host of concreteHosts(se)) out.set(`${namespace}/${host}`, (se.spec?.ports ?? []).map(serviceEntryPort));
  }
  return Object.fromEntries([...out.entries()].sort(([a], [b]) => byString(a, b)));
}

const podIps = (pod: Pod): string[] => {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip);
  const primary = pod.status?.podIP;
  return primary && !ips.includes(primary) ? [primary, ...ips] : ips.length > 0 ? ips : primary ? [primary] : [];
};

/**
 * A pod is sent once it has an IP and until it has completed (Succeeded / Failed) or is gone; a
 * terminating pod stays, UNHEALTHY, so it drains instead of vanishing (istiod's podWorkloadBuilder).
 */
export function podIsSendable(pod: Pod): boolean {
  return podIps(pod).length > 0 && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export function podToWorkload(ctx: TranslateContext, pod: Pod): Workload {
  const ns = pod.metadata.namespace ?? '';
  const name = pod.metadata.name ?? '';
  const labels = pod.metadata.labels;
  const nsLabels = namespaceLabels(ctx, ns);
  const ref = objectRef('Pod', pod.metadata);
  const workloadName = workloadNameOf(pod);
  const locality = ctx.nodeLocality.get(pod.spec.nodeName ?? '');
  // A waypoint's own pods never route through a waypoint.
  const isWaypoint = labels?.[GATEWAY_NAME_LABEL] !== undefined;
  const waypoint = isWaypoint ? undefined : resolveWaypoint(ctx.waypoints, { objectRef: ref, objectNamespace: ns, objectLabels: labels, namespaceLabels: nsLabels, kind: 'workload' }, ctx.diagnostics);
  return {
    uid: `${ctx.clusterId}//Pod/${ns}/${name}`,
    name,
    namespace: ns,
    addresses: podIps(pod),
    network: '',
    ...tunnelOf(labels, pod.metadata.annotations),
    trustDomain: trustDomainField(ctx.trustDomain),
    serviceAccount: pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? 'default',
    ...(waypoint ? { waypoint } : {}),
    node: pod.spec.nodeName ?? '',
    ...canonicalNames(labels, workloadName),
    workloadType: 'POD',
    workloadName,
    services: serviceMemberships(ctx, ns, labels, (sp) => podTargetPort(sp, pod), ref),
    authorizationPolicies: policyKeys(ctx, ns, labels),
    // Kubernetes has ready, serving and terminating; one bit says: no new connections.
    status: podIsReady(pod) && !pod.metadata.deletionTimestamp ? 'HEALTHY' : 'UNHEALTHY',
    clusterId: ctx.clusterId,
    ...(locality ? { locality } : {}),
  };
}

const isIpLiteral = (s: string): boolean => /^[\d.]+$/.test(s) || s.includes(':');

function parseLocality(text: string | undefined): Locality | undefined {
  if (!text) return undefined;
  const [region = '', zone = '', subzone = ''] = text.split('/');
  return { region, zone, subzone };
}

/** Fields shared by WorkloadEntries and ServiceEntry endpoints. */
function entryWorkload(ctx: TranslateContext, uid: string, name: string, ns: string, spec: WorkloadEntrySpec, labels: Record<string, string>, tunnel: ReturnType<typeof tunnelOf>): Omit<Workload, 'services' | 'authorizationPolicies'> {
  const address = spec.address ?? '';
  const locality = parseLocality(spec.locality);
  return {
    uid,
    name,
    namespace: ns,
    addresses: isIpLiteral(address) ? [address] : [],
    ...(address !== '' && !isIpLiteral(address) ? { hostname: address } : {}),
    network: spec.network ?? '',
    ...tunnel,
    trustDomain: trustDomainField(ctx.trustDomain),
    serviceAccount: spec.serviceAccount ?? 'default',
    node: '',
    ...canonicalNames(labels, name),
    workloadType: 'POD',
    workloadName: name,
    status: 'HEALTHY',
    clusterId: ctx.clusterId,
    ...(locality ? { locality } : {}),
    ...(spec.weight !== undefined ? { capacity: spec.weight } : {}),
  };
}

export function workloadEntryToWorkload(ctx: TranslateContext, we: WorkloadEntryInput): Workload {
  const ns = we.metadata.namespace ?? '';
  const name = we.metadata.name ?? '';
  const spec = we.spec ?? {};
  const labels = { ...we.metadata.labels, ...spec.labels };
  const nsLabels = namespaceLabels(ctx, ns);
  const ref = objectRef('WorkloadEntry', we.metadata);
  const waypoint = resolveWaypoint(ctx.waypoints, { objectRef: ref, objectNamespace: ns, objectLabels: labels, namespaceLabels: nsLabels, kind: 'workload' }, ctx.diagnostics);
  return {
    ...entryWorkload(ctx, `${ctx.clusterId}/networking.istio.io/WorkloadEntry/${ns}/${name}`, name, ns, spec, labels, tunnelOf(we.metadata.labels, we.metadata.annotations)),
    ...(waypoint ? { waypoint } : {}),
    services: serviceMemberships(ctx, ns, labels, (sp) => workloadEntryTargetPort(sp, spec), ref),
    authorizationPolicies: policyKeys(ctx, ns, labels),
  };
}

/** STATIC ServiceEntry endpoints become workloads of their own (no selector involved). */
export function serviceEntryEndpointWorkloads(ctx: TranslateContext, se: ServiceEntryInput): Workload[] {
  if (se.spec?.workloadSelector || (se.spec?.resolution ?? 'NONE') !== 'STATIC') return [];
  const ns = se.metadata.namespace ?? '';
  const name = se.metadata.name ?? '';
  const hosts = concreteHosts(se);
  return (se.spec?.endpoints ?? []).map((ep) => {
    const labels = ep.labels ?? {};
    const services = Object.fromEntries(hosts.map((h) => [`${ns}/${h}`, (se.spec?.ports ?? []).map((p) => serviceEntryEndpointPort(p, ep))]));
    return {
      // istiod reads the tunnel from the ServiceEntry's own metadata, the same for every endpoint.
      ...entryWorkload(ctx, `${ctx.clusterId}/networking.istio.io/ServiceEntry/${ns}/${name}/${ep.address ?? ''}`, name, ns, ep, labels, tunnelOf(se.metadata.labels, se.metadata.annotations)),
      services,
      authorizationPolicies: policyKeys(ctx, ns, labels),
    };
  });
}
