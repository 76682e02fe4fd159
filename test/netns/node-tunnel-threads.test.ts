// The multi-core node tunnel: two data-plane threads (WorkerTunnel), each with its own
// SO_REUSEPORT listeners in both pod netns. Real curls from pod A to B go through HBONE; the
// kernel spreads them over both threads; records, policy and drain work across threads.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { emptyMatch, type Authorization, type MeshSnapshot, type Workload } from '../../src/mesh-api/types.js';
import { CertificateAuthority } from '../../src/ca/authority.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';
import { issueCert } from '../unit/support/hbone-certs.js';
import type { ConnectionClosed } from '../../src/dataplane/connections.js';
import { WorkerTunnel } from '../../src/node-tunnel/workers.js';
import { applyCaptureRules } from '../../src/platform/capture-rules.js';
import { hasTool, isRoot, run, runAsync } from '../../src/platform/exec.js';
import { listenInNetns } from '../../src/platform/sockets.js';
import { workload } from '../unit/support/xds-fixtures.js';
import { createVethPair } from './support/veth-pair.js';

const missing = ['ip', 'nft', 'curl'].filter((t) => !hasTool(t));
const skip = !isRoot() ? 'needs root: creates network namespaces' : missing.length > 0 ? `needs ${missing.join(', ')} installed` : false;

const id = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
const A = `ambitmt-${id}-a`;
const B = `ambitmt-${id}-b`;
const IP_A = '10.77.0.1';
const IP_B = '10.77.0.2';
const CLIENT_ID = 'spiffe://cluster.local/ns/a/sa/client';

const wl = (name: string, ns: string, sa: string, ip: string): Workload =>
  workload(ns, name, ip, undefined, { uid: `c//Pod/${ns}/${name}`, trustDomain: 'cluster.local', serviceAccount: sa, clusterId: 'c' });
const snapshot: MeshSnapshot = { workloads: [wl('client', 'a', 'client', IP_A), wl('server', 'b', 'server', IP_B)], services: [], authorizations: [] };
const deny: Authorization = {
  name: 'deny-client',
  namespace: 'b',
  scope: 'NAMESPACE',
  action: 'DENY',
  dryRun: false,
  rules: [{ clauses: [{ matches: [{ ...emptyMatch(), principals: [{ exact: 'cluster.local/ns/a/sa/client' }] }] }] }],
};

describe('multi-core node tunnel (2 threads, SO_REUSEPORT)', { skip, timeout: 60_000 }, () => {
  let dir: string;
  let tunnel: WorkerTunnel;
  let app: net.Server;
  const closed: ConnectionClosed[] = [];
  let certRequests = 0;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-mt-'));
    const ca = await CertificateAuthority.open(dir, { trustDomain: 'cluster.local' });
    const certs = new Map<string, WorkloadCertificate>();
    for (const sid of [CLIENT_ID, 'spiffe://cluster.local/ns/b/sa/server']) certs.set(sid, await issueCert(ca, sid));
    createVethPair({ netns: A, ip: IP_A }, { netns: B, ip: IP_B });
    app = listenInNetns(`/run/netns/${B}`, { host: '0.0.0.0', port: 8080 });
    app.on('connection', (c) => (c.on('error', () => {}), c.once('data', () => c.end('HTTP/1.0 200 OK\r\n\r\nok\n'))));
    tunnel = new WorkerTunnel({
      threads: 2,
      snapshot,
      certificateFor: (sid) => (certRequests++, certs.get(sid) ?? Promise.reject(new Error(`no cert for ${sid}`))),
    });
    tunnel.on('connectionClosed', (c) => closed.push(c));
    // The node agent's job in a cluster: capture rules first, then the tunnel.
    for (const [netns, ip, ns, sa] of [[A, IP_A, 'a', 'client'], [B, IP_B, 'b', 'server']] as const) {
      await applyCaptureRules(netns);
      await tunnel.enroll({ uid: ip, netns, ip, namespace: ns, serviceAccount: sa });
    }
  });

  after(async () => {
    await tunnel?.close();
    app?.close();
    run(['ip', 'netns', 'del', A], { allowFail: true });
    run(['ip', 'netns', 'del', B], { allowFail: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('both threads serve: 40 curls through HBONE all succeed and the kernel spreads them', async () => {
    assert.deepEqual(tunnel.enrolled().sort(), [IP_A, IP_B]);
    for (let i = 0; i < 40; i++) {
      assert.equal(await runAsync(['ip', 'netns', 'exec', A, 'curl', '-sS', '--max-time', '5', `http://${IP_B}:8080/`]), 'ok\n');
    }
    const stats = tunnel.threadStats();
    assert.equal(stats.length, 2);
    assert.ok(stats.every((n) => n > 0), `connections per thread: ${stats.join(', ')}`);
    for (let i = 0; i < 50 && closed.length < 80; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(closed.filter((c) => c.direction === 'inbound' && c.flag === '-' && c.src.identity === CLIENT_ID).length, 40);
    assert.ok(certRequests <= 8, `threads cache certificates (${certRequests} requests for 80 connection ends)`);
  });

  it('a policy pushed to the main thread reaches every thread', async () => {
    tunnel.setSnapshot({ ...snapshot, authorizations: [deny] });
    for (let i = 0; i < 6; i++) await assert.rejects(runAsync(['ip', 'netns', 'exec', A, 'curl', '-sS', '--max-time', '3', `http://${IP_B}:8080/`]));
    tunnel.setSnapshot(snapshot);
  });

  it('drain stops every thread’s listeners; captured traffic is then refused, not leaked', async () => {
    const r = await tunnel.drain(500);
    assert.equal(r.forced, 0);
    assert.deepEqual(tunnel.enrolled(), []);
    await assert.rejects(runAsync(['ip', 'netns', 'exec', A, 'curl', '-sS', '--max-time', '3', `http://${IP_B}:8080/`]));
  });
});
