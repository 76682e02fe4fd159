// Authorization benchmark (not a test): inbound decisions per second with 1, 100 and 1000
// policies, before (the full scan: every policy of the snapshot per connection, as inbound did)
// and after (the per-snapshot PolicyIndex), measured in the same run and interleaved; then new
// inbound HBONE tunnels per second through a real HboneServer on loopback (mTLS, one pooled
// connection, a CONNECT + 1-byte echo per tunnel) with each decision path.
// Run: npm run bench:authz   (node dist/bench/authz-index.js [--seconds 1] [--tunnel-seconds 3])
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CertificateAuthority } from '../src/ca/authority.js';
import { evaluate } from '../src/authz/evaluate.js';
import { emptyMatch, type Authorization, type MeshSnapshot, type Workload } from '../src/mesh-api/types.js';
import { authorizeConnection, type InboundDecision } from '../src/dataplane/inbound-authz.js';
import { MeshState } from '../src/dataplane/mesh-state.js';
import { peerIdentityOf } from '../src/dataplane/state/identity.js';
import { HbonePool } from '../src/dataplane/hbone/pool.js';
import { HboneServer } from '../src/dataplane/hbone/server.js';
import { issueCert } from '../test/unit/support/hbone-certs.js';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, 'tunnel-seconds': { type: 'string' }, concurrency: { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 1);
const TUNNEL_SECONDS = Number(values['tunnel-seconds'] ?? 3);
const CONCURRENCY = Number(values.concurrency ?? 32);
const SIZES = [1, 100, 1000];
const NAMESPACES = 50;

const CLIENT_ID = 'spiffe://cluster.local/ns/ns-1/sa/client';
const SERVER_ID = 'spiffe://cluster.local/ns/ns-7/sa/server';

/**
 * n policies spread as in a cluster: 2% GLOBAL, 38% NAMESPACE, 60% WORKLOAD_SELECTOR, over 50
 * namespaces; every rule matches on principal and port, so none short-circuits. The
 * destination lists two selector keys; ALLOW policies exist, so the decision scans them.
 */
function policies(n: number): Authorization[] {
  const out: Authorization[] = [];
  for (let i = 0; i < n; i++) {
    const r = i % 50;
    const scope = r === 0 ? 'GLOBAL' : r < 20 ? 'NAMESPACE' : 'WORKLOAD_SELECTOR';
    const match = { ...emptyMatch(), principals: [{ exact: `cluster.local/ns/ns-${i % NAMESPACES}/sa/sa-${i}` }], destinationPorts: [8000 + (i % 10)] };
    out.push({ name: `p-${i}`, namespace: `ns-${(i * 7) % NAMESPACES}`, scope, action: i % 7 === 0 ? 'DENY' : 'ALLOW', dryRun: false, rules: [{ clauses: [{ matches: [match] }] }] });
  }
  // One ALLOW for the benchmark's client, selected by the destination, so connections pass.
  out.push({ name: 'allow-client', namespace: 'ns-7', scope: 'WORKLOAD_SELECTOR', action: 'ALLOW', dryRun: false, rules: [{ clauses: [{ matches: [{ ...emptyMatch(), principals: [{ exact: 'cluster.local/ns/ns-1/sa/client' }] }] }] }] });
  return out;
}

/** In ns-7: 2% of the policies are GLOBAL, ~2% NAMESPACE ones of ns-7; it selects allow-client (and lists one unknown key). */
function destination(): Workload {
  return {
    uid: 'Kubernetes//Pod/ns-7/server', name: 'server', namespace: 'ns-7', addresses: ['127.0.0.1'], network: '', tunnelProtocol: 'HBONE', trustDomain: 'cluster.local',
    serviceAccount: 'server', node: 'n', status: 'HEALTHY', services: {}, authorizationPolicies: ['ns-7/allow-client', 'ns-7/gone'], nativeTunnel: false,
    clusterId: 'Kubernetes', workloadName: 'server', canonicalName: 'server', canonicalRevision: 'latest', workloadType: 'POD',
  };
}

type Decide = (state: MeshState, dest: Workload, c: { srcIp: string; dstIp: string; dstPort: number; peerIdentity: string }) => InboundDecision;

