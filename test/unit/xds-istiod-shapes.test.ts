// The node tunnel's xDS client never NACKs what istiod can send (issue 13 item 3). A plain TLS
// gRPC server on loopback plays a newer istiod: it sends hand-encoded resources with every
// AppProtocol value, enum values this .proto does not know, fields it does not declare (at the
// top level and nested), Service fields 12-14, and authorization entries ztunnel drops one by
// one (bad IPs, over-long prefixes, empty StringMatches, empty Matches). The client must ACK
// them all, apply them, and drop only the bad entries; what ztunnel itself rejects is NACKed by
// resource name with the reason.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { emptyMatch } from '../../src/mesh-api/types.js';
import { policyMatches } from '../../src/authz/evaluate.js';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { protoDir } from '../../src/lib/proto.js';
import { XdsClient } from '../../src/dataplane/xds-client.js';
import { ipToBytes } from '../../src/lib/ip.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, DELTA_ADS_PATH } from '../../src/xds/proto.js';
import { decodeDeltaRequest, encodeDeltaResponse, encodeFramedResource, type DeltaRequest } from '../../src/xds/wire.js';
import { sleep } from './support/control-plane.js';

/** Our protos plus fields a future istiod might add (unknown to the client's copy). */
function futureTypes(): { address: protobuf.Type; authorization: protobuf.Type } {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(protoDir(), target);
  root.loadSync(['istio/workload.proto', 'istio/authorization.proto'], { keepCase: true });
  const add = (type: string, name: string, id: number, t: string, rule?: string): void => void root.lookupType(type).add(new protobuf.Field(name, id, t, rule));
  add('istio.workload.Address', 'future_address', 99, 'string');
  add('istio.workload.Workload', 'future_workload', 99, 'string');
  add('istio.workload.Workload', 'future_nested', 98, 'istio.workload.Locality');
  add('istio.workload.Service', 'future_service', 99, 'string');
  add('istio.workload.Service', 'future_numbers', 98, 'uint32', 'repeated');
  add('istio.workload.Port', 'future_port', 9, 'string');
  add('istio.workload.GatewayAddress', 'future_gateway', 9, 'string');
  // The number an earlier Ambit .proto wrongly gave LoadBalancing.dns_connect_strategy.
  add('istio.workload.LoadBalancing', 'future_lb', 4, 'uint32');
  add('istio.security.Authorization', 'future_authz', 99, 'string');
  add('istio.security.Match', 'future_match', 99, 'string');
  // A future kind of StringMatch: to this client the match has no known kind (empty).
  add('istio.security.StringMatch', 'future_regex', 9, 'string');
  add('istio.security.Address', 'future_ip', 9, 'string');
  root.resolveAll();
  return { address: root.lookupType('istio.workload.Address'), authorization: root.lookupType('istio.security.Authorization') };
}

const T = futureTypes();
// fromObject, not verify: verify refuses enum numbers the .proto does not declare, which is the point here.
const enc = (t: protobuf.Type, o: object): Buffer => Buffer.from(t.encode(t.fromObject(o)).finish());
const ip = (s: string): Buffer => ipToBytes(s);
const anyOf = (name: string): object => ({ name, config: { type_url: 'type.googleapis.com/google.protobuf.StringValue', value: Buffer.from([0x0a, 1, 0x78]) } });

// ---- what istiod sends (field names as in the .proto; enums by number where the client does not know them) ----

const PORTS_EVERY_APP_PROTOCOL = [0, 1, 2, 3, 4, 5, 6, 42].map((app, i) => ({ service_port: 8000 + i, target_port: 9000 + i, app_protocol: app, future_port: 'x' }));

