// api/types.ts values <-> the protobuf messages of spec §4.4-4.6 (istio.workload.Address,
// istio.security.Authorization). Encoding never validates beyond what the wire needs (IPs
// must parse). Decoding accepts what ztunnel accepts and refuses what it refuses (its
// src/state/workload.rs, src/state/service.rs and src/rbac.rs conversions): unknown fields and
// unknown values of enums ztunnel does not check are ignored, a bad authorization entry drops
// only that entry, and anything ztunnel rejects throws CodecError naming the field, which the
// client turns into a per-resource NACK (§4.2).
import { APP_PROTOCOLS, type AddressMatch, type AppProtocol, type Authorization, type GatewayAddress, type LoadBalancing, type Match, type NetworkAddress, type Port, type Service, type StringMatch, type WeightedWaypoint, type Workload } from '../mesh-api/types.js';
import { bytesToIp, ipToBytes } from '../lib/ip.js';
import { TO_OBJECT, xdsTypes } from './proto.js';

export class CodecError extends Error {}

// Wire shapes as protobufjs toObject returns them (keepCase, TO_OBJECT options). An enum is its
// value's name, or the number when this .proto does not know the value.
type PbEnum = string | number;
interface PbNetworkAddress {
  network: string;
  address: Uint8Array;
  length?: number | null;
}
interface PbGatewayAddress {
  hostname?: { namespace: string; hostname: string } | null;
  address?: PbNetworkAddress | null;
  hbone_mtls_port: number;
}
interface PbPort {
  service_port: number;
  target_port: number;
  app_protocol: PbEnum;
}
interface PbWorkload {
  uid: string;
  name: string;
  namespace: string;
  addresses: Uint8Array[];
  hostname: string;
  network: string;
  tunnel_protocol: PbEnum;
  trust_domain: string;
  service_account: string;
  waypoint?: PbGatewayAddress | null;
  network_gateway?: PbGatewayAddress | null;
  node: string;
  canonical_name: string;
  canonical_revision: string;
  workload_type: PbEnum;
  workload_name: string;
  native_tunnel: boolean;
  application_tunnel?: { protocol: PbEnum; port: number } | null;
  services: Record<string, { ports: PbPort[] }>;
  authorization_policies: string[];
  status: PbEnum;
  cluster_id: string;
  locality?: { region: string; zone: string; subzone: string } | null;
  network_mode: PbEnum;
  capacity?: { value: number } | null;
}
interface PbLoadBalancing {
  routing_preference: PbEnum[];
  mode: PbEnum;
  health_policy: PbEnum;
}
interface PbService {
  name: string;
  namespace: string;
  hostname: string;
  addresses: PbNetworkAddress[];
  ports: PbPort[];
  subject_alt_names: string[];
  waypoint?: PbGatewayAddress | null;
  load_balancing?: PbLoadBalancing | null;
  ip_families: PbEnum;
  ingress_use_waypoint: boolean;
  weighted_waypoints: { destination?: PbGatewayAddress | null; weight: number }[];
  visibility: PbEnum;
  canonical: boolean;
}
interface PbAddress {
  workload?: PbWorkload | null;
  service?: PbService | null;
  type?: string;
}
interface PbStringMatch {
  exact?: string;
  prefix?: string;
  suffix?: string;
  presence?: object | null;
  match_type?: string;
}
interface PbIpMatch {
  address: Uint8Array;
  length: number;
}
interface PbSaMatch {
  namespace: string;
  serviceAccount: string;
}
interface PbMatch {
  namespaces: PbStringMatch[];
  not_namespaces: PbStringMatch[];
  principals: PbStringMatch[];
  not_principals: PbStringMatch[];
  source_ips: PbIpMatch[];
  not_source_ips: PbIpMatch[];
  destination_ips: PbIpMatch[];
  not_destination_ips: PbIpMatch[];
  destination_ports: number[];
  not_destination_ports: number[];
  service_accounts: PbSaMatch[];
  not_service_accounts: PbSaMatch[];
}
interface PbAuthorization {
  name: string;
  namespace: string;
  scope: PbEnum;
  action: PbEnum;
  rules: { clauses: { matches: PbMatch[] }[] }[];
  dry_run: boolean;
}

