// The node tunnel's operations surface on loopback (spec §1, §8.3): stats, readiness and admin
// servers over a fake daemon (real certificates, real HBONE handshakes for the histogram), the
// /config_dump document without key material, /logging, and the `tunnel-config` printers.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { parseKind, renderTunnelConfig, jsonFor, age, bytes } from '../../src/cli/tunnel-config-print.js';
import { HbonePool } from '../../src/dataplane/hbone/pool.js';
import { HboneServer } from '../../src/dataplane/hbone/server.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';
import type { CertSnapshot } from '../../src/identity/cert-manager.js';
import { getLogLevel, setLogLevel } from '../../src/lib/log.js';
import { configDump, renderConfigDump, type ConfigDump } from '../../src/dataplane/admin/config-dump.js';
import type { ConnectionClosed, ConnectionRecord } from '../../src/dataplane/connections.js';
import { startTunnelOperations, type TunnelOperations } from '../../src/node-tunnel/operations.js';
import { MeshState } from '../../src/dataplane/mesh-state.js';
import { issueCert } from './support/hbone-certs.js';
import { allowFrom, service, snapshot, workload } from './support/xds-fixtures.js';

const CLIENT = 'spiffe://cluster.local/ns/demo/sa/client';
const ECHO = 'spiffe://cluster.local/ns/demo/sa/echo';

let dir: string;
let clientCert: WorkloadCertificate;
let echoCert: WorkloadCertificate;
let ops: TunnelOperations;
const access: string[] = [];

const mesh = snapshot({
  workloads: [
    workload('demo', 'client-7d9f-abcde', '10.0.1.2', undefined, { serviceAccount: 'client', canonicalName: 'client', workloadName: 'client' }),
    workload('demo', 'echo-5c6b-xyz', '10.0.2.5', 'echo', { serviceAccount: 'echo', node: 'node2', workloadName: 'echo' }),
  ],
  services: [service('demo', 'echo', '10.96.0.10')],
  authorizations: [allowFrom('demo', 'allow-demo', 'demo')],
});

/** What operations reads of the daemon, as plain fakes. */
const fake = {
  tunnel: Object.assign(new EventEmitter(), {
    state: new MeshState(mesh),
    pods: () => [{ uid: 'u1', ip: '10.0.1.2', netns: 'ns1', identity: CLIENT }],
    open: [] as ConnectionRecord[],
    connections(): ConnectionRecord[] {
      return this.open;
    },
  }),
  xds: Object.assign(new EventEmitter(), {
    ready: Promise.resolve(),
    connected: true,
    stats: { connects: 1, responses: 2, acks: 2, nacks: 0 },
    messagesByType: new Map([['type.googleapis.com/istio.workload.Address', 2]]),
  }),
  certs: Object.assign(new EventEmitter(), { list: [] as CertSnapshot[], snapshot(): CertSnapshot[] { return this.list; } }),
  zds: { synced: false },
};

const snap = (c: WorkloadCertificate): CertSnapshot => ({ identity: c.identity, state: 'Available', serial: c.serial, notBefore: c.notBefore, notAfter: c.notAfter, chainPem: c.chainPem, rootsPem: c.rootsPem, attempts: 0, inFlight: false });

let base = '';
const url = (port: number, p: string): string => `http://127.0.0.1:${port}${p}`;
const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
let quits = 0;
/** fetch on the admin port with the admin credential. */
const admin = (p: string, init: RequestInit = {}): Promise<Response> => fetch(url(Number(base), p), { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-tunnel-admin-'));
  const ca = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  clientCert = await issueCert(ca, CLIENT);
  echoCert = await issueCert(ca, ECHO);
  ops = startTunnelOperations(fake as unknown as Parameters<typeof startTunnelOperations>[0], {
    node: 'node1',
    ports: { admin: 0, stats: 0, readiness: 0 },
    trustDomain: 'cluster.local',
    log: () => {},
    accessLog: (l) => access.push(l),
    quit: () => void quits++,
    adminToken: () => ADMIN_TOKEN,
  });
  const p = await ops.listening;
  base = String(p.admin);
});

