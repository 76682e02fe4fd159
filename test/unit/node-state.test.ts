// The node tunnel's pure lookups (spec §2.8, §2.13, §5.3 step 1): workload by IP, service by
// VIP:port, endpoint choice with per-workload target ports and locality, illegal ports,
// waypoints, the outbound route decision.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Authorization, GatewayAddress, LoadBalancing, LoadBalancingScope, MeshSnapshot, Service, Workload } from '../../src/mesh-api/types.js';
import { MeshState } from '../../src/dataplane/mesh-state.js';
import { localityRank } from '../../src/dataplane/state/endpoints.js';
import { peerIdentityOf, spiffeIdOf } from '../../src/dataplane/state/identity.js';
import { ILLEGAL_PORTS, isIllegalInboundPort, routeOutbound, type OutboundRoute } from '../../src/node-tunnel/route.js';
import { workload } from './support/xds-fixtures.js';

const wl = (name: string, ip: string, o: Partial<Workload> = {}): Workload =>
  workload('b', name, ip, undefined, { uid: `c//Pod/b/${name}`, serviceAccount: 'server', node: 'n1', clusterId: 'c', ...o });
const svc = (name: string, vip: string, ns = 'b', targetPort = 8080): Service => ({
  name,
  namespace: ns,
  hostname: `${name}.${ns}.svc.cluster.local`,
  addresses: [{ network: '', address: vip }],
  ports: [{ servicePort: 80, targetPort }],
  subjectAltNames: [],
});
const pol = (name: string, namespace: string, scope: Authorization['scope']): Authorization => ({ name, namespace, scope, action: 'DENY', rules: [], dryRun: false });

const echo = svc('echo', '10.96.0.10');
const echoKey = 'b/echo.b.svc.cluster.local';
const snap: MeshSnapshot = {
  workloads: [
    wl('e1', '10.0.1.2', { services: { [echoKey]: [{ servicePort: 80, targetPort: 9090 }] } }),
    wl('e2', '10.0.1.3', { services: { [echoKey]: [{ servicePort: 80, targetPort: 0 }] }, capacity: 3 }),
    wl('sick', '10.0.1.4', { services: { [echoKey]: [] }, status: 'UNHEALTHY' }),
    wl('plain', '10.0.1.5', { tunnelProtocol: 'NONE', trustDomain: 'example.org', serviceAccount: '' }),
    wl('sel', '10.0.1.6', { authorizationPolicies: ['x/sel', 'x/missing'] }),
  ],
  services: [echo, svc('echo', '10.96.0.11', 'other', 7070), { ...svc('echo', '10.96.0.11', 'b', 6060), name: 'echo2', hostname: 'echo2.b.svc.cluster.local' }],
  authorizations: [pol('ns', 'b', 'NAMESPACE'), pol('ns-other', 'a', 'NAMESPACE'), pol('all', 'istio-system', 'GLOBAL'), pol('sel', 'x', 'WORKLOAD_SELECTOR')],
};
const state = new MeshState(snap);