// ---- encode ----

const netAddr = (a: NetworkAddress): object => ({ network: a.network, address: ipToBytes(a.address), ...(a.length !== undefined ? { length: a.length } : {}) });
const gateway = (g: GatewayAddress): object => ({
  ...(g.hostname ? { hostname: { namespace: g.hostname.namespace, hostname: g.hostname.hostname } } : g.address ? { address: netAddr(g.address) } : {}),
  hbone_mtls_port: g.hboneMtlsPort,
});
const port = (p: Port): object => ({ service_port: p.servicePort, target_port: p.targetPort, app_protocol: p.appProtocol ?? 'UNKNOWN' });
const weighted = (w: WeightedWaypoint): object => ({ destination: gateway(w.destination), weight: w.weight });

function workloadToPb(w: Workload): object {
  return {
    uid: w.uid,
    name: w.name,
    namespace: w.namespace,
    addresses: w.addresses.map(ipToBytes),
    hostname: w.hostname ?? '',
    network: w.network,
    tunnel_protocol: w.tunnelProtocol,
    trust_domain: w.trustDomain,
    service_account: w.serviceAccount,
    ...(w.waypoint ? { waypoint: gateway(w.waypoint) } : {}),
    node: w.node,
    canonical_name: w.canonicalName,
    canonical_revision: w.canonicalRevision,
    workload_type: w.workloadType,
    workload_name: w.workloadName,
    native_tunnel: w.nativeTunnel,
    services: Object.fromEntries(Object.entries(w.services).map(([k, ports]) => [k, { ports: ports.map(port) }])),
    authorization_policies: w.authorizationPolicies,
    status: w.status,
    cluster_id: w.clusterId,
    ...(w.locality ? { locality: w.locality } : {}),
    ...(w.capacity !== undefined ? { capacity: { value: w.capacity } } : {}),
  };
}

function serviceToPb(s: Service): object {
  return {
    name: s.name,
    namespace: s.namespace,
    hostname: s.hostname,
    addresses: s.addresses.map(netAddr),
    ports: s.ports.map(port),
    subject_alt_names: s.subjectAltNames,
    ...(s.waypoint ? { waypoint: gateway(s.waypoint) } : {}),
    ...(s.loadBalancing ? { load_balancing: loadBalancing(s.loadBalancing) } : {}),
    // protobufjs writes explicitly set defaults; leave them out as Go's proto encoder does.
    ...(s.ipFamilies && s.ipFamilies !== 'AUTOMATIC' ? { ip_families: s.ipFamilies } : {}),
    ...(s.canonical ? { canonical: true } : {}),
    ...(s.ingressUseWaypoint ? { ingress_use_waypoint: true } : {}),
    ...(s.weightedWaypoints?.length ? { weighted_waypoints: s.weightedWaypoints.map(weighted) } : {}),
    ...(s.visibility && s.visibility !== 'PUBLIC' ? { visibility: s.visibility } : {}),
  };
}

const loadBalancing = (lb: LoadBalancing): object => ({ routing_preference: lb.routingPreference, mode: lb.mode, health_policy: lb.healthPolicy ?? 'ONLY_HEALTHY' });

const strMatch = (m: StringMatch): object => ('exact' in m ? { exact: m.exact } : 'prefix' in m ? { prefix: m.prefix } : 'suffix' in m ? { suffix: m.suffix } : { presence: {} });
const ipMatch = (a: AddressMatch): object => ({ address: ipToBytes(a.address), length: a.length });

function matchToPb(m: Match): object {
  return {
    namespaces: m.namespaces.map(strMatch),
    not_namespaces: m.notNamespaces.map(strMatch),
    principals: m.principals.map(strMatch),
    not_principals: m.notPrincipals.map(strMatch),
    source_ips: m.sourceIps.map(ipMatch),
    not_source_ips: m.notSourceIps.map(ipMatch),
    destination_ips: m.destinationIps.map(ipMatch),
    not_destination_ips: m.notDestinationIps.map(ipMatch),
    destination_ports: m.destinationPorts,
    not_destination_ports: m.notDestinationPorts,
    service_accounts: m.serviceAccounts.map((s) => ({ namespace: s.namespace, serviceAccount: s.serviceAccount })),
    not_service_accounts: m.notServiceAccounts.map((s) => ({ namespace: s.namespace, serviceAccount: s.serviceAccount })),
  };
}

