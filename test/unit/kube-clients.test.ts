// Real Kubernetes clients against the real in-process control plane, through a kubeconfig
// (https + certificate-authority-data + bearer token): the official JavaScript client
// (@kubernetes/client-node) with its informer, and kubectl.
//
// kubectl runs with async execFile: the API server lives in this process, so a blocking
// spawnSync would leave it unable to answer (kubectl then fails with a TLS handshake timeout).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig, makeInformer, type V1Pod, type V1Scale } from '@kubernetes/client-node';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { K } from '../../src/local/controllers/kinds.js';
import type { Pod } from '../../src/model/core/types.js';
import { hasTool } from '../../src/platform/exec.js';
import { ADMIN_TOKEN, sleep, TestControlPlane } from './support/control-plane.js';

let cp: TestControlPlane;
let admin: KubeClient;

before(async () => {
  cp = await TestControlPlane.start('ambit-clients-test-');
  admin = cp.client();
});

after(async () => {
  await cp?.destroy();
});

function kubeconfig(namespace = 'default'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: ambit',
    '  cluster:',
    `    server: ${cp.baseUrl}`,
    `    certificate-authority-data: ${Buffer.from(cp.tls.ca).toString('base64')}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${ADMIN_TOKEN}`,
    'contexts:',
    '- name: ambit',
    '  context:',
    '    cluster: ambit',
    '    user: admin',
    `    namespace: ${namespace}`,
    'current-context: ambit',
    '',
  ].join('\n');
}

const v1Pod = (name: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: name } },
  spec: { containers: [{ name: 'app', image: 'unused', command: ['sleep', 'infinity'] }] },
});

describe('@kubernetes/client-node', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;

  before(async () => {
    kc = new KubeConfig();
    kc.loadFromString(kubeconfig());
    core = kc.makeApiClient(CoreV1Api);
    await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'official' } });
  });

  it('CoreV1Api listNamespacedPod returns a typed PodList with a resourceVersion', async () => {
    await core.createNamespacedPod({ namespace: 'official', body: v1Pod('listed') });
    const list = await core.listNamespacedPod({ namespace: 'official' });
    assert.equal(list.kind, 'PodList');
    assert.match(list.metadata?.resourceVersion ?? '', /^\d+$/);
    assert.deepEqual(list.items.map((p) => p.metadata?.name), ['listed']);
    const p = list.items[0]!;
    assert.equal(p.spec?.serviceAccountName, 'default');
    assert.equal(p.status?.phase, 'Pending');
    assert.ok(p.metadata?.creationTimestamp instanceof Date, 'timestamps deserialize as dates');
    const selected = await core.listNamespacedPod({ namespace: 'official', labelSelector: 'app=nothing' });
    assert.equal(selected.items.length, 0);
  });

  it('errors arrive as ApiException with the Status body', async () => {
    await assert.rejects(core.readNamespacedPod({ namespace: 'official', name: 'missing' }), (e: unknown) => {
      assert.ok(e instanceof ApiException);
      assert.equal(e.code, 404);
      const st = JSON.parse(String(e.body)) as { kind: string; reason: string; message: string };
      assert.deepEqual([st.kind, st.reason, st.message], ['Status', 'NotFound', 'pods "missing" not found']);
      return true;
    });
  });

  it('a makeInformer on pods sees ADDED then DELETED events and keeps its cache in step', async () => {
    const events: string[] = [];
    const errors: unknown[] = [];
    let stopping = false;
    const informer = makeInformer(kc, '/api/v1/namespaces/official/pods', () => core.listNamespacedPod({ namespace: 'official' }));
    informer.on('add', (p) => events.push(`ADDED ${p.metadata?.name}`));
    informer.on('update', (p) => events.push(`MODIFIED ${p.metadata?.name}`));
    informer.on('delete', (p) => events.push(`DELETED ${p.metadata?.name}`));
    // Stopping aborts the watch request, which the informer reports as an error.
    informer.on('error', (e) => {
      if (!stopping) errors.push(e);
    });
    await informer.start();
    try {
      await cp.waitFor('the initial list', () => events.includes('ADDED listed'));
      await core.createNamespacedPod({ namespace: 'official', body: v1Pod('watched') });
      await cp.waitFor('ADDED watched', () => events.includes('ADDED watched'));
      assert.ok(informer.get('watched', 'official'), 'the cache has the new pod');
      // client-node 1.x sends PATCH as a JSON patch (application/json-patch+json) by default.
      await core.patchNamespacedPod({ namespace: 'official', name: 'watched', body: [{ op: 'add', path: '/metadata/labels/seen', value: 'yes' }] });
      await cp.waitFor('MODIFIED watched', () => events.includes('MODIFIED watched'));
      assert.deepEqual(informer.get('watched', 'official')?.metadata?.labels, { app: 'watched', seen: 'yes' });
      await core.deleteNamespacedPod({ namespace: 'official', name: 'watched' });
      await cp.waitFor('DELETED watched', () => events.includes('DELETED watched'));
      assert.equal(informer.get('watched', 'official'), undefined, 'the cache dropped the pod');
      assert.deepEqual(events, ['ADDED listed', 'ADDED watched', 'MODIFIED watched', 'DELETED watched']);
      assert.deepEqual(informer.list().map((p) => p.metadata?.name), ['listed']);
      assert.deepEqual(errors, []);
    } finally {
      stopping = true;
      await informer.stop();
    }
  });

  it('AppsV1Api reads and replaces a Deployment scale', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: 'official',
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'unused', command: ['sleep', 'infinity'] }] } } },
      },
    });
    const scale = await apps.readNamespacedDeploymentScale({ namespace: 'official', name: 'web' });
    assert.deepEqual([scale.kind, scale.spec?.replicas, scale.status?.selector], ['Scale', 1, 'app=web']);
    // The replace carries the resourceVersion read above, and the deployment controller's
    // status writes bump it: like any client, redo the read-modify-write on 409.
    let replaced: V1Scale | undefined;
    for (let attempt = 0; !replaced; attempt++) {
      const cur = attempt === 0 ? scale : await apps.readNamespacedDeploymentScale({ namespace: 'official', name: 'web' });
      try {
        replaced = await apps.replaceNamespacedDeploymentScale({ namespace: 'official', name: 'web', body: { ...cur, spec: { replicas: 2 } } });
      } catch (e) {
        if (!(e instanceof ApiException && e.code === 409) || attempt >= 20) throw e;
      }
    }
    assert.equal(replaced.spec?.replicas, 2);
    await cp.waitFor('2 pods for the deployment', async () => (await core.listNamespacedPod({ namespace: 'official', labelSelector: 'app=web' })).items.length === 2);
  });
});

