// Pins every message, field number, field type and enum value of proto/istio/workload.proto and
// authorization.proto. The table was checked field by field against istio/ztunnel
// proto/workload.proto and proto/authorization.proto at commit
// 62d826530e5ce85764e309170205b293efcbc80b (istio/istio pkg/workloadapi at 86c9f01f has the
// same numbers and types). A change to either .proto must be a deliberate change here too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { xdsTypes } from '../../src/xds/proto.js';

type Fields = Record<string, [number, string] | [number, string, string]>;
type Values = Record<string, number>;

// Field: [number, type] or [number, type, oneof]; `repeated`/`optional`/`map<k,v>` are part of the type.
const MESSAGES: Record<string, Fields> = {
  'istio.workload.Address': { workload: [1, 'istio.workload.Workload', 'type'], service: [2, 'istio.workload.Service', 'type'] },
  'istio.workload.Service': {
    name: [1, 'string'],
    namespace: [2, 'string'],
    hostname: [3, 'string'],
    addresses: [4, 'repeated istio.workload.NetworkAddress'],
    ports: [5, 'repeated istio.workload.Port'],
    subject_alt_names: [6, 'repeated string'],
    waypoint: [7, 'istio.workload.GatewayAddress'],
    load_balancing: [8, 'istio.workload.LoadBalancing'],
    ip_families: [9, 'istio.workload.IPFamilies'],
    extensions: [10, 'repeated istio.workload.Extension'],
    canonical: [11, 'bool'],
    ingress_use_waypoint: [12, 'bool'],
    weighted_waypoints: [13, 'repeated istio.workload.WeightedWaypoint'],
    visibility: [14, 'istio.workload.Service.Visibility'],
  },
  'istio.workload.LoadBalancing': { routing_preference: [1, 'repeated istio.workload.LoadBalancing.Scope'], mode: [2, 'istio.workload.LoadBalancing.Mode'], health_policy: [3, 'istio.workload.LoadBalancing.HealthPolicy'] },
  'istio.workload.Workload': {
    uid: [20, 'string'],
    name: [1, 'string'],
    namespace: [2, 'string'],
    addresses: [3, 'repeated bytes'],
    hostname: [21, 'string'],
    network: [4, 'string'],
    tunnel_protocol: [5, 'istio.workload.TunnelProtocol'],
    trust_domain: [6, 'string'],
    service_account: [7, 'string'],
    waypoint: [8, 'istio.workload.GatewayAddress'],
    network_gateway: [19, 'istio.workload.GatewayAddress'],
    node: [9, 'string'],
    canonical_name: [10, 'string'],
    canonical_revision: [11, 'string'],
    workload_type: [12, 'istio.workload.WorkloadType'],
    workload_name: [13, 'string'],
    native_tunnel: [14, 'bool'],
    application_tunnel: [23, 'istio.workload.ApplicationTunnel'],
    services: [22, 'map<string,istio.workload.PortList>'],
    authorization_policies: [16, 'repeated string'],
    status: [17, 'istio.workload.WorkloadStatus'],
    cluster_id: [18, 'string'],
    locality: [24, 'istio.workload.Locality'],
    network_mode: [25, 'istio.workload.NetworkMode'],
    extensions: [26, 'repeated istio.workload.Extension'],
    capacity: [27, 'google.protobuf.UInt32Value'],
  },
  'istio.workload.Locality': { region: [1, 'string'], zone: [2, 'string'], subzone: [3, 'string'] },
  'istio.workload.PortList': { ports: [1, 'repeated istio.workload.Port'] },
  'istio.workload.Port': { service_port: [1, 'uint32'], target_port: [2, 'uint32'], app_protocol: [3, 'istio.workload.AppProtocol'] },
  'istio.workload.ApplicationTunnel': { protocol: [1, 'istio.workload.ApplicationTunnel.Protocol'], port: [2, 'uint32'] },
  'istio.workload.GatewayAddress': { hostname: [1, 'istio.workload.NamespacedHostname', 'destination'], address: [2, 'istio.workload.NetworkAddress', 'destination'], hbone_mtls_port: [3, 'uint32'] },
  'istio.workload.WeightedWaypoint': { destination: [1, 'istio.workload.GatewayAddress'], weight: [2, 'uint32'] },
  'istio.workload.NetworkAddress': { network: [1, 'string'], address: [2, 'bytes'], length: [3, 'optional uint32'] },
  'istio.workload.NamespacedHostname': { namespace: [1, 'string'], hostname: [2, 'string'] },
  'istio.workload.Extension': { name: [1, 'string'], config: [2, 'google.protobuf.Any'] },
  'istio.security.Authorization': {
    name: [1, 'string'],
    namespace: [2, 'string'],
    scope: [3, 'istio.security.Scope'],
    action: [4, 'istio.security.Action'],
    rules: [5, 'repeated istio.security.Rule'],
    dry_run: [6, 'bool'],
    extensions: [7, 'repeated istio.workload.Extension'],
  },
  'istio.security.Rule': { clauses: [1, 'repeated istio.security.Clause'] },
  'istio.security.Clause': { matches: [2, 'repeated istio.security.Match'] },
  'istio.security.Match': {
    namespaces: [1, 'repeated istio.security.StringMatch'],
    not_namespaces: [2, 'repeated istio.security.StringMatch'],
    principals: [3, 'repeated istio.security.StringMatch'],
    not_principals: [4, 'repeated istio.security.StringMatch'],
    source_ips: [5, 'repeated istio.security.Address'],
    not_source_ips: [6, 'repeated istio.security.Address'],
    destination_ips: [7, 'repeated istio.security.Address'],
    not_destination_ips: [8, 'repeated istio.security.Address'],
    destination_ports: [9, 'repeated uint32'],
    not_destination_ports: [10, 'repeated uint32'],
    service_accounts: [11, 'repeated istio.security.ServiceAccountMatch'],
    not_service_accounts: [12, 'repeated istio.security.ServiceAccountMatch'],
    extensions: [13, 'repeated istio.workload.Extension'],
  },
  'istio.security.Address': { address: [1, 'bytes'], length: [2, 'uint32'] },
  'istio.security.ServiceAccountMatch': { namespace: [1, 'string'], serviceAccount: [2, 'string'] },
  'istio.security.StringMatch': { exact: [1, 'string', 'match_type'], prefix: [2, 'string', 'match_type'], suffix: [3, 'string', 'match_type'], presence: [4, 'google.protobuf.Empty', 'match_type'] },
};