/** istio.workload.Address{workload} bytes (the Any value). */
export function encodeWorkload(w: Workload): Buffer {
  const t = xdsTypes().address;
  return Buffer.from(t.encode(t.fromObject({ workload: workloadToPb(w) })).finish());
}

/** istio.workload.Address{service} bytes. */
export function encodeService(s: Service): Buffer {
  const t = xdsTypes().address;
  return Buffer.from(t.encode(t.fromObject({ service: serviceToPb(s) })).finish());
}

/** istio.security.Authorization bytes. */
export function encodeAuthorization(a: Authorization): Buffer {
  const t = xdsTypes().authorization;
  const pb = { name: a.name, namespace: a.namespace, scope: a.scope, action: a.action, dry_run: a.dryRun, rules: a.rules.map((r) => ({ clauses: r.clauses.map((c) => ({ matches: c.matches.map(matchToPb) })) })) };
  return Buffer.from(t.encode(t.fromObject(pb)).finish());
}

// ---- decode ----

function ip(b: Uint8Array, field: string): string {
  if (b.length !== 4 && b.length !== 16) throw new CodecError(`${field}: an IP address is 4 or 16 bytes, got ${b.length}`);
  return bytesToIp(b);
}

/** An enum ztunnel checks (prost try_from): a value outside `allowed` rejects the resource. */
function oneOf<T extends string>(v: PbEnum, allowed: readonly T[], field: string): T {
  if (!(allowed as readonly PbEnum[]).includes(v)) throw new CodecError(`${field}: unsupported value ${v}`);
  return v as T;
}

/** An enum ztunnel reads with a default: an unknown value is the default, not an error. */
const orDefault = <T extends string>(v: PbEnum, known: readonly T[], dflt: T): T => ((known as readonly PbEnum[]).includes(v) ? (v as T) : dflt);

/** ztunnel stores ports as u16 (`as u16`); istiod never sends more than 16 bits. */
const u16 = (n: number): number => n & 0xffff;

function netAddrFrom(a: PbNetworkAddress, field: string): NetworkAddress {
  const address = ip(a.address, `${field}.address`);
  const max = a.address.length * 8;
  if (a.length === undefined || a.length === null || a.length === max) return { network: a.network, address };
  if (a.length > max) throw new CodecError(`${field}.length: prefix length ${a.length} exceeds ${max}`);
  return { network: a.network, address, length: a.length };
}

function gatewayFrom(g: PbGatewayAddress, field: string): GatewayAddress {
  const hboneMtlsPort = u16(g.hbone_mtls_port);
  if (g.hostname) return { hostname: { namespace: g.hostname.namespace, hostname: g.hostname.hostname }, hboneMtlsPort };
  if (g.address) return { address: { network: g.address.network, address: ip(g.address.address, `${field}.address.address`) }, hboneMtlsPort };
  throw new CodecError(`${field}: a gateway needs a hostname or an address`);
}

/** ztunnel ignores app_protocol; an unknown value is kept as UNKNOWN (left out). */
function portFrom(p: PbPort): Port {
  const appProtocol = orDefault<AppProtocol>(p.app_protocol, APP_PROTOCOLS, 'UNKNOWN');
  return { servicePort: u16(p.service_port), targetPort: u16(p.target_port), ...(appProtocol !== 'UNKNOWN' ? { appProtocol } : {}) };
}

