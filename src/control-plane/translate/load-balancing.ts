// Service → istio.workload.LoadBalancing (spec §2.13), as istiod derives it: Kubernetes
// internalTrafficPolicy Local first (STRICT to the client's node), else spec.trafficDistribution,
// else the networking.istio.io/traffic-distribution annotation of the Service, else of its
// namespace; publishNotReadyAddresses adds health policy ALLOW_ALL; a ServiceEntry with
// resolution NONE is PASSTHROUGH.
// Values and scopes follow istiod (pilot/pkg/serviceregistry/kube/controller/ambient, model).
import type { LoadBalancing } from '../../mesh-api/types.js';
import type { ServiceSpec } from '../../model/core/types.js';

export const TRAFFIC_DISTRIBUTION_ANNOTATION = 'networking.istio.io/traffic-distribution';

type Preference = 'zone' | 'node';

function fromValue(v: string | undefined): Preference | undefined {
  switch (v?.toLowerCase()) {
    case 'preferclose': // istiod ≥1.27 treats it as PreferSameZone (subzone no longer compared)
    case 'prefersamezone':
      return 'zone';
    case 'prefersamenode':
      return 'node';
    default:
      return undefined; // 'Any', unknown or unset: no preference
  }
}

/** Spec field, else the object's own annotation (any value, even 'Any', is its own setting), else the namespace's. */
export function trafficPreference(spec: string | undefined, annotations?: Record<string, string>, nsAnnotations?: Record<string, string>): Preference | undefined {
  const fromSpec = fromValue(spec);
  if (fromSpec) return fromSpec;
  const own = annotations?.[TRAFFIC_DISTRIBUTION_ANNOTATION];
  return fromValue(own ?? nsAnnotations?.[TRAFFIC_DISTRIBUTION_ANNOTATION]);
}

/** FAILOVER: same network, then region, zone (and subzone, node for PreferSameNode). */
export function preferenceLoadBalancing(p: Preference | undefined): LoadBalancing | undefined {
  if (p === 'zone') return { routingPreference: ['NETWORK', 'REGION', 'ZONE'], mode: 'FAILOVER' };
  if (p === 'node') return { routingPreference: ['NETWORK', 'REGION', 'ZONE', 'SUBZONE', 'NODE'], mode: 'FAILOVER' };
  return undefined;
}

/** resolution NONE: the node tunnel sends to the address the app dialled (istiod sets ALLOW_ALL too). */
export const passthroughLoadBalancing = (): LoadBalancing => ({ routingPreference: [], mode: 'PASSTHROUGH', healthPolicy: 'ALLOW_ALL' });

/** Local: only endpoints on the client's node, none elsewhere (ztunnel fails the connection). */
export const nodeLocalLoadBalancing = (): LoadBalancing => ({ routingPreference: ['NODE'], mode: 'STRICT' });

/** A Kubernetes Service's load balancing; undefined for none (ztunnel's defaults). */
export function kubeServiceLoadBalancing(spec: ServiceSpec, annotations?: Record<string, string>, nsAnnotations?: Record<string, string>): LoadBalancing | undefined {
  const lb = spec.internalTrafficPolicy === 'Local' ? nodeLocalLoadBalancing() : preferenceLoadBalancing(trafficPreference(spec.trafficDistribution, annotations, nsAnnotations));
  // Not-ready endpoints are published, so node tunnels may pick UNHEALTHY workloads too.
  if (spec.publishNotReadyAddresses) return { ...(lb ?? { routingPreference: [], mode: 'UNSPECIFIED_MODE' }), healthPolicy: 'ALLOW_ALL' };
  return lb;
}
