// Pure lookups over the pushed mesh config for the node tunnel's data path (spec §2.8, §2.13,
// §5.3): workload by IP, service by VIP:port, locality-aware endpoint choice, waypoints, the
// outbound route, applicable authorizations. No I/O.
import {
  serviceResourceName,
  type Authorization,
  type GatewayAddress,
  type LoadBalancingScope,
  type MeshSnapshot,
  type Port,
  type Service,
  type Workload,
} from '../mesh-api/types.js';
import { applicablePolicies } from '../authz/evaluate.js';
import type { PeerIdentity } from '../authz/evaluate.js';
import { canonicalIp, formatAuthority } from './hbone/headers.js';
import { DEFAULT_TRUST_DOMAIN, parseSpiffeId } from '../identity/spiffe.js';
import { HBONE_PORT, INBOUND_CAPTURE_PORT, OUTBOUND_CAPTURE_PORT } from '../mesh-api/ports.js';

export interface Endpoint {
  workload: Workload;
  /** The workload's port for the service port (per-workload mapping, else the service's targetPort). */
  targetPort: number;
}

export interface ServiceMatch {
  service: Service;
  port: Port;
}

export { HBONE_PORT } from '../mesh-api/ports.js';

/** The node tunnel's own ports (§1): outbound, inbound plaintext, inbound HBONE. */
export const ILLEGAL_PORTS: ReadonlySet<number> = new Set([OUTBOUND_CAPTURE_PORT, INBOUND_CAPTURE_PORT, HBONE_PORT]);

/** §1, §2.7: inbound whose target port is one of ours would loop into the tunnel (SelfCall). */
export function isIllegalInboundPort(port: number): boolean {
  return ILLEGAL_PORTS.has(port);
}

