// api types <-> protobuf (spec §4.4-4.6): every field survives a round trip (load balancing
// included, §2.13), IPs travel as 4 or 16 bytes, bad input is refused with the field named, and
// the hand-assembled delta ADS envelope decodes as Envoy's DeltaDiscoveryResponse.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyMatch, type Authorization, type Service, type Workload } from '../../src/mesh-api/types.js';
import { CodecError, decodeAddress, decodeAuthorization, encodeAuthorization, encodeService, encodeWorkload } from '../../src/xds/codec.js';
import { bytesToIp, ipToBytes } from '../../src/lib/ip.js';
import { ADDRESS_TYPE_URL, xdsTypes } from '../../src/xds/proto.js';
import { decodeDeltaResponse, encodeDeltaResponse, encodeFramedResource } from '../../src/xds/wire.js';
import { workload } from './support/xds-fixtures.js';

describe('xds codec', () => {
  it('IPs are 4 or 16 bytes and print canonically', () => {
    assert.deepEqual([...ipToBytes('10.0.1.2')], [10, 0, 1, 2]);
    assert.equal(ipToBytes('fd00::1').length, 16);
    for (const ip of ['10.0.1.2', 'fd00::1', '::', '2001:db8:0:1::', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8']) {
      const back = bytesToIp(ipToBytes(ip));
      assert.deepEqual(ipToBytes(back), ipToBytes(ip), ip);
    }
    assert.equal(bytesToIp(ipToBytes('2001:0db8:0000:0000:0000:0000:0000:0001')), '2001:db8::1');
    assert.throws(() => ipToBytes('10.0.0'), /not an IP/);
  });

  it('a Workload with every field round-trips', () => {
    const w: Workload = workload('demo', 'echo-1', '10.0.1.2', 'echo', {
      addresses: ['10.0.1.2', 'fd00::2'],
      hostname: 'echo-1.demo',
      network: 'net1',
      trustDomain: 'example.org',
      waypoint: { hostname: { namespace: 'demo', hostname: 'waypoint.demo.svc.cluster.local' }, hboneMtlsPort: 15008 },
      authorizationPolicies: ['demo/allow'],
      status: 'UNHEALTHY',
      workloadType: 'DEPLOYMENT',
      locality: { region: 'r', zone: 'z', subzone: 's' },
      capacity: 3,
      nativeTunnel: true,
      services: { 'demo/echo.demo.svc.cluster.local': [{ servicePort: 80, targetPort: 0, appProtocol: 'HTTP2' }] },
    });
    assert.deepEqual(decodeAddress(encodeWorkload(w)), { workload: w });
    const bare = workload('demo', 'echo-2', '10.0.1.3');
    assert.deepEqual(decodeAddress(encodeWorkload(bare)), { workload: bare });
  });

  it('a Service round-trips, with an address waypoint and a CIDR VIP', () => {
    const s: Service = {
      name: 'echo',
      namespace: 'demo',
      hostname: 'echo.demo.svc.cluster.local',
      addresses: [{ network: '', address: '10.96.0.10' }, { network: '', address: '10.97.0.0', length: 16 }],
      ports: [{ servicePort: 80, targetPort: 8080 }, { servicePort: 9000, targetPort: 0, appProtocol: 'GRPC' }],
      subjectAltNames: ['spiffe://cluster.local/ns/demo/sa/echo'],
      waypoint: { address: { network: '', address: '10.96.0.99' }, hboneMtlsPort: 15008 },
    };
    assert.deepEqual(decodeAddress(encodeService(s)), { service: s });
    const full: Service = {
      ...s,
      ports: [{ servicePort: 5432, targetPort: 5432, appProtocol: 'TCP' }, { servicePort: 443, targetPort: 8443, appProtocol: 'TLS' }],
      ingressUseWaypoint: true,
      weightedWaypoints: [{ destination: { hostname: { namespace: 'demo', hostname: 'wp.demo.svc.cluster.local' }, hboneMtlsPort: 15008 }, weight: 3 }],
      visibility: 'NAMESPACE',
    };
    assert.deepEqual(decodeAddress(encodeService(full)), { service: full });
  });

  it('Service.load_balancing round-trips in every mode; the default health policy stays implicit', () => {
    const base: Service = { name: 'lb', namespace: 'demo', hostname: 'lb.demo.svc.cluster.local', addresses: [{ network: '', address: '10.96.0.11' }], ports: [{ servicePort: 80, targetPort: 8080 }], subjectAltNames: [] };
    const lbs: Service['loadBalancing'][] = [
      { routingPreference: ['NETWORK', 'REGION', 'ZONE'], mode: 'FAILOVER' },
      { routingPreference: ['NETWORK', 'REGION', 'ZONE', 'SUBZONE', 'NODE'], mode: 'FAILOVER', healthPolicy: 'ALLOW_ALL' },
      { routingPreference: ['NODE'], mode: 'STRICT' },
      { routingPreference: ['CLUSTER'], mode: 'STRICT' },
      { routingPreference: [], mode: 'PASSTHROUGH', healthPolicy: 'ALLOW_ALL' },
      { routingPreference: [], mode: 'UNSPECIFIED_MODE', healthPolicy: 'ALLOW_ALL' },
      { routingPreference: [], mode: 'UNSPECIFIED_MODE' },
    ];
    for (const loadBalancing of lbs) {
      const s: Service = { ...base, loadBalancing };
      assert.deepEqual(decodeAddress(encodeService(s)), { service: s }, JSON.stringify(loadBalancing));
    }
    assert.deepEqual(decodeAddress(encodeService(base)), { service: base });
    const explicit = decodeAddress(encodeService({ ...base, loadBalancing: { routingPreference: ['ZONE'], mode: 'STRICT', healthPolicy: 'ONLY_HEALTHY' } }));
    assert.deepEqual('service' in explicit && explicit.service.loadBalancing, { routingPreference: ['ZONE'], mode: 'STRICT' });
  });

  it('load_balancing is Service field 8 with routing_preference=1 (packed), mode=2, health_policy=3', () => {
    const s: Service = { name: 'n', namespace: 'd', hostname: 'h', addresses: [], ports: [], subjectAltNames: [], loadBalancing: { routingPreference: ['NETWORK', 'REGION', 'ZONE'], mode: 'FAILOVER', healthPolicy: 'ALLOW_ALL' } };
    const b = encodeService(s);
    // Address.service (2) { name(1)=n, namespace(2)=d, hostname(3)=h, load_balancing(8) { 1: [6,1,2], 2: 2, 3: 1 } }
    const lb = [0x42, 9, 0x0a, 3, 6, 1, 2, 0x10, 2, 0x18, 1];
    assert.deepEqual([...b], [0x12, 9 + lb.length, 0x0a, 1, 0x6e, 0x12, 1, 0x64, 0x1a, 1, 0x68, ...lb]);
  });

  it('ip_families is Service field 9 and canonical field 11; defaults stay off the wire and round-trip as omitted', () => {
    const base: Service = { name: 'n', namespace: 'd', hostname: 'h', addresses: [], ports: [], subjectAltNames: [] };
    const head = [0x0a, 1, 0x6e, 0x12, 1, 0x64, 0x1a, 1, 0x68];
    assert.deepEqual([...encodeService({ ...base, ipFamilies: 'DUAL', canonical: true })], [0x12, head.length + 4, ...head, 0x48, 3, 0x58, 1]);
    assert.deepEqual([...encodeService({ ...base, ipFamilies: 'AUTOMATIC', canonical: false })], [0x12, head.length, ...head]);
    for (const ipFamilies of ['IPV4_ONLY', 'IPV6_ONLY', 'DUAL'] as const) assert.deepEqual(decodeAddress(encodeService({ ...base, ipFamilies, canonical: true })), { service: { ...base, ipFamilies, canonical: true } });
    assert.deepEqual(decodeAddress(encodeService({ ...base, ipFamilies: 'AUTOMATIC', canonical: false })), { service: base });
    const t = xdsTypes().address;
    assert.throws(() => decodeAddress(Buffer.from(t.encode(t.fromObject({ service: { namespace: 'd', hostname: 'h', ip_families: 7 } })).finish())), /service.ip_families: unsupported value 7/);
  });

  it('refuses an unspecified or unknown load-balancing scope or mode, naming the field', () => {
    const t = xdsTypes().address;
    const bad = (lb: object): Buffer => Buffer.from(t.encode(t.fromObject({ service: { namespace: 'd', hostname: 'h', load_balancing: lb } })).finish());
    assert.throws(() => decodeAddress(bad({ routing_preference: [0] })), (e: Error) => e instanceof CodecError && /routing_preference\[0\]: unsupported value UNSPECIFIED_SCOPE/.test(e.message));
    assert.throws(() => decodeAddress(bad({ routing_preference: [2, 9] })), /routing_preference\[1\]: unsupported value 9/);
    assert.throws(() => decodeAddress(bad({ mode: 7 })), /load_balancing.mode: unsupported value 7/);
    assert.throws(() => decodeAddress(bad({ health_policy: 5 })), /health_policy: unsupported value 5/);
  });

  it('an Authorization with every match type round-trips', () => {
    const a: Authorization = {
      name: 'p',
      namespace: 'demo',
      scope: 'WORKLOAD_SELECTOR',
      action: 'DENY',
      dryRun: true,
      rules: [
        { clauses: [] },
        {
          clauses: [
            {
              matches: [
                {
                  namespaces: [{ exact: 'a' }, { prefix: 'b' }],
                  notNamespaces: [{ suffix: 'c' }],
                  principals: [{ presence: true }],
                  notPrincipals: [{ exact: 'cluster.local/ns/x/sa/y' }],
                  sourceIps: [{ address: '10.0.0.0', length: 8 }],
                  notSourceIps: [{ address: 'fd00::', length: 64 }],
                  destinationIps: [{ address: '10.96.0.1', length: 32 }],
                  notDestinationIps: [],
                  destinationPorts: [80, 443],
                  notDestinationPorts: [22],
                  serviceAccounts: [{ namespace: 'demo', serviceAccount: 'client' }],
                  notServiceAccounts: [{ namespace: 'demo', serviceAccount: 'bad' }],
                },
                emptyMatch(),
              ],
            },
          ],
        },
      ],
    };
    assert.deepEqual(decodeAuthorization(encodeAuthorization(a)), a);
  });

  it('uses Istio field numbers on the wire', () => {
    // Workload.uid is field 20 (tag 0xa2 0x01), Address.workload is field 1.
    const b = encodeWorkload(workload('d', 'w', '10.0.0.1'));
    assert.equal(b[0], 0x0a);
    assert.ok(b.includes(Buffer.from([0xa2, 0x01])));
    const a = encodeAuthorization({ name: 'n', namespace: 'd', scope: 'GLOBAL', action: 'DENY', rules: [], dryRun: false });
    // name=1, namespace=2, scope=3 (GLOBAL=0), action=4 (DENY=1), dry_run=6
    assert.deepEqual([...a], [0x0a, 1, 0x6e, 0x12, 1, 0x64, 0x18, 0, 0x20, 1, 0x30, 0]);
  });

  it('refuses what a node tunnel cannot use, naming the field', () => {
    const t = xdsTypes().address;
    const bad = (w: object): Buffer => Buffer.from(t.encode(t.fromObject({ workload: { uid: 'u', ...w } })).finish());
    assert.throws(() => decodeAddress(bad({ addresses: [Buffer.from([1, 2, 3])] })), (e: Error) => e instanceof CodecError && /addresses\[0\].*4 or 16 bytes, got 3/.test(e.message));
    assert.throws(() => decodeAddress(bad({ addresses: [Buffer.from([1, 2, 3, 4])], waypoint: { hbone_mtls_port: 15008 } })), /workload.waypoint: a gateway needs a hostname or an address/);
    assert.throws(() => decodeAddress(bad({ addresses: [Buffer.from([1, 2, 3, 4])], tunnel_protocol: 2 })), /tunnel_protocol: unsupported value LEGACY_ISTIO_MTLS/);
    assert.throws(() => decodeAddress(Buffer.from([0xff, 0xff, 0xff])), /not an istio.workload.Address/);
    assert.throws(() => decodeAddress(Buffer.alloc(0)), /neither a workload nor a service/);
  });

  it('the assembled DeltaDiscoveryResponse decodes as Envoy defines it', () => {
    const value = encodeWorkload(workload('d', 'w', '10.0.0.1'));
    const buf = encodeDeltaResponse({ typeUrl: ADDRESS_TYPE_URL, nonce: 'n1', systemVersionInfo: '7', resources: [encodeFramedResource('Kubernetes//Pod/d/w', 'v1', ADDRESS_TYPE_URL, value)], removed: ['gone', 'also-gone'] });
    const r = decodeDeltaResponse(buf);
    assert.equal(r.type_url, ADDRESS_TYPE_URL);
    assert.equal(r.nonce, 'n1');
    assert.equal(r.system_version_info, '7');
    assert.deepEqual(r.removed_resources, ['gone', 'also-gone']);
    assert.equal(r.resources.length, 1);
    assert.equal(r.resources[0]?.name, 'Kubernetes//Pod/d/w');
    assert.equal(r.resources[0]?.version, 'v1');
    assert.equal(r.resources[0]?.resource?.type_url, ADDRESS_TYPE_URL);
    assert.deepEqual(Buffer.from(r.resources[0]?.resource?.value ?? []), value);
  });
});
