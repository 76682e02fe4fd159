// The real control plane in-process (TLS API server + scheduler + deployment and endpoints
// controllers), driven over HTTPS with KubeClient and raw requests: discovery, authn/authz,
// admission, ClusterIPs, conflicts and validation errors, scheduling and spreading,
// scale, list/watch with selectors, Table output, graceful delete and restart.
//
// Tests run in order and share one cluster. Until the scheduling test, no Node exists, so
// pods stay unbound unless a test binds them itself.
import assert from 'node:assert/strict';
import * as https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { KubeApiError, type KubeClient, type WatchEvent } from '../../src/kube/kube-client.js';
import { K } from '../../src/local/controllers/kinds.js';
import { WorkQueue } from '../../src/local/controllers/work-queue.js';
import type { KindInfo } from '../../src/model/core/kinds.js';
import type { Deployment, KubeObject, NodeObject, Pod, Service } from '../../src/model/core/types.js';
import { ADMIN_TOKEN, NODE1_TOKEN, NODE2_TOKEN, sleep, TestControlPlane, type StatusBody } from './support/control-plane.js';

let cp: TestControlPlane;
let admin: KubeClient;

before(async () => {
  cp = await TestControlPlane.start('ambit-apiserver-test-');
  admin = cp.client();
});

after(async () => {
  await cp?.destroy();
});

const podObj = (ns: string, name: string, extra: { labels?: Record<string, string>; nodeName?: string; serviceAccountName?: string } = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, ...(extra.labels ? { labels: extra.labels } : {}) },
  spec: {
    containers: [{ name: 'app', command: ['sleep', 'infinity'] }],
    ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
    ...(extra.serviceAccountName ? { serviceAccountName: extra.serviceAccountName } : {}),
  },
});

const nodeObj = (name: string, ready: boolean): NodeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

const deploymentObj = (ns: string, name: string, replicas: number): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', command: ['sleep', 'infinity'] }] } },
  },
});

async function createNamespace(name: string): Promise<void> {
  await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

async function deleteNamespace(name: string): Promise<void> {
  await admin.delete(K.Namespace, undefined, name).catch(() => undefined);
}

/** Asserts the promise rejects with a KubeApiError of this status and reason; returns it. */
async function rejectsWith(p: Promise<unknown>, status: number, reason: string, message?: RegExp): Promise<KubeApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KubeApiError, `expected a KubeApiError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.reason, reason, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected HTTP ${status} ${reason}, but the request succeeded`);
}

interface Watch {
  events: WatchEvent[];
  stop(): Promise<void>;
}

function watch(client: KubeClient, info: KindInfo, ns: string | undefined, opts: { resourceVersion?: string; fieldSelector?: string; labelSelector?: string }): Watch {
  const events: WatchEvent[] = [];
  const ac = new AbortController();
  const done = client.watch(info, ns, { ...opts, signal: ac.signal }, (ev) => {
    if (ev.type !== 'BOOKMARK') events.push(ev);
  });
  return {
    events,
    async stop() {
      ac.abort();
      await done;
    },
  };
}

const names = (items: KubeObject[]): string[] => items.map((o) => o.metadata.name!).sort();
const bound = (pods: KubeObject[]): Pod[] => (pods as Pod[]).filter((p) => p.spec.nodeName);
const alive = (pods: KubeObject[]): Pod[] => (pods as Pod[]).filter((p) => !p.metadata.deletionTimestamp);

