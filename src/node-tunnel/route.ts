// The node tunnel's outbound route decision (spec §2.8, §7.3; multi-network is not supported
// yet): where a captured outbound connection goes. Pure, over the shared mesh state.
import type { GatewayAddress, Service, Workload } from '../mesh-api/types.js';
import type { DataplaneErrorKind } from '../dataplane/errors.js';
import { canonicalIp, formatAuthority } from '../dataplane/hbone/headers.js';
import type { MeshState } from '../dataplane/mesh-state.js';
import { addressFor } from '../dataplane/state/endpoints.js';
import { spiffeIdOf } from '../dataplane/state/identity.js';
import { HBONE_PORT, INBOUND_CAPTURE_PORT, OUTBOUND_CAPTURE_PORT } from '../mesh-api/ports.js';

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

/** Where an outbound connection goes. */
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
  | { kind: 'fail'; reason: string; error: DataplaneErrorKind };

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
  if ('error' in hop) return { kind: 'fail', error: 'WAYPOINT_UNAVAILABLE', reason: `${what} requires its waypoint: ${hop.error}` };
  if (src && hop.workload.network !== src.network) return { kind: 'fail', error: 'WAYPOINT_UNAVAILABLE', reason: `${what}: waypoint ${hop.workload.name} is on network '${hop.workload.network}' (double HBONE is not supported)` };
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
  if (isLoopback(dstIp) && ILLEGAL_PORTS.has(dstPort)) return { kind: 'fail', error: 'SELF_CALL', reason: `${dstIp}:${dstPort} is the node tunnel's own port on loopback (SelfCall)` };
  const original = formatAuthority(canonicalIp(dstIp), dstPort);
  const svc = state.serviceByVip(dstIp, dstPort, src?.namespace);
  if (svc) {
    const s = svc.service;
    if (s.waypoint) return viaWaypoint(state, s.waypoint, original, `service ${s.namespace}/${s.hostname}`, src, s, rand);
    if (s.loadBalancing?.mode === 'PASSTHROUGH') return { kind: 'tcp', host: dstIp, port: dstPort, reason: 'passthrough' };
    const ep = state.pickEndpoint(s, dstPort, rand, src);
    if (!ep) return { kind: 'fail', error: 'NO_HEALTHY_UPSTREAM', reason: `no healthy upstream for ${s.hostname}:${dstPort}` };
    return direct(ep.workload, addressFor(ep.workload, dstIp)!, ep.targetPort, s);
  }
  const w = state.workloadByIp(dstIp);
  if (!w) return { kind: 'tcp', host: dstIp, port: dstPort, reason: 'passthrough' };
  // §2.8 step 6: not twice through the same waypoint (the waypoint's own sends go direct).
  if (w.waypoint && !(src && state.isWaypoint(src, w.waypoint))) return viaWaypoint(state, w.waypoint, original, `workload ${w.namespace}/${w.name}`, src, undefined, rand);
  return direct(w, canonicalIp(dstIp), dstPort);
}
