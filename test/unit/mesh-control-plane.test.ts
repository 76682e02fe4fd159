// The mesh control plane on its own: the local API server runs alone (no CA, no xDS), then
// `ambit mesh-control-plane --kubeconfig` runs as a separate process against it, and a node
// tunnel's two clients (delta xDS and the CA client) get config and a certificate from it.
// Also: the standalone module imports nothing of the local cluster stand-in.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NodeAuthority } from '../../src/ca/node-auth.js';
import { ROOT_CONFIGMAP } from '../../src/ca/publisher.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { CaClient, CaFetchError } from '../../src/identity/ca-client.js';
import { K } from '../../src/model/core/kind-handles.js';
import type { ConfigMap, KubeObject, Pod } from '../../src/model/core/types.js';
import { XdsClient } from '../../src/dataplane/xds-client.js';
import { ADMIN_TOKEN, TestControlPlane } from './support/control-plane.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', '..', 'src', 'bin', 'ambit.js');
const NS = 'shop';
const IDENTITY = `spiffe://cluster.local/ns/${NS}/sa/web`;

let api: TestControlPlane;
let admin: KubeClient;
let child: ChildProcess;
let output = '';
let grpcPort = 0;
let metricsPort = 0;
let nodeToken = '';
let caDir = '';
let xds: XdsClient | undefined;

function kubeconfig(port: number): string {
  // A relative certificate-authority path: resolved against the kubeconfig's directory, as kubectl does.
  return `apiVersion: v1
kind: Config
current-context: local
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:${port}
    certificate-authority: api-ca.pem
contexts:
- name: local
  context: {cluster: local, user: mesh}
users:
- name: mesh
  user:
    token: ${ADMIN_TOKEN}
`;
}

async function waitForOutput(re: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(output);
    if (m) return m;
    if (child.exitCode !== null) throw new Error(`mesh-control-plane exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in the mesh-control-plane output:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  api = await TestControlPlane.start('ambit-mesh-cp-'); // API server + controllers only: no mesh control plane in it
  admin = api.client();
  const dir = path.join(api.root, 'mesh');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'api-ca.pem'), api.tls.ca);
  fs.writeFileSync(path.join(dir, 'kubeconfig'), kubeconfig(api.port));
  caDir = path.join(dir, 'ca');
  // Its own namespace exists before it starts, as istiod's does (the CRL goes there).
  await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mesh-system' } });
  // The signing key comes through the config; a node token signed by it is what ztunnel presents.
  const keyFile = path.join(dir, 'node-token-key.pem');
  nodeToken = NodeAuthority.openKey(keyFile).issueNodeToken('node1');
  child = spawn(process.execPath, [BIN, 'mesh-control-plane', '--kubeconfig', path.join(dir, 'kubeconfig'), '--ca-dir', caDir, '--node-token-key', keyFile, '--secureGRPCAddr', '127.0.0.1:0', '--monitoringAddr', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', POD_NAMESPACE: 'mesh-system' },
  });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  grpcPort = Number((await waitForOutput(/delta ADS on 127\.0\.0\.1:(\d+) \(TLS\)/))[1]);
  metricsPort = Number((await waitForOutput(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1]);

  await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'istio.io/dataplane-mode': 'ambient' } } });
  await admin.create(K.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: NS } });
  await admin.create(K.Node, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } } as KubeObject);
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: NS, labels: { app: 'web' } }, spec: { containers: [{ name: 'app', command: ['sleep', 'infinity'] }], serviceAccountName: 'web', nodeName: 'node1' } };
  await admin.create(K.Pod, pod);
  // No node agent here: the test plays the kubelet.
  await admin.patch(K.Pod, NS, 'web-1', { status: { phase: 'Running', podIP: '10.0.1.10', podIPs: [{ ip: '10.0.1.10' }], conditions: [{ type: 'Ready', status: 'True' }] } }, 'status');
});

after(async () => {
  xds?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await api?.destroy();
});

describe('ambit mesh-control-plane against an API server it does not run', () => {
  it('pushes the cluster to a node tunnel over delta xDS', async () => {
    const roots = fs.readFileSync(path.join(caDir, 'roots.pem'), 'utf8');
    xds = new XdsClient({ address: `127.0.0.1:${grpcPort}`, roots, token: nodeToken, node: { id: 'ztunnel~10.0.1.1~ztunnel-node1.istio-system~istio-system.svc.cluster.local', nodeName: 'node1' }, servername: 'istiod.istio-system.svc' });
    xds.start();
    await xds.ready;
    const w = await api.waitFor('web-1 as a Workload', () => xds!.state.workloads.get(`Kubernetes//Pod/${NS}/web-1`));
    assert.deepEqual(w.addresses, ['10.0.1.10']);
    assert.equal(w.serviceAccount, 'web');
  });

  it('issues the node tunnel a workload certificate for a pod on its node', async () => {
    const ca = new CaClient({ address: `127.0.0.1:${grpcPort}`, rootsPem: () => fs.readFileSync(path.join(caDir, 'roots.pem'), 'utf8'), token: () => nodeToken });
    const cert = await api.waitFor('a certificate', () => ca.fetchCertificate(IDENTITY, 3600).catch(() => undefined));
    assert.equal(cert.identity, IDENTITY);
    assert.ok(cert.chainPem.length >= 1);
    assert.ok(cert.notAfter.getTime() > Date.now());
  });

  it('refuses a node token not signed by the configured key', async () => {
    const other = NodeAuthority.openKey(path.join(api.root, 'other-key.pem')).issueNodeToken('node1');
    const ca = new CaClient({ address: `127.0.0.1:${grpcPort}`, rootsPem: fs.readFileSync(path.join(caDir, 'roots.pem'), 'utf8'), token: () => other });
    await assert.rejects(ca.fetchCertificate(IDENTITY, 3600), (e: unknown) => e instanceof CaFetchError && e.code === grpc.status.UNAUTHENTICATED && /node token rejected/.test(e.message));
  });

  it('publishes the root ConfigMap and the CRL (in POD_NAMESPACE) through the API server', async () => {
    const root = await api.waitFor('the root ConfigMap', async () => (await admin.getOrUndefined(K.ConfigMap, NS, ROOT_CONFIGMAP)) as ConfigMap | undefined);
    assert.ok(root.data?.['root-cert.pem']?.includes('BEGIN CERTIFICATE'));
    await api.waitFor('the CRL ConfigMap in mesh-system', () => admin.getOrUndefined(K.ConfigMap, 'mesh-system', 'istio-ca-crl'));
  });

  it('serves /metrics on the monitoring address', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${metricsPort}/metrics`, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    assert.match(text, /^# TYPE \S+ counter/m);
  });

  it('exits cleanly on SIGTERM', async () => {
    xds?.close();
    xds = undefined;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

describe('import boundary', () => {
  it('the mesh control plane and its command import nothing of the local cluster stand-in', () => {
    // The TypeScript sources (dist/test/unit → the repository), so type-only imports count too.
    const srcRoot = path.join(here, '..', '..', '..', 'src');
    const seen = new Set<string>();
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)\.js'/g)) walk(path.resolve(path.dirname(file), `${m[1]!}.ts`));
    };
    walk(path.join(srcRoot, 'control-plane', 'mesh-control-plane.ts'));
    walk(path.join(srcRoot, 'cli', 'commands', 'mesh-control-plane.ts'));
    const standIn = [...seen].map((f) => path.relative(srcRoot, f)).filter((f) => /^local\//.test(f));
    assert.deepEqual(standIn, []);
    assert.ok(seen.size > 10, `walked ${seen.size} modules`);
  });
});