describe('node state lookups', () => {
  it('finds workloads by IP and SPIFFE IDs with defaults', () => {
    assert.equal(state.workloadByIp('10.0.1.3')?.name, 'e2');
    assert.equal(state.workloadByIp('10.0.9.9'), undefined);
    assert.equal(spiffeIdOf(state.workloadByIp('10.0.1.2')!), 'spiffe://cluster.local/ns/b/sa/server');
    assert.equal(spiffeIdOf(state.workloadByIp('10.0.1.5')!), 'spiffe://example.org/ns/b/sa/default');
    assert.deepEqual(peerIdentityOf('spiffe://cluster.local/ns/a/sa/client'), { trustDomain: 'cluster.local', namespace: 'a', serviceAccount: 'client' });
    assert.equal(peerIdentityOf('spiffe://cluster.local/x'), undefined);
  });

  it('finds services by VIP and port, preferring the source namespace', () => {
    assert.equal(state.serviceByVip('10.96.0.10', 80)?.service.hostname, 'echo.b.svc.cluster.local');
    assert.equal(state.serviceByVip('10.96.0.10', 81), undefined);
    assert.equal(state.serviceByVip('10.96.0.11', 80)?.service.namespace, 'other');
    assert.equal(state.serviceByVip('10.96.0.11', 80, 'b')?.service.hostname, 'echo2.b.svc.cluster.local');
  });

  it('a shared VIP from outside its namespaces: the canonical service wins over the first listed (ztunnel get_best_by_vip)', () => {
    const entry = (ns: string, canonical: boolean): Service => ({ ...svc('ext', '240.0.0.1', ns), hostname: 'api.example.com', ...(canonical ? { canonical } : {}) });
    for (const order of [[entry('a', false), entry('z', true)], [entry('z', true), entry('a', false)]]) {
      const s = new MeshState({ workloads: [], services: order, authorizations: [] });
      assert.equal(s.serviceByVip('240.0.0.1', 80, 'c')?.service.namespace, 'z');
      assert.equal(s.serviceByVip('240.0.0.1', 80, 'a')?.service.namespace, 'a', 'the client namespace still comes first');
    }
  });

  it('endpoints: healthy workloads listing the service; per-workload target port, else the service targetPort', () => {
    assert.deepEqual(
      state.endpoints(echo, 80).map((e) => [e.workload.name, e.targetPort]),
      [['e1', 9090], ['e2', 8080]],
    );
    assert.deepEqual(state.endpoints(echo, 80, { healthyOnly: false }).map((e) => e.workload.name), ['e1', 'e2', 'sick']);
    assert.deepEqual(state.endpoints(svc('none', '10.96.0.99'), 80), []);
  });

  it('picks endpoints weighted by capacity', () => {
    assert.equal(state.pickEndpoint(echo, 80, () => 0)?.workload.name, 'e1');
    assert.equal(state.pickEndpoint(echo, 80, () => 0.24)?.workload.name, 'e1');
    assert.equal(state.pickEndpoint(echo, 80, () => 0.26)?.workload.name, 'e2');
    assert.equal(state.pickEndpoint(echo, 80, () => 0.999)?.workload.name, 'e2');
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(state.pickEndpoint(echo, 80)!.workload.name);
    assert.deepEqual([...seen].sort(), ['e1', 'e2']);
  });

  it('applicable authorizations: namespace, global and the workload’s keys', () => {
    assert.deepEqual(state.authorizationsFor(state.workloadByIp('10.0.1.2')!).map((p) => p.name), ['ns', 'all']);
    assert.deepEqual(state.authorizationsFor(state.workloadByIp('10.0.1.6')!).map((p) => p.name), ['ns', 'all', 'sel']);
  });
});

describe('outbound route (spec §2.8)', () => {
  it('VIP → HBONE to the chosen endpoint’s pod IP:15008 with authority podIP:targetPort', () => {
    const r = routeOutbound(state, '10.96.0.10', 80, undefined, () => 0);
    assert.equal(r.kind, 'hbone');
    assert.ok(r.kind === 'hbone');
    assert.deepEqual([r.nextHop, r.authority, r.expectedIdentity, r.service?.name], ['10.0.1.2:15008', '10.0.1.2:9090', 'spiffe://cluster.local/ns/b/sa/server', 'echo']);
  });
  it('pod IP → that workload, port kept', () => {
    const r = routeOutbound(state, '10.0.1.3', 8080);
    assert.ok(r.kind === 'hbone');
    assert.deepEqual([r.nextHop, r.authority], ['10.0.1.3:15008', '10.0.1.3:8080']);
  });
  it('tunnel protocol NONE → plain TCP; unknown → passthrough; VIP without healthy endpoints → fail', () => {
    assert.deepEqual(
      (({ kind, host, port, reason }) => ({ kind, host, port, reason }))(routeOutbound(state, '10.0.1.5', 80) as { kind: string; host: string; port: number; reason: string }),
      { kind: 'tcp', host: '10.0.1.5', port: 80, reason: 'tunnel protocol NONE' },
    );
    assert.deepEqual(routeOutbound(state, '1.2.3.4', 443), { kind: 'tcp', host: '1.2.3.4', port: 443, reason: 'passthrough' });
    assert.equal(routeOutbound(new MeshState({ ...snap, workloads: [] }), '10.96.0.10', 80).kind, 'fail');
  });
});

