// Service → istio.workload.LoadBalancing (spec §2.13), as istiod derives it: Kubernetes
// spec.trafficDistribution first, else the networking.istio.io/traffic-distribution annotation
// of the Service, else of its namespace; a ServiceEntry with resolution NONE is PASSTHROUGH.
// Values and scopes follow istiod (pilot/pkg/serviceregistry/kube/controller/ambient, model).
import type { LoadBalancing } from '../../api/types.js';

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
