// Endpoint selection for a service port (spec §2.13): healthy members with a target port,
// narrowed by the service's locality preferences, then a capacity-weighted pick. Pure.
import { serviceResourceName, type LoadBalancingScope, type Service, type Workload } from '../../mesh-api/types.js';
import { canonicalIp } from '../hbone/headers.js';
import type { WorkloadIndex } from './workloads.js';

export interface Endpoint {
  workload: Workload;
  /** The workload's port for the service port (per-workload mapping, else the service's targetPort). */
  targetPort: number;
}

const family = (ip: string): 4 | 6 => (canonicalIp(ip).includes(':') ? 6 : 4);

/** The address to dial on a workload: one of the caller's family if it has one. */
export function addressFor(w: Workload, like: string): string | undefined {
  return w.addresses.find((a) => family(a) === family(like)) ?? w.addresses[0];
}

function scopeMatches(scope: LoadBalancingScope, src: Workload, w: Workload): boolean {
  switch (scope) {
    case 'REGION':
      return (src.locality?.region ?? '') === (w.locality?.region ?? '');
    case 'ZONE':
      return (src.locality?.zone ?? '') === (w.locality?.zone ?? '');
    case 'SUBZONE':
      return (src.locality?.subzone ?? '') === (w.locality?.subzone ?? '');
    case 'NODE':
      return src.node === w.node;
    case 'CLUSTER':
      return src.clusterId === w.clusterId;
    case 'NETWORK':
      return src.network === w.network;
  }
}

/** How many leading routing preferences an endpoint shares with the source (§2.13, ztunnel's rank). */
export function localityRank(prefs: readonly LoadBalancingScope[], src: Workload, w: Workload): number {
  let rank = 0;
  while (rank < prefs.length && scopeMatches(prefs[rank]!, src, w)) rank++;
  return rank;
}

/**
 * Endpoints of a service port: known workloads with an address listing the service, with a
 * resolvable target port (§2.13). Healthy only unless the service's health policy is ALLOW_ALL.
 */
export function endpointsOf(workloads: WorkloadIndex, service: Service, servicePort: number, opts: { healthyOnly?: boolean } = {}): Endpoint[] {
  const healthyOnly = opts.healthyOnly ?? service.loadBalancing?.healthPolicy !== 'ALLOW_ALL';
  const key = serviceResourceName(service);
  const svcPort = service.ports.find((p) => p.servicePort === servicePort);
  const out: Endpoint[] = [];
  for (const workload of workloads.members(key)) {
    if (healthyOnly && workload.status !== 'HEALTHY') continue;
    if (workload.addresses.length === 0) continue;
    const mapped = workload.services[key]?.find((p) => p.servicePort === servicePort)?.targetPort;
    const targetPort = mapped || svcPort?.targetPort || 0;
    if (targetPort > 0) out.push({ workload, targetPort });
  }
  return out;
}

/**
 * The endpoints the service's load balancing allows from src (§2.13): STRICT keeps those
 * matching every routing preference, FAILOVER those with the most leading matches. Without a
 * source or preferences nothing is filtered (as ztunnel).
 */
export function rankByLocality(service: Service, eps: Endpoint[], src?: Workload): Endpoint[] {
  const lb = service.loadBalancing;
  if (!src || !lb || (lb.mode !== 'STRICT' && lb.mode !== 'FAILOVER')) return eps;
  const prefs = lb.routingPreference;
  const ranked = eps.map((e) => ({ e, rank: localityRank(prefs, src, e.workload) }));
  const want = lb.mode === 'STRICT' ? prefs.length : Math.max(...ranked.map((r) => r.rank));
  return ranked.filter((r) => r.rank === want).map((r) => r.e);
}

/** Weighted random (by capacity, default 1); undefined when there are none. */
export function weightedPick(eps: Endpoint[], rand: () => number): Endpoint | undefined {
  const weight = (e: Endpoint): number => Math.max(0, e.workload.capacity ?? 1);
  const total = eps.reduce((n, e) => n + weight(e), 0);
  if (total <= 0) return eps[0];
  let r = rand() * total;
  for (const e of eps) {
    r -= weight(e);
    if (r < 0) return e;
  }
  return eps.at(-1);
}