function workloadFrom(w: PbWorkload): Workload {
  if (!w.uid) throw new CodecError('workload.uid is empty');
  // LEGACY_ISTIO_MTLS is refused as ztunnel refuses it (§4.4).
  const tunnelProtocol = oneOf(w.tunnel_protocol, ['NONE', 'HBONE'] as const, 'workload.tunnel_protocol');
  // Checked because ztunnel rejects unknown values, though Ambit's model does not carry them.
  oneOf(w.network_mode, ['STANDARD', 'HOST_NETWORK'], 'workload.network_mode');
  if (w.application_tunnel) oneOf(w.application_tunnel.protocol, ['NONE', 'PROXY'], 'workload.application_tunnel.protocol');
  if (w.network_gateway) gatewayFrom(w.network_gateway, 'workload.network_gateway');
  const out: Workload = {
    uid: w.uid,
    name: w.name,
    namespace: w.namespace,
    addresses: w.addresses.map((a, i) => ip(a, `workload.addresses[${i}]`)),
    network: w.network,
    tunnelProtocol,
    trustDomain: w.trust_domain,
    serviceAccount: w.service_account,
    node: w.node,
    canonicalName: w.canonical_name,
    canonicalRevision: w.canonical_revision,
    workloadType: orDefault(w.workload_type, ['DEPLOYMENT', 'CRONJOB', 'POD', 'JOB'] as const, 'DEPLOYMENT'),
    workloadName: w.workload_name,
    nativeTunnel: w.native_tunnel,
    services: Object.fromEntries(
      Object.entries(w.services).map(([k, pl]) => {
        // ztunnel splits at the first '/'; a key without one rejects the workload.
        if (!k.includes('/')) throw new CodecError(`workload.services: key '${k}' is not namespace/hostname`);
        return [k, pl.ports.map(portFrom)];
      }),
    ),
    authorizationPolicies: w.authorization_policies,
    status: oneOf(w.status, ['HEALTHY', 'UNHEALTHY'] as const, 'workload.status'),
    clusterId: w.cluster_id,
  };
  if (w.hostname) out.hostname = w.hostname;
  if (w.waypoint) out.waypoint = gatewayFrom(w.waypoint, 'workload.waypoint');
  if (w.locality) out.locality = { region: w.locality.region, zone: w.locality.zone, subzone: w.locality.subzone };
  if (w.capacity) out.capacity = w.capacity.value;
  return out;
}

const SCOPES = ['REGION', 'ZONE', 'SUBZONE', 'NODE', 'CLUSTER', 'NETWORK'] as const;
const LB_MODES = ['UNSPECIFIED_MODE', 'STRICT', 'FAILOVER', 'PASSTHROUGH'] as const;

/** UNSPECIFIED_SCOPE or an unknown value is refused, as ztunnel refuses it ("invalid target"). */
function loadBalancingFrom(lb: PbLoadBalancing): LoadBalancing {
  const out: LoadBalancing = {
    routingPreference: lb.routing_preference.map((r, i) => oneOf(r, SCOPES, `service.load_balancing.routing_preference[${i}]`)),
    mode: oneOf(lb.mode, LB_MODES, 'service.load_balancing.mode'),
  };
  if (oneOf(lb.health_policy, ['ONLY_HEALTHY', 'ALLOW_ALL'] as const, 'service.load_balancing.health_policy') === 'ALLOW_ALL') out.healthPolicy = 'ALLOW_ALL';
  return out;
}

const IP_FAMILIES = ['AUTOMATIC', 'IPV4_ONLY', 'IPV6_ONLY', 'DUAL'] as const;

function serviceFrom(s: PbService): Service {
  if (!s.namespace || !s.hostname) throw new CodecError('service needs a namespace and a hostname');
  const out: Service = {
    name: s.name,
    namespace: s.namespace,
    hostname: s.hostname,
    addresses: s.addresses.map((a, i) => netAddrFrom(a, `service.addresses[${i}]`)),
    ports: s.ports.map(portFrom),
    subjectAltNames: s.subject_alt_names,
  };
  if (s.waypoint) out.waypoint = gatewayFrom(s.waypoint, 'service.waypoint');
  if (s.load_balancing) out.loadBalancing = loadBalancingFrom(s.load_balancing);
  const families = oneOf(s.ip_families, IP_FAMILIES, 'service.ip_families');
  if (families !== 'AUTOMATIC') out.ipFamilies = families;
  if (s.canonical) out.canonical = true;
  if (s.ingress_use_waypoint) out.ingressUseWaypoint = true;
  if (s.weighted_waypoints.length) {
    out.weightedWaypoints = s.weighted_waypoints.map((ww, i) => {
      const f = `service.weighted_waypoints[${i}].destination`;
      if (!ww.destination) throw new CodecError(`${f}: a gateway needs a hostname or an address`);
      return { destination: gatewayFrom(ww.destination, f), weight: ww.weight };
    });
  }
  // An unknown visibility is PUBLIC, as in ztunnel (fail open rather than drop the service).
  if (orDefault(s.visibility, ['PUBLIC', 'NAMESPACE'] as const, 'PUBLIC') === 'NAMESPACE') out.visibility = 'NAMESPACE';
  return out;
}