const ENUMS: Record<string, Values> = {
  'istio.workload.Service.Visibility': { PUBLIC: 0, NAMESPACE: 1 },
  'istio.workload.IPFamilies': { AUTOMATIC: 0, IPV4_ONLY: 1, IPV6_ONLY: 2, DUAL: 3 },
  'istio.workload.NetworkMode': { STANDARD: 0, HOST_NETWORK: 1 },
  'istio.workload.LoadBalancing.Scope': { UNSPECIFIED_SCOPE: 0, REGION: 1, ZONE: 2, SUBZONE: 3, NODE: 4, CLUSTER: 5, NETWORK: 6 },
  'istio.workload.LoadBalancing.Mode': { UNSPECIFIED_MODE: 0, STRICT: 1, FAILOVER: 2, PASSTHROUGH: 3 },
  'istio.workload.LoadBalancing.HealthPolicy': { ONLY_HEALTHY: 0, ALLOW_ALL: 1 },
  'istio.workload.WorkloadStatus': { HEALTHY: 0, UNHEALTHY: 1 },
  'istio.workload.WorkloadType': { DEPLOYMENT: 0, CRONJOB: 1, POD: 2, JOB: 3 },
  'istio.workload.AppProtocol': { UNKNOWN: 0, HTTP11: 1, HTTP2: 2, GRPC: 3, TCP: 4, TLS: 5 },
  'istio.workload.TunnelProtocol': { NONE: 0, HBONE: 1, LEGACY_ISTIO_MTLS: 2 },
  'istio.workload.ApplicationTunnel.Protocol': { NONE: 0, PROXY: 1 },
  'istio.security.Scope': { GLOBAL: 0, NAMESPACE: 1, WORKLOAD_SELECTOR: 2 },
  'istio.security.Action': { ALLOW: 0, DENY: 1 },
};

/** Reserved numbers and names, so a deleted upstream field is never reused here. */
const RESERVED: Record<string, (number[] | string)[]> = {
  'istio.workload.Workload': [[15, 15]],
  'istio.workload.GatewayAddress': ['hbone_single_tls_port', [4, 4]],
};

function typeOf(f: protobuf.Field): string {
  const name = f.resolvedType ? f.resolvedType.fullName.slice(1) : f.type;
  if (f instanceof protobuf.MapField) return `map<${f.keyType},${name}>`;
  if (f.repeated) return `repeated ${name}`;
  return f.options?.proto3_optional ? `optional ${name}` : name;
}

/** Every message and enum the two files declare, as the codec loads them. */
function declared(): { messages: Map<string, protobuf.Type>; enums: Map<string, protobuf.Enum> } {
  const messages = new Map<string, protobuf.Type>();
  const enums = new Map<string, protobuf.Enum>();
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      const name = o.fullName.slice(1);
      const ours = name.startsWith('istio.workload.') || name.startsWith('istio.security.');
      if (ours && o instanceof protobuf.Type) messages.set(name, o);
      if (ours && o instanceof protobuf.Enum) enums.set(name, o);
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o);
    }
  };
  walk(xdsTypes().address.root);
  return { messages, enums };
}

describe('istio xDS protos match ztunnel 62d82653', () => {
  const { messages, enums } = declared();

  it('declare exactly the upstream messages and enums', () => {
    assert.deepEqual([...messages.keys()].sort(), Object.keys(MESSAGES).sort());
    assert.deepEqual([...enums.keys()].sort(), Object.keys(ENUMS).sort());
  });

  for (const [name, want] of Object.entries(MESSAGES)) {
    it(`${name}: field numbers and types`, () => {
      const t = messages.get(name);
      assert.ok(t, `${name} is declared`);
      const got: Fields = {};
      for (const f of t.fieldsArray) {
        const oneof = f.partOf && !f.options?.proto3_optional ? f.partOf.name : undefined;
        got[f.name] = oneof ? [f.id, typeOf(f), oneof] : [f.id, typeOf(f)];
      }
      assert.deepEqual(got, want);
      assert.deepEqual(t.reserved ?? [], RESERVED[name] ?? []);
    });
  }

  for (const [name, want] of Object.entries(ENUMS)) {
    it(`${name}: values`, () => assert.deepEqual({ ...enums.get(name)?.values }, want));
  }
});