/** 127.0.0.0/8 and ::1, also as v4-mapped IPv6. */
export function isLoopback(ip: string): boolean {
  const c = canonicalIp(ip);
  return c === '::1' || (c.startsWith('127.') && !c.includes(':'));
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

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

const family = (ip: string): 4 | 6 => (canonicalIp(ip).includes(':') ? 6 : 4);

/** The address to dial on a workload: one of the caller's family if it has one. */
function addressFor(w: Workload, like: string): string | undefined {
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

export class MeshState {
  readonly snapshot: MeshSnapshot;
  readonly #byIp = new Map<string, Workload>();
  readonly #byVip = new Map<string, Service[]>();
  readonly #byKey = new Map<string, Service>();
  /** "ns/hostname" → workloads listing that service. */
  readonly #members = new Map<string, Workload[]>();

  constructor(snapshot: MeshSnapshot) {
    this.snapshot = snapshot;
    for (const w of snapshot.workloads) {
      for (const a of w.addresses) if (!this.#byIp.has(canonicalIp(a))) this.#byIp.set(canonicalIp(a), w);
      for (const key of Object.keys(w.services)) push(this.#members, key, w);
    }
    for (const s of snapshot.services) {
      this.#byKey.set(serviceResourceName(s), s);
      for (const a of s.addresses) push(this.#byVip, canonicalIp(a.address), s);
    }
  }

  workloadByIp(ip: string): Workload | undefined {
    return this.#byIp.get(canonicalIp(ip));
  }

  serviceByHost(namespace: string, hostname: string): Service | undefined {
    return this.#byKey.get(`${namespace}/${hostname}`);
  }

  /** The service whose VIP is ip and that exposes port: one in preferNamespace, else a canonical one, else any (§2.8 step 3). */
  serviceByVip(ip: string, port: number, preferNamespace?: string): ServiceMatch | undefined {
    let found: ServiceMatch | undefined;
    for (const service of this.#byVip.get(canonicalIp(ip)) ?? []) {
      const p = service.ports.find((x) => x.servicePort === port);
      if (!p) continue;
      if (service.namespace === preferNamespace) return { service, port: p };
      if (!found || (service.canonical && !found.service.canonical)) found = { service, port: p };
    }
    return found;
  }

  /**
   * Endpoints of a service port: known workloads with an address listing the service, with a
   * resolvable target port (§2.13). Healthy only unless the service's health policy is ALLOW_ALL.
   */
  endpoints(service: Service, servicePort: number, opts: { healthyOnly?: boolean } = {}): Endpoint[] {
    const healthyOnly = opts.healthyOnly ?? service.loadBalancing?.healthPolicy !== 'ALLOW_ALL';
    const key = serviceResourceName(service);
    const svcPort = service.ports.find((p) => p.servicePort === servicePort);
    const out: Endpoint[] = [];
    for (const workload of this.#members.get(key) ?? []) {
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
  candidates(service: Service, servicePort: number, src?: Workload): Endpoint[] {
    return this.#rank(service, this.endpoints(service, servicePort), src);
  }

  #rank(service: Service, eps: Endpoint[], src?: Workload): Endpoint[] {
    const lb = service.loadBalancing;
    if (!src || !lb || (lb.mode !== 'STRICT' && lb.mode !== 'FAILOVER')) return eps;
    const prefs = lb.routingPreference;
    const ranked = eps.map((e) => ({ e, rank: localityRank(prefs, src, e.workload) }));
    const want = lb.mode === 'STRICT' ? prefs.length : Math.max(...ranked.map((r) => r.rank));
    return ranked.filter((r) => r.rank === want).map((r) => r.e);
  }

  /** Weighted random (by capacity, default 1) among the candidates; undefined when there are none. */
  pickEndpoint(service: Service, servicePort: number, rand: () => number = Math.random, src?: Workload): Endpoint | undefined {
    return weightedPick(this.candidates(service, servicePort, src), rand);
  }

  /**
   * A waypoint pod for a GatewayAddress (§7.3): by hostname the waypoint Service's endpoints (its
   * own load balancing applies), by address the workload (or service) at that IP.
   */
  resolveWaypoint(gw: GatewayAddress, src?: Workload, rand: () => number = Math.random): WaypointHop | { error: string } {
    const port = gw.hboneMtlsPort || HBONE_PORT;
    let service: Service | undefined;
    let ep: Endpoint | undefined;
    if (gw.hostname) {
      service = this.serviceByHost(gw.hostname.namespace, gw.hostname.hostname);
      if (!service) return { error: `waypoint ${gw.hostname.namespace}/${gw.hostname.hostname} is not a known service` };
      ep = weightedPick(this.#waypointEndpoints(service, port, src), rand);
    } else if (gw.address) {
      const w = this.workloadByIp(gw.address.address);
      if (w) ep = w.status === 'HEALTHY' ? { workload: w, targetPort: port } : undefined;
      else {
        service = this.serviceByVip(gw.address.address, port)?.service;
        if (!service) return { error: `waypoint address ${gw.address.address} is neither a workload nor a service` };
        ep = this.pickEndpoint(service, port, rand, src);
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
  #waypointEndpoints(service: Service, port: number, src?: Workload): Endpoint[] {
    if (service.ports.some((p) => p.servicePort === port)) return this.candidates(service, port, src);
    const healthyOnly = service.loadBalancing?.healthPolicy !== 'ALLOW_ALL';
    const members = (this.#members.get(serviceResourceName(service)) ?? []).filter((w) => w.addresses.length > 0 && (!healthyOnly || w.status === 'HEALTHY'));
    return this.#rank(service, members.map((workload) => ({ workload, targetPort: port })), src);
  }

  /** Whether w is (a pod of) the given waypoint: a member of its service, or at its address. */
  isWaypoint(w: Workload, gw: GatewayAddress): boolean {
    if (gw.hostname) return w.services[`${gw.hostname.namespace}/${gw.hostname.hostname}`] !== undefined;
    const a = gw.address?.address;
    return a !== undefined && w.addresses.some((x) => canonicalIp(x) === canonicalIp(a));
  }

  /** The policies that apply to a destination workload (§5.3 step 1). */
  authorizationsFor(dest: Workload): Authorization[] {
    return applicablePolicies(this.snapshot.authorizations, dest).policies;
  }
}

export interface WaypointHop {
  workload: Workload;
  ip: string;
  /** Its HBONE port (the waypoint Service's target for hboneMtlsPort, normally 15008). */
  port: number;
  service?: Service;
}

function weightedPick(eps: Endpoint[], rand: () => number): Endpoint | undefined {
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

/** Where an outbound connection goes (spec §2.8, §7.3; multi-network is not supported yet). */
export type OutboundRoute =
  | {
      kind: 'hbone';
      /** `ip:port` (`[v6]:port`) to dial: the destination pod or the waypoint pod, port 15008. */
      nextHop: string;
      /** CONNECT :authority: `podIP:targetPort` direct; via a waypoint, the original dst as dialled. */
      authority: string;
      /** SPIFFE ID of the workload dialled (the destination, or the waypoint pod). */
      expectedIdentity: string;
      /** expectedIdentity plus the dialled service's subject_alt_names (§2.2). */
      expectedIdentities: string[];
      /** The workload dialled: the destination, or the waypoint pod. */
      workload: Workload;
      /** The service the app addressed (for `forwarded: host=`), also when going via its waypoint. */
      service?: Service;
      via: 'direct' | 'waypoint';
    }
  | { kind: 'tcp'; host: string; port: number; workload?: Workload; reason: 'tunnel protocol NONE' | 'passthrough' }
  | { kind: 'fail'; reason: string };

function direct(w: Workload, ip: string, port: number, service?: Service): OutboundRoute {
  if (w.tunnelProtocol !== 'HBONE') return { kind: 'tcp', host: ip, port, workload: w, reason: 'tunnel protocol NONE' };
  const id = spiffeIdOf(w);
  return {
    kind: 'hbone',
    nextHop: formatAuthority(ip, HBONE_PORT),
    authority: formatAuthority(ip, port),
    expectedIdentity: id,
    expectedIdentities: [id, ...(service?.subjectAltNames ?? [])],
    workload: w,
    ...(service ? { service } : {}),
    via: 'direct',
  };
}

/** §7.3: HBONE to a waypoint pod with the original destination as authority; fail closed. */
function viaWaypoint(state: MeshState, gw: GatewayAddress, original: string, what: string, src: Workload | undefined, service: Service | undefined, rand: () => number): OutboundRoute {
  const hop = state.resolveWaypoint(gw, src, rand);
  if ('error' in hop) return { kind: 'fail', reason: `${what} requires its waypoint: ${hop.error}` };
  if (src && hop.workload.network !== src.network) return { kind: 'fail', reason: `${what}: waypoint ${hop.workload.name} is on network '${hop.workload.network}' (double HBONE is not supported)` };
  const id = spiffeIdOf(hop.workload);
  return {
    kind: 'hbone',
    nextHop: formatAuthority(hop.ip, hop.port),
    authority: original,
    expectedIdentity: id,
    expectedIdentities: [id, ...(hop.service?.subjectAltNames ?? [])],
    workload: hop.workload,
    ...(service ? { service } : {}),
    via: 'waypoint',
  };
}

/**
 * §2.8: loopback to our own ports → fail; VIP → its waypoint, else PASSTHROUGH, else a
 * locality-chosen endpoint; pod IP → its workload waypoint (unless src is that waypoint), else
 * the pod; unknown → passthrough. HBONE or plain TCP by the destination's tunnel protocol.
 */
export function routeOutbound(state: MeshState, dstIp: string, dstPort: number, src?: Workload, rand: () => number = Math.random): OutboundRoute {
  if (isLoopback(dstIp) && ILLEGAL_PORTS.has(dstPort)) return { kind: 'fail', reason: `${dstIp}:${dstPort} is the node tunnel's own port on loopback (SelfCall)` };
  const original = formatAuthority(canonicalIp(dstIp), dstPort);
  const svc = state.serviceByVip(dstIp, dstPort, src?.namespace);
  if (svc) {
    const s = svc.service;
    if (s.waypoint) return viaWaypoint(state, s.waypoint, original, `service ${s.namespace}/${s.hostname}`, src, s, rand);
    if (s.loadBalancing?.mode === 'PASSTHROUGH') return { kind: 'tcp', host: dstIp, port: dstPort, reason: 'passthrough' };
    const ep = state.pickEndpoint(s, dstPort, rand, src);
    if (!ep) return { kind: 'fail', reason: `no healthy upstream for ${s.hostname}:${dstPort}` };
    return direct(ep.workload, addressFor(ep.workload, dstIp)!, ep.targetPort, s);
  }
  const w = state.workloadByIp(dstIp);
  if (!w) return { kind: 'tcp', host: dstIp, port: dstPort, reason: 'passthrough' };
  // §2.8 step 6: not twice through the same waypoint (the waypoint's own sends go direct).
  if (w.waypoint && !(src && state.isWaypoint(src, w.waypoint))) return viaWaypoint(state, w.waypoint, original, `workload ${w.namespace}/${w.name}`, src, undefined, rand);
  return direct(w, canonicalIp(dstIp), dstPort);
}