describe('illegal ports (spec §1, §2.7, §2.8 step 1)', () => {
  it('ILLEGAL_PORTS are the tunnel’s own 15001, 15006 and 15008; the inbound helper matches only those', () => {
    assert.deepEqual([...ILLEGAL_PORTS].sort(), [15001, 15006, 15008]);
    const rows: [number, boolean][] = [[15001, true], [15006, true], [15008, true], [15000, false], [15020, false], [15021, false], [15053, false], [8080, false], [0, false]];
    for (const [port, want] of rows) assert.equal(isIllegalInboundPort(port), want, String(port));
  });
  it('outbound to loopback on an illegal port fails; other loopback ports and pod IPs on 15008 route as usual', () => {
    const rows: [string, number, OutboundRoute['kind']][] = [
      ['127.0.0.1', 15001, 'fail'],
      ['127.0.0.1', 15006, 'fail'],
      ['127.0.0.1', 15008, 'fail'],
      ['127.255.0.9', 15008, 'fail'],
      ['::1', 15001, 'fail'],
      ['::ffff:127.0.0.1', 15006, 'fail'],
      ['127.0.0.1', 8080, 'tcp'],
      ['127.0.0.1', 15021, 'tcp'],
      ['::1', 15080, 'tcp'],
      ['128.0.0.1', 15001, 'tcp'],
      ['10.0.1.2', 15008, 'hbone'],
    ];
    for (const [ip, port, kind] of rows) {
      const r = routeOutbound(state, ip, port);
      assert.equal(r.kind, kind, `${ip}:${port}`);
      if (r.kind === 'fail') assert.match(r.reason, /SelfCall/);
    }
  });
});

