// The mesh push end to end on a real in-process control plane: pods, services and an
// AuthorizationPolicy written through the API server reach a node-tunnel client on the CA's
// port (:15012 in a cluster) as Workload / Service / Authorization resources and their deltas.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NodeAuthority } from '../../src/ca/node-auth.js';
import { KubeApiError, type KubeClient } from '../../src/kube/kube-client.js';
import { K } from '../../src/local/controllers/kinds.js';
import { KINDS } from '../../src/model/core/kinds.js';
import type { KubeObject, Pod } from '../../src/model/core/types.js';
import { XdsClient, type ChangeEvent } from '../../src/dataplane/xds-client.js';
import { AUTHORIZATION_TYPE_URL } from '../../src/xds/proto.js';
import { syncRedirection } from '../../src/local/node-agent/redirection.js';
import { NODE1_TOKEN, TestControlPlane } from './support/control-plane.js';

let cp: TestControlPlane;
let admin: KubeClient;
let node1: KubeClient;
let c: XdsClient;
const events: ChangeEvent[] = [];
const NS = 'shop';
const uid = (name: string): string => `Kubernetes//Pod/${NS}/${name}`;

/** No node agent runs here: the test plays it with node1's token, reporting the pod running and (unless told not to) captured. */
async function runningPod(name: string, ip: string, captured = true): Promise<Pod> {
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { app: 'web' } }, spec: { containers: [{ name: 'app', command: ['sleep', 'infinity'] }], nodeName: 'node1' } };
  await admin.create(K.Pod, pod);
  const running = (await node1.patch(K.Pod, NS, name, { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] } }, 'status')) as Pod;
  return captured ? ((await syncRedirection(node1, running, 'enabled')) ?? running) : running;
}

before(async () => {
  cp = await TestControlPlane.start('ambit-xds-e2e-', { ca: {} });
  admin = cp.client();
  node1 = cp.client(NODE1_TOKEN);
  const token = NodeAuthority.open(cp.caDir).issueNodeToken('node1');
  await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'istio.io/dataplane-mode': 'ambient' } } });
  await admin.create(K.Service, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } } as KubeObject);
  await runningPod('web-1', '10.0.1.10');
  c = new XdsClient({ address: `127.0.0.1:${cp.cp.caPort!}`, roots: cp.cp.authority!.rootsPem, token, node: { id: 'ztunnel~10.0.1.1~ztunnel-node1.istio-system~istio-system.svc.cluster.local', nodeName: 'node1' }, servername: 'istiod.istio-system.svc' });
  c.on('change', (e) => events.push(e));
  c.start();
  await c.ready;
});

after(async () => {
  c?.close();
  await cp?.destroy();
});

