// Delta ADS server and node-tunnel client over real gRPC/TLS on loopback (spec §4.1-4.2):
// full sync and readiness, per-resource deltas, per-resource NACKs, reconnect with
// initial_resource_versions, node-token authentication, slow clients dropped, and a client
// that keeps its state while the server is gone.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { MeshSnapshot } from '../../src/mesh-api/types.js';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { NodeAuthority } from '../../src/ca/node-auth.js';
import { MetricsRegistry } from '../../src/lib/metrics.js';
import { XdsClient, type ChangeEvent } from '../../src/dataplane/xds-client.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, DELTA_ADS_PATH } from '../../src/xds/proto.js';
import { XdsServer } from '../../src/control-plane/xds-server.js';
import { decodeDeltaResponse, encodeDeltaRequest, type DeltaRequest, type DeltaResponse } from '../../src/xds/wire.js';
import { sleep } from './support/control-plane.js';
import { allowFrom, service, snapshot, workload } from './support/xds-fixtures.js';

let dir: string;
let authority: CertificateAuthority;
let nodeAuth: NodeAuthority;
let creds: grpc.ServerCredentials;
let token1: string;
const logs: string[] = [];

/** An XdsServer on its own TLS gRPC server; restartable on the same port with a fresh XdsServer (a control-plane restart). */
class Harness {
  xds!: XdsServer;
  grpcServer!: grpc.Server;
  port = 0;
  snap: MeshSnapshot = snapshot({});

  async start(opts: { ackTimeoutMs?: number } = {}): Promise<this> {
    this.xds = new XdsServer({ nodeAuth, metrics: new MetricsRegistry(), log: (m) => logs.push(m), debounceMs: 5, maxDelayMs: 50, ...opts });
    this.grpcServer = new grpc.Server();
    this.xds.register(this.grpcServer);
    this.port = await new Promise<number>((resolve, reject) => this.grpcServer.bindAsync(`127.0.0.1:${this.port}`, creds, (e, p) => (e ? reject(e) : resolve(p))));
    await this.push(this.snap);
    return this;
  }

  /** updateSnapshot and wait until the debounced push has been computed. */
  push(s: MeshSnapshot): Promise<void> {
    this.snap = s;
    const done = new Promise<void>((r) => this.xds.once('pushed', () => r()));
    this.xds.updateSnapshot(s);
    return done;
  }

  /** Resolves when every connected client has ACKed the current generation of both types. */
  synced(): Promise<void> {
    return until('all clients synced', () => {
      const st = this.xds.status();
      return st.length > 0 && st.every((s) => Object.keys(s.types).length === 2 && Object.values(s.types).every((t) => t.acked && t.syncedGen === this.xds.generation));
    });
  }

  stop(): void {
    this.xds.close();
    this.grpcServer.forceShutdown();
  }
}

function client(token = token1, nodeName = 'node1'): XdsClient {
  return new XdsClient({ address: `127.0.0.1:${h.port}`, roots: authority.rootsPem, token, node: { id: `ambit~${nodeName}`, nodeName }, servername: 'istiod.istio-system.svc', backoff: { initialMs: 10, maxMs: 100 } }).start();
}

/** Collects change events until `n` have arrived. */
function changes(c: XdsClient, n: number): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  return new Promise((resolve) => {
    const on = (e: ChangeEvent): void => {
      out.push(e);
      if (out.length >= n) {
        c.off('change', on);
        resolve(out);
      }
    };
    c.on('change', on);
  });
}

