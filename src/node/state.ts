// Pure lookups over the pushed mesh config for the node tunnel's data path (spec §2.8, §2.13,
// §5.3): workload by IP, service by VIP:port, endpoint choice, applicable authorizations. No I/O.
import { serviceResourceName, type Authorization, type MeshSnapshot, type Port, type Service, type Workload } from '../api/types.js';
import { applicablePolicies } from '../authz/evaluate.js';
import type { PeerIdentity } from '../authz/evaluate.js';
import { DEFAULT_TRUST_DOMAIN, parseSpiffeId } from '../identity/spiffe.js';

export interface Endpoint {
  workload: Workload;
  /** The workload's port for the service port (per-workload mapping, else the service's targetPort). */
  targetPort: number;
}

export interface ServiceMatch {
  service: Service;
  port: Port;
}

/** `spiffe://<td>/ns/<ns>/sa/<sa>` of a workload ('' trust domain / service account → defaults). */
export function spiffeIdOf(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `spiffe://${w.trustDomain || DEFAULT_TRUST_DOMAIN}/ns/${w.namespace}/sa/${w.serviceAccount || 'default'}`;
}

/** The authz view of a peer's SPIFFE ID; undefined if it is not a workload identity. */
export function peerIdentityOf(spiffeId: string): PeerIdentity | undefined {
  try {
    const id = parseSpiffeId(spiffeId);
    return { trustDomain: id.trustDomain, namespace: id.namespace, serviceAccount: id.serviceAccount };
  } catch {
    return undefined;
  }
}

export class MeshState {
  readonly snapshot: MeshSnapshot;
  readonly #byIp = new Map<string, Workload>();

  constructor(snapshot: MeshSnapshot) {
    this.snapshot = snapshot;
    for (const w of snapshot.workloads) for (const a of w.addresses) if (!this.#byIp.has(a)) this.#byIp.set(a, w);
  }

  workloadByIp(ip: string): Workload | undefined {
    return this.#byIp.get(ip);
  }

  /** The service whose VIP is ip and that exposes port. Prefers a service in preferNamespace (§2.8 step 3). */
  serviceByVip(ip: string, port: number, preferNamespace?: string): ServiceMatch | undefined {
    let found: ServiceMatch | undefined;
    for (const service of this.snapshot.services) {
      if (!service.addresses.some((a) => a.address === ip)) continue;
      const p = service.ports.find((x) => x.servicePort === port);
      if (!p) continue;
      if (service.namespace === preferNamespace) return { service, port: p };
      found ??= { service, port: p };
    }
    return found;
  }

  /** Endpoints of a service port: known workloads listing the service, with a resolvable target port (§2.13). */
  endpoints(service: Service, servicePort: number, opts: { healthyOnly?: boolean } = {}): Endpoint[] {
    const key = serviceResourceName(service);
    const svcPort = service.ports.find((p) => p.servicePort === servicePort);
    const out: Endpoint[] = [];
    for (const workload of this.snapshot.workloads) {
      const ports = workload.services[key];
      if (!ports) continue;
      if ((opts.healthyOnly ?? true) && workload.status !== 'HEALTHY') continue;
      if (workload.addresses.length === 0) continue;
      const mapped = ports.find((p) => p.servicePort === servicePort)?.targetPort;
      const targetPort = mapped || svcPort?.targetPort || 0;
      if (targetPort > 0) out.push({ workload, targetPort });
    }
    return out;
  }

  /** Weighted random (by capacity, default 1) among healthy endpoints; undefined when there are none. */
  pickEndpoint(service: Service, servicePort: number, rand: () => number = Math.random): Endpoint | undefined {
    const eps = this.endpoints(service, servicePort);
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

  /** The policies that apply to a destination workload (§5.3 step 1). */
  authorizationsFor(dest: Workload): Authorization[] {
    return applicablePolicies(this.snapshot.authorizations, dest).policies;
  }
}

/** Where an outbound connection goes (spec §2.8, without waypoints and multi-network yet). */
export type OutboundRoute =
  | { kind: 'hbone'; nextHop: string; authority: string; expectedIdentity: string; workload: Workload; service?: Service }
  | { kind: 'tcp'; host: string; port: number; workload?: Workload; reason: 'tunnel protocol NONE' | 'passthrough' }
  | { kind: 'fail'; reason: string };

export const HBONE_PORT = 15008;

/** §2.8 steps 3, 4 and 7: VIP → endpoint, pod IP → workload, unknown → passthrough. */
export function routeOutbound(state: MeshState, dstIp: string, dstPort: number, src?: Workload, rand?: () => number): OutboundRoute {
  let workload: Workload | undefined;
  let targetPort = dstPort;
  const svc = state.serviceByVip(dstIp, dstPort, src?.namespace);
  if (svc) {
    const ep = state.pickEndpoint(svc.service, dstPort, rand);
    if (!ep) return { kind: 'fail', reason: `no healthy upstream for ${svc.service.hostname}:${dstPort}` };
    workload = ep.workload;
    targetPort = ep.targetPort;
  } else {
    workload = state.workloadByIp(dstIp);
  }
  if (!workload) return { kind: 'tcp', host: dstIp, port: dstPort, reason: 'passthrough' };
  const ip = svc ? workload.addresses[0]! : dstIp;
  if (workload.tunnelProtocol !== 'HBONE') return { kind: 'tcp', host: ip, port: targetPort, workload, reason: 'tunnel protocol NONE' };
  return {
    kind: 'hbone',
    nextHop: `${ip}:${HBONE_PORT}`,
    authority: `${ip}:${targetPort}`,
    expectedIdentity: spiffeIdOf(workload),
    workload,
    ...(svc ? { service: svc.service } : {}),
  };
}