after(async () => {
  await ops.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const record = (id: string, over: Partial<ConnectionRecord> = {}): ConnectionRecord => ({
  id,
  direction: 'inbound',
  pod: '10.0.2.5',
  src: { addr: '10.0.1.2:40000', identity: CLIENT, workload: 'client', namespace: 'demo', canonicalService: 'client', canonicalRevision: 'latest', cluster: 'Kubernetes' },
  dst: { addr: '10.0.2.5:8080', hboneAddr: '10.0.2.5:8080', identity: ECHO, workload: 'echo', namespace: 'demo', canonicalService: 'echo', canonicalRevision: 'latest', cluster: 'Kubernetes' },
  security: 'mutual_tls',
  startedAt: Date.now() - 65_000,
  ...over,
});

test('readiness: 500 naming what is pending, 200 `ready` once enrollment and certificates are there', async () => {
  const port = ops.ports().readiness;
  let r = await fetch(url(port, '/healthz/ready'));
  assert.equal(r.status, 500);
  assert.match(await r.text(), /^not ready, pending: enrollment \(node agent snapshot\), certificates \(spiffe:\/\/cluster\.local\/ns\/demo\/sa\/client\)\n$/);
  fake.zds.synced = true;
  fake.certs.list = [snap(clientCert)];
  r = await fetch(url(port, '/healthz/ready'));
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'ready\n');
  assert.equal((await fetch(url(port, '/other'))).status, 404);
});

test('metrics and access log from connection events; both metric paths; one access line per connection', async () => {
  const open = record('a');
  fake.tunnel.emit('connectionOpened', open);
  const closed: ConnectionClosed = { ...open, bytesSent: 10, bytesRecv: 20, durationMs: 5, flag: '-' };
  fake.tunnel.emit('connectionClosed', closed);
  const deny: ConnectionClosed = { ...record('b'), bytesSent: 0, bytesRecv: 0, durationMs: 0, flag: 'DENY', error: 'HTTP 401: deny-client' };
  fake.tunnel.emit('connectionClosed', deny);
  fake.certs.emit('updated', clientCert);
  const dry = { pod: '10.0.2.5', src: '10.0.1.2', dstPort: 8080, action: 'DENY', message: 'dry-run: deny policy match', enforced: { allowed: true, reason: 'no allow policies' } };
  fake.tunnel.emit('dryRun', { ...dry, policy: 'demo/dry-deny', decision: 'deny' });
  fake.tunnel.emit('dryRun', { ...dry, policy: 'demo/dry-deny', decision: 'deny' });
  fake.tunnel.emit('dryRun', { ...dry, policy: 'demo/dry-allow', action: 'ALLOW', decision: 'allow', message: 'dry-run: allow policy match' });
  fake.xds.emit('connected');
  fake.xds.emit('disconnected', { code: 14, details: 'gone' });
  const port = ops.ports().stats;
  for (const p of ['/metrics', '/stats/prometheus']) {
    const r = await fetch(url(port, p));
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
    const text = await r.text();
    assert.match(text, /istio_tcp_connections_opened_total\{[^}]*destination_principal="spiffe:\/\/cluster\.local\/ns\/demo\/sa\/echo"[^}]*reporter="destination"[^}]*source_principal="spiffe:\/\/cluster\.local\/ns\/demo\/sa\/client"[^}]*\} 2/);
    assert.match(text, /istio_tcp_connections_failed_total\{[^}]*response_flags="DENY"[^}]*\} 1/);
    assert.match(text, /istio_tcp_received_bytes_total\{[^}]*response_flags="-"[^}]*\} 10/);
    assert.match(text, /^istio_active_proxy_count 1$/m);
    assert.match(text, /^istio_xds_message_total\{url="type\.googleapis\.com\/istio\.workload\.Address"\} 2$/m);
    assert.match(text, /^istio_xds_connection_terminations_total\{reason="Error"\} 1$/m);
    assert.match(text, /^ambit_certificates_issued_total 1$/m);
    assert.match(text, /^ambit_authz_dry_run_total\{decision="deny",policy="demo\/dry-deny"\} 2$/m);
    assert.match(text, /^ambit_authz_dry_run_total\{decision="allow",policy="demo\/dry-allow"\} 1$/m);
    assert.match(text, /^ambit_certificate_expiration_timestamp_seconds\{identity="spiffe:\/\/cluster\.local\/ns\/demo\/sa\/client"\} \d+$/m);
  }
  assert.equal(access.length, 2, 'one line per connection, the early deny included');
  const [done, failed] = access.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(done!['message'], 'connection complete');
  assert.equal(done!['src.workload'], 'client-7d9f-abcde', 'pod names from the mesh state');
  assert.equal(done!['dst.workload'], 'echo-5c6b-xyz');
  assert.equal(failed!['message'], 'connection failed');
  assert.equal(failed!['response_flags'], 'DENY');
});