describe('API server on a real control plane', () => {
  it('discovery: /api, /apis, /api/v1 and /apis/apps/v1 have the shapes kubectl expects', async () => {
    const api = (await admin.request('GET', '/api')) as { kind: string; versions: string[] };
    assert.equal(api.kind, 'APIVersions');
    assert.deepEqual(api.versions, ['v1']);

    const apis = (await admin.request('GET', '/apis')) as { kind: string; groups: { name: string; preferredVersion: { groupVersion: string } }[] };
    assert.equal(apis.kind, 'APIGroupList');
    const apps = apis.groups.find((g) => g.name === 'apps');
    assert.equal(apps?.preferredVersion.groupVersion, 'apps/v1');

    type ResourceList = { kind: string; groupVersion: string; resources: { name: string; kind: string; namespaced: boolean; verbs: string[]; group?: string; version?: string }[] };
    const core = (await admin.request('GET', '/api/v1')) as ResourceList;
    assert.equal(core.kind, 'APIResourceList');
    assert.equal(core.groupVersion, 'v1');
    const pods = core.resources.find((r) => r.name === 'pods');
    assert.deepEqual({ kind: pods?.kind, namespaced: pods?.namespaced }, { kind: 'Pod', namespaced: true });
    assert.ok(pods?.verbs.includes('watch'));
    assert.ok(core.resources.some((r) => r.name === 'pods/status'));
    assert.equal(core.resources.find((r) => r.name === 'namespaces')?.namespaced, false);

    const appsV1 = (await admin.request('GET', '/apis/apps/v1')) as ResourceList;
    assert.equal(appsV1.groupVersion, 'apps/v1');
    assert.ok(appsV1.resources.some((r) => r.name === 'deployments' && r.kind === 'Deployment'));
    const scale = appsV1.resources.find((r) => r.name === 'deployments/scale');
    assert.deepEqual({ kind: scale?.kind, group: scale?.group, version: scale?.version }, { kind: 'Scale', group: 'autoscaling', version: 'v1' });

    const group = (await admin.request('GET', '/apis/apps')) as { kind: string; name: string };
    assert.deepEqual([group.kind, group.name], ['APIGroup', 'apps']);
    await rejectsWith(admin.request('GET', '/apis/nope.example.com/v1'), 404, 'NotFound');
  });

  it('a request without a bearer token is 401 with a Status body; health and version need no token', async () => {
    const r = await cp.raw('GET', '/api/v1/pods');
    assert.equal(r.status, 401);
    assert.match(r.contentType, /application\/json/);
    const st = r.json as StatusBody;
    assert.deepEqual([st.kind, st.apiVersion, st.status, st.reason, st.code], ['Status', 'v1', 'Failure', 'Unauthorized', 401]);
    assert.match(st.message, /bearer token is required/);

    const wrong = await cp.raw('GET', '/api', { token: 'not-a-token' });
    assert.equal(wrong.status, 401);
    assert.match((wrong.json as StatusBody).message, /unknown token/);

    const health = await cp.raw('GET', '/healthz');
    assert.deepEqual([health.status, health.text], [200, 'ok']);
    const version = await cp.raw('GET', '/version');
    assert.equal(version.status, 200);
    assert.equal((version.json as { major: string }).major, '1');
  });

  it('creating a namespace creates its default ServiceAccount at once', async () => {
    await createNamespace('sa-test');
    try {
      const sa = await admin.get(K.ServiceAccount, 'sa-test', 'default');
      assert.equal(sa.kind, 'ServiceAccount');
      assert.equal(sa.metadata.namespace, 'sa-test');
      // The bootstrap namespaces have one too.
      assert.ok(await admin.get(K.ServiceAccount, 'default', 'default'));
    } finally {
      await deleteNamespace('sa-test');
    }
  });

  it('a Pod naming a service account that does not exist is 403 and the message names the account', async () => {
    await createNamespace('sa-missing');
    try {
      const e = await rejectsWith(admin.create(K.Pod, podObj('sa-missing', 'p', { serviceAccountName: 'robot' })), 403, 'Forbidden');
      assert.match(e.message, /service account sa-missing\/robot/);
      assert.match(e.message, /serviceaccount "robot" not found/);
      // Without a name the pod gets `default`, which exists.
      const ok = (await admin.create(K.Pod, podObj('sa-missing', 'p'))) as Pod;
      assert.equal(ok.spec.serviceAccountName, 'default');
      assert.equal(ok.status?.phase, 'Pending');
    } finally {
      await deleteNamespace('sa-missing');
    }
  });

  it('creating in a namespace that does not exist is 404', async () => {
    await rejectsWith(admin.create(K.Pod, podObj('no-such-ns', 'p')), 404, 'NotFound', /namespaces "no-such-ns" not found/);
  });

  it('a duplicate create is 409 AlreadyExists with a Status naming the object', async () => {
    const body = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dup' } };
    try {
      assert.equal((await cp.raw('POST', '/api/v1/namespaces', { token: ADMIN_TOKEN, body })).status, 201);
      const r = await cp.raw('POST', '/api/v1/namespaces', { token: ADMIN_TOKEN, body });
      assert.equal(r.status, 409);
      const st = r.json as StatusBody;
      assert.deepEqual([st.kind, st.reason, st.code, st.details?.name], ['Status', 'AlreadyExists', 409, 'dup']);
      assert.match(st.message, /namespaces "dup" already exists/);
      // Our stable code rides in the existing details; the message stays Kubernetes' own.
      assert.equal((st.details as { ambitCode?: string } | undefined)?.ambitCode, 'AMBIT_E_API_ALREADY_EXISTS');
    } finally {
      await deleteNamespace('dup');
    }
  });

  it('an invalid object is 422 Invalid with causes naming each bad field', async () => {
    await createNamespace('invalid');
    try {
      const svc = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }, { name: 'grpc', port: 81, targetPort: 70000, foo: 1 }] },
      };
      const r = await cp.raw('POST', '/api/v1/namespaces/invalid/services', { token: ADMIN_TOKEN, body: svc });
      assert.equal(r.status, 422);
      const st = r.json as StatusBody;
      assert.deepEqual([st.kind, st.reason, st.code, st.details?.name, st.details?.kind], ['Status', 'Invalid', 422, 'web', 'Service']);
      const fields = (st.details?.causes ?? []).map((c) => c.field).sort();
      assert.deepEqual(fields, ['spec.ports[1].foo', 'spec.ports[1].targetPort']);
      assert.match(st.message, /^Service "web" is invalid: /);
      assert.match(st.message, /spec\.ports\[1\]\.targetPort: must be 1-65535/);
      assert.match(st.message, /spec\.ports\[1\]\.foo: unknown field/);
      // Nothing was stored and no ClusterIP leaked.
      await rejectsWith(admin.get(K.Service, 'invalid', 'web'), 404, 'NotFound');

      const mismatch = await cp.raw('POST', '/api/v1/namespaces/invalid/pods', { token: ADMIN_TOKEN, body: { ...podObj('other', 'p') } });
      assert.equal(mismatch.status, 400);
      assert.match((mismatch.json as StatusBody).message, /namespace of the provided object \(other\) does not match the namespace sent on the request \(invalid\)/);
      const notJson = await cp.raw('POST', '/api/v1/namespaces/invalid/pods', { token: ADMIN_TOKEN, body: '{nope' });
      assert.equal(notJson.status, 400);
      assert.match((notJson.json as StatusBody).message, /not valid JSON/);
    } finally {
      await deleteNamespace('invalid');
    }
  });

  it('a Service gets a ClusterIP from 10.96.0.0/16 and its clusterIP is immutable', async () => {
    await createNamespace('svc');
    try {
      const mk = (name: string, clusterIP?: string): Service => ({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: 'svc' },
        spec: { selector: { app: name }, ports: [{ port: 80 }], ...(clusterIP ? { clusterIP } : {}) },
      });
      const a = (await admin.create(K.Service, mk('a'))) as Service;
      const b = (await admin.create(K.Service, mk('b'))) as Service;
      for (const s of [a, b]) {
        assert.match(s.spec.clusterIP ?? '', /^10\.96\.\d{1,3}\.\d{1,3}$/);
        assert.deepEqual(s.spec.clusterIPs, [s.spec.clusterIP]);
        assert.equal(s.spec.type, 'ClusterIP');
        assert.deepEqual(s.spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }], 'protocol and targetPort are defaulted');
      }
      assert.notEqual(a.spec.clusterIP, b.spec.clusterIP);

      // Changing it by PUT or PATCH is refused; leaving it out of a PUT keeps it.
      await rejectsWith(admin.update(K.Service, { ...a, spec: { ...a.spec, clusterIP: '10.96.7.7' } }), 422, 'Invalid', /spec\.clusterIP: .*field is immutable/);
      await rejectsWith(admin.patch(K.Service, 'svc', 'a', { spec: { clusterIP: '10.96.7.7' } }), 422, 'Invalid', /field is immutable/);
      const { clusterIP: _drop, clusterIPs: _drop2, ...specWithoutIP } = a.spec;
      const kept = (await admin.update(K.Service, { ...a, spec: specWithoutIP })) as Service;
      assert.equal(kept.spec.clusterIP, a.spec.clusterIP);

      // A requested IP must be inside the CIDR and free.
      await rejectsWith(admin.create(K.Service, mk('outside', '10.97.0.5')), 422, 'Invalid', /must be inside the service CIDR 10\.96\.0\.0\/16/);
      await rejectsWith(admin.create(K.Service, mk('taken', a.spec.clusterIP)), 422, 'Invalid', /already allocated/);
      const fixed = (await admin.create(K.Service, mk('fixed', '10.96.200.1'))) as Service;
      assert.equal(fixed.spec.clusterIP, '10.96.200.1');
      const headless = (await admin.create(K.Service, mk('headless', 'None'))) as Service;
      assert.deepEqual([headless.spec.clusterIP, headless.spec.clusterIPs], ['None', ['None']]);

      // The endpoints controller gives each selector Service an Endpoints object.
      await cp.waitFor('Endpoints svc/a', () => admin.getOrUndefined(K.Endpoints, 'svc', 'a'));
      // Deleting a Service frees its IP for reuse by an explicit request.
      await admin.delete(K.Service, 'svc', 'fixed');
      assert.equal(((await admin.create(K.Service, mk('again', '10.96.200.1'))) as Service).spec.clusterIP, '10.96.200.1');
    } finally {
      await deleteNamespace('svc');
    }
  });

  it('a node token may read anything but may not create a namespace (403)', async () => {
    const node1 = cp.client(NODE1_TOKEN);
    const list = await node1.list(K.Namespace);
    assert.ok(names(list.items).includes('default'));
    const e = await rejectsWith(node1.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'from-node' } }), 403, 'Forbidden');
    assert.match(e.message, /User "system:node:node1" cannot create/);
    await rejectsWith(admin.get(K.Namespace, undefined, 'from-node'), 404, 'NotFound');
    // Nor may it create or write another node's Node object.
    await rejectsWith(node1.create(K.Node, nodeObj('node2', true)), 403, 'Forbidden');
  });

  it('a node may patch pods/status only for pods bound to it, and never the pod spec', async () => {
    await createNamespace('authz');
    const node1 = cp.client(NODE1_TOKEN);
    try {
      // The admin plays scheduler here: no Node exists yet, so nothing else binds.
      for (const [name, nodeName] of [['on1', 'node1'], ['on2', 'node2'], ['loose', undefined]] as const) {
        const created = await admin.create(K.Pod, podObj('authz', name));
        if (nodeName) await admin.update(K.Pod, { ...created, spec: { ...(created as Pod).spec, nodeName } });
      }
      const running = { status: { phase: 'Running', podIP: '10.0.1.10' } };
      const patched = (await node1.patch(K.Pod, 'authz', 'on1', running, 'status')) as Pod;
      assert.equal(patched.status?.phase, 'Running');
      assert.equal(patched.status?.podIP, '10.0.1.10');

      await rejectsWith(node1.patch(K.Pod, 'authz', 'on2', running, 'status'), 403, 'Forbidden', /pods\/status is forbidden: User "system:node:node1"/);
      await rejectsWith(node1.patch(K.Pod, 'authz', 'loose', running, 'status'), 403, 'Forbidden');
      await rejectsWith(node1.patch(K.Pod, 'authz', 'on1', { metadata: { labels: { x: 'y' } } }), 403, 'Forbidden', /pods is forbidden/);
      await rejectsWith(node1.delete(K.Pod, 'authz', 'on2', 0), 403, 'Forbidden');
      assert.equal(((await admin.get(K.Pod, 'authz', 'on2')) as Pod).status?.phase, 'Pending', 'the refused writes changed nothing');

      // A status write never touches the spec, even if the body carries one.
      const sneaky = (await node1.patch(K.Pod, 'authz', 'on1', { spec: { nodeName: 'node2' }, status: { phase: 'Running' } }, 'status')) as Pod;
      assert.equal(sneaky.spec.nodeName, 'node1');
    } finally {
      await deleteNamespace('authz');
    }
  });

  it('through pods/status a node may set or remove only the ambient redirection annotation of its own pods', async () => {
    await createNamespace('redir');
    const node1 = cp.client(NODE1_TOKEN);
    const node2 = cp.client(NODE2_TOKEN);
    const KEY = 'ambient.istio.io/redirection';
    const ann = (a: Record<string, string | null>): object => ({ metadata: { annotations: a } });
    try {
      const created = await admin.create(K.Pod, { ...podObj('redir', 'p'), metadata: { name: 'p', namespace: 'redir', annotations: { owner: 'team-a' } } } as Pod);
      await admin.update(K.Pod, { ...created, spec: { ...(created as Pod).spec, nodeName: 'node1' } });
      for (const v of ['pending', 'enabled']) {
        const p = (await node1.patch(K.Pod, 'redir', 'p', ann({ [KEY]: v }), 'status')) as Pod;
        assert.deepEqual(p.metadata.annotations, { owner: 'team-a', [KEY]: v }, 'other annotations are kept');
      }
      await rejectsWith(node1.patch(K.Pod, 'redir', 'p', ann({ [KEY]: 'bogus' }), 'status'), 403, 'Forbidden', /cannot change annotation ambient.istio.io\/redirection to 'bogus'/);
      await rejectsWith(node1.patch(K.Pod, 'redir', 'p', ann({ owner: 'me' }), 'status'), 403, 'Forbidden', /cannot change annotation owner/);
      await rejectsWith(node1.patch(K.Pod, 'redir', 'p', ann({ owner: null }), 'status'), 403, 'Forbidden', /cannot change annotation owner/);
      await rejectsWith(node1.patch(K.Pod, 'redir', 'p', ann({ [KEY]: 'enabled', extra: 'x' }), 'status'), 403, 'Forbidden', /cannot change annotation extra/);
      await rejectsWith(node2.patch(K.Pod, 'redir', 'p', ann({ [KEY]: null }), 'status'), 403, 'Forbidden', /User "system:node:node2"/);
      await rejectsWith(node1.patch(K.Pod, 'redir', 'p', ann({ [KEY]: null })), 403, 'Forbidden', /pods is forbidden/);
      // A status write also keeps the annotation when it does not mention it (the kubelet role's patches).
      const running = (await node1.patch(K.Pod, 'redir', 'p', { status: { phase: 'Running' } }, 'status')) as Pod;
      assert.equal(running.metadata.annotations?.[KEY], 'enabled');
      const gone = (await node1.patch(K.Pod, 'redir', 'p', ann({ [KEY]: null }), 'status')) as Pod;
      assert.deepEqual(gone.metadata.annotations, { owner: 'team-a' });
      // An admin writing pods/status may change any annotation, as in Kubernetes; labels stay as they are.
      const byAdmin = (await admin.patch(K.Pod, 'redir', 'p', { metadata: { annotations: { owner: 'team-b' }, labels: { x: 'y' } } }, 'status')) as Pod;
      assert.equal(byAdmin.metadata.annotations?.['owner'], 'team-b');
      assert.equal(byAdmin.metadata.labels?.['x'], undefined);
    } finally {
      await deleteNamespace('redir');
    }
  });

  it('binding happens once: a bound pod cannot move to another node or change its spec', async () => {
    await createNamespace('bind');
    try {
      const p = (await admin.create(K.Pod, podObj('bind', 'p'))) as Pod;
      const b = (await admin.update(K.Pod, { ...p, spec: { ...p.spec, nodeName: 'node1' } })) as Pod;
      assert.equal(b.spec.nodeName, 'node1');
      await rejectsWith(admin.update(K.Pod, { ...b, spec: { ...b.spec, nodeName: 'node2' } }), 422, 'Invalid', /pod updates may not change fields other than labels/);
      await rejectsWith(admin.patch(K.Pod, 'bind', 'p', { spec: { containers: [{ name: 'app', command: ['true'] }] } }), 422, 'Invalid');
      const labelled = (await admin.patch(K.Pod, 'bind', 'p', { metadata: { labels: { ok: 'yes' } } })) as Pod;
      assert.deepEqual(labelled.metadata.labels, { ok: 'yes' });
      // A stale resourceVersion in the body is a 409.
      await rejectsWith(admin.update(K.Pod, { ...b, metadata: { ...b.metadata, labels: { late: 'yes' } } }), 409, 'Conflict', /the object has been modified/);
    } finally {
      await deleteNamespace('bind');
    }
  });

  it('list filters with labelSelector and fieldSelector spec.nodeName=node1', async () => {
    await createNamespace('lists');
    try {
      const spec: [string, Record<string, string>, string | undefined][] = [
        ['web-1', { app: 'web', tier: 'front' }, 'node1'],
        ['web-2', { app: 'web', tier: 'back' }, 'node2'],
        ['db-1', { app: 'db' }, 'node1'],
        ['idle', {}, undefined],
      ];
      for (const [name, labels, nodeName] of spec) {
        const p = (await admin.create(K.Pod, podObj('lists', name, { labels }))) as Pod;
        if (nodeName) await admin.update(K.Pod, { ...p, spec: { ...p.spec, nodeName } });
      }
      const sel = async (labelSelector?: string, fieldSelector?: string, ns: string | undefined = 'lists'): Promise<string[]> =>
        names((await admin.list(K.Pod, ns, { ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) })).items);

      assert.deepEqual(await sel(), ['db-1', 'idle', 'web-1', 'web-2']);
      assert.deepEqual(await sel('app=web'), ['web-1', 'web-2']);
      assert.deepEqual(await sel('app in (web,db),tier!=back'), ['db-1', 'web-1']);
      assert.deepEqual(await sel('!app'), ['idle']);
      assert.deepEqual(await sel(undefined, 'spec.nodeName=node1'), ['db-1', 'web-1']);
      assert.deepEqual(await sel('app=web', 'spec.nodeName=node1'), ['web-1']);
      assert.deepEqual(await sel(undefined, 'spec.nodeName='), ['idle'], 'an empty value selects unbound pods');
      assert.deepEqual(await sel(undefined, 'metadata.name!=idle,status.phase=Pending'), ['db-1', 'web-1', 'web-2']);
      // All namespaces.
      assert.deepEqual(await sel('tier', 'spec.nodeName=node2', undefined), ['web-2']);

      const list = (await admin.request('GET', '/api/v1/namespaces/lists/pods')) as { kind: string; apiVersion: string; metadata: { resourceVersion: string } };
      assert.deepEqual([list.kind, list.apiVersion], ['PodList', 'v1']);
      assert.match(list.metadata.resourceVersion, /^\d+$/);

      await rejectsWith(admin.list(K.Pod, 'lists', { fieldSelector: 'spec.containers=x' }), 400, 'BadRequest', /field label not supported: spec\.containers/);
      await rejectsWith(admin.list(K.Pod, 'lists', { labelSelector: 'app in web' }), 400, 'BadRequest', /expected '\(' after in/);
    } finally {
      await deleteNamespace('lists');
    }
  });

  it('a watch from a resourceVersion resumes and receives only later events', async () => {
    await createNamespace('resume');
    try {
      await admin.create(K.Pod, podObj('resume', 'before'));
      const { resourceVersion } = await admin.list(K.Pod, 'resume');
      await admin.create(K.Pod, podObj('resume', 'after-1'));
      await admin.patch(K.Pod, 'resume', 'before', { metadata: { labels: { touched: 'yes' } } });
      await admin.delete(K.Pod, 'resume', 'after-1'); // unbound: removed at once
      const w = watch(admin, K.Pod, 'resume', { resourceVersion });
      try {
        await cp.waitFor('3 replayed events', () => w.events.length >= 3);
        await admin.create(K.Pod, podObj('resume', 'live'));
        await cp.waitFor('the live event', () => w.events.length >= 4);
        await sleep(50);
        assert.deepEqual(
          w.events.map((e) => `${e.type} ${e.object.metadata.name}`),
          ['ADDED after-1', 'MODIFIED before', 'DELETED after-1', 'ADDED live'],
        );
        for (const e of w.events) assert.ok(Number(e.object.metadata.resourceVersion) > Number(resourceVersion));
      } finally {
        await w.stop();
      }
      // A watch without a resourceVersion starts with the current state as ADDED events.
      const fresh = watch(admin, K.Pod, 'resume', {});
      try {
        await cp.waitFor('the initial state', () => fresh.events.length >= 2);
        await sleep(50);
        assert.deepEqual(fresh.events.map((e) => `${e.type} ${e.object.metadata.name}`).sort(), ['ADDED before', 'ADDED live']);
      } finally {
        await fresh.stop();
      }
      await rejectsWith(admin.request('GET', '/api/v1/namespaces/resume/pods?watch=true&resourceVersion=abc'), 400, 'BadRequest', /is not a number/);
    } finally {
      await deleteNamespace('resume');
    }
  });

  it('a watch with fieldSelector spec.nodeName=node1 sees a pod as ADDED when it is bound to node1, and DELETED when it goes', async () => {
    await createNamespace('fieldwatch');
    const node1 = cp.client(NODE1_TOKEN);
    const w = watch(node1, K.Pod, undefined, { fieldSelector: 'spec.nodeName=node1' });
    try {
      const p = (await admin.create(K.Pod, podObj('fieldwatch', 'p'))) as Pod;
      await admin.create(K.Pod, podObj('fieldwatch', 'elsewhere'));
      await sleep(100);
      assert.equal(w.events.length, 0, 'an unbound pod does not match the selector');
      await admin.update(K.Pod, { ...p, spec: { ...p.spec, nodeName: 'node1' } });
      const other = (await admin.get(K.Pod, 'fieldwatch', 'elsewhere')) as Pod;
      await admin.update(K.Pod, { ...other, spec: { ...other.spec, nodeName: 'node2' } });
      await cp.waitFor('ADDED on binding', () => w.events.length >= 1);
      assert.equal(w.events[0]?.type, 'ADDED', 'MODIFIED into the selector is reported as ADDED');
      assert.equal(w.events[0]?.object.metadata.name, 'p');
      // Graceful delete: still on node1, now with a deletionTimestamp; then the node removes it.
      await admin.delete(K.Pod, 'fieldwatch', 'p');
      await node1.delete(K.Pod, 'fieldwatch', 'p', 0);
      await cp.waitFor('MODIFIED and DELETED', () => w.events.length >= 3);
      await sleep(50);
      assert.deepEqual(w.events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED p', 'MODIFIED p', 'DELETED p'], 'the pod on node2 never shows up');
      assert.ok(w.events[1]?.object.metadata.deletionTimestamp);
    } finally {
      await w.stop();
      await deleteNamespace('fieldwatch');
    }
  });

  it('Table output when Accept asks for as=Table;v=v1;g=meta.k8s.io', async () => {
    await createNamespace('tables');
    try {
      await admin.create(K.Pod, podObj('tables', 'b'));
      await admin.create(K.Pod, podObj('tables', 'a'));
      const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
      const r = await cp.raw('GET', '/api/v1/namespaces/tables/pods', { token: ADMIN_TOKEN, accept });
      assert.equal(r.status, 200);
      const t = r.json as { kind: string; apiVersion: string; columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[]; object: { kind: string; metadata: { name: string } } }[] };
      assert.deepEqual([t.kind, t.apiVersion], ['Table', 'meta.k8s.io/v1']);
      assert.deepEqual(t.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name), ['Name', 'Ready', 'Status', 'Restarts', 'Age']);
      assert.deepEqual(t.rows.map((row) => row.cells.slice(0, 4)), [['a', '0/1', 'Pending', 0], ['b', '0/1', 'Pending', 0]]);
      assert.deepEqual([t.rows[0]?.object.kind, t.rows[0]?.object.metadata.name], ['PartialObjectMetadata', 'a']);
      // One object as a Table too; and plain JSON without the parameter.
      const one = await cp.raw('GET', '/api/v1/namespaces/tables/pods/a', { token: ADMIN_TOKEN, accept });
      assert.equal((one.json as { kind: string; rows: unknown[] }).rows.length, 1);
      const plain = await cp.raw('GET', '/api/v1/namespaces/tables/pods/a', { token: ADMIN_TOKEN });
      assert.equal((plain.json as { kind: string }).kind, 'Pod');
    } finally {
      await deleteNamespace('tables');
    }
  });

  it('a Deployment with 3 replicas gets 3 pods, bound only once a Ready Node exists, spread over both nodes', async () => {
    await createNamespace('apps');
    const node1 = cp.client(NODE1_TOKEN);
    const node2 = cp.client(NODE2_TOKEN);
    await admin.create(K.Deployment, deploymentObj('apps', 'web', 3));
    const pods = await cp.waitFor('3 pods from the deployment controller', async () => {
      const l = (await admin.list(K.Pod, 'apps', { labelSelector: 'app=web' })).items;
      return l.length === 3 ? l : undefined;
    });
    for (const p of pods as Pod[]) {
      assert.equal(p.metadata.ownerReferences?.[0]?.kind, 'Deployment');
      assert.equal(p.metadata.ownerReferences?.[0]?.controller, true);
      assert.match(p.metadata.labels?.['pod-template-hash'] ?? '', /^[0-9a-f]{10}$/);
    }
    // Nodes that are not Ready do not get pods.
    await node1.create(K.Node, nodeObj('node1', false));
    await node2.create(K.Node, nodeObj('node2', false));
    await sleep(300);
    assert.deepEqual(bound((await admin.list(K.Pod, 'apps')).items), [], 'no pod is bound while no node is Ready');
    const pending = (await admin.list(K.Pod, 'apps')).items as Pod[];
    assert.ok(pending.every((p) => p.status?.phase === 'Pending'));

    // Each node agent reports Ready through its own status subresource.
    const ready = { status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    await node1.patch(K.Node, undefined, 'node1', ready, 'status');
    await node2.patch(K.Node, undefined, 'node2', ready, 'status');
    const placed = await cp.waitFor('all 3 pods bound', async () => {
      const b = bound((await admin.list(K.Pod, 'apps')).items);
      return b.length === 3 ? b : undefined;
    });
    const perNode = new Map<string, number>();
    for (const p of placed) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
    assert.deepEqual([...perNode.keys()].sort(), ['node1', 'node2'], `pods spread over both nodes: ${JSON.stringify([...perNode])}`);
    assert.deepEqual([...perNode.values()].sort(), [1, 2]);
    const d = await cp.waitFor('deployment status replicas=3', async () => {
      const dep = (await admin.get(K.Deployment, 'apps', 'web')) as Deployment;
      return dep.status?.replicas === 3 ? dep : undefined;
    });
    assert.equal(d.status?.observedGeneration, 1);
  });

  it('the scale subresource reads and changes replicas, and the pods follow', async () => {
    const path = '/apis/apps/v1/namespaces/apps/deployments/web/scale';
    type Scale = { kind: string; apiVersion: string; metadata: { name: string; resourceVersion: string }; spec: { replicas: number }; status: { replicas: number; selector: string } };
    const s = (await admin.request('GET', path)) as Scale;
    assert.deepEqual([s.kind, s.apiVersion, s.metadata.name, s.spec.replicas, s.status.selector], ['Scale', 'autoscaling/v1', 'web', 3, 'app=web']);

    const down = (await admin.request('PATCH', path, { spec: { replicas: 1 } }, 'application/merge-patch+json')) as Scale;
    assert.equal(down.spec.replicas, 1);
    assert.equal(((await admin.get(K.Deployment, 'apps', 'web')) as Deployment).spec.replicas, 1);
    // Surplus pods are bound, so they are deleted gracefully: they stay, terminating, until their node removes them.
    const terminating = await cp.waitFor('2 pods terminating and 1 alive', async () => {
      const items = (await admin.list(K.Pod, 'apps')).items as Pod[];
      const t = items.filter((p) => p.metadata.deletionTimestamp);
      return alive(items).length === 1 && t.length === 2 ? t : undefined;
    });
    for (const p of terminating) {
      const agent = cp.client(p.spec.nodeName === 'node1' ? NODE1_TOKEN : NODE2_TOKEN);
      await agent.delete(K.Pod, 'apps', p.metadata.name!, 0);
    }
    assert.equal((await admin.list(K.Pod, 'apps')).items.length, 1);

    // PUT with the Scale's resourceVersion as a precondition. The deployment controller's
    // status writes bump it too, so like any client, retry the read-modify-write on 409.
    const first = (await admin.request('GET', path)) as Scale;
    let up: Scale | undefined;
    for (let attempt = 0; !up; attempt++) {
      const cur = attempt === 0 ? first : ((await admin.request('GET', path)) as Scale);
      try {
        up = (await admin.request('PUT', path, { ...cur, spec: { replicas: 2 } })) as Scale;
      } catch (e) {
        if (!(e instanceof KubeApiError && e.status === 409) || attempt >= 20) throw e;
      }
    }
    assert.equal(up.spec.replicas, 2);
    assert.notEqual(up.metadata.resourceVersion, first.metadata.resourceVersion);
    await rejectsWith(admin.request('PUT', path, { ...first, spec: { replicas: 4 } }), 409, 'Conflict', /the object has been modified/);
    await cp.waitFor('2 bound pods', async () => bound(alive((await admin.list(K.Pod, 'apps')).items)).length === 2);

    await rejectsWith(admin.request('PATCH', path, { spec: { replicas: -1 } }, 'application/merge-patch+json'), 422, 'Invalid', /spec\.replicas: must be a non-negative integer/);
    await rejectsWith(admin.request('GET', '/api/v1/namespaces/apps/pods/x/scale'), 404, 'NotFound');
    await rejectsWith(cp.client(NODE1_TOKEN).request('PATCH', path, { spec: { replicas: 5 } }, 'application/merge-patch+json'), 403, 'Forbidden');
  });

  it('graceful delete of a bound pod sets deletionTimestamp; the node deletes it with gracePeriodSeconds=0', async () => {
    await createNamespace('graceful');
    try {
      await admin.create(K.Pod, { ...podObj('graceful', 'p'), spec: { ...podObj('graceful', 'p').spec, terminationGracePeriodSeconds: 5 } });
      const p = await cp.waitFor('the scheduler to bind the pod', async () => {
        const got = (await admin.get(K.Pod, 'graceful', 'p')) as Pod;
        return got.spec.nodeName ? got : undefined;
      });
      const first = (await admin.delete(K.Pod, 'graceful', 'p')) as Pod;
      assert.ok(first.metadata.deletionTimestamp, 'the first delete only marks the pod');
      assert.equal(first.metadata.deletionGracePeriodSeconds, 5);
      const still = (await admin.get(K.Pod, 'graceful', 'p')) as Pod;
      assert.equal(still.metadata.deletionTimestamp, first.metadata.deletionTimestamp);
      const again = (await admin.delete(K.Pod, 'graceful', 'p')) as Pod;
      assert.equal(again.metadata.resourceVersion, first.metadata.resourceVersion, 'deleting a terminating pod again changes nothing');
      // An update cannot clear the deletionTimestamp.
      const relabelled = (await admin.patch(K.Pod, 'graceful', 'p', { metadata: { labels: { x: 'y' }, deletionTimestamp: null } })) as Pod;
      assert.equal(relabelled.metadata.deletionTimestamp, first.metadata.deletionTimestamp);

      const mine = p.spec.nodeName === 'node1' ? NODE1_TOKEN : NODE2_TOKEN;
      const theirs = mine === NODE1_TOKEN ? NODE2_TOKEN : NODE1_TOKEN;
      await rejectsWith(cp.client(theirs).delete(K.Pod, 'graceful', 'p', 0), 403, 'Forbidden');
      await cp.client(mine).delete(K.Pod, 'graceful', 'p', 0);
      await rejectsWith(admin.get(K.Pod, 'graceful', 'p'), 404, 'NotFound', /pods "p" not found/);
    } finally {
      await deleteNamespace('graceful');
    }
  });

  it('a control-plane restart on the same dataDir keeps every resource', async () => {
    await createNamespace('keep');
    await admin.create(K.Service, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'keep' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    await admin.patch(K.Namespace, undefined, 'keep', { metadata: { labels: { team: 'mesh' } } });
    const kinds = [K.Namespace, K.Node, K.ServiceAccount, K.Pod, K.Service, K.Endpoints, K.Deployment];
    const snapshot = async (c: KubeClient): Promise<{ objects: Map<string, KubeObject>; rv: number }> => {
      const objects = new Map<string, KubeObject>();
      let rv = 0;
      for (const k of kinds) {
        const l = await c.list(k);
        rv = Math.max(rv, Number(l.resourceVersion));
        for (const o of l.items) objects.set(`${k.resource}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
      }
      return { objects, rv };
    };
    await cp.waitFor('Endpoints keep/web', () => admin.getOrUndefined(K.Endpoints, 'keep', 'web'));
    const before = await snapshot(admin);
    assert.ok(before.objects.has('deployments/apps/web') && before.objects.has('nodes//node1'));

    const oldPort = cp.port;
    await cp.restart();
    admin = cp.client();
    assert.notEqual(cp.port, 0);
    const afterRestart = await snapshot(admin);
    assert.ok(afterRestart.rv >= before.rv, 'the resourceVersion does not go back');
    for (const [key, o] of before.objects) {
      const now = afterRestart.objects.get(key);
      assert.ok(now, `${key} survived the restart`);
      assert.equal(now.metadata.uid, o.metadata.uid, `${key} keeps its uid`);
    }
    assert.deepEqual([...afterRestart.objects.keys()].sort(), [...before.objects.keys()].sort(), 'nothing appeared or vanished');
    assert.deepEqual((afterRestart.objects.get('namespaces//keep') as KubeObject).metadata.labels, { team: 'mesh' });
    const svc = afterRestart.objects.get('services/keep/web') as Service;
    assert.equal(svc.spec.clusterIP, (before.objects.get('services/keep/web') as Service).spec.clusterIP);
    // The ClusterIP allocator was rebuilt from the store: a new Service does not reuse a stored IP.
    const used = new Set([...afterRestart.objects.values()].filter((o) => o.kind === 'Service').map((o) => (o as Service).spec.clusterIP));
    const fresh = (await admin.create(K.Service, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'fresh', namespace: 'keep' }, spec: { ports: [{ port: 80 }] } })) as Service;
    assert.ok(!used.has(fresh.spec.clusterIP), `fresh IP ${fresh.spec.clusterIP} is not one already in use`);
    // And the controllers work again: the deployment still has its 2 pods and scaling still works.
    await admin.request('PATCH', '/apis/apps/v1/namespaces/apps/deployments/web/scale', { spec: { replicas: 3 } }, 'application/merge-patch+json');
    await cp.waitFor('a third pod after the restart', async () => alive((await admin.list(K.Pod, 'apps')).items).length === 3);
    assert.ok(cp.logs.some((l) => l.includes(`api server listening on https://127.0.0.1:${oldPort}`)));
  });
});

describe('controller work queue', () => {
  it('a failing key is retried until the queue is stopped, and never after (a stopped control plane must let the process exit)', async () => {
    const calls: string[] = [];
    const q = new WorkQueue(
      (k) => {
        calls.push(k);
        return Promise.reject(new Error('API server is gone'));
      },
      () => undefined,
      30,
    );
    q.add('ns/a');
    const deadline = Date.now() + 5000;
    while (calls.length < 2 && Date.now() < deadline) await sleep(10);
    assert.ok(calls.length >= 2, 'the failed key was retried');
    q.stop();
    const n = calls.length;
    q.add('ns/b');
    await sleep(150);
    assert.equal(calls.length, n, `no reconcile after stop: ${calls.join(',')}`);
  });
});

describe('API server: limits before work', () => {
  /** POSTs a body to the pods collection: `declared` in Content-Length (or chunked), `send` bytes actually sent; resolves the status and when it came. */
  function post(declared: number | undefined, send: number): Promise<{ code: number; body: string; ms: number }> {
    return new Promise((resolve, reject) => {
      const t0 = Date.now();
      const req = https.request(
        `${cp.baseUrl}/api/v1/namespaces/default/pods`,
        { method: 'POST', ca: cp.tls.ca, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(declared !== undefined ? { 'content-length': declared } : {}) } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body, ms: Date.now() - t0 }));
        },
      );
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < send) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
      };
      pump();
    });
  }

  it('a body over 3 MiB is 413: from Content-Length before reading it, and while reading one sent without', async () => {
    const announced = await post(20 * 1024 * 1024, 64 * 1024);
    assert.equal(announced.code, 413, announced.body);
    assert.match(announced.body, /request entity too large: limit is 3145728/);
    assert.ok(announced.ms < 2000, `answered in ${announced.ms} ms without the rest of the body`);
    const streamed = await post(undefined, 4 * 1024 * 1024);
    assert.equal(streamed.code, 413, streamed.body);
    // The server still answers everyone else.
    assert.ok(await admin.get(K.Namespace, '', 'default'));
  });
});
