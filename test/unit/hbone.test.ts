// HBONE library on loopback with a real CA (spec §2.2-2.9): mTLS rules (TLS 1.3, ALPN h2, no SNI,
// trust domain on the server, exact SAN on the client), CONNECT codes 200/400/401/503, half-close,
// payload integrity, pooling (100 streams per connection, idle release) and a reset while the
// upstream is still connecting.
import { issueCert } from './support/hbone-certs.js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { HboneError } from '../../src/dataplane/hbone/client.js';
import { formatBaggage } from '../../src/dataplane/hbone/baggage.js';
import { parseAuthority } from '../../src/dataplane/hbone/headers.js';
import { HbonePool } from '../../src/dataplane/hbone/pool.js';
import { HboneServer, type SessionInfo } from '../../src/dataplane/hbone/server.js';
import { clientTlsOptions } from '../../src/dataplane/hbone/tls.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';

const CLIENT_ID = 'spiffe://cluster.local/ns/a/sa/client';
const SERVER_ID = 'spiffe://cluster.local/ns/b/sa/server';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let clientCert: WorkloadCertificate;
let serverCert: WorkloadCertificate;
let foreignCert: WorkloadCertificate;
let server: HboneServer;
let hop: string;
let deny = false;
let authorizeCalls = 0;
const sessions: SessionInfo[] = [];
const rejected: string[] = [];
const upstreams: net.Server[] = [];
const ports = { echo: 0, half: 0, refused: 0, slow: 0 };
let halfReceived: Promise<string>;
let slowOpen = 0;
let slowAccepted = 0;

const issue = issueCert;

async function listen(s: net.Server): Promise<number> {
  upstreams.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-hbone-'));
  const caA = await CertificateAuthority.open(path.join(dir, 'a'), { trustDomain: 'cluster.local' });
  const caB = await CertificateAuthority.open(path.join(dir, 'b'), { trustDomain: 'example.org' });
  const rootsA = fs.readFileSync(path.join(dir, 'a', 'root-cert.pem'), 'utf8');
  const rootsB = fs.readFileSync(path.join(dir, 'b', 'root-cert.pem'), 'utf8');
  clientCert = await issue(caA, CLIENT_ID);
  // The server trusts both roots, so only the trust-domain check can refuse example.org clients.
  serverCert = await issue(caA, SERVER_ID, rootsB);
  foreignCert = await issue(caB, 'spiffe://example.org/ns/a/sa/client', rootsA);

  ports.echo = await listen(net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)));
  let gotHalf!: (v: string) => void;
  halfReceived = new Promise((r) => (gotHalf = r));
  // Ends its side first, then keeps reading: server→client half-close.
  ports.half = await listen(
    net.createServer({ allowHalfOpen: true }, (s) => {
      s.end('bye');
      void readAll(s).then((b) => gotHalf(b.toString()));
    }),
  );
  const closed = net.createServer();
  ports.refused = await listen(closed);
  await new Promise<void>((r) => closed.close(() => r()));
  ports.slow = await listen(
    net.createServer((s) => {
      slowAccepted++;
      slowOpen++;
      s.on('error', () => {});
      s.once('close', () => slowOpen--);
    }),
  );

  server = new HboneServer({
    certificate: serverCert,
    authorize: () => {
      authorizeCalls++;
      return deny ? { allowed: false, reason: 'policy deny' } : { allowed: true };
    },
    connectUpstream: async (dst) => {
      if (dst.port === ports.slow) await sleep(300); // the app accepts slowly; the signal is ignored on purpose
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: dst.port, allowHalfOpen: true });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    },
  });
  server.on('session', (s) => sessions.push(s));
  server.on('rejected', (r) => rejected.push(r.reason));
  hop = `127.0.0.1:${(await server.listen(0)).port}`;
});