const addresses: Record<string, object> = {
  // A pod with every Workload field set, unknown enum and unknown fields included.
  'Kubernetes//Pod/shop/web-1': {
    workload: {
      uid: 'Kubernetes//Pod/shop/web-1',
      name: 'web-1',
      namespace: 'shop',
      addresses: [ip('10.0.1.10'), ip('fd00::10')],
      network: 'net1',
      tunnel_protocol: 1,
      trust_domain: 'example.org',
      service_account: 'web',
      waypoint: { hostname: { namespace: 'shop', hostname: 'waypoint.shop.svc.cluster.local' }, hbone_mtls_port: 15008, future_gateway: 'g' },
      network_gateway: { address: { network: 'net2', address: ip('192.168.0.1') }, hbone_mtls_port: 15008 },
      node: 'node1',
      canonical_name: 'web',
      canonical_revision: 'v1',
      workload_type: 9, // unknown: ztunnel reads it as DEPLOYMENT
      workload_name: 'web',
      native_tunnel: true,
      application_tunnel: { protocol: 1, port: 15088 },
      services: { 'shop/web.shop.svc.cluster.local': { ports: [{ service_port: 80, target_port: 8080 }] } },
      authorization_policies: ['shop/allow-frontend'],
      status: 0,
      cluster_id: 'Kubernetes',
      locality: { region: 'r1', zone: 'z1', subzone: 's1' },
      network_mode: 1,
      extensions: [anyOf('ext')],
      capacity: { value: 2 },
      future_workload: 'from a newer istiod',
      future_nested: { region: 'x' },
    },
    future_address: 'y',
  },
  // A DNS ServiceEntry endpoint: hostname, no addresses.
  'Kubernetes/networking.istio.io/ServiceEntry/shop/ext/api.example.com': {
    workload: { uid: 'Kubernetes/networking.istio.io/ServiceEntry/shop/ext/api.example.com', name: 'ext', namespace: 'shop', hostname: 'api.example.com', tunnel_protocol: 0, services: { 'shop/api.example.com': { ports: [{ service_port: 443, target_port: 443 }] } } },
  },
  // Reachable only through its network gateway: neither addresses nor hostname (ztunnel accepts it).
  'Kubernetes/networking.istio.io/WorkloadEntry/shop/remote': {
    workload: { uid: 'Kubernetes/networking.istio.io/WorkloadEntry/shop/remote', name: 'remote', namespace: 'shop', network: 'net2', network_gateway: { address: { network: 'net2', address: ip('192.168.0.1') }, hbone_mtls_port: 15008 } },
  },
  // A Service with every AppProtocol value (and two unknown), Service fields 9-14, CIDR and host VIPs.
  'shop/web.shop.svc.cluster.local': {
    service: {
      name: 'web',
      namespace: 'shop',
      hostname: 'web.shop.svc.cluster.local',
      addresses: [
        { network: '', address: ip('10.96.0.10') },
        { network: '', address: ip('10.96.0.11'), length: 32 },
        { network: '', address: ip('240.1.0.0'), length: 16 },
      ],
      ports: PORTS_EVERY_APP_PROTOCOL,
      subject_alt_names: ['spiffe://example.org/ns/shop/sa/web'],
      waypoint: { hostname: { namespace: 'shop', hostname: 'waypoint.shop.svc.cluster.local' }, hbone_mtls_port: 15008 },
      load_balancing: { routing_preference: [6, 1, 2], mode: 2, health_policy: 1, future_lb: 1 },
      ip_families: 3,
      extensions: [anyOf('svc-ext')],
      canonical: true,
      ingress_use_waypoint: true,
      weighted_waypoints: [
        { destination: { hostname: { namespace: 'shop', hostname: 'waypoint.shop.svc.cluster.local' }, hbone_mtls_port: 15008 }, weight: 90 },
        { destination: { address: { network: '', address: ip('10.96.0.99') }, hbone_mtls_port: 15008 }, weight: 10 },
      ],
      visibility: 1,
      future_service: 'z',
      future_numbers: [1, 2, 3],
    },
  },
  // An unknown visibility is PUBLIC, as in ztunnel.
  'shop/later.shop.svc.cluster.local': { service: { name: 'later', namespace: 'shop', hostname: 'later.shop.svc.cluster.local', addresses: [{ network: '', address: ip('10.96.0.12') }], ports: [{ service_port: 80, target_port: 80, app_protocol: 5 }], visibility: 7 } },
};

const m = (o: object): object => ({ future_match: 'm', ...o });
const authorizations: Record<string, object> = {
  'shop/allow-frontend': {
    name: 'allow-frontend',
    namespace: 'shop',
    scope: 2,
    action: 0,
    dry_run: false,
    extensions: [anyOf('authz-ext')],
    future_authz: 'a',
    rules: [
      {
        clauses: [
          {
            matches: [
              m({
                namespaces: [{ exact: 'frontend' }, {}, { future_regex: 'fr.*' }, { prefix: 'fe-' }],
                not_principals: [{ suffix: '/sa/bad' }, {}],
                source_ips: [
                  { address: ip('10.0.0.0'), length: 8 },
                  { address: Buffer.from([10, 0, 0]), length: 8 }, // 3 bytes: not an IP
                  { address: ip('11.0.0.0'), length: 33 }, // prefix longer than the address
                  { address: ip('fd00::'), length: 129 },
                  { address: ip('fd00::'), length: 64, future_ip: 'i' },
                ],
                destination_ports: [8080, 65536 + 9090], // ztunnel reads u16: 9090
              }),
              m({}), // a Match with no fields: skipped at evaluation
              m({ source_ips: [{ address: Buffer.alloc(5), length: 8 }] }), // only bad entries: empty once dropped
            ],
          },
        ],
      },
    ],
  },
  'istio-system/global-deny': { name: 'global-deny', namespace: 'istio-system', scope: 0, action: 1, rules: [{ clauses: [{ matches: [{ destination_ports: [22] }] }] }] },
};

