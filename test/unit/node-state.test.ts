// The node tunnel's pure lookups (spec §2.8, §2.13, §5.3 step 1): workload by IP, service by
// VIP:port, endpoint choice with per-workload target ports, the outbound route decision.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Authorization, MeshSnapshot, Service, Workload } from '../../src/api/types.js';
import { MeshState, peerIdentityOf, routeOutbound, spiffeIdOf } from '../../src/node/state.js';
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
