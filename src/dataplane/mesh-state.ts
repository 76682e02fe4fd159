// One pushed mesh snapshot and its indexes, built once per snapshot and read per connection by
// every proxy (spec §2.8, §2.13, §5.3, §7.3): workloads (state/workloads.ts), services
// (state/services.ts), endpoint choice (state/endpoints.ts), waypoints (state/waypoints.ts),
// authorization policies (authz/policy-index.ts). No I/O.
import type { Authorization, GatewayAddress, MeshSnapshot, Service, Workload } from '../mesh-api/types.js';
import { PolicyIndex } from '../authz/policy-index.js';
import { endpointsOf, rankByLocality, weightedPick, type Endpoint } from './state/endpoints.js';
import { ServiceIndex, type ServiceMatch } from './state/services.js';
import { isWaypoint, resolveWaypoint, type WaypointHop } from './state/waypoints.js';
import { WorkloadIndex } from './state/workloads.js';

export class MeshState {
  readonly snapshot: MeshSnapshot;
  readonly workloads: WorkloadIndex;
  readonly services: ServiceIndex;
  /** Authorization policies by scope, namespace and key: a decision reads only those that apply. */
  readonly policies: PolicyIndex;

  constructor(snapshot: MeshSnapshot) {
    this.snapshot = snapshot;
    this.workloads = new WorkloadIndex(snapshot.workloads);
    this.services = new ServiceIndex(snapshot.services);
    this.policies = new PolicyIndex(snapshot.authorizations);
  }

  workloadByIp(ip: string): Workload | undefined {
    return this.workloads.byIp(ip);
  }

  workloadByUid(uid: string): Workload | undefined {
    return this.workloads.byUid(uid);
  }

  serviceByHost(namespace: string, hostname: string): Service | undefined {
    return this.services.byHost(namespace, hostname);
  }

  /** The service whose VIP is ip and that exposes port: one in preferNamespace, else a canonical one, else any (§2.8 step 3). */
  serviceByVip(ip: string, port: number, preferNamespace?: string): ServiceMatch | undefined {
    return this.services.byVip(ip, port, preferNamespace);
  }

  /** Endpoints of a service port (§2.13); healthy only unless the health policy is ALLOW_ALL. */
  endpoints(service: Service, servicePort: number, opts: { healthyOnly?: boolean } = {}): Endpoint[] {
    return endpointsOf(this.workloads, service, servicePort, opts);
  }

  /** The endpoints the service's locality preferences allow from src (§2.13). */
  candidates(service: Service, servicePort: number, src?: Workload): Endpoint[] {
    return rankByLocality(service, this.endpoints(service, servicePort), src);
  }

  /** Weighted random (by capacity, default 1) among the candidates; undefined when there are none. */
  pickEndpoint(service: Service, servicePort: number, rand: () => number = Math.random, src?: Workload): Endpoint | undefined {
    return weightedPick(this.candidates(service, servicePort, src), rand);
  }

  /** A waypoint pod for a GatewayAddress (§7.3). */
  resolveWaypoint(gw: GatewayAddress, src?: Workload, rand: () => number = Math.random): WaypointHop | { error: string } {
    return resolveWaypoint(this, gw, src, rand);
  }

  /** Whether w is (a pod of) the given waypoint. */
  isWaypoint(w: Workload, gw: GatewayAddress): boolean {
    return isWaypoint(w, gw);
  }

  /** The policies that apply to a destination workload (§5.3 step 1). */
  authorizationsFor(dest: Workload): Authorization[] {
    return this.policies.applicable(dest).policies;
  }
}