// ---- a bare ADS server that plays istiod ----

interface Seen {
  typeUrl: string;
  nonce: string;
  error?: string;
}

class FakeIstiod {
  readonly server = new grpc.Server();
  port = 0;
  readonly seen: Seen[] = [];
  #call: grpc.ServerDuplexStream<DeltaRequest, Buffer> | undefined;
  #nonce = 0;
  /** What to send as the first response of each type. */
  initial = new Map<string, Record<string, Buffer>>();

  async start(creds: grpc.ServerCredentials): Promise<void> {
    const def: grpc.ServiceDefinition = {
      DeltaAggregatedResources: {
        path: DELTA_ADS_PATH,
        requestStream: true,
        responseStream: true,
        requestSerialize: () => Buffer.alloc(0),
        requestDeserialize: (b: Buffer) => decodeDeltaRequest(b),
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
        originalName: 'DeltaAggregatedResources',
      },
    };
    this.server.addService(def, {
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaRequest, Buffer>) => {
        this.#call = call;
        call.on('data', (r: DeltaRequest) => {
          if (!r.response_nonce) {
            this.send(r.type_url, this.initial.get(r.type_url) ?? {});
            return;
          }
          this.seen.push({ typeUrl: r.type_url, nonce: r.response_nonce, ...(r.error_detail ? { error: r.error_detail.message } : {}) });
        });
        call.on('error', () => {});
      },
    });
    this.port = await new Promise<number>((resolve, reject) => this.server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  }

  /** Sends one response; returns its nonce. */
  send(typeUrl: string, resources: Record<string, Buffer>): string {
    const nonce = `n${++this.#nonce}`;
    const framed = Object.entries(resources).map(([name, value]) => encodeFramedResource(name, `v-${nonce}`, typeUrl, value));
    // A field DeltaDiscoveryResponse does not declare (99), as a newer envelope might carry.
    const extra = Buffer.from([0x9a, 0x06, 0x01, 0x78]);
    this.#call?.write(Buffer.concat([encodeDeltaResponse({ typeUrl, nonce, systemVersionInfo: '1', resources: framed, removed: [] }), extra]));
    return nonce;
  }

  async answer(nonce: string): Promise<Seen> {
    const end = Date.now() + 5000;
    for (;;) {
      const s = this.seen.find((x) => x.nonce === nonce);
      if (s) return s;
      if (Date.now() > end) throw new Error(`no ACK/NACK for ${nonce}; seen ${JSON.stringify(this.seen)}`);
      await sleep(10);
    }
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

let dir: string;
let istiod: FakeIstiod;
let c: XdsClient;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-xds-shapes-'));
  const ca = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  const tls = await ca.issueServerCert(['istiod.istio-system.svc'], ['127.0.0.1'], 3600);
  istiod = new FakeIstiod();
  istiod.initial.set(ADDRESS_TYPE_URL, Object.fromEntries(Object.entries(addresses).map(([k, v]) => [k, enc(T.address, v)])));
  istiod.initial.set(AUTHORIZATION_TYPE_URL, Object.fromEntries(Object.entries(authorizations).map(([k, v]) => [k, enc(T.authorization, v)])));
  await istiod.start(grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.certChain), private_key: Buffer.from(tls.key) }], false));
  c = new XdsClient({ address: `127.0.0.1:${istiod.port}`, roots: ca.rootsPem, token: 'unused', node: { id: 'ztunnel~10.0.1.1~ztunnel.istio-system~istio-system.svc.cluster.local', nodeName: 'node1' }, servername: 'istiod.istio-system.svc' }).start();
  await c.ready;
});

