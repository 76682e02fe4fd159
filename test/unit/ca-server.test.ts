// The mesh CA in the real control plane (in-process, real sockets): Istio's CreateCertificate
// over gRPC/TLS with node tokens and the "pod of that service account runs on your node"
// rule, refusals with the right gRPC status, citadel metrics, root/CRL ConfigMaps, and a
// real non-Ambit client (python3-grpcio).
//
// Tests run in order and share one control plane.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { NodeAuthority } from '../../src/ca/node-auth.js';
import { istioCertificateService, type IstioCertificateResponse } from '../../src/identity/ca-proto.js';
import { CRL_CONFIGMAP, CRL_KEY, ROOT_CONFIGMAP, ROOT_KEY } from '../../src/ca/publisher.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { K } from '../../src/local/controllers/kinds.js';
import { CaClient, CaFetchError } from '../../src/identity/ca-client.js';
import { clusterIdFromEnv } from '../../src/identity/cluster-id.js';
import { createCsr, generateKeyPair } from '../../src/identity/x509.js';
import type { ConfigMap, KubeObject, Pod } from '../../src/model/core/types.js';
import { TestControlPlane } from './support/control-plane.js';

const TD = 'cluster.local';
const CLIENT_ID = `spiffe://${TD}/ns/demo/sa/client`; // pods on node1
const SERVER_ID = `spiffe://${TD}/ns/demo/sa/server`; // pods on node2 only
const LEAVING_ID = `spiffe://${TD}/ns/demo/sa/leaving`; // a terminating pod on node1
const PY_CLIENT = fileURLToPath(new URL('../../../test/unit/support/istio_ca_client.py', import.meta.url));

let cp: TestControlPlane;
let admin: KubeClient;
let nodeAuth: NodeAuthority;
let node1Token: string;
let grpcClient: grpc.Client;
let roots: string;
let tmp: string;

interface CallResult {
  chain?: string[];
  err?: grpc.ServiceError;
}

function createCertificate(token: string | undefined, req: { csr: string; ttl?: number; identity?: string; clusterIds?: string[] }): Promise<CallResult> {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  for (const c of req.clusterIds ?? []) md.add('clusterid', c);
  const body = { csr: req.csr, validity_duration: req.ttl ?? 3600, ...(req.identity ? { metadata: { fields: { ImpersonatedIdentity: { stringValue: req.identity } } } } : {}) };
  return new Promise((resolve) => {
    grpcClient.makeUnaryRequest<typeof body, IstioCertificateResponse>(
      '/istio.v1.auth.IstioCertificateService/CreateCertificate',
      (m) => Buffer.from(serializeReq(m)),
      (b) => deserializeResp(b),
      body,
      md,
      { deadline: Date.now() + 10_000 },
      (err, res) => resolve(err ? { err } : { chain: res?.cert_chain ?? [] }),
    );
  });
}

const svc = istioCertificateService();
const serializeReq = (m: unknown): Buffer => svc['CreateCertificate']!.requestSerialize(m);
const deserializeResp = (b: Buffer): IstioCertificateResponse => svc['CreateCertificate']!.responseDeserialize(b) as IstioCertificateResponse;

async function csrFor(identity: string): Promise<string> {
  return createCsr(identity, await generateKeyPair());
}

