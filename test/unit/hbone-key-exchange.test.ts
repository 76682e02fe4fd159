// Post-quantum key exchange on HBONE with real sockets: the groups offered follow what this
// OpenSSL supports (X25519MLKEM768 from OpenSSL 3.5 / Node 24 LTS, else X25519), and the group a
// handshake negotiated reaches the handshake events, the metrics, the outbound connection record
// and the `tunnel-config connections` table. Node exposes the group on the client side only.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type http2 from 'node:http2';
import net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { connectionRows } from '../../src/cli/tunnel-config-print.js';
import type { ConnectionRecord } from '../../src/dataplane/connections.js';
import { keyExchangeGroupOf } from '../../src/dataplane/hbone/client.js';
import { onHandshake, type HandshakeEvent } from '../../src/dataplane/hbone/handshake-events.js';
import { HbonePool } from '../../src/dataplane/hbone/pool.js';
import { HboneServer } from '../../src/dataplane/hbone/server.js';
import { keyExchangeSupport, PQ_GROUP } from '../../src/dataplane/hbone/tls.js';
import { MeshState } from '../../src/dataplane/mesh-state.js';
import { TunnelMetrics } from '../../src/dataplane/telemetry/tunnel-metrics.js';
import type { ConfigDump } from '../../src/dataplane/admin/config-dump.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';
import { handleOutbound, type OutboundContext } from '../../src/node-tunnel/outbound.js';
import type { SocketFactory } from '../../src/platform/sockets.js';
import { issueCert } from './support/hbone-certs.js';
import { workload } from './support/xds-fixtures.js';

const CLIENT_ID = 'spiffe://cluster.local/ns/shop/sa/cart';
const SERVER_ID = 'spiffe://cluster.local/ns/pay/sa/ledger';

// OpenSSL 3.5 added ML-KEM (and the hybrid X25519MLKEM768 TLS group); Node 24 LTS ships it, Node 20 has 3.0.
const [maj = 0, min = 0] = process.versions.openssl.split('.').map(Number);
const hasPq = maj > 3 || (maj === 3 && min >= 5);
const EXPECTED = hasPq ? PQ_GROUP : 'X25519';

let dir: string;
let clientCert: WorkloadCertificate;
let serverCert: WorkloadCertificate;
const closers: (() => unknown)[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-kx-'));
  const ca = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  clientCert = await issueCert(ca, CLIENT_ID);
  serverCert = await issueCert(ca, SERVER_ID);
});

after(async () => {
  for (const c of closers.reverse()) await c();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function echoServer(host: string): Promise<number> {
  const s = net.createServer({ allowHalfOpen: true }, (c) => (c.on('error', () => {}), c.pipe(c)));
  await new Promise<void>((r) => s.listen(0, host, r));
  closers.push(() => new Promise<void>((r) => s.close(() => r())));
  return (s.address() as net.AddressInfo).port;
}

function roundTrip(s: NodeJS.ReadWriteStream & { end(d: string): void }, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.once('end', () => resolve(got));
    s.once('error', reject);
    s.end(msg);
  });
}

