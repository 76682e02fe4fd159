// Workload credentials end to end on a real control plane: the API server's TokenRequest and
// TokenReview, and the CA issuing a waypoint's certificate for its own service-account token
// only (as istiod does for istio-agent), refusing other identities and bad tokens.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { istioCertificateService, type IstioCertificateResponse } from '../../src/identity/ca-proto.js';
import { ServiceAccountTokens } from '../../src/local/apiserver/service-account-tokens.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { K } from '../../src/local/controllers/kinds.js';
import { createCsr, generateKeyPair } from '../../src/identity/x509.js';
import type { Pod } from '../../src/model/core/types.js';
import { ADMIN_TOKEN, NODE1_TOKEN, NODE2_TOKEN, TestControlPlane } from './support/control-plane.js';

const TD = 'cluster.local';
const WAYPOINT_ID = `spiffe://${TD}/ns/demo/sa/waypoint`;
let cp: TestControlPlane;
let admin: KubeClient;
let grpcClient: grpc.Client;
let podUid: string;

const svc = istioCertificateService();
function createCertificate(token: string, identity?: string): Promise<{ chain?: string[]; err?: grpc.ServiceError }> {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  const body = { csr: '', validity_duration: 3600, ...(identity ? { metadata: { fields: { ImpersonatedIdentity: { stringValue: identity } } } } : {}) };
  return (async () => {
    body.csr = await createCsr(identity ?? WAYPOINT_ID, await generateKeyPair());
    return new Promise((resolve) => {
      grpcClient.makeUnaryRequest<typeof body, IstioCertificateResponse>(
        '/istio.v1.auth.IstioCertificateService/CreateCertificate',
        (m) => Buffer.from(svc['CreateCertificate']!.requestSerialize(m)),
        (b) => svc['CreateCertificate']!.responseDeserialize(b) as IstioCertificateResponse,
        body,
        md,
        { deadline: Date.now() + 10_000 },
        (err, res) => resolve(err ? { err } : { chain: res?.cert_chain ?? [] }),
      );
    });
  })();
}

async function requestToken(token: string, body: object): Promise<{ status: number; json: { status?: { token?: string }; message?: string } }> {
  const r = await cp.raw('POST', '/api/v1/namespaces/demo/serviceaccounts/waypoint/token', { token, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', ...body } });
  return { status: r.status, json: r.json as { status?: { token?: string }; message?: string } };
}

const bound = (): object => ({ spec: { audiences: ['istio-ca'], expirationSeconds: 43200, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'waypoint-1', uid: podUid } } });

before(async () => {
  cp = await TestControlPlane.start('ambit-sa-tokens-test-', { ca: { trustDomain: TD } });
  admin = cp.client();
  grpcClient = new grpc.Client(`127.0.0.1:${cp.cp.caPort!}`, grpc.credentials.createSsl(Buffer.from(cp.cp.authority!.rootsPem)), { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' });
  await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
  for (const sa of ['waypoint', 'other']) await admin.create(K.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: 'demo' } });
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'waypoint-1', namespace: 'demo' }, spec: { containers: [{ name: 'istio-proxy', command: ['sleep', 'infinity'] }], serviceAccountName: 'waypoint', nodeName: 'node1' } };
  podUid = (await admin.create(K.Pod, pod)).metadata.uid!;
});

after(async () => {
  grpcClient?.close();
  await cp?.destroy();
});