function openssl(args: string[], input?: string): { status: number; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function getMetrics(): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${cp.cp.metricsPort!}/metrics`, (res) => {
      let s = '';
      res.on('data', (c: Buffer) => (s += c.toString()));
      res.on('end', () => resolve(s));
    }).on('error', reject);
  });
}

const metric = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
};

const pod = (name: string, sa: string, nodeName: string): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'demo' },
  spec: { containers: [{ name: 'app', command: ['sleep', 'infinity'] }], serviceAccountName: sa, nodeName },
});

before(async () => {
  cp = await TestControlPlane.start('ambit-ca-server-test-', { ca: { trustDomain: TD, crlValiditySeconds: 4 } });
  admin = cp.client();
  roots = cp.cp.authority!.rootsPem;
  tmp = path.join(cp.root, 'test-files');
  fs.mkdirSync(tmp);
  nodeAuth = NodeAuthority.open(cp.caDir);
  node1Token = nodeAuth.issueNodeToken('node1');
  // Verified by Istio's CA host name, as ztunnel does (CA_ADDRESS istiod.istio-system.svc).
  grpcClient = new grpc.Client(`127.0.0.1:${cp.cp.caPort!}`, grpc.credentials.createSsl(Buffer.from(roots)), { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' });

  await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
  for (const sa of ['client', 'server', 'leaving']) await admin.create(K.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: 'demo' } });
  for (const n of ['node1', 'node2']) await admin.create(K.Node, { apiVersion: 'v1', kind: 'Node', metadata: { name: n }, status: { conditions: [{ type: 'Ready', status: 'True' }] } } as KubeObject);
  // node2's pod and the terminating one first: once node1's client pod is visible to the
  // CA's informer (events arrive in order), so are they.
  await admin.create(K.Pod, pod('server-1', 'server', 'node2'));
  await admin.create(K.Pod, pod('leaving-1', 'leaving', 'node1'));
  await admin.delete(K.Pod, 'demo', 'leaving-1', 30); // bound, no node agent: stays terminating
  await admin.create(K.Pod, pod('client-1', 'client', 'node1'));
  await cp.waitFor('the CA to see client-1 on node1', async () => {
    const r = await createCertificate(node1Token, { csr: await csrFor(CLIENT_ID), identity: CLIENT_ID });
    return r.chain !== undefined;
  });
});

after(async () => {
  grpcClient?.close();
  await cp?.destroy();
});

describe('CA server', () => {
  it('(a) issues a node1 pod identity to node1: leaf + root, verifiable, Istio leaf profile', async () => {
    const r = await createCertificate(node1Token, { csr: await csrFor(CLIENT_ID), identity: CLIENT_ID, ttl: 7200 });
    assert.equal(r.err, undefined, r.err?.details);
    assert.equal(r.chain!.length, 2, 'self-signed CA: leaf, root');
    assert.equal(r.chain![1], roots, 'last element is the root bundle');
    fs.writeFileSync(path.join(tmp, 'leaf.pem'), r.chain![0]!);
    fs.writeFileSync(path.join(tmp, 'root.pem'), r.chain![1]!);
    const v = openssl(['verify', '-CAfile', path.join(tmp, 'root.pem'), path.join(tmp, 'leaf.pem')]);
    assert.equal(v.status, 0, v.out);
    assert.match(v.out, /leaf\.pem: OK/);
    const text = openssl(['x509', '-in', path.join(tmp, 'leaf.pem'), '-noout', '-text']).out;
    assert.match(text, /Subject: *\n/, 'empty subject');
    assert.match(text, /X509v3 Subject Alternative Name: critical\s*\n\s*URI:spiffe:\/\/cluster\.local\/ns\/demo\/sa\/client\s*\n/);
    assert.equal((text.match(/URI:/g) ?? []).length, 1, 'exactly one URI SAN');
    assert.ok(cp.logs.some((l) => l.includes(`issued ${CLIENT_ID} to node node1 serial`)), 'issuance is logged');
  });

  it('(b) refuses an identity that runs only on another node, naming the rule', async () => {
    const r = await createCertificate(node1Token, { csr: await csrFor(SERVER_ID), identity: SERVER_ID });
    assert.equal(r.err?.code, grpc.status.PERMISSION_DENIED);
    assert.match(r.err!.details, /node node1 may not obtain spiffe:\/\/cluster\.local\/ns\/demo\/sa\/server: no pod with service account demo\/server is scheduled on node1/);
    // node2 may.
    const ok = await createCertificate(nodeAuth.issueNodeToken('node2'), { csr: await csrFor(SERVER_ID), identity: SERVER_ID });
    assert.equal(ok.err, undefined, ok.err?.details);
    // A terminating pod no longer counts.
    const gone = await createCertificate(node1Token, { csr: await csrFor(LEAVING_ID), identity: LEAVING_ID });
    assert.equal(gone.err?.code, grpc.status.PERMISSION_DENIED);
    // A node token asks only on behalf of pods.
    const self = await createCertificate(node1Token, { csr: await csrFor(CLIENT_ID) });
    assert.equal(self.err?.code, grpc.status.PERMISSION_DENIED);
    assert.match(self.err!.details, /ImpersonatedIdentity/);
    assert.ok(cp.logs.some((l) => l.includes(`refused ${SERVER_ID} to node node1`) && l.includes('not_on_node')), 'refusal is logged');
  });

  it('(c) refuses missing, garbage, foreign and expired tokens with UNAUTHENTICATED', async () => {
    const csr = await csrFor(CLIENT_ID);
    const other = NodeAuthority.open(path.join(tmp, 'other-ca'));
    const cases: [string | undefined, RegExp][] = [
      [undefined, /no bearer token/],
      ['garbage', /not a JWT/],
      ['a.b.c', /not JSON|ES256|signature/],
      [other.issueNodeToken('node1'), /signature does not verify/],
      [nodeAuth.issueNodeToken('node1', 60, Date.now() - 3600_000), /expired/],
    ];
    for (const [token, msg] of cases) {
      const r = await createCertificate(token, { csr, identity: CLIENT_ID });
      assert.equal(r.err?.code, grpc.status.UNAUTHENTICATED, `token ${String(token).slice(0, 20)}: ${r.err?.details}`);
      assert.match(r.err!.details, msg);
      assert.match(r.err!.details, /^AMBIT_E_CA_UNAUTHENTICATED: /);
    }
  });

  it('(d) bad CSRs, bad identities and TTLs get INVALID_ARGUMENT, and the server keeps answering', async () => {
    const good = await csrFor(CLIENT_ID);
    const lines = good.split('\n');
    const mid = Math.floor(lines.length / 2);
    lines[mid] = lines[mid]!.split('').reverse().join('');
    const corrupted = lines.join('\n');
    const rsa = openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'rsa.key'), '-subj', '/', '-addext', `subjectAltName=URI:${CLIENT_ID}`]);
    assert.match(rsa.out, /BEGIN CERTIFICATE REQUEST/, rsa.out);
    const cases: [string, { csr: string; ttl?: number; identity?: string }, RegExp][] = [
      ['corrupted CSR', { csr: corrupted }, /CSR/],
      ['garbage CSR', { csr: '\u0000\u00ff not pem at all' }, /CSR/],
      ['empty CSR', { csr: '' }, /csr is empty/],
      ['RSA CSR', { csr: rsa.out.slice(rsa.out.indexOf('-----BEGIN')) }, /ECDSA P-256/],
      ['a certificate instead of a CSR', { csr: roots }, /CSR/],
      ['CSR for another identity', { csr: await csrFor(SERVER_ID) }, /asks for spiffe:\/\/cluster\.local\/ns\/demo\/sa\/server/],
      ['TTL > 90d', { csr: good, ttl: 91 * 24 * 3600 }, /max allowed TTL/],
      ['not SPIFFE', { csr: good, identity: 'https://example.com/x' }, /SPIFFE/],
      ['foreign trust domain', { csr: good, identity: 'spiffe://other.td/ns/demo/sa/client' }, /trust domain/],
    ];
    for (const [what, req, msg] of cases) {
      const r = await createCertificate(node1Token, { identity: CLIENT_ID, ...req });
      assert.equal(r.err?.code, grpc.status.INVALID_ARGUMENT, `${what}: ${r.err?.code} ${r.err?.details}`);
      assert.match(r.err!.details, msg, what);
      assert.match(r.err!.details, /^AMBIT_E_CA_BAD_(CSR|TTL|IDENTITY): /, what);
    }
    // Still serving.
    const ok = await createCertificate(node1Token, { csr: good, identity: CLIENT_ID });
    assert.equal(ok.err, undefined, ok.err?.details);
  });

  it('(e) counts requests, issuances and refusals as Prometheus text', async () => {
    const text = await getMetrics();
    assert.match(text, /# TYPE citadel_server_csr_count counter/);
    const issued = metric(text, 'citadel_server_success_cert_issuance_count');
    assert.ok(issued >= 4, `issued ${issued}`);
    assert.ok(metric(text, 'citadel_server_csr_count') >= issued + 15, text);
    assert.equal(metric(text, 'citadel_server_authentication_failure_count'), 5);
    assert.ok(metric(text, 'citadel_server_csr_parsing_err_count') >= 6, text);
    assert.match(text, /ambit_ca_refusals_total\{reason="not_on_node"\} [1-9]/);
    assert.match(text, /ambit_ca_refusals_total\{reason="bad_ttl"\} 1/);
    assert.match(text, /ambit_ca_refusals_total\{reason="unauthenticated"\} 5/);
  });

  it('(f) publishes the root in every namespace and the CRL in istio-system, and keeps them current', async () => {
    for (const ns of ['default', 'istio-system', 'demo']) {
      const cm = await cp.waitFor(`${ns}/${ROOT_CONFIGMAP}`, () => admin.getOrUndefined(K.ConfigMap, ns, ROOT_CONFIGMAP));
      assert.equal((cm as ConfigMap).data?.[ROOT_KEY], roots);
    }
    // A deleted copy is put back.
    await admin.delete(K.ConfigMap, 'demo', ROOT_CONFIGMAP);
    await cp.waitFor('demo root ConfigMap to come back', () => admin.getOrUndefined(K.ConfigMap, 'demo', ROOT_CONFIGMAP));
    // A new namespace gets one.
    await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'late' } });
    await cp.waitFor('late root ConfigMap', () => admin.getOrUndefined(K.ConfigMap, 'late', ROOT_CONFIGMAP));

    const crl1 = ((await admin.get(K.ConfigMap, 'istio-system', CRL_CONFIGMAP)) as ConfigMap).data?.[CRL_KEY] ?? '';
    assert.match(crl1, /-----BEGIN X509 CRL-----/);
    fs.writeFileSync(path.join(tmp, 'crl.pem'), crl1);
    const crlText = openssl(['crl', '-in', path.join(tmp, 'crl.pem'), '-noout', '-text']);
    assert.equal(crlText.status, 0, crlText.out);
    // CRL validity is 4 s in this test: it is re-signed at half of that, before it lapses.
    await cp.waitFor('the CRL to be re-signed', async () => {
      const cur = ((await admin.get(K.ConfigMap, 'istio-system', CRL_CONFIGMAP)) as ConfigMap).data?.[CRL_KEY];
      return cur !== undefined && cur !== crl1;
    }, 6000);
  });

  it('(g) a non-Ambit client (python3-grpcio) gets a certificate for a node1 pod and is refused for a node2 pod', async (t) => {
    const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import grpc, google.protobuf'], { stdio: 'ignore' }).status === 0);
    if (!python) {
      t.skip('SKIPPED: python3-grpcio is not importable; install it with: apt-get install python3-grpcio python3-protobuf');
      console.error('SKIPPED (g): python3-grpcio is not importable; install it with: apt-get install python3-grpcio python3-protobuf');
      return;
    }
    fs.writeFileSync(path.join(tmp, 'roots.pem'), roots);
    type PyResult = { ok: boolean; chain?: string[]; code?: string; details?: string };
    // Asynchronous: the server runs in this process, so a blocking spawnSync would starve it.
    const run = async (identity: string): Promise<PyResult> => {
      const csrFile = path.join(tmp, 'py.csr');
      const g = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(tmp, 'py.key'), '-subj', '/', '-addext', `subjectAltName=URI:${identity}`, '-out', csrFile]);
      assert.equal(g.status, 0, g.out);
      const child = spawn(python, [PY_CLIENT, `127.0.0.1:${cp.cp.caPort!}`, path.join(tmp, 'roots.pem'), node1Token, identity, csrFile], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, err);
      return JSON.parse(out.trim().split('\n').pop()!) as PyResult;
    };
    const ok = await run(CLIENT_ID);
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.equal(ok.chain!.length, 2);
    assert.equal(ok.chain![1], roots);
    fs.writeFileSync(path.join(tmp, 'py-leaf.pem'), ok.chain![0]!);
    assert.equal(openssl(['verify', '-CAfile', path.join(tmp, 'roots.pem'), path.join(tmp, 'py-leaf.pem')]).status, 0);
    const denied = await run(SERVER_ID);
    assert.equal(denied.ok, false);
    assert.equal(denied.code, 'PERMISSION_DENIED');
    assert.match(denied.details ?? '', /no pod with service account demo\/server is scheduled on node1/);
  });

  it('(h) clusterid: the node tunnel\'s CaClient sends CLUSTER_ID (default Kubernetes); another cluster is UNAUTHENTICATED, none or a repeated one is "not sent"', async () => {
    // ztunnel config.rs: ISTIO_META_CLUSTER_ID, else CLUSTER_ID, else "Kubernetes".
    assert.equal(clusterIdFromEnv({}), 'Kubernetes');
    assert.equal(clusterIdFromEnv({ CLUSTER_ID: 'east' }), 'east');
    assert.equal(clusterIdFromEnv({ CLUSTER_ID: 'east', ISTIO_META_CLUSTER_ID: 'west' }), 'west');

    const caClient = (clusterId?: string): CaClient =>
      new CaClient({ address: `127.0.0.1:${cp.cp.caPort!}`, rootsPem: roots, token: () => node1Token, timeoutMs: 5000, ...(clusterId ? { clusterId } : {}) });
    const plain = caClient();
    try {
      const cert = await plain.fetchCertificate(CLIENT_ID, 3600);
      assert.equal(cert.identity, CLIENT_ID);
    } finally {
      plain.close();
    }
    assert.ok(cp.logs.some((l) => l.includes(`issued ${CLIENT_ID} to node node1`) && l.endsWith('clusterid Kubernetes')), 'the default clusterid reached the CA');

    const east = caClient('east');
    try {
      await assert.rejects(east.fetchCertificate(CLIENT_ID, 3600), (e: unknown) => {
        assert.ok(e instanceof CaFetchError);
        assert.equal(e.code, grpc.status.UNAUTHENTICATED);
        assert.match(e.message, /clusterid 'east' is not this CA's cluster 'Kubernetes': set CLUSTER_ID/);
        return true;
      });
    } finally {
      east.close();
    }

    const csr = await csrFor(CLIENT_ID);
    // istiod's ExtractClusterID: several values count as none, i.e. the local cluster.
    for (const clusterIds of [[], ['Kubernetes'], ['east', 'west']]) {
      const r = await createCertificate(node1Token, { csr, identity: CLIENT_ID, clusterIds });
      assert.equal(r.err, undefined, `${JSON.stringify(clusterIds)}: ${r.err?.details}`);
    }
    // The cluster is checked before the token, as istiod picks the token's cluster first.
    const r = await createCertificate('garbage', { csr, identity: CLIENT_ID, clusterIds: ['east'] });
    assert.equal(r.err?.code, grpc.status.UNAUTHENTICATED);
    assert.match(r.err!.details, /clusterid 'east'/);
    const text = await getMetrics();
    assert.match(text, /ambit_ca_refusals_total\{reason="unknown_cluster"\} 2/);
  });
});

describe('CA port: tokens are checked before messages are read', () => {
  /** Announces a 60 MiB message, sends 1 KiB of it and waits for the status: only a refusal made before reading can arrive. */
  async function announceHuge(path: string, token?: string): Promise<{ status: string | undefined; ms: number }> {
    const session = http2.connect(`https://127.0.0.1:${cp.cp.caPort!}`, { ca: roots, servername: 'istiod.istio-system.svc' });
    try {
      const t0 = Date.now();
      const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...(token ? { authorization: `Bearer ${token}` } : {}) });
      const header = Buffer.alloc(5);
      header.writeUInt32BE(60 * 1024 * 1024, 1);
      req.write(Buffer.concat([header, Buffer.alloc(1024)]));
      const status = await new Promise<string | undefined>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer on ${path} within 5 s: the server is waiting for the message body`)), 5000);
        const done = (h: http2.IncomingHttpHeaders): void => {
          if (h['grpc-status'] === undefined) return;
          clearTimeout(timer);
          resolve(String(h['grpc-status']));
        };
        req.on('response', done);
        req.on('trailers', done);
        req.on('error', (e) => (clearTimeout(timer), reject(e)));
      });
      req.close();
      return { status, ms: Date.now() - t0 };
    } finally {
      session.destroy();
    }
  }

  it('an unauthenticated CreateCertificate or xDS stream announcing 60 MiB is refused at once, without its body', async () => {
    for (const [path, token] of [
      ['/istio.v1.auth.IstioCertificateService/CreateCertificate', undefined],
      ['/istio.v1.auth.IstioCertificateService/CreateCertificate', 'not-a-token'],
      ['/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources', undefined],
      ['/ambit.ca.v1.CaAdmin/Status', node1Token],
    ] as const) {
      const r = await announceHuge(path, token);
      assert.equal(r.status, String(grpc.status.UNAUTHENTICATED), `${path} with ${token ?? 'no token'}`);
      assert.ok(r.ms < 2000, `${path}: refused in ${r.ms} ms`);
    }
    assert.ok(cp.logs.some((l) => l.includes('before reading it')), 'the CA logs the early refusal');
  });
});