test('handshake histogram: real HBONE handshakes are timed on both sides', async () => {
  const upstream = net.createServer((s) => s.end());
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const server = new HboneServer({
    certificate: echoCert,
    authorize: () => ({ allowed: true }),
    connectUpstream: () => new Promise((resolve, reject) => { const s = net.connect((upstream.address() as net.AddressInfo).port, '127.0.0.1'); s.once('connect', () => resolve(s)); s.once('error', reject); }),
  });
  const hop = `127.0.0.1:${(await server.listen(0)).port}`;
  const pool = new HbonePool();
  try {
    const s = await pool.connect({ dst: `127.0.0.1:${(upstream.address() as net.AddressInfo).port}`, nextHop: hop, certificate: clientCert, expectedIdentities: [ECHO] });
    s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const h = ops.metrics.handshakes;
    assert.equal(h.get({ side: 'client', result: 'ok' })?.count, 1);
    assert.equal(h.get({ side: 'server', result: 'ok' })?.count, 1);
    assert.ok(h.get({ side: 'client', result: 'ok' })!.sum > 0);
    const text = await (await fetch(url(ops.ports().stats, '/metrics'))).text();
    assert.match(text, /^ambit_tls_handshake_duration_seconds_count\{result="ok",side="server"\} 1$/m);
  } finally {
    pool.close();
    await server.close(100);
    upstream.close();
  }
});

test('admin: /config_dump has config, certificates (public parts only), pods, connections; never a key', async () => {
  fake.tunnel.open = [record('live')];
  fake.certs.list = [snap(clientCert), { identity: ECHO, state: 'Initializing', attempts: 1, lastError: 'CA down', inFlight: true }];
  const r = await admin('/config_dump');
  assert.equal(r.status, 200);
  const body = await r.text();
  assert.doesNotMatch(body, /PRIVATE KEY/);
  assert.ok(!body.includes(clientCert.keyPem.split('\n')[1]!), 'no key bytes');
  const d = JSON.parse(body) as ConfigDump;
  assert.equal(d.node, 'node1');
  assert.deepEqual(d.config.ports, ops.ports());
  assert.equal(d.workloads.length, 2);
  assert.equal(d.services[0]!.name, 'echo');
  assert.equal(d.policies[0]!.name, 'allow-demo');
  assert.equal(d.enrolledPods[0]!.identity, CLIENT);
  assert.equal(d.connections[0]!.id, 'live');
  assert.ok(d.connections[0]!.ageMs >= 65_000);
  const c = d.certificates.find((x) => x.identity === CLIENT)!;
  assert.equal(c.state, 'Available');
  assert.equal(c.serialNumber, clientCert.serial);
  assert.equal(c.certChain.length, 1);
  assert.match(c.certChain[0]!.pem, /BEGIN CERTIFICATE/);
  assert.equal(c.certChain[0]!.serialNumber, clientCert.serial);
  assert.equal(c.rootCerts.length, 1);
  assert.ok(c.expirationTime && c.validFrom);
  assert.equal(d.certificates.find((x) => x.identity === ECHO)!.lastError, 'CA down');
  assert.throws(() => renderConfigDump({ ...d, node: '-----BEGIN PRIVATE KEY-----' }), /key material/);
});

test('admin: /logging shows and changes the level at runtime; bad levels are 400', async () => {
  const before = getLogLevel();
  try {
    let r = await admin('/logging');
    assert.deepEqual(((await r.json()) as { level: string }).level, before);
    r = await admin('/logging?level=debug', { method: 'POST' });
    assert.equal(r.status, 200);
    assert.equal(getLogLevel(), 'debug');
    r = await admin('/logging?level=loud', { method: 'POST' });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /debug, info, warn, error/);
    assert.equal((await admin('/quitquitquit')).status, 405, 'quit wants POST');
    assert.equal((await admin('/nope')).status, 404);
  } finally {
    setLogLevel(before);
  }
});

