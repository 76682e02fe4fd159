// A waypoint Gateway → ServiceAccount, Deployment, Service as istiod's deployment controller
// renders them (pure function), and the local waypoint controller against a real API server:
// creates them owned by the Gateway, writes status.addresses once a waypoint pod is ready, and
// removes them with the Gateway.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waypointGatewayStatus, waypointObjects, type WaypointGateway } from '../../src/control-plane/translate/waypoint-deployment.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { K } from '../../src/local/controllers/kinds.js';
import { KINDS } from '../../src/model/core/kinds.js';
import type { Deployment, KubeObject, Pod, Service } from '../../src/model/core/types.js';
import { WAYPOINT_COMMAND } from '../../src/mesh-api/waypoint-env.js';
import { TestControlPlane } from './support/control-plane.js';

const GATEWAY = KINDS.find((k) => k.kind === 'Gateway' && k.version === 'v1')!;

const gateway = (name: string, extra: Partial<WaypointGateway['spec']> = {}, annotations?: Record<string, string>): WaypointGateway => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace: 'demo', uid: 'uid-1', generation: 2, ...(annotations ? { annotations } : {}) },
  spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }], ...extra },
});

describe('waypointObjects (pure)', () => {
  it('names everything after the Gateway with istiod labels and owner references', () => {
    const o = waypointObjects(gateway('waypoint', { infrastructure: { labels: { team: 'a' }, annotations: { note: 'x', 'gateway.istio.io/service-account': 'ignored-here' } } }));
    for (const obj of [o.serviceAccount, o.deployment, o.service]) {
      assert.equal(obj.metadata.namespace, 'demo');
      assert.equal(obj.metadata.labels?.['gateway.networking.k8s.io/gateway-name'], 'waypoint');
      assert.equal(obj.metadata.labels?.['team'], 'a');
      assert.deepEqual(obj.metadata.ownerReferences, [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'waypoint', uid: 'uid-1' }]);
      assert.equal(obj.metadata.annotations?.['gateway.istio.io/service-account'], undefined, 'control annotations are not copied');
    }
    assert.equal(o.serviceAccount.metadata.name, 'waypoint');
    assert.equal(o.deployment.metadata.name, 'waypoint');
    assert.equal(o.service.metadata.name, 'waypoint');
    assert.equal(o.deployment.metadata.labels?.['gateway.istio.io/managed'], 'istio.io-mesh-controller');
    assert.equal(o.serviceAccount.metadata.labels?.['gateway.istio.io/managed'], undefined);
    const t = o.deployment.spec.template;
    assert.equal(t.metadata?.labels?.['istio.io/dataplane-mode'], 'none');
    assert.equal(t.metadata?.labels?.['sidecar.istio.io/inject'], 'false');
    assert.equal(t.metadata?.labels?.['gateway.networking.k8s.io/gateway-name'], 'waypoint');
    assert.deepEqual(o.deployment.spec.selector.matchLabels, { 'gateway.networking.k8s.io/gateway-name': 'waypoint' });
    assert.equal(t.spec.serviceAccountName, 'waypoint');
    assert.deepEqual(t.spec.containers[0]!.command, [...WAYPOINT_COMMAND]);
    assert.deepEqual(t.spec.containers[0]!.readinessProbe?.httpGet, { path: '/healthz/ready', port: 15021, scheme: 'HTTP' });
    assert.deepEqual(o.service.spec.ports, [
      { name: 'status-port', port: 15021, protocol: 'TCP', appProtocol: 'tcp' },
      { name: 'mesh', port: 15008, protocol: 'TCP', appProtocol: 'hbone' },
    ]);
    assert.equal(o.service.metadata.annotations?.['networking.istio.io/traffic-distribution'], 'PreferClose');
    assert.equal(o.listenerProblem, undefined);
  });

  it('honours name-override and service-account annotations, and flags a non-minimal listener', () => {
    const o = waypointObjects(gateway('wp', { listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] }, { 'gateway.istio.io/name-override': 'custom', 'gateway.istio.io/service-account': 'wp-sa' }));
    assert.equal(o.deployment.metadata.name, 'custom');
    assert.equal(o.service.metadata.name, 'custom');
    assert.equal(o.serviceAccount.metadata.name, 'wp-sa');
    assert.equal(o.deployment.spec.template.spec.serviceAccountName, 'wp-sa');
    assert.equal(o.listenerProblem, 'Expected a single listener on port 15008 with protocol HBONE');
  });

  it('status: addresses only with a ready pod; Programmed reasons as istiod writes them', () => {
    const gw = gateway('waypoint');
    const svc = { ...waypointObjects(gw).service, spec: { ...waypointObjects(gw).service.spec, clusterIP: '10.96.0.9' } } as Service;
    const now = new Date('2026-01-01T00:00:00Z');
    const pending = waypointGatewayStatus(gw, svc, 0, now) as { addresses?: unknown; conditions: { type: string; status: string; reason: string; observedGeneration: number }[] };
    assert.equal(pending.addresses, undefined);
    const prog = pending.conditions.find((c) => c.type === 'Programmed')!;
    assert.equal(prog.status, 'False');
    assert.equal(prog.reason, 'AddressNotAssigned');
    const ready = waypointGatewayStatus({ ...gw, status: pending }, svc, 1, new Date('2026-01-01T00:01:00Z')) as { addresses: unknown; conditions: { type: string; status: string; reason: string; message: string; observedGeneration: number }[] };
    assert.deepEqual(ready.addresses, [{ type: 'IPAddress', value: '10.96.0.9' }, { type: 'Hostname', value: 'waypoint.demo.svc.cluster.local' }]);
    const p2 = ready.conditions.find((c) => c.type === 'Programmed')!;
    assert.equal(p2.status, 'True');
    assert.equal(p2.reason, 'Programmed');
    assert.equal(p2.message, 'Resource programmed, assigned to service(s) waypoint.demo.svc.cluster.local:15008');
    assert.equal(p2.observedGeneration, 2);
  });
});