const kubectlMissing = !hasTool('kubectl');
if (kubectlMissing) {
  console.error('\n*** SKIPPING the kubectl tests: kubectl is not on PATH. Install it (e.g. `apt-get install kubernetes-client`) to run them. ***\n');
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('kubectl', { skip: kubectlMissing ? 'kubectl is not on PATH (apt-get install kubernetes-client)' : false }, () => {
  let dir: string;
  let config: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(cp.root, 'kubectl-'));
    config = path.join(dir, 'kubeconfig');
    fs.writeFileSync(config, kubeconfig(), { mode: 0o600 });
  });

  function kubectl(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile('kubectl', ['--kubeconfig', config, '--cache-dir', path.join(dir, 'cache'), ...args], { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function ok(...args: string[]): Promise<string> {
    const r = await kubectl(...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed (${r.code}):\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  const write = (name: string, text: string): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const NAMESPACE_YAML = ['apiVersion: v1', 'kind: Namespace', 'metadata:', '  name: kc'].join('\n');
  const APP_YAML = [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: hello',
    '  namespace: kc',
    '  labels: {app: hello}',
    'spec:',
    '  containers:',
    '  - name: app',
    '    command: [sleep, infinity]',
    '---',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    '  namespace: kc',
    'spec:',
    '  replicas: 1',
    '  selector: {matchLabels: {app: web}}',
    '  template:',
    '    metadata: {labels: {app: web}}',
    '    spec:',
    '      containers:',
    '      - name: app',
    '        command: [sleep, infinity]',
  ].join('\n');

  it('kubectl version reports the server, and get pods -A prints the table header', async () => {
    assert.match(await ok('version'), /Server Version: v1\.32\.0-ambit/);
    const out = await ok('get', 'pods', '-A');
    // Pods left by the client-node tests (namespace official) are listed across namespaces.
    assert.match(out, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    assert.match(out, /^official\s+listed\s+0\/1\s+Pending\s+0\s+\d+s$/m);
  });

  it('kubectl create -f makes a namespace and the workloads in it', async () => {
    const file = write('all.yaml', `${NAMESPACE_YAML}\n---\n${APP_YAML}\n`);
    const out = await ok('create', '-f', file);
    assert.deepEqual(out.trim().split('\n'), ['namespace/kc created', 'pod/hello created', 'deployment.apps/web created']);
    const pod = (await admin.get(K.Pod, 'kc', 'hello')) as Pod;
    assert.deepEqual(pod.metadata.labels, { app: 'hello' });
    assert.ok(await admin.get(K.ServiceAccount, 'kc', 'default'));
    await cp.waitFor('the deployment pod', async () => (await admin.list(K.Pod, 'kc', { labelSelector: 'app=web' })).items.length === 1);
    const table = await ok('get', 'pods', '-n', 'kc');
    assert.match(table, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    assert.match(table, /^hello\s+0\/1\s+Pending\s+0\s+/m);
    assert.match(table, /^web-[0-9a-f]{8}-[0-9a-f]{5}\s+0\/1\s+Pending/m);
    assert.equal(await ok('get', 'pod', 'hello', '-n', 'kc', '-o', 'jsonpath={.spec.serviceAccountName}'), 'default');
    // Creating it again is a conflict that kubectl reports with the server's message.
    const again = await kubectl('create', '-f', file);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /AlreadyExists.*namespaces "kc" already exists/);
  });

  it('kubectl reports server-side validation errors with the field path', async () => {
    const bad = write('bad.yaml', ['apiVersion: v1', 'kind: Service', 'metadata:', '  name: web', '  namespace: kc', 'spec:', '  ports:', '  - port: 80', '    targetPort: 70000'].join('\n'));
    const r = await kubectl('create', '-f', bad);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.ports\[0\]\.targetPort: must be 1-65535/);
  });

  it('kubectl label namespace sets the label and get --show-labels prints it', async () => {
    assert.equal((await ok('label', 'namespace', 'kc', 'foo=bar')).trim(), 'namespace/kc labeled');
    assert.deepEqual((await admin.get(K.Namespace, undefined, 'kc')).metadata.labels, { foo: 'bar' });
    const out = await ok('get', 'ns', 'kc', '--show-labels');
    assert.match(out, /^NAME\s+STATUS\s+AGE\s+LABELS\n/);
    assert.match(out, /^kc\s+Active\s+\d+s\s+foo=bar$/m);
    // And removal with the trailing dash.
    await ok('label', 'namespace', 'kc', 'foo-');
    assert.equal((await admin.get(K.Namespace, undefined, 'kc')).metadata.labels?.['foo'], undefined);
  });

  it('kubectl scale deployment sets the Scale and the pods follow', async () => {
    assert.equal((await ok('scale', 'deployment/web', '-n', 'kc', '--replicas=2')).trim(), 'deployment.apps/web scaled');
    const scale = (await admin.request('GET', '/apis/apps/v1/namespaces/kc/deployments/web/scale')) as { spec: { replicas: number } };
    assert.equal(scale.spec.replicas, 2);
    await cp.waitFor('2 pods for web', async () => (await admin.list(K.Pod, 'kc', { labelSelector: 'app=web' })).items.length === 2);
    const wide = await ok('get', 'deployment', 'web', '-n', 'kc', '-o', 'wide');
    assert.match(wide, /^web\s+0\/2\s+2\s+0\s+\d+s\s+app=web$/m);
  });

  it('kubectl delete -f removes what the file names', async () => {
    // Only the workloads first: deleting the namespace would remove them at once (see below).
    const app = write('app.yaml', `${APP_YAML}\n`);
    const out = await ok('delete', '-f', app);
    assert.deepEqual(out.trim().split('\n'), ['pod "hello" deleted', 'deployment.apps "web" deleted']);
    assert.equal(await admin.getOrUndefined(K.Pod, 'kc', 'hello'), undefined);
    assert.equal(await admin.getOrUndefined(K.Deployment, 'kc', 'web'), undefined);
    await sleep(100);
    assert.deepEqual((await admin.list(K.Pod, 'kc')).items, [], "the deployment's pods went with it");

    // Namespace deletion here cascades synchronously (no Terminating phase), so the pod
    // listed after the namespace is already gone: --ignore-not-found keeps that quiet.
    const all = write('all-again.yaml', `${NAMESPACE_YAML}\n---\n${APP_YAML}\n`);
    assert.equal((await ok('delete', '-f', all, '--ignore-not-found')).trim(), 'namespace "kc" deleted');
    assert.equal(await admin.getOrUndefined(K.Namespace, undefined, 'kc'), undefined);
    assert.doesNotMatch(await ok('get', 'ns'), /^kc\s/m);
  });
});