describe('xds end to end', () => {
  it('the node client gets the enrolled pods and the service', async () => {
    await cp.waitFor('web-1 as a Workload', () => c.state.workloads.get(uid('web-1')));
    const w = c.state.workloads.get(uid('web-1'));
    assert.deepEqual(w?.addresses, ['10.0.1.10']);
    assert.equal(w?.tunnelProtocol, 'HBONE');
    assert.ok(c.state.services.has(`${NS}/web.${NS}.svc.cluster.local`));
    assert.ok(Object.keys(w?.services ?? {}).includes(`${NS}/web.${NS}.svc.cluster.local`));
  });

  it('a new pod and a deleted pod arrive as Workload deltas', async () => {
    events.length = 0;
    await runningPod('web-2', '10.0.1.11');
    await cp.waitFor('web-2', () => c.state.workloads.get(uid('web-2')));
    assert.ok(events.every((e) => !e.upserted.includes(uid('web-1'))), 'web-1 is unchanged, so not re-sent');
    events.length = 0;
    await admin.delete(K.Pod, NS, 'web-1', 0);
    await cp.waitFor('web-1 removed', () => !c.state.workloads.has(uid('web-1')));
    assert.ok(events.some((e) => e.removed.includes(uid('web-1'))));
    assert.ok(c.state.workloads.has(uid('web-2')));
  });

  it('HBONE follows the node agent\'s redirection annotation, not the enrollment label', async () => {
    const pod = await runningPod('web-3', '10.0.1.12', false);
    assert.equal((await cp.waitFor('web-3', () => c.state.workloads.get(uid('web-3')))).tunnelProtocol, 'NONE', 'labelled but not captured yet');
    const pending = await syncRedirection(node1, pod, 'pending');
    assert.equal(pending?.metadata.annotations?.['ambient.istio.io/redirection'], 'pending');
    const enabled = await syncRedirection(node1, pending!, 'enabled');
    await cp.waitFor('web-3 HBONE', () => (c.state.workloads.get(uid('web-3'))?.tunnelProtocol === 'HBONE' ? true : undefined));
    assert.equal(await syncRedirection(node1, enabled!, 'enabled'), undefined, 'nothing to write when it is already set');
    const removed = await syncRedirection(node1, enabled!, undefined);
    assert.equal(removed?.metadata.annotations?.['ambient.istio.io/redirection'], undefined);
    await cp.waitFor('web-3 NONE again', () => (c.state.workloads.get(uid('web-3'))?.tunnelProtocol === 'NONE' ? true : undefined));
    assert.equal(((await admin.get(K.Pod, NS, 'web-3')) as Pod).status?.phase, 'Running', 'the status written before is kept');
  });

  it('a terminating pod is sent UNHEALTHY until it is gone', async () => {
    await runningPod('web-4', '10.0.1.13');
    await cp.waitFor('web-4 healthy', () => (c.state.workloads.get(uid('web-4'))?.status === 'HEALTHY' ? true : undefined));
    await admin.delete(K.Pod, NS, 'web-4', 30);
    const w = await cp.waitFor('web-4 unhealthy', () => (c.state.workloads.get(uid('web-4'))?.status === 'UNHEALTHY' ? c.state.workloads.get(uid('web-4')) : undefined));
    assert.equal(w.tunnelProtocol, 'HBONE', 'still captured while it drains');
    await node1.delete(K.Pod, NS, 'web-4', 0);
    await cp.waitFor('web-4 removed', () => !c.state.workloads.has(uid('web-4')));
  });

  it('an AuthorizationPolicy arrives as an Authorization resource', async () => {
    const ap = KINDS.find((k) => k.kind === 'AuthorizationPolicy');
    assert.ok(ap, 'the AuthorizationPolicy kind is served');
    await admin.create(ap, {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'allow-frontend', namespace: NS },
      spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['frontend'] } }] }] },
    } as KubeObject);
    const a = await cp.waitFor('the Authorization', () => c.state.authorizations.get(`${NS}/allow-frontend`));
    assert.equal(a.action, 'ALLOW');
    assert.equal(a.scope, 'NAMESPACE');
    assert.deepEqual(a.rules[0]?.clauses[0]?.matches[0]?.namespaces, [{ exact: 'frontend' }]);
    assert.ok(events.some((e) => e.typeUrl === AUTHORIZATION_TYPE_URL && e.upserted.includes(`${NS}/allow-frontend`)));
  });

  it('a malformed pod status is refused with its field path (422), as a spec would be', async () => {
    await runningPod('web-5', '10.0.1.14');
    for (const [status, field] of [
      [{ podIPs: 'not-a-list' }, 'status.podIPs'],
      [{ podIPs: [{ ip: '10.0.1.999' }] }, 'status.podIPs[0].ip'],
      [{ podIP: 'x' }, 'status.podIP'],
      [{ hostIP: 42 }, 'status.hostIP'],
      [{ conditions: [{ type: 'Ready', status: 'yes' }] }, 'status.conditions[0].status'],
    ] as const) {
      const e = await node1.patch(K.Pod, NS, 'web-5', { status }, 'status').then(() => undefined, (err: unknown) => err);
      assert.ok(e instanceof KubeApiError, `${JSON.stringify(status)} must be refused`);
      assert.equal(e.status, 422, e.message);
      const causes = (e.body as { details?: { causes?: { field?: string }[] } }).details?.causes ?? [];
      assert.ok(causes.some((c) => c.field === field), `${field} named in ${JSON.stringify(causes)}`);
    }
    assert.deepEqual(((await admin.get(K.Pod, NS, 'web-5')) as Pod).status?.podIPs, [{ ip: '10.0.1.14' }], 'nothing was stored');
  });

  it('one object whose translation throws cannot freeze the push: a later DENY still reaches the node tunnel', async () => {
    // Bypass admission: write a status translation cannot read straight into the store.
    const store = cp.cp.store;
    const cur = store.get('core/pods', NS, 'web-5')!;
    store.update('core/pods', { ...cur, status: { ...(cur.status ?? {}), podIPs: 'not-a-list' } } as unknown as KubeObject);
    const ap = KINDS.find((k) => k.kind === 'AuthorizationPolicy')!;
    await admin.create(ap, { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'deny-all', namespace: NS }, spec: { action: 'DENY', rules: [{}] } } as KubeObject);
    const a = await cp.waitFor('the DENY Authorization', () => c.state.authorizations.get(`${NS}/deny-all`));
    assert.equal(a.action, 'DENY');
    assert.ok(c.state.workloads.has(uid('web-2')), 'the other pods are still pushed');
    await cp.waitFor('the translation error logged', () => cp.logs.some((l) => l.includes(`Pod/${NS}/web-5`) && l.includes('could not be translated')));
    const metrics = await (await fetch(`http://127.0.0.1:${cp.cp.metricsPort!}/metrics`)).text();
    const m = /^ambit_translation_errors_total\{kind="Pod"\} (\d+)$/m.exec(metrics);
    assert.ok(m && Number(m[1]) >= 1, `ambit_translation_errors_total{kind="Pod"} counted:\n${metrics}`);
  });
});