describe('waypoint routing (spec §2.8 steps 3 and 6, §7.2-7.3)', () => {
  const wpKey = 'b/wp.b.svc.cluster.local';
  const gw = (name: string, ns = 'b'): GatewayAddress => ({ hostname: { namespace: ns, hostname: `${name}.${ns}.svc.cluster.local` }, hboneMtlsPort: 15008 });
  const byAddr = (address: string): GatewayAddress => ({ address: { network: '', address }, hboneMtlsPort: 15008 });
  const member = (key: string, port = 8080): Workload['services'] => ({ [key]: [{ servicePort: 80, targetPort: port }] });
  const withVip = (name: string, vip: string, o: Partial<Service> = {}): Service => ({ ...svc(name, vip), ...o });
  const wpSvc: Service = { ...withVip('wp', '10.96.0.50'), ports: [{ servicePort: 15008, targetPort: 15008 }], subjectAltNames: ['spiffe://cluster.local/ns/b/sa/wp-extra'] };
  const src = wl('client', '10.0.1.40', { namespace: 'a', serviceAccount: 'client', uid: 'c//Pod/a/client' });
  const snapW: MeshSnapshot = {
    workloads: [
      src,
      wl('wp-1', '10.0.1.50', { serviceAccount: 'wp', services: { [wpKey]: [{ servicePort: 15008, targetPort: 15008 }] } }),
      wl('wp-2', '10.0.2.50', { serviceAccount: 'wp', services: { [wpKey]: [{ servicePort: 15008, targetPort: 15008 }] }, status: 'UNHEALTHY' }),
      wl('sick-wp', '10.0.1.51', { serviceAccount: 'sick', services: { 'b/sickwp.b.svc.cluster.local': [] }, status: 'UNHEALTHY' }),
      wl('far-wp', '10.9.0.52', { serviceAccount: 'far', network: 'net2', services: { 'b/farwp.b.svc.cluster.local': [] } }),
      wl('r1', '10.0.1.20', { services: { ...member('b/rev.b.svc.cluster.local'), ...member('b/ghost-svc.b.svc.cluster.local'), ...member('b/byaddr.b.svc.cluster.local') } }),
      wl('pw', '10.0.1.30', { waypoint: gw('wp'), services: member('b/plain.b.svc.cluster.local') }),
      wl('pw-plain', '10.0.1.31', { waypoint: gw('wp'), tunnelProtocol: 'NONE' }),
      wl('pw-ghost', '10.0.1.32', { waypoint: gw('nope') }),
      wl('pw-sick', '10.0.1.33', { waypoint: gw('sickwp') }),
      wl('pw-far', '10.0.1.34', { waypoint: gw('farwp') }),
      wl('pw-addr', '10.0.1.35', { waypoint: byAddr('10.0.1.50') }),
      wl('pw-vip', '10.0.1.36', { waypoint: byAddr('10.96.0.50') }),
      wl('pw-unknown', '10.0.1.37', { waypoint: byAddr('10.0.9.9') }),
      wl('six', 'fd00::7', {}),
    ],
    services: [
      wpSvc,
      withVip('sickwp', '10.96.0.51'),
      withVip('farwp', '10.96.0.52'),
      withVip('rev', '10.96.0.20', { waypoint: gw('wp') }),
      withVip('ghost-svc', '10.96.0.22', { waypoint: gw('ghost') }),
      withVip('byaddr', '10.96.0.23', { waypoint: byAddr('10.0.1.50') }),
      withVip('plain', '10.96.0.21'),
    ],
    authorizations: [],
  };
  const ws = new MeshState(snapW);
  const wpId = 'spiffe://cluster.local/ns/b/sa/wp';
  type Want = { nextHop: string; authority: string; expectedIdentity: string; via: string; workload: string; service?: string } | { fail: RegExp } | { tcp: string };
  const rows: [string, string, number, Workload | undefined, Want][] = [
    ['service waypoint: HBONE to a healthy waypoint pod, authority = the VIP as dialled', '10.96.0.20', 80, src, { nextHop: '10.0.1.50:15008', authority: '10.96.0.20:80', expectedIdentity: wpId, via: 'waypoint', workload: 'wp-1', service: 'rev' }],
    ['service waypoint applies even without a known source', '10.96.0.20', 80, undefined, { nextHop: '10.0.1.50:15008', authority: '10.96.0.20:80', expectedIdentity: wpId, via: 'waypoint', workload: 'wp-1', service: 'rev' }],
    ['service waypoint by address', '10.96.0.23', 80, src, { nextHop: '10.0.1.50:15008', authority: '10.96.0.23:80', expectedIdentity: wpId, via: 'waypoint', workload: 'wp-1', service: 'byaddr' }],
    ['service waypoint that does not exist: fail closed', '10.96.0.22', 80, src, { fail: /service b\/ghost-svc.b.svc.cluster.local requires its waypoint: waypoint b\/ghost.b.svc.cluster.local is not a known service/ }],
    ['workload waypoint: HBONE to the waypoint, authority = podIP:port as dialled', '10.0.1.30', 8080, src, { nextHop: '10.0.1.50:15008', authority: '10.0.1.30:8080', expectedIdentity: wpId, via: 'waypoint', workload: 'wp-1' }],
    ['workload waypoint also for a tunnel-protocol-NONE pod', '10.0.1.31', 9000, src, { nextHop: '10.0.1.50:15008', authority: '10.0.1.31:9000', expectedIdentity: wpId, via: 'waypoint', workload: 'wp-1' }],
    ['the waypoint itself sends direct (no loop)', '10.0.1.30', 8080, ws.workloadByIp('10.0.1.50'), { nextHop: '10.0.1.30:15008', authority: '10.0.1.30:8080', expectedIdentity: 'spiffe://cluster.local/ns/b/sa/server', via: 'direct', workload: 'pw' }],
    ['service-addressed: a workload waypoint of the endpoint is not used', '10.96.0.21', 80, src, { nextHop: '10.0.1.30:15008', authority: '10.0.1.30:8080', expectedIdentity: 'spiffe://cluster.local/ns/b/sa/server', via: 'direct', workload: 'pw', service: 'plain' }],
    ['workload waypoint by address', '10.0.1.35', 80, src, { nextHop: '10.0.1.50:15008', authority: '10.0.1.35:80', expectedIdentity: wpId, via: 'waypoint', workload: 'wp-1' }],
    ['workload waypoint by the waypoint service VIP', '10.0.1.36', 80, src, { nextHop: '10.0.1.50:15008', authority: '10.0.1.36:80', expectedIdentity: wpId, via: 'waypoint', workload: 'wp-1' }],
    ['missing waypoint: fail closed, no bypass', '10.0.1.32', 80, src, { fail: /workload b\/pw-ghost requires its waypoint: waypoint b\/nope.b.svc.cluster.local is not a known service/ }],
    ['waypoint without healthy pods: fail closed', '10.0.1.33', 80, src, { fail: /has no healthy endpoint/ }],
    ['waypoint on another network: fail (no double HBONE)', '10.0.1.34', 80, src, { fail: /network 'net2'/ }],
    ['waypoint address that is nothing known: fail', '10.0.1.37', 80, src, { fail: /neither a workload nor a service/ }],
    ['IPv6 pod: bracketed next hop and authority', 'fd00::7', 8080, src, { nextHop: '[fd00::7]:15008', authority: '[fd00::7]:8080', expectedIdentity: 'spiffe://cluster.local/ns/b/sa/server', via: 'direct', workload: 'six' }],
  ];
  for (const [name, ip, port, from, want] of rows) {
    it(name, () => {
      const r = routeOutbound(ws, ip, port, from, () => 0);
      if ('fail' in want) {
        assert.equal(r.kind, 'fail', JSON.stringify(r));
        assert.ok(r.kind === 'fail');
        assert.match(r.reason, want.fail);
        return;
      }
      assert.ok(r.kind === 'hbone', JSON.stringify(r));
      const got = { nextHop: r.nextHop, authority: r.authority, expectedIdentity: r.expectedIdentity, via: r.via, workload: r.workload.name, ...(r.service ? { service: r.service.name } : {}) };
      assert.deepEqual(got, want);
    });
  }
  it('a waypoint hop expects the waypoint identity plus the waypoint service’s SANs; a direct hop its service’s SANs', () => {
    const r = routeOutbound(ws, '10.96.0.20', 80, src, () => 0);
    assert.ok(r.kind === 'hbone');
    assert.deepEqual(r.expectedIdentities, [wpId, 'spiffe://cluster.local/ns/b/sa/wp-extra']);
    const d = routeOutbound(new MeshState({ ...snapW, services: [withVip('plain', '10.96.0.21', { subjectAltNames: ['spiffe://x/ns/b/sa/alt'] })] }), '10.96.0.21', 80, src);
    assert.ok(d.kind === 'hbone');
    assert.deepEqual(d.expectedIdentities, ['spiffe://cluster.local/ns/b/sa/server', 'spiffe://x/ns/b/sa/alt']);
  });
  it('isWaypoint: member of the waypoint service or at its address', () => {
    const wp1 = ws.workloadByIp('10.0.1.50')!;
    assert.equal(ws.isWaypoint(wp1, gw('wp')), true);
    assert.equal(ws.isWaypoint(wp1, byAddr('10.0.1.50')), true);
    assert.equal(ws.isWaypoint(src, gw('wp')), false);
    assert.equal(ws.isWaypoint(src, byAddr('10.0.1.50')), false);
  });
});