/** What inbound did before: parse the peer, then evaluate every policy of the snapshot. */
const fullScan: Decide = (state, dest, c) => {
  const identity = peerIdentityOf(c.peerIdentity);
  const d = evaluate(state.snapshot.authorizations, dest, { srcIp: c.srcIp, dstIp: c.dstIp, dstPort: c.dstPort, ...(identity ? { identity } : {}) });
  return { allowed: d.allowed, reason: d.policy ? `${d.reason} (${d.policy})` : d.reason };
};
const indexed: Decide = (state, dest, c) => authorizeConnection(state, dest, c);

function rate(decide: Decide, state: MeshState, dest: Workload, seconds: number): number {
  const c = { srcIp: '10.0.2.5', dstIp: '127.0.0.1', dstPort: 8080, peerIdentity: CLIENT_ID };
  let n = 0;
  let allowed = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 200; i++) if (decide(state, dest, c).allowed) allowed++;
    n += 200;
  }
  if (allowed !== n) throw new Error(`expected every decision to allow (${allowed}/${n})`);
  return n / seconds;
}

async function tunnels(decide: Decide, state: MeshState, dest: Workload, seconds: number, certs: { client: Awaited<ReturnType<typeof issueCert>>; server: Awaited<ReturnType<typeof issueCert>> }, echoPort: number): Promise<number> {
  const server = new HboneServer({
    certificate: certs.server,
    authorize: (req) => decide(state, dest, { srcIp: req.srcAddr, dstIp: req.dstAddr, dstPort: req.dstPort, peerIdentity: req.peerIdentity }),
    connectUpstream: () =>
      new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: echoPort });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
  });
  const addr = await server.listen(0);
  const pool = new HbonePool();
  const dial = { dst: `127.0.0.1:${echoPort}`, nextHop: `127.0.0.1:${addr.port}`, certificate: certs.client, expectedIdentities: [SERVER_ID] };
  const one = async (): Promise<void> => {
    const s = await pool.connect(dial);
    await new Promise<void>((resolve, reject) => {
      s.once('data', () => (s.close(), resolve()));
      s.once('error', reject);
      s.write('x');
    });
  };
  await one(); // warm: TLS session up
  let n = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await one();
        n++;
      }
    }),
  );
  pool.close();
  await server.close(100);
  return n / seconds;
}

async function main(): Promise<void> {
  const dest = destination();
  const results: Record<string, unknown>[] = [];
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  console.log(`inbound decisions/s (one core, ${SECONDS}s per cell, interleaved)`);
  console.log('policies   full scan      index    speed-up');
  for (const size of SIZES) {
    const snapshot: MeshSnapshot = { workloads: [dest], services: [], authorizations: policies(size) };
    const state = new MeshState(snapshot);
    rate(fullScan, state, dest, 0.2); // warm-up (JIT)
    rate(indexed, state, dest, 0.2);
    const before = (rate(fullScan, state, dest, SECONDS / 2) + rate(fullScan, state, dest, SECONDS / 2)) / 2;
    const after = (rate(indexed, state, dest, SECONDS / 2) + rate(indexed, state, dest, SECONDS / 2)) / 2;
    console.log(`${String(size).padStart(8)} ${fmt(before).padStart(10)} ${fmt(after).padStart(10)} ${(after / before).toFixed(1).padStart(10)}x`);
    results.push({ measure: 'decisions_per_s', policies: size, fullScan: Math.round(before), index: Math.round(after) });
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-bench-authz-'));
  const echo = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  try {
    const ca = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
    const certs = { client: await issueCert(ca, CLIENT_ID), server: await issueCert(ca, SERVER_ID) };
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as net.AddressInfo).port;
    console.log(`\nnew inbound HBONE tunnels/s (real HboneServer on loopback, ${CONCURRENCY} concurrent, ${TUNNEL_SECONDS}s per cell)`);
    console.log('policies   full scan      index');
    for (const size of SIZES) {
      const state = new MeshState({ workloads: [dest], services: [], authorizations: policies(size) });
      const before = await tunnels(fullScan, state, dest, TUNNEL_SECONDS, certs, echoPort);
      const after = await tunnels(indexed, state, dest, TUNNEL_SECONDS, certs, echoPort);
      console.log(`${String(size).padStart(8)} ${fmt(before).padStart(10)} ${fmt(after).padStart(10)}`);
      results.push({ measure: 'hbone_tunnels_per_s', policies: size, fullScan: Math.round(before), index: Math.round(after) });
    }
  } finally {
    echo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ bench: 'authz-index', node: process.version, cpus: os.cpus().length, results }));
}

await main();