export type DecodedAddress = { workload: Workload } | { service: Service };

/** Decodes and checks an istio.workload.Address; throws CodecError with the reason. */
export function decodeAddress(bytes: Uint8Array): DecodedAddress {
  const t = xdsTypes().address;
  let pb: PbAddress;
  try {
    pb = t.toObject(t.decode(bytes), TO_OBJECT) as PbAddress;
  } catch (e) {
    throw new CodecError(`not an istio.workload.Address: ${(e as Error).message}`);
  }
  if (pb.workload) return { workload: workloadFrom(pb.workload) };
  if (pb.service) return { service: serviceFrom(pb.service) };
  throw new CodecError('address is neither a workload nor a service');
}

// Authorization entries ztunnel cannot use are dropped one by one (its filter_map), never the
// policy: an empty StringMatch, an address that is not 4 or 16 bytes, a prefix longer than the
// address. A Match left with no entries is kept; evaluation skips it as ztunnel does.

function strMatchFrom(m: PbStringMatch): StringMatch | undefined {
  switch (m.match_type) {
    case 'exact':
      return { exact: m.exact ?? '' };
    case 'prefix':
      return { prefix: m.prefix ?? '' };
    case 'suffix':
      return { suffix: m.suffix ?? '' };
    case 'presence':
      return { presence: true };
    default:
      return undefined;
  }
}

function ipMatchFrom(a: PbIpMatch): AddressMatch | undefined {
  if (a.address.length !== 4 && a.address.length !== 16) return undefined;
  if (a.length > a.address.length * 8) return undefined;
  return { address: bytesToIp(a.address), length: a.length };
}

const present = <T>(x: T | undefined): x is T => x !== undefined;

function matchFrom(m: PbMatch): Match {
  const sm = (l: PbStringMatch[]): StringMatch[] => l.map(strMatchFrom).filter(present);
  const im = (l: PbIpMatch[]): AddressMatch[] => l.map(ipMatchFrom).filter(present);
  const sa = (l: PbSaMatch[]): Match['serviceAccounts'] => l.map((x) => ({ namespace: x.namespace, serviceAccount: x.serviceAccount }));
  return {
    namespaces: sm(m.namespaces),
    notNamespaces: sm(m.not_namespaces),
    principals: sm(m.principals),
    notPrincipals: sm(m.not_principals),
    sourceIps: im(m.source_ips),
    notSourceIps: im(m.not_source_ips),
    destinationIps: im(m.destination_ips),
    notDestinationIps: im(m.not_destination_ips),
    destinationPorts: m.destination_ports.map(u16),
    notDestinationPorts: m.not_destination_ports.map(u16),
    serviceAccounts: sa(m.service_accounts),
    notServiceAccounts: sa(m.not_service_accounts),
  };
}

/** Decodes and checks an istio.security.Authorization; throws CodecError with the reason. */
export function decodeAuthorization(bytes: Uint8Array): Authorization {
  const t = xdsTypes().authorization;
  let pb: PbAuthorization;
  try {
    pb = t.toObject(t.decode(bytes), TO_OBJECT) as PbAuthorization;
  } catch (e) {
    throw new CodecError(`not an istio.security.Authorization: ${(e as Error).message}`);
  }
  if (!pb.name || !pb.namespace) throw new CodecError('authorization needs a name and a namespace');
  return {
    name: pb.name,
    namespace: pb.namespace,
    // ztunnel rejects an unknown scope or action.
    scope: oneOf(pb.scope, ['GLOBAL', 'NAMESPACE', 'WORKLOAD_SELECTOR'] as const, 'scope'),
    action: oneOf(pb.action, ['ALLOW', 'DENY'] as const, 'action'),
    rules: pb.rules.map((r) => ({ clauses: r.clauses.map((c) => ({ matches: c.matches.map(matchFrom) })) })),
    dryRun: pb.dry_run,
  };
}