describe('TokenRequest and TokenReview', () => {
  it('issues a pod-bound token to the pod\'s node with Kubernetes claims', async () => {
    const r = await requestToken(NODE1_TOKEN, bound());
    assert.equal(r.status, 201, r.json.message);
    const claims = JSON.parse(Buffer.from(r.json.status!.token!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims['sub'], 'system:serviceaccount:demo:waypoint');
    assert.deepEqual(claims['aud'], ['istio-ca']);
    assert.equal((claims['exp'] as number) - (claims['iat'] as number), 43200);
    const k = claims['kubernetes.io'] as { namespace: string; serviceaccount: { name: string; uid: string }; pod: { name: string; uid: string } };
    assert.equal(k.namespace, 'demo');
    assert.equal(k.serviceaccount.name, 'waypoint');
    assert.ok(k.serviceaccount.uid);
    assert.deepEqual(k.pod, { name: 'waypoint-1', uid: podUid });
  });

  it('refuses another node, an unbound node request, and a pod of another service account', async () => {
    const other = await requestToken(NODE2_TOKEN, bound());
    assert.equal(other.status, 403);
    assert.match(other.json.message!, /only request tokens bound to pods on its node/);
    assert.equal((await requestToken(NODE1_TOKEN, { spec: { audiences: ['istio-ca'] } })).status, 403);
    const wrongSa = await cp.raw('POST', '/api/v1/namespaces/demo/serviceaccounts/other/token', { token: ADMIN_TOKEN, body: bound() });
    assert.equal(wrongSa.status, 400);
  });

  it('reviews: the user and pod claims for a good token; unauthenticated for a wrong audience; reviews are the control plane\'s', async () => {
    const token = (await requestToken(NODE1_TOKEN, bound())).json.status!.token!;
    const ok = await cp.raw('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { token: ADMIN_TOKEN, body: { spec: { token, audiences: ['istio-ca'] } } });
    assert.equal(ok.status, 201);
    const st = (ok.json as { status: { authenticated: boolean; audiences: string[]; user: { username: string; extra: Record<string, string[]> } } }).status;
    assert.equal(st.authenticated, true);
    assert.equal(st.user.username, 'system:serviceaccount:demo:waypoint');
    assert.deepEqual(st.user.extra['authentication.kubernetes.io/pod-name'], ['waypoint-1']);
    assert.deepEqual(st.audiences, ['istio-ca']);
    const aud = await cp.raw('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { token: ADMIN_TOKEN, body: { spec: { token, audiences: ['something-else'] } } });
    assert.equal((aud.json as { status: { authenticated: boolean } }).status.authenticated, false);
    const byNode = await cp.raw('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { token: NODE1_TOKEN, body: { spec: { token } } });
    assert.equal(byNode.status, 403);
  });
});

describe('CA with service-account tokens', () => {
  it('issues the token\'s own identity, with or without ImpersonatedIdentity naming it', async () => {
    const token = (await requestToken(NODE1_TOKEN, bound())).json.status!.token!;
    for (const identity of [undefined, WAYPOINT_ID]) {
      const r = await createCertificate(token, identity);
      assert.ok(r.chain, r.err?.details);
      assert.equal(new X509Certificate(r.chain![0]!).subjectAltName, `URI:${WAYPOINT_ID}`);
    }
    assert.ok(cp.logs.some((l) => l.includes(`issued ${WAYPOINT_ID} to workload demo/waypoint (pod waypoint-1)`)));
  });

  it('refuses another identity with PERMISSION_DENIED naming the rule', async () => {
    const token = (await requestToken(NODE1_TOKEN, bound())).json.status!.token!;
    const r = await createCertificate(token, `spiffe://${TD}/ns/demo/sa/other`);
    assert.equal(r.err?.code, grpc.status.PERMISSION_DENIED);
    assert.match(r.err!.details, /a service-account token only gets its own identity spiffe:\/\/cluster.local\/ns\/demo\/sa\/waypoint/);
  });

  it('refuses a wrong-audience, an expired and a foreign token as UNAUTHENTICATED', async () => {
    const wrongAud = (await requestToken(NODE1_TOKEN, { spec: { ...(bound() as { spec: object }).spec, audiences: ['not-istio'] } })).json.status!.token!;
    const r1 = await createCertificate(wrongAud);
    assert.equal(r1.err?.code, grpc.status.UNAUTHENTICATED);
    assert.match(r1.err!.details, /audiences/);
    // Signed with the API server's own key, but a day old.
    const sa = await admin.get(K.ServiceAccount, 'demo', 'waypoint');
    const signer = ServiceAccountTokens.open(path.join(cp.root, 'data'));
    const expired = signer.issue({ namespace: 'demo', name: 'waypoint', uid: sa.metadata.uid! }, ['istio-ca'], 3600, { name: 'waypoint-1', uid: podUid }, Date.now() - 86_400_000).token;
    const r2 = await createCertificate(expired);
    assert.equal(r2.err?.code, grpc.status.UNAUTHENTICATED);
    assert.match(r2.err!.details, /expired/);
    const foreign = new ServiceAccountTokens((await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).issue({ namespace: 'demo', name: 'waypoint', uid: sa.metadata.uid! }, ['istio-ca'], 3600, undefined).token;
    const r3 = await createCertificate(foreign);
    assert.equal(r3.err?.code, grpc.status.UNAUTHENTICATED);
  });

  it('a token stops working once its pod is gone', async () => {
    const token = (await requestToken(NODE1_TOKEN, bound())).json.status!.token!;
    await admin.delete(K.Pod, 'demo', 'waypoint-1', 0);
    const r = await createCertificate(token);
    assert.equal(r.err?.code, grpc.status.UNAUTHENTICATED);
    assert.match(r.err!.details, /no longer exists/);
  });
});