describe('locality-aware endpoint selection (spec §2.13)', () => {
  const key = 'b/loc.b.svc.cluster.local';
  const at = (region: string, zone: string, subzone: string): Workload['locality'] => ({ region, zone, subzone });
  const ep = (name: string, ip: string, o: Partial<Workload>): Workload => wl(name, ip, { services: { [key]: [{ servicePort: 80, targetPort: 8080 }] }, ...o });
  const src = wl('client', '10.0.1.40', { namespace: 'a', node: 'n1', locality: at('r1', 'z1', 's1') });
  const eps = [
    ep('same-node', '10.0.1.41', { node: 'n1', locality: at('r1', 'z1', 's1') }),
    ep('same-zone', '10.0.2.41', { node: 'n2', locality: at('r1', 'z1', 's2') }),
    ep('same-region', '10.0.3.41', { node: 'n3', locality: at('r1', 'z2', 's1') }),
    ep('far', '10.0.4.41', { node: 'n4', locality: at('r2', 'z9', 's9') }),
    ep('other-net', '10.9.0.41', { node: 'n1', locality: at('r1', 'z1', 's1'), network: 'net2' }),
    ep('other-cluster', '10.0.5.41', { node: 'n5', locality: at('r1', 'z1', 's1'), clusterId: 'c2' }),
    ep('sick-same-node', '10.0.1.42', { node: 'n1', locality: at('r1', 'z1', 's1'), status: 'UNHEALTHY' }),
  ];
  const ls = new MeshState({ workloads: [src, ...eps], services: [svc('loc', '10.96.0.60')], authorizations: [] });
  const loc = (loadBalancing?: LoadBalancing): Service => ({ ...svc('loc', '10.96.0.60'), ...(loadBalancing ? { loadBalancing } : {}) });
  const zone: LoadBalancingScope[] = ['NETWORK', 'REGION', 'ZONE'];
  const node: LoadBalancingScope[] = ['NETWORK', 'REGION', 'ZONE', 'SUBZONE', 'NODE'];
  const all = ['same-node', 'same-zone', 'same-region', 'far', 'other-net', 'other-cluster'];
  const rows: [string, LoadBalancing | undefined, Workload | undefined, string[]][] = [
    ['no load balancing: every healthy endpoint', undefined, src, all],
    ['UNSPECIFIED_MODE ignores preferences', { routingPreference: zone, mode: 'UNSPECIFIED_MODE' }, src, all],
    ['FAILOVER network/region/zone (PreferSameZone): the zone', { routingPreference: zone, mode: 'FAILOVER' }, src, ['same-node', 'same-zone', 'other-cluster']],
    ['FAILOVER down to the node (PreferSameNode)', { routingPreference: node, mode: 'FAILOVER' }, src, ['same-node']],
    ['FAILOVER with CLUSTER first', { routingPreference: ['CLUSTER', 'NODE'], mode: 'FAILOVER' }, src, ['same-node', 'other-net']],
    ['STRICT NODE (internalTrafficPolicy Local): same node on any network', { routingPreference: ['NODE'], mode: 'STRICT' }, src, ['same-node', 'other-net']],
    ['STRICT region+zone', { routingPreference: ['REGION', 'ZONE'], mode: 'STRICT' }, src, ['same-node', 'same-zone', 'other-net', 'other-cluster']],
    ['STRICT with nothing matching: none', { routingPreference: ['REGION'], mode: 'STRICT' }, wl('x', '10.0.9.1', { locality: at('r7', '', '') }), []],
    ['FAILOVER with nothing matching falls back to every endpoint', { routingPreference: ['REGION'], mode: 'FAILOVER' }, wl('x', '10.0.9.1', { locality: at('r7', '', '') }), all],
    ['no source: no filtering', { routingPreference: ['NODE'], mode: 'STRICT' }, undefined, all],
    ['ALLOW_ALL keeps unhealthy endpoints', { routingPreference: ['NODE'], mode: 'STRICT', healthPolicy: 'ALLOW_ALL' }, src, ['same-node', 'other-net', 'sick-same-node']],
    ['ONLY_HEALTHY explicitly', { routingPreference: ['NODE'], mode: 'STRICT', healthPolicy: 'ONLY_HEALTHY' }, src, ['same-node', 'other-net']],
  ];
  for (const [name, lb, from, want] of rows) {
    it(name, () => assert.deepEqual(ls.candidates(loc(lb), 80, from).map((e) => e.workload.name), want));
  }
  it('FAILOVER prefers the best rank only while it has endpoints', () => {
    const noZone = new MeshState({ workloads: [src, ...eps.filter((e) => e.locality?.zone !== 'z1')], services: [], authorizations: [] });
    assert.deepEqual(noZone.candidates(loc({ routingPreference: zone, mode: 'FAILOVER' }), 80, src).map((e) => e.workload.name), ['same-region']);
  });
  it('localityRank counts leading matches only', () => {
    const far = eps[3]!;
    assert.equal(localityRank(['NETWORK', 'REGION'], src, far), 1);
    assert.equal(localityRank(['REGION', 'NETWORK'], src, far), 0);
    assert.equal(localityRank([], src, far), 0);
  });
  it('routeOutbound: FAILOVER picks in the best rank, weighted by capacity; STRICT without a match fails; PASSTHROUGH goes to the VIP', () => {
    const snapL = (lb: LoadBalancing): MeshState => new MeshState({ workloads: [src, ...eps], services: [loc(lb)], authorizations: [] });
    const seen = new Set<string>();
    const st = snapL({ routingPreference: zone, mode: 'FAILOVER' });
    for (let i = 0; i < 300; i++) {
      const r = routeOutbound(st, '10.96.0.60', 80, src);
      assert.ok(r.kind === 'hbone');
      seen.add(r.workload.name);
    }
    assert.deepEqual([...seen].sort(), ['other-cluster', 'same-node', 'same-zone']);
    assert.match((routeOutbound(snapL({ routingPreference: ['REGION'], mode: 'STRICT' }), '10.96.0.60', 80, wl('x', '10.0.9.1', { locality: at('r7', '', '') })) as { reason: string }).reason, /no healthy upstream/);
    assert.deepEqual(routeOutbound(snapL({ routingPreference: [], mode: 'PASSTHROUGH', healthPolicy: 'ALLOW_ALL' }), '10.96.0.60', 80, src), { kind: 'tcp', host: '10.96.0.60', port: 80, reason: 'passthrough' });
    const weighted = new MeshState({ workloads: [src, ep('a', '10.0.1.43', { node: 'n1', locality: at('r1', 'z1', 's1') }), ep('b', '10.0.1.44', { node: 'n1', locality: at('r1', 'z1', 's1'), capacity: 3 }), eps[3]!], services: [], authorizations: [] });
    const strictNode = loc({ routingPreference: ['NODE'], mode: 'STRICT' });
    assert.equal(weighted.pickEndpoint(strictNode, 80, () => 0.2, src)?.workload.name, 'a');
    assert.equal(weighted.pickEndpoint(strictNode, 80, () => 0.3, src)?.workload.name, 'b');
  });
});