describe('waypoint controller (real API server)', () => {
  let cp: TestControlPlane;
  let admin: KubeClient;
  before(async () => {
    cp = await TestControlPlane.start('ambit-waypoint-deploy-test-');
    admin = cp.client();
    await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
  });
  after(async () => {
    await cp?.destroy();
  });

  it('creates SA, Deployment, Service owned by the Gateway; status.addresses once a pod is ready; deletes them with it', async () => {
    const { metadata: _m, ...rest } = gateway('waypoint');
    const gw = await admin.create(GATEWAY, { ...rest, metadata: { name: 'waypoint', namespace: 'demo' } } as KubeObject);
    const dep = (await cp.waitFor('the waypoint Deployment', () => admin.getOrUndefined(K.Deployment, 'demo', 'waypoint'))) as Deployment;
    assert.deepEqual(dep.metadata.ownerReferences?.map((r) => r.uid), [gw.metadata.uid]);
    assert.equal(dep.metadata.labels?.['gateway.istio.io/managed'], 'istio.io-mesh-controller');
    const svc = (await cp.waitFor('the waypoint Service', () => admin.getOrUndefined(K.Service, 'demo', 'waypoint'))) as Service;
    assert.ok(svc.spec.clusterIP);
    await cp.waitFor('the waypoint ServiceAccount', () => admin.getOrUndefined(K.ServiceAccount, 'demo', 'waypoint'));
    // Not ready yet: Programmed False, no addresses.
    const pendingGw = await cp.waitFor('Programmed=False', async () => {
      const g = await admin.get(GATEWAY, 'demo', 'waypoint');
      const c = (g.status as { conditions?: { type: string; status: string }[] }).conditions?.find((x) => x.type === 'Programmed');
      return c?.status === 'False' ? g : undefined;
    });
    assert.equal((pendingGw.status as { addresses?: unknown }).addresses, undefined);
    // The deployment controller made a pod; play the node agent: bind it and report it ready.
    const pod = (await cp.waitFor('a waypoint pod', async () => (await admin.list(K.Pod, 'demo')).items[0])) as Pod;
    assert.equal(pod.metadata.labels?.['istio.io/dataplane-mode'], 'none');
    await admin.create(K.Node, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } } as KubeObject);
    await cp.waitFor('the pod to be bound', async () => ((await admin.get(K.Pod, 'demo', pod.metadata.name!)) as Pod).spec.nodeName);
    await admin.patch(K.Pod, 'demo', pod.metadata.name!, { status: { phase: 'Running', podIP: '10.0.1.7', conditions: [{ type: 'Ready', status: 'True' }] } }, 'status');
    const ready = await cp.waitFor('status.addresses', async () => {
      const g = await admin.get(GATEWAY, 'demo', 'waypoint');
      return (g.status as { addresses?: { type: string; value: string }[] }).addresses;
    });
    assert.deepEqual(ready, [{ type: 'IPAddress', value: svc.spec.clusterIP }, { type: 'Hostname', value: 'waypoint.demo.svc.cluster.local' }]);
    // Deleting the Gateway removes what it owns.
    await admin.delete(GATEWAY, 'demo', 'waypoint');
    await cp.waitFor('the Deployment, Service and SA to go', async () => {
      const left = await Promise.all([admin.getOrUndefined(K.Deployment, 'demo', 'waypoint'), admin.getOrUndefined(K.Service, 'demo', 'waypoint'), admin.getOrUndefined(K.ServiceAccount, 'demo', 'waypoint')]);
      return left.every((x) => x === undefined);
    });
  });
});