after(async () => {
  await server.close(100);
  for (const s of upstreams) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const dialOpts = (dstPort: number, extra: Partial<Parameters<HbonePool['connect']>[0]> = {}): Parameters<HbonePool['connect']>[0] => ({
  dst: `127.0.0.1:${dstPort}`,
  nextHop: hop,
  certificate: clientCert,
  expectedIdentities: [SERVER_ID],
  ...extra,
});

/** TLS + HTTP/2 by hand: 'settings' if the server accepted us, else how it failed. */
async function rawAttempt(opts: tls.ConnectionOptions): Promise<string> {
  const [host, port] = [hop.split(':')[0]!, Number(hop.split(':')[1])];
  return await new Promise((resolve) => {
    const socket = tls.connect({ ...opts, host, port, ALPNProtocols: ['h2'] });
    socket.once('error', (e) => resolve(`error: ${e.message}`));
    socket.once('secureConnect', () => {
      const session = http2.connect(`https://${hop}`, { createConnection: () => socket });
      session.on('error', () => {});
      session.once('remoteSettings', () => (session.destroy(), resolve('settings')));
      session.once('close', () => resolve('closed'));
    });
  });
}

async function rawConnectStatus(authority: string, method = 'CONNECT'): Promise<number> {
  const session = http2.connect(`https://${hop}`, {
    createConnection: () => tls.connect({ ...clientTlsOptions(clientCert, [SERVER_ID]), host: '127.0.0.1', port: Number(hop.split(':')[1]) }),
  });
  session.on('error', () => {});
  try {
    const headers: http2.OutgoingHttpHeaders = method === 'CONNECT' ? { ':method': 'CONNECT', ':authority': authority } : { ':method': method, ':path': '/', ':authority': authority };
    const req = session.request(headers, { endStream: method !== 'CONNECT' });
    req.on('error', () => {});
    return await new Promise<number>((resolve, reject) => {
      req.once('response', (h) => resolve(Number(h[':status'])));
      req.once('close', () => reject(new Error(`closed without response (rst ${req.rstCode})`)));
    });
  } finally {
    session.destroy();
  }
}

test('parseAuthority: IPv4/IPv6 literal and port 1-65535 only; baggage format', () => {
  assert.deepEqual(parseAuthority('10.0.1.2:8080'), { ip: '10.0.1.2', port: 8080, family: 4 });
  assert.deepEqual(parseAuthority('[fd00::1]:443'), { ip: 'fd00::1', port: 443, family: 6 });
  for (const bad of ['', 'echo.default:80', '10.0.1.2', '10.0.1.2:0', '10.0.1.2:65536', '10.0.1.2:080', '010.0.1.2:80', 'fd00::1:80', '[fd00::1]80', '[fe80::1%eth0]:80', '10.0.1.2:80 ', '[10.0.1.2]:80']) {
    assert.equal(parseAuthority(bad), undefined, bad);
  }
  assert.equal(formatBaggage({ clusterName: 'c', namespace: 'a', workloadType: 'deployment', workloadName: 'w', serviceName: '' }), 'k8s.cluster.name=c,k8s.namespace.name=a,k8s.deployment.name=w');
});

test('echo through the tunnel, half-close both ways; ALPN h2, no SNI, peer identity', async () => {
  const pool = new HbonePool();
  try {
    const before = sessions.length;
    const s = await pool.connect(dialOpts(ports.echo, { forwardedFor: { ip: '10.0.1.2', port: 4444 }, baggage: { namespace: 'a' } }));
    s.end('hello');
    assert.equal((await readAll(s)).toString(), 'hello');
    const info = sessions[before];
    assert.ok(info);
    assert.equal(info.alpn, 'h2');
    assert.ok(!info.servername, `SNI sent: ${String(info.servername)}`);
    assert.equal(info.peerIdentity, CLIENT_ID);

    // Upstream ends first; the client can still send afterwards.
    const h = await pool.connect(dialOpts(ports.half));
    assert.equal((await readAll(h)).toString(), 'bye');
    h.end('after');
    assert.equal(await halfReceived, 'after');
  } finally {
    pool.close();
  }
});

test('pool: the connectSocket hook makes the next-hop TCP socket (in-pod: marked, in the pod netns)', async () => {
  const calls: { host: string; port: number; localAddress?: string }[] = [];
  const pool = new HbonePool({ connectSocket: (o) => (calls.push(o), net.connect(o)) });
  try {
    const s = await pool.connect(dialOpts(ports.echo, { srcIp: '127.0.0.1' }));
    s.end('hooked');
    assert.equal((await readAll(s)).toString(), 'hooked');
    assert.deepEqual(calls, [{ host: '127.0.0.1', port: Number(hop.split(':')[1]), localAddress: '127.0.0.1' }]);
  } finally {
    pool.close();
  }
});

test('1 MiB payload integrity', async () => {
  const pool = new HbonePool();
  try {
    const data = randomBytes(1024 * 1024);
    const s = await pool.connect(dialOpts(ports.echo));
    const got = readAll(s);
    s.end(data);
    const back = await got;
    assert.equal(back.length, data.length);
    assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(data).digest('hex'));
  } finally {
    pool.close();
  }
});

test('401 when authorize denies, 503 when the upstream refuses', async () => {
  const pool = new HbonePool();
  try {
    deny = true;
    await assert.rejects(pool.connect(dialOpts(ports.echo)), (e: unknown) => e instanceof HboneError && e.status === 401);
    deny = false;
    await assert.rejects(pool.connect(dialOpts(ports.refused)), (e: unknown) => e instanceof HboneError && e.status === 503);
    // The connection survives refusals.
    const s = await pool.connect(dialOpts(ports.echo));
    s.end('ok');
    assert.equal((await readAll(s)).toString(), 'ok');
    assert.equal(pool.stats().connections, 1);
  } finally {
    deny = false;
    pool.close();
  }
});

test('400 on a bad authority or a non-CONNECT method', async () => {
  for (const a of ['echo.default.svc:80', '127.0.0.1:0', '127.0.0.1:70000', '127.0.0.1']) {
    assert.equal(await rawConnectStatus(a), 400, a);
  }
  assert.equal(await rawConnectStatus(`127.0.0.1:${ports.echo}`, 'GET'), 400);
});

test('client refuses a server whose identity is not expected (nothing sent)', async () => {
  const pool = new HbonePool();
  const calls = authorizeCalls;
  const nSessions = sessions.length;
  try {
    await assert.rejects(pool.connect(dialOpts(ports.echo, { expectedIdentities: ['spiffe://cluster.local/ns/b/sa/other'] })), (e: unknown) => e instanceof HboneError && e.code === 'TLS');
    await sleep(50);
    assert.equal(authorizeCalls, calls);
    assert.equal(sessions.length, nSessions);
  } finally {
    pool.close();
  }
});

test('server refuses other trust domains, cert-less clients and TLS 1.2', async () => {
  const pool = new HbonePool();
  const calls = authorizeCalls;
  try {
    const n = rejected.length;
    await assert.rejects(pool.connect(dialOpts(ports.echo, { certificate: foreignCert })), (e: unknown) => e instanceof HboneError && e.code === 'TLS');
    assert.ok(rejected.slice(n).some((r) => r.includes('trust domain')), rejected.join('; '));
  } finally {
    pool.close();
  }
  assert.notEqual(await rawAttempt({ ca: clientCert.rootsPem, checkServerIdentity: () => undefined }), 'settings');
  const tls12 = await rawAttempt({
    ca: clientCert.rootsPem,
    cert: clientCert.chainPem.join(''),
    key: clientCert.keyPem,
    maxVersion: 'TLSv1.2',
    checkServerIdentity: () => undefined,
  });
  assert.match(tls12, /^error/);
  // Sanity: the same raw path with a good TLS 1.3 client does get SETTINGS, and a client that
  // does send SNI is seen doing so (so the no-SNI check above can fail).
  assert.equal(await rawAttempt({ ...clientTlsOptions(clientCert, [SERVER_ID]), servername: 'sni.example' }), 'settings');
  assert.equal(sessions.at(-1)?.servername, 'sni.example');
  assert.equal(authorizeCalls, calls);
});

test('pool: 150 concurrent tunnels use 2 connections; idle release closes them', async () => {
  const pool = new HbonePool({ idleTimeoutMs: 200 });
  const nSessions = sessions.length;
  const streams = await Promise.all(Array.from({ length: 150 }, () => pool.connect(dialOpts(ports.echo))));
  assert.equal(pool.stats().connections, 2);
  assert.equal(pool.stats().streams, 150);
  assert.equal(sessions.length - nSessions, 2);
  const echoed = await Promise.all(
    streams.map((s, i) => {
      const got = readAll(s);
      s.end(`m${i}`);
      return got;
    }),
  );
  echoed.forEach((b, i) => assert.equal(b.toString(), `m${i}`));
  await sleep(50);
  assert.equal(pool.stats().streams, 0);
  for (let i = 0; i < 40 && (pool.stats().connections > 0 || server.stats().sessions > 0); i++) await sleep(25);
  assert.equal(pool.stats().connections, 0);
  assert.equal(server.stats().sessions, 0, 'the server saw the idle connections close');
  pool.close();
});

test('a stream reset while the upstream is connecting crashes nothing and leaks nothing', async () => {
  const session = http2.connect(`https://${hop}`, {
    createConnection: () => tls.connect({ ...clientTlsOptions(clientCert, [SERVER_ID]), host: '127.0.0.1', port: Number(hop.split(':')[1]) }),
  });
  session.on('error', () => {});
  const acceptedBefore = slowAccepted;
  const req = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${ports.slow}` }, { endStream: false });
  req.on('error', () => {});
  await sleep(50);
  assert.equal(server.stats().pendingUpstreams, 1);
  req.close(http2.constants.NGHTTP2_CANCEL);
  for (let i = 0; i < 40 && (slowAccepted === acceptedBefore || slowOpen > 0); i++) await sleep(25);
  assert.equal(slowAccepted, acceptedBefore + 1, 'the late upstream connect happened');
  assert.equal(slowOpen, 0, 'and was closed');
  assert.deepEqual({ ...server.stats(), sessions: 0 }, { sessions: 0, tunnels: 0, pendingUpstreams: 0 });
  session.destroy();
  // Still serving.
  const pool = new HbonePool();
  const s = await pool.connect(dialOpts(ports.echo));
  s.end('alive');
  assert.equal((await readAll(s)).toString(), 'alive');
  pool.close();
});

test('GOAWAY: open tunnels finish on the old connection, new ones get a new connection', async () => {
  const pool = new HbonePool();
  try {
    const a = await pool.connect(dialOpts(ports.echo));
    const gotA = readAll(a);
    a.write('one');
    const drained = server.drain(5000);
    await sleep(50);
    const nSessions = sessions.length;
    const b = await pool.connect(dialOpts(ports.echo));
    assert.equal(sessions.length - nSessions, 1, 'a new connection');
    b.end('two');
    assert.equal((await readAll(b)).toString(), 'two');
    a.end('-more');
    assert.equal((await gotA).toString(), 'one-more');
    await drained;
  } finally {
    pool.close();
  }
});