test('admin: without the admin token nothing changes (401); with it /quitquitquit and /logging work; metrics need none', async () => {
  const before = getLogLevel();
  const other = before === 'debug' ? 'warn' : 'debug';
  try {
    const quitsBefore = quits;
    const none = await fetch(url(Number(base), '/quitquitquit'), { method: 'POST' });
    assert.equal(none.status, 401);
    assert.match(await none.text(), /Authorization: Bearer/);
    const wrong = await fetch(url(Number(base), '/quitquitquit'), { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN.replace(/.$/, 'X')}` } });
    assert.equal(wrong.status, 401);
    assert.equal((await fetch(url(Number(base), `/logging?level=${other}`), { method: 'POST' })).status, 401);
    assert.equal((await fetch(url(Number(base), '/config_dump'))).status, 401, 'config_dump needs it too');
    await new Promise((r) => setImmediate(r));
    assert.equal(quits, quitsBefore, 'no quit without the credential');
    assert.equal(getLogLevel(), before, 'no level change without the credential');
    assert.equal((await fetch(url(Number(base), '/'))).status, 200, 'the index stays open');
    assert.equal((await fetch(url(ops.ports().stats, '/metrics'))).status, 200, 'metrics stay open');
    const ok = await admin('/quitquitquit', { method: 'POST' });
    assert.equal(ok.status, 200);
    await new Promise((r) => setImmediate(r));
    assert.equal(quits, quitsBefore + 1);
  } finally {
    setLogLevel(before);
  }
});

test('admin: a tunnel without an admin credential refuses every admin endpoint (fail closed)', async () => {
  const bare = startTunnelOperations(fake as unknown as Parameters<typeof startTunnelOperations>[0], { node: 'node1', ports: { admin: 0, stats: 0, readiness: 0 }, log: () => {}, quit: () => void quits++ });
  try {
    const p = await bare.listening;
    const r = await fetch(url(p.admin, '/quitquitquit'), { method: 'POST', headers: { authorization: 'Bearer anything' } });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /no admin credential/);
  } finally {
    await bare.close();
  }
});

test('tunnel-config printers: istioctl-shaped tables, a TUNNEL column across nodes, JSON by node', () => {
  const now = Date.now();
  const dump = configDump({
    node: 'node1', ports: { admin: 15000, stats: 15020, readiness: 15021 }, logLevel: 'info', xds: { connected: true, synced: true, stats: {} }, enrollmentSynced: true,
    snapshot: mesh, certificates: [snap(clientCert)], pods: [], connections: [{ ...record('x'), startedAt: now - 125_000 }], now,
  });
  const w = renderTunnelConfig('workloads', [dump], now, { prefixNode: false });
  assert.match(w.split('\n')[0]!, /^NAMESPACE\s+POD NAME\s+ADDRESS\s+NODE\s+WAYPOINT\s+PROTOCOL$/);
  assert.match(w, /^demo\s+echo-5c6b-xyz\s+10\.0\.2\.5\s+node2\s+None\s+HBONE$/m);
  const s = renderTunnelConfig('services', [dump], now, { prefixNode: false });
  assert.match(s.split('\n')[0]!, /^NAMESPACE\s+SERVICE NAME\s+SERVICE VIP\s+WAYPOINT\s+ENDPOINTS$/);
  assert.match(s, /^demo\s+echo\s+10\.96\.0\.10\s+None\s+1\/1$/m);
  const p = renderTunnelConfig('policies', [dump], now, { prefixNode: false });
  assert.match(p, /^demo\s+allow-demo\s+Allow\s+Namespace$/m);
  const c = renderTunnelConfig('certificates', [dump], now, { prefixNode: false });
  assert.match(c.split('\n')[0]!, /^CERTIFICATE NAME\s+TYPE\s+STATUS\s+VALID CERT\s+SERIAL NUMBER\s+NOT AFTER\s+NOT BEFORE$/);
  assert.match(c, new RegExp(`^${CLIENT}\\s+Leaf\\s+Available\\s+true\\s+${clientCert.serial}`, 'm'));
  assert.match(c, new RegExp(`^${CLIENT}\\s+Root\\s+Available\\s+true`, 'm'));
  assert.doesNotMatch(c, /PRIVATE KEY/);
  const conn = renderTunnelConfig('connections', [dump, { ...dump, node: 'node2' }], now, { prefixNode: true });
  assert.match(conn.split('\n')[0]!, /^TUNNEL\s+DIRECTION\s+SOURCE\s+SOURCE ADDR\s+DESTINATION\s+DESTINATION ADDR\s+SECURITY\s+GROUP\s+SENT\s+RECEIVED\s+AGE$/);
  assert.match(conn, new RegExp(`^node2\\s+inbound\\s+${CLIENT}\\s+10\\.0\\.1\\.2:40000\\s+${ECHO}\\s+10\\.0\\.2\\.5:8080\\s+mutual_tls\\s+-\\s+-\\s+-\\s+2m5s$`, 'm'));
  // An outbound record carries the key-exchange group its HBONE client negotiated.
  const pq = renderTunnelConfig('connections', [{ ...dump, connections: [{ ...dump.connections[0]!, direction: 'outbound', tlsGroup: 'X25519MLKEM768' }] }], now, { prefixNode: false });
  assert.match(pq, /\smutual_tls\s+X25519MLKEM768\s+-\s+-\s+2m5s$/m);
  assert.equal(renderTunnelConfig('connections', [], now, { prefixNode: true }).split('\n')[0]!.startsWith('TUNNEL'), true);
  assert.deepEqual(Object.keys(jsonFor('policies', [dump, { ...dump, node: 'node2' }])), ['node1', 'node2']);
  assert.equal(parseKind('certs'), 'certificates');
  assert.equal(parseKind('workload'), 'workloads');
  assert.equal(parseKind('nonsense'), undefined);
  assert.equal(age(42_000), '42s');
  assert.equal(age(3 * 3600_000 + 60_000), '3h1m');
  assert.equal(bytes(1536), '1.5KiB');
});
