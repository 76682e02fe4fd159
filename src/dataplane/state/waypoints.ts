// Waypoint resolution (spec §7.3): which waypoint pod a GatewayAddress means. Pure.
import { serviceResourceName, type GatewayAddress, type Service, type Workload } from '../../mesh-api/types.js';
import { HBONE_PORT } from '../../mesh-api/ports.js';
import { canonicalIp } from '../hbone/headers.js';
import { endpointsOf, rankByLocality, weightedPick, type Endpoint } from './endpoints.js';
import type { ServiceIndex } from './services.js';
import type { WorkloadIndex } from './workloads.js';

export { HBONE_PORT } from '../../mesh-api/ports.js';

export interface WaypointHop {
  workload: Workload;
  ip: string;
  /** Its HBONE port (the waypoint Service's target for hboneMtlsPort, normally 15008). */
  port: number;
  service?: Service;
}

/**
 * A waypoint pod for a GatewayAddress: by hostname the waypoint Service's endpoints (its own
 * load balancing applies), by address the workload (or service) at that IP.
 */
export function resolveWaypoint(idx: { workloads: WorkloadIndex; services: ServiceIndex }, gw: GatewayAddress, src?: Workload, rand: () => number = Math.random): WaypointHop | { error: string } {
  const port = gw.hboneMtlsPort || HBONE_PORT;
  let service: Service | undefined;
  let ep: Endpoint | undefined;
  if (gw.hostname) {
    service = idx.services.byHost(gw.hostname.namespace, gw.hostname.hostname);
    if (!service) return { error: `waypoint ${gw.hostname.namespace}/${gw.hostname.hostname} is not a known service` };
    ep = weightedPick(waypointEndpoints(idx.workloads, service, port, src), rand);
  } else if (gw.address) {
    const w = idx.workloads.byIp(gw.address.address);
    if (w) ep = w.status === 'HEALTHY' ? { workload: w, targetPort: port } : undefined;
    else {
      service = idx.services.byVip(gw.address.address, port)?.service;
      if (!service) return { error: `waypoint address ${gw.address.address} is neither a workload nor a service` };
      ep = weightedPick(rankByLocality(service, endpointsOf(idx.workloads, service, port), src), rand);
    }
  } else {
    return { error: 'waypoint has neither a hostname nor an address' };
  }
  if (!ep) return { error: `waypoint ${service?.hostname ?? gw.address?.address} has no healthy endpoint` };
  const ip = ep.workload.addresses[0];
  if (ip === undefined) return { error: `waypoint pod ${ep.workload.name} has no address` };
  return { workload: ep.workload, ip, port: ep.targetPort, ...(service ? { service } : {}) };
}

/** The waypoint Service's endpoints for its HBONE port; any member if it does not list that port. */
function waypointEndpoints(workloads: WorkloadIndex, service: Service, port: number, src?: Workload): Endpoint[] {
  if (service.ports.some((p) => p.servicePort === port)) return rankByLocality(service, endpointsOf(workloads, service, port), src);
  const healthyOnly = service.loadBalancing?.healthPolicy !== 'ALLOW_ALL';
  const members = workloads.members(serviceResourceName(service)).filter((w) => w.addresses.length > 0 && (!healthyOnly || w.status === 'HEALTHY'));
  return rankByLocality(service, members.map((workload) => ({ workload, targetPort: port })), src);
}

/** Whether w is (a pod of) the given waypoint: a member of its service, or at its address. */
export function isWaypoint(w: Workload, gw: GatewayAddress): boolean {
  if (gw.hostname) return w.services[`${gw.hostname.namespace}/${gw.hostname.hostname}`] !== undefined;
  const a = gw.address?.address;
  return a !== undefined && w.addresses.some((x) => canonicalIp(x) === canonicalIp(a));
}