after(() => {
  c?.close();
  istiod?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the node tunnel accepts every shape istiod sends', () => {
  it('both first responses are ACKed: no NACK at all', async () => {
    await istiod.answer('n1');
    await istiod.answer('n2');
    assert.equal(c.stats.nacks, 0);
    assert.equal(c.stats.acks, 2);
    assert.deepEqual(istiod.seen.map((s) => s.typeUrl).sort(), [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL].sort());
    assert.deepEqual(istiod.seen.filter((s) => s.error !== undefined), [], 'no error_detail on any answer');
    assert.deepEqual([...c.state.workloads.keys()].sort(), Object.keys(addresses).filter((k) => !k.startsWith('shop/')).sort());
    assert.deepEqual([...c.state.services.keys()].sort(), ['shop/later.shop.svc.cluster.local', 'shop/web.shop.svc.cluster.local']);
    assert.deepEqual([...c.state.authorizations.keys()].sort(), Object.keys(authorizations).sort());
  });

  it('every AppProtocol value is kept; unknown ones read as UNKNOWN (left out)', () => {
    const s = c.state.services.get('shop/web.shop.svc.cluster.local');
    assert.deepEqual(s?.ports, [
      { servicePort: 8000, targetPort: 9000 },
      { servicePort: 8001, targetPort: 9001, appProtocol: 'HTTP11' },
      { servicePort: 8002, targetPort: 9002, appProtocol: 'HTTP2' },
      { servicePort: 8003, targetPort: 9003, appProtocol: 'GRPC' },
      { servicePort: 8004, targetPort: 9004, appProtocol: 'TCP' },
      { servicePort: 8005, targetPort: 9005, appProtocol: 'TLS' },
      { servicePort: 8006, targetPort: 9006 },
      { servicePort: 8007, targetPort: 9007 },
    ]);
  });

  it('Service fields 12-14 and the VIPs arrive; a full-length prefix is a host VIP; unknown visibility is PUBLIC', () => {
    const s = c.state.services.get('shop/web.shop.svc.cluster.local');
    assert.equal(s?.ingressUseWaypoint, true);
    assert.equal(s?.visibility, 'NAMESPACE');
    assert.deepEqual(s?.weightedWaypoints, [
      { destination: { hostname: { namespace: 'shop', hostname: 'waypoint.shop.svc.cluster.local' }, hboneMtlsPort: 15008 }, weight: 90 },
      { destination: { address: { network: '', address: '10.96.0.99' }, hboneMtlsPort: 15008 }, weight: 10 },
    ]);
    assert.deepEqual(s?.addresses, [
      { network: '', address: '10.96.0.10' },
      { network: '', address: '10.96.0.11' },
      { network: '', address: '240.1.0.0', length: 16 },
    ]);
    assert.deepEqual(s?.loadBalancing, { routingPreference: ['NETWORK', 'REGION', 'ZONE'], mode: 'FAILOVER', healthPolicy: 'ALLOW_ALL' });
    const later = c.state.services.get('shop/later.shop.svc.cluster.local');
    assert.equal(later?.visibility, undefined);
    assert.deepEqual(later?.ports, [{ servicePort: 80, targetPort: 80, appProtocol: 'TLS' }]);
  });

  it('workloads: unknown fields ignored, unknown workload_type is DEPLOYMENT, hostname-only and gateway-only workloads kept', () => {
    const w = c.state.workloads.get('Kubernetes//Pod/shop/web-1');
    assert.equal(w?.workloadType, 'DEPLOYMENT');
    assert.deepEqual(w?.addresses, ['10.0.1.10', 'fd00::10']);
    assert.deepEqual(w?.services, { 'shop/web.shop.svc.cluster.local': [{ servicePort: 80, targetPort: 8080 }] });
    assert.deepEqual(w?.locality, { region: 'r1', zone: 'z1', subzone: 's1' });
    assert.equal(w?.capacity, 2);
    assert.equal(c.state.workloads.get('Kubernetes/networking.istio.io/ServiceEntry/shop/ext/api.example.com')?.hostname, 'api.example.com');
    assert.deepEqual(c.state.workloads.get('Kubernetes/networking.istio.io/WorkloadEntry/shop/remote')?.addresses, []);
  });

  it('authorization: each bad entry is dropped alone; the policy and its good entries stay', () => {
    const a = c.state.authorizations.get('shop/allow-frontend');
    assert.ok(a);
    assert.equal(a.scope, 'WORKLOAD_SELECTOR');
    const [first, empty, emptied] = a.rules[0]?.clauses[0]?.matches ?? [];
    assert.deepEqual(first, {
      ...emptyMatch(),
      namespaces: [{ exact: 'frontend' }, { prefix: 'fe-' }],
      notPrincipals: [{ suffix: '/sa/bad' }],
      sourceIps: [
        { address: '10.0.0.0', length: 8 },
        { address: 'fd00::', length: 64 },
      ],
      destinationPorts: [8080, 9090],
    });
    assert.deepEqual(empty, emptyMatch());
    assert.deepEqual(emptied, emptyMatch());
    // The empty Matches never match; the first still does.
    const from = (ns: string, srcIp: string): boolean => policyMatches(a, { srcIp, dstIp: '10.0.1.10', dstPort: 8080, identity: { trustDomain: 'cluster.local', namespace: ns, serviceAccount: 'x' } });
    assert.equal(from('frontend', '10.0.0.7'), true);
    assert.equal(from('other', '10.0.0.7'), false);
    assert.equal(from('frontend', '11.0.0.0'), false, 'the dropped 11.0.0.0/33 admits nothing');
  });

  it('later pushes of the same shapes are ACKed too', async () => {
    const nonce = istiod.send(ADDRESS_TYPE_URL, { 'shop/web.shop.svc.cluster.local': enc(T.address, addresses['shop/web.shop.svc.cluster.local'] ?? {}) });
    assert.deepEqual(await istiod.answer(nonce), { typeUrl: ADDRESS_TYPE_URL, nonce });
    assert.equal(c.stats.nacks, 0);
  });
});