async function hboneServer(host: string, port = 0): Promise<string> {
  const server = new HboneServer({
    certificate: serverCert,
    authorize: () => ({ allowed: true }),
    connectUpstream: (dst) =>
      new Promise((resolve, reject) => {
        const s = net.connect({ host: dst.ip, port: dst.port });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    acceptAuthority: () => true,
  });
  const a = await server.listen(port, host);
  closers.push(() => server.close(100));
  return `${host}:${a.port}`;
}

test(`groups offered: ${hasPq ? 'X25519MLKEM768 first' : 'X25519, P-256, with the reason post-quantum is off'} (OpenSSL ${process.versions.openssl})`, () => {
  const kx = keyExchangeSupport();
  assert.equal(kx.postQuantum, hasPq);
  if (hasPq) {
    assert.equal(kx.groups, 'X25519MLKEM768:X25519:P-256');
    assert.equal(kx.reason, undefined);
  } else {
    assert.equal(kx.groups, 'X25519:P-256');
    assert.equal(kx.reason, `Node ${process.version} with OpenSSL ${process.versions.openssl} has no X25519MLKEM768; run Node 24 LTS`);
  }
});

test(`a real HBONE handshake negotiates ${EXPECTED}; the client event, session and metrics carry it`, async () => {
  const events: HandshakeEvent[] = [];
  const metrics = new TunnelMetrics({ certificates: () => [], xdsConnected: () => true, xdsMessages: () => new Map(), openConnections: () => [] });
  const stop = onHandshake((e) => (events.push(e), metrics.handshake(e.side, e.durationMs, e.ok, e.group)));
  try {
    const echo = await echoServer('127.0.0.1');
    const hop = await hboneServer('127.0.0.1');
    const pool = new HbonePool();
    closers.push(() => pool.close());
    const stream = await pool.connect({ dst: `127.0.0.1:${echo}`, nextHop: hop, certificate: clientCert, expectedIdentities: [SERVER_ID] });
    assert.equal(keyExchangeGroupOf(stream.session as http2.ClientHttp2Session), EXPECTED);
    assert.equal(await roundTrip(stream, 'pq'), 'pq');
    for (let i = 0; i < 50 && events.filter((e) => e.ok).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const client = events.find((e) => e.side === 'client');
    const server = events.find((e) => e.side === 'server');
    assert.equal(client?.ok, true);
    assert.equal(client?.group, EXPECTED);
    assert.equal(server?.ok, true);
    assert.equal(server?.group, undefined, 'Node has no key-exchange group on a server socket');
    const text = metrics.render();
    assert.match(text, new RegExp(`^ambit_tls_handshakes_total\\{group="${EXPECTED}",side="client"\\} 1$`, 'm'));
    assert.match(text, /^ambit_tls_handshakes_total\{group="unknown",side="server"\} 1$/m);
    // Bounded: an unexpected group name from elsewhere is folded into one series.
    metrics.handshake('client', 1, true, 'ffdhe2048');
    assert.match(metrics.render(), /^ambit_tls_handshakes_total\{group="other",side="client"\} 1$/m);
  } finally {
    stop();
  }
});

test('the outbound connection record and `tunnel-config connections` show the negotiated group', async () => {
  const net16 = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
  const cartIp = `${net16}.3`;
  const ledgerIp = `${net16}.2`;
  const cart = workload('shop', 'cart-0', cartIp, 'cart', { serviceAccount: 'cart' });
  const ledger = workload('pay', 'ledger-0', ledgerIp, 'ledger', { serviceAccount: 'ledger' });
  const app = await echoServer(ledgerIp);
  // Routing dials <pod IP>:15008.
  await hboneServer(ledgerIp, 15008);
  const opened: ConnectionRecord[] = [];
  const sockets: SocketFactory = {
    listenInNetns: () => assert.fail('not used'),
    connectFromNetns: (_ns, o) => net.connect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }),
    originalDst: () => ({ address: ledgerIp, port: app }),
    setMark: () => {},
  };
  const pool = new HbonePool();
  closers.push(() => pool.close());
  const state = new MeshState({ workloads: [cart, ledger], services: [], authorizations: [] });
  const ctx: OutboundContext = {
    pod: { netns: 'none', netnsPath: '/nonexistent', ip: cartIp },
    identity: CLIENT_ID,
    connections: { opened: (r) => opened.push(r), closed: () => {} },
    state: () => state,
    sockets,
    track: () => {},
    waitForWorkload: async () => true,
    trackInbound: () => {},
    pool,
    certificate: async () => clientCert,
  };
  const capture = net.createServer((s) => handleOutbound(ctx, s));
  await new Promise<void>((r) => capture.listen(0, cartIp, r));
  closers.push(() => new Promise<void>((r) => capture.close(() => r())));
  const appSock = net.connect({ host: cartIp, port: (capture.address() as net.AddressInfo).port, localAddress: cartIp, allowHalfOpen: true });
  await new Promise<void>((r) => appSock.once('connect', r));
  assert.equal(await roundTrip(appSock, 'order-1'), 'order-1');

  assert.equal(opened.length, 1);
  assert.equal(opened[0]!.security, 'mutual_tls');
  assert.equal(opened[0]!.tlsGroup, EXPECTED);
  const dump = { connections: [{ ...opened[0]!, ageMs: 1000 }] } as unknown as ConfigDump;
  const rows = connectionRows(dump);
  assert.equal(rows.rows[0]![rows.header.indexOf('GROUP')], EXPECTED);
});