async function until(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; server log:\n  ${logs.slice(-10).join('\n  ')}`);
    await sleep(10);
  }
}

const base = (): MeshSnapshot =>
  snapshot({
    workloads: [workload('demo', 'echo-1', '10.0.1.2', 'echo'), workload('demo', 'echo-2', '10.0.2.2', 'echo'), workload('demo', 'client', '10.0.1.3')],
    services: [service('demo', 'echo', '10.96.0.10')],
    authorizations: [allowFrom('demo', 'allow-demo', 'demo')],
  });

let h: Harness;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-xds-'));
  authority = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  nodeAuth = NodeAuthority.open(path.join(dir, 'ca'));
  token1 = nodeAuth.issueNodeToken('node1');
  const tls = await authority.issueServerCert(['istiod.istio-system.svc', 'localhost'], ['127.0.0.1'], 3600);
  creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.certChain), private_key: Buffer.from(tls.key) }], false);
  h = new Harness();
  h.snap = base();
  await h.start();
});

after(() => {
  h.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('xds server and client', () => {
  let c: XdsClient;

  it('a client gets the full snapshot and becomes ready once both types are ACKed', async () => {
    c = client();
    await c.ready;
    assert.deepEqual([...c.state.workloads.keys()].sort(), ['Kubernetes//Pod/demo/client', 'Kubernetes//Pod/demo/echo-1', 'Kubernetes//Pod/demo/echo-2']);
    assert.deepEqual(c.state.workloads.get('Kubernetes//Pod/demo/echo-1'), workload('demo', 'echo-1', '10.0.1.2', 'echo'));
    assert.deepEqual([...c.state.services.keys()], ['demo/echo.demo.svc.cluster.local']);
    assert.deepEqual([...c.state.authorizations.keys()], ['demo/allow-demo']);
    await until('server sees both ACKs', () => h.xds.status()[0]?.types[ADDRESS_TYPE_URL]?.acked === true && h.xds.status()[0]?.types[AUTHORIZATION_TYPE_URL]?.acked === true);
    const st = h.xds.status()[0];
    assert.equal(st?.node, 'node1');
    assert.equal(st?.nodeId, 'ambit~node1');
    assert.equal(h.xds.metrics.connected.get(), 1);
  });

  it('a workload added, a workload removed and a policy changed each arrive as a delta of only that resource', async () => {
    const before = h.xds.metrics.bytes.get({ type: 'Address' });
    let ev = changes(c, 1);
    const added = workload('demo', 'echo-3', '10.0.1.4', 'echo');
    await h.push({ ...h.snap, workloads: [...h.snap.workloads, added] });
    assert.deepEqual(await ev, [{ typeUrl: ADDRESS_TYPE_URL, upserted: [added.uid], removed: [], rejected: [] }]);
    assert.ok(h.xds.metrics.bytes.get({ type: 'Address' }) - before < 600, 'one workload, not the whole snapshot');

    ev = changes(c, 1);
    await h.push({ ...h.snap, workloads: h.snap.workloads.filter((w) => w.name !== 'echo-1') });
    assert.deepEqual(await ev, [{ typeUrl: ADDRESS_TYPE_URL, upserted: [], removed: ['Kubernetes//Pod/demo/echo-1'], rejected: [] }]);
    assert.equal(c.state.workloads.has('Kubernetes//Pod/demo/echo-1'), false);

    ev = changes(c, 1);
    await h.push({ ...h.snap, authorizations: [allowFrom('demo', 'allow-demo', 'other')] });
    assert.deepEqual(await ev, [{ typeUrl: AUTHORIZATION_TYPE_URL, upserted: ['demo/allow-demo'], removed: [], rejected: [] }]);
    assert.deepEqual(c.state.authorizations.get('demo/allow-demo')?.rules[0]?.clauses[0]?.matches[0]?.namespaces, [{ exact: 'other' }]);

    // An identical snapshot (new objects, same content) pushes nothing.
    const pushes = h.xds.metrics.pushes.get({ type: 'Address' }) + h.xds.metrics.pushes.get({ type: 'Authorization' });
    await h.push(structuredClone(h.snap));
    await h.synced();
    assert.equal(h.xds.metrics.pushes.get({ type: 'Address' }) + h.xds.metrics.pushes.get({ type: 'Authorization' }), pushes);
  });

  it('a resource the client rejects is NACKed by name and the rest of the response is applied', async () => {
    const bad = workload('demo', 'broken', '10.0.1.9', undefined, { waypoint: { hboneMtlsPort: 15008 } }); // a waypoint with no destination
    const good = workload('demo', 'echo-4', '10.0.1.5', 'echo');
    const ev = changes(c, 1);
    await h.push({ ...h.snap, workloads: [...h.snap.workloads, bad, good] });
    const [e] = await ev;
    assert.deepEqual(e?.upserted, [good.uid]);
    assert.deepEqual(e?.rejected, [{ name: bad.uid, reason: 'workload.waypoint: a gateway needs a hostname or an address' }]);
    assert.ok(c.state.workloads.has(good.uid));
    assert.equal(c.state.workloads.has(bad.uid), false);
    await until('the server records the NACK', () => h.xds.metrics.nacks.get({ type: 'Address' }) === 1);
    assert.deepEqual(h.xds.status()[0]?.types[ADDRESS_TYPE_URL]?.rejected, { [bad.uid]: 'workload.waypoint: a gateway needs a hostname or an address' });
    assert.ok(logs.some((l) => l.includes('NACKed Address') && l.includes(bad.uid)));

    // Another change does not re-send the rejected version; a fixed version is sent and accepted.
    let next = changes(c, 1);
    await h.push({ ...h.snap, services: [...h.snap.services, service('demo', 'other', '10.96.0.11')] });
    assert.deepEqual((await next)[0]?.upserted, ['demo/other.demo.svc.cluster.local']);
    next = changes(c, 1);
    const fixed = workload('demo', 'broken', '10.0.1.9');
    await h.push({ ...h.snap, workloads: h.snap.workloads.map((w) => (w.uid === bad.uid ? fixed : w)) });
    assert.deepEqual((await next)[0], { typeUrl: ADDRESS_TYPE_URL, upserted: [bad.uid], removed: [], rejected: [] });
    await until('rejection cleared', () => Object.keys(h.xds.status()[0]?.types[ADDRESS_TYPE_URL]?.rejected ?? {}).length === 0);
  });

  it('server gone: the client keeps its state; on reconnect it gets only what changed meanwhile, and removals', async () => {
    const held = c.state.workloads.size;
    const disconnected = new Promise((r) => c.once('disconnected', r));
    h.stop();
    await disconnected;
    await sleep(150); // a few failed reconnects
    assert.equal(c.state.workloads.size, held, 'state kept while the control plane is away');
    assert.equal(c.connected, false);
    // Meanwhile: echo-2 changes, client pod is deleted, echo-5 appears; services and policies unchanged.
    const changed = { ...workload('demo', 'echo-2', '10.0.2.2', 'echo'), status: 'UNHEALTHY' as const };
    const added = workload('demo', 'echo-5', '10.0.2.5', 'echo');
    h.snap = { ...h.snap, workloads: [...h.snap.workloads.filter((w) => w.name !== 'client' && w.name !== 'echo-2'), changed, added] };
    const ev = changes(c, 1);
    await h.start(); // a fresh XdsServer: versions are content hashes, so they match across restarts
    const [e] = await ev;
    assert.deepEqual(e?.upserted.sort(), [added.uid, changed.uid].sort());
    assert.deepEqual(e?.removed, ['Kubernetes//Pod/demo/client']);
    await h.synced();
    // The first response of each type is always sent (readiness, §4.2); for policies it is empty.
    assert.equal(h.xds.metrics.pushes.get({ type: 'Authorization' }), 1);
    assert.ok(h.xds.metrics.bytes.get({ type: 'Authorization' }) < 100, 'unchanged policies are not re-sent');
    assert.equal(c.state.workloads.get(changed.uid)?.status, 'UNHEALTHY');
    assert.deepEqual([...c.state.workloads.keys()].sort(), h.snap.workloads.map((w) => w.uid).sort());
  });

  it('no token or an invalid one is UNAUTHENTICATED; a node claiming another node is PERMISSION_DENIED', async () => {
    const gcStatus = async (tok: string | undefined, nodeName?: string): Promise<grpc.StatusObject> => {
      // The request must be written before the status can arrive for the node check.
      const gc = new grpc.Client(`127.0.0.1:${h.port}`, grpc.credentials.createSsl(Buffer.from(authority.rootsPem)), { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' });
      const md = new grpc.Metadata();
      if (tok) md.set('authorization', `Bearer ${tok}`);
      const call = gc.makeBidiStreamRequest(DELTA_ADS_PATH, (r: Partial<DeltaRequest>) => encodeDeltaRequest(r), decodeDeltaResponse, md);
      call.on('error', () => {});
      call.on('data', () => {});
      const st = new Promise<grpc.StatusObject>((r) => call.on('status', r));
      call.write({ type_url: ADDRESS_TYPE_URL, node: { id: 'x', cluster: '', metadata: { fields: { NODE_NAME: { stringValue: nodeName ?? 'node1' } } } } });
      const out = await st;
      gc.close();
      return out;
    };
    const none = await gcStatus(undefined);
    assert.equal(none.code, grpc.status.UNAUTHENTICATED);
    assert.match(none.details, /no bearer token/);
    const forged = await gcStatus(NodeAuthority.open(path.join(dir, 'other-ca')).issueNodeToken('node1'));
    assert.equal(forged.code, grpc.status.UNAUTHENTICATED);
    assert.equal((await gcStatus('garbage')).code, grpc.status.UNAUTHENTICATED);
    const liar = await gcStatus(token1, 'node2');
    assert.equal(liar.code, grpc.status.PERMISSION_DENIED);
    assert.match(liar.details, /token is for node1 but Node.metadata.NODE_NAME is node2/);
    assert.ok(h.xds.metrics.authnFailures.get() >= 3);
  });

  it('a client that stops ACKing is dropped instead of buffered for', async () => {
    h.stop();
    await h.start({ ackTimeoutMs: 200 });
    const gc = new grpc.Client(`127.0.0.1:${h.port}`, grpc.credentials.createSsl(Buffer.from(authority.rootsPem)), { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token1}`);
    const call = gc.makeBidiStreamRequest(DELTA_ADS_PATH, (r: Partial<DeltaRequest>) => encodeDeltaRequest(r), decodeDeltaResponse, md);
    const got: DeltaResponse[] = [];
    call.on('data', (r: DeltaResponse) => got.push(r));
    call.on('error', () => {});
    const st = new Promise<grpc.StatusObject>((r) => call.on('status', r));
    call.write({ type_url: ADDRESS_TYPE_URL, node: { id: 'silent', cluster: '' } });
    const s = await st;
    gc.close();
    assert.equal(s.code, grpc.status.DEADLINE_EXCEEDED);
    assert.match(s.details, /no ACK for Address/);
    assert.equal(got.length, 1, 'one full response, then nothing queued behind it');
    assert.equal(h.xds.metrics.dropped.get({ reason: 'ack_timeout' }), 1);
    // The well-behaved client reconnected to the new server and is unaffected.
    await until('client resynced', () => c.connected && h.xds.status().some((x) => x.nodeId === 'ambit~node1'));
    c.close();
  });
});