describe('what ztunnel rejects is NACKed by name, and the rest applied', () => {
  it('LEGACY_ISTIO_MTLS, unknown network_mode/status/ip_families/scope/action, a waypoint without destination, a bad address', async () => {
    const wl = (name: string, extra: object): [string, Buffer] => [`Kubernetes//Pod/shop/${name}`, enc(T.address, { workload: { uid: `Kubernetes//Pod/shop/${name}`, name, namespace: 'shop', addresses: [ip('10.0.9.1')], ...extra } })];
    const bad = Object.fromEntries([
      wl('legacy', { tunnel_protocol: 2 }),
      wl('mode', { network_mode: 5 }),
      wl('status', { status: 4 }),
      wl('tunnel', { application_tunnel: { protocol: 3 } }),
      wl('nowaypoint', { waypoint: { hbone_mtls_port: 15008 } }),
      wl('badip', { addresses: [Buffer.from([1, 2, 3])] }),
      wl('good', {}),
      ['shop/fam.shop.svc.cluster.local', enc(T.address, { service: { name: 'fam', namespace: 'shop', hostname: 'fam.shop.svc.cluster.local', ip_families: 9 } })],
      ['shop/cidr.shop.svc.cluster.local', enc(T.address, { service: { name: 'cidr', namespace: 'shop', hostname: 'cidr.shop.svc.cluster.local', addresses: [{ network: '', address: ip('10.0.0.0'), length: 33 }] } })],
    ]);
    const nonce = istiod.send(ADDRESS_TYPE_URL, bad);
    const seen = await istiod.answer(nonce);
    const reasons = new Map((seen.error ?? '').split('; ').map((x) => [x.slice(0, x.indexOf(': ')), x.slice(x.indexOf(': ') + 2)]));
    assert.deepEqual(Object.fromEntries(reasons), {
      'Kubernetes//Pod/shop/legacy': 'workload.tunnel_protocol: unsupported value LEGACY_ISTIO_MTLS',
      'Kubernetes//Pod/shop/mode': 'workload.network_mode: unsupported value 5',
      'Kubernetes//Pod/shop/status': 'workload.status: unsupported value 4',
      'Kubernetes//Pod/shop/tunnel': 'workload.application_tunnel.protocol: unsupported value 3',
      'Kubernetes//Pod/shop/nowaypoint': 'workload.waypoint: a gateway needs a hostname or an address',
      'Kubernetes//Pod/shop/badip': 'workload.addresses[0]: an IP address is 4 or 16 bytes, got 3',
      'shop/fam.shop.svc.cluster.local': 'service.ip_families: unsupported value 9',
      'shop/cidr.shop.svc.cluster.local': 'service.addresses[0].length: prefix length 33 exceeds 32',
    });
    assert.ok(c.state.workloads.has('Kubernetes//Pod/shop/good'));
    assert.equal(c.state.workloads.has('Kubernetes//Pod/shop/legacy'), false);

    const authzNonce = istiod.send(AUTHORIZATION_TYPE_URL, {
      'shop/scope': enc(T.authorization, { name: 'scope', namespace: 'shop', scope: 7 }),
      'shop/action': enc(T.authorization, { name: 'action', namespace: 'shop', action: 2 }),
      'shop/fine': enc(T.authorization, { name: 'fine', namespace: 'shop' }),
    });
    assert.equal((await istiod.answer(authzNonce)).error, 'shop/scope: scope: unsupported value 7; shop/action: action: unsupported value 2');
    assert.ok(c.state.authorizations.has('shop/fine'));
  });
});
