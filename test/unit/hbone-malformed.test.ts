// The HBONE server (spec §2.2, §2.5, §2.6) against hostile or broken clients, over real TLS and
// HTTP/2 on loopback: every malformed request is refused (400, a stream reset or a closed
// connection), nothing reaches authz or the upstream, the process throws nothing, and the same
// server keeps serving a valid CONNECT from another client afterwards.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import tls from 'node:tls';
import { after, afterEach, before, describe, it } from 'node:test';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { canonicalIp, type HboneTarget } from '../../src/dataplane/hbone/headers.js';
import { HbonePool } from '../../src/dataplane/hbone/pool.js';
import { HboneServer, type TunnelInfo } from '../../src/dataplane/hbone/server.js';
import { clientTlsOptions } from '../../src/dataplane/hbone/tls.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';
import { issueCert } from './support/hbone-certs.js';

const CLIENT_ID = 'spiffe://cluster.local/ns/a/sa/client';
const SERVER_ID = 'spiffe://cluster.local/ns/b/sa/server';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let clientCert: WorkloadCertificate;
let foreignCert: WorkloadCertificate;
let server: HboneServer;
let port = 0;
let dualPort = 0;
let echoPort = 0;
const HANG_PORT = 9; // connectUpstream never settles for it and ignores the abort signal
let echo: net.Server;
let authorizeCalls = 0;
let upstreamCalls = 0;
let acceptOther: ((dst: HboneTarget, local: string) => boolean) | undefined;
const tunnels: TunnelInfo[] = [];
const crashes: unknown[] = [];
const onCrash = (e: unknown): void => void crashes.push(e);

before(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-hbone-bad-'));
  const caA = await CertificateAuthority.open(path.join(dir, 'a'), { trustDomain: 'cluster.local' });
  const caB = await CertificateAuthority.open(path.join(dir, 'b'), { trustDomain: 'example.org' });
  const rootsA = fs.readFileSync(path.join(dir, 'a', 'root-cert.pem'), 'utf8');
  const rootsB = fs.readFileSync(path.join(dir, 'b', 'root-cert.pem'), 'utf8');
  clientCert = await issueCert(caA, CLIENT_ID);
  foreignCert = await issueCert(caB, 'spiffe://example.org/ns/a/sa/client', rootsA);
  // The server trusts both roots, so only the trust-domain check can refuse example.org.
  const serverCert = await issueCert(caA, SERVER_ID, rootsB);

  echo = net.createServer({ allowHalfOpen: true }, (s) => (s.on('error', () => {}), s.pipe(s)));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as net.AddressInfo).port;

  server = new HboneServer({
    certificate: serverCert,
    authorize: () => (authorizeCalls++, { allowed: true }),
    connectUpstream: (dst) => {
      upstreamCalls++;
      if (dst.port === HANG_PORT) return new Promise<net.Socket>(() => {});
      return new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: dst.port, allowHalfOpen: true });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    },
    acceptAuthority: (dst, local) => acceptOther?.(dst, local) ?? false,
    handshakeTimeoutMs: 2000,
    // Short PINGs so the test sees dead sessions reclaimed (production: 10 s / 20 s, §2.3).
    keepalive: { intervalMs: 100, timeoutMs: 200 },
  });
  server.on('tunnel', (t) => tunnels.push(t));
  port = (await server.listen(0, '127.0.0.1')).port;
  dualPort = (await server.listen(0, '::')).port; // dual-stack: v4 peers arrive as ::ffff:a.b.c.d
});

after(async () => {
  await server.close(100);
  echo.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

/** After every case: nothing was thrown anywhere and a fresh client still gets a tunnel. */
afterEach(async () => {
  await sleep(20);
  assert.deepEqual(crashes, []);
  const pool = new HbonePool();
  try {
    const s = await pool.connect({ dst: `127.0.0.1:${echoPort}`, nextHop: `127.0.0.1:${port}`, certificate: clientCert, expectedIdentities: [SERVER_ID] });
    const back = new Promise<string>((resolve) => {
      let got = '';
      s.on('data', (c: Buffer) => (got += c.toString()));
      s.once('end', () => resolve(got));
    });
    s.end('still serving');
    assert.equal(await back, 'still serving');
  } finally {
    pool.close();
  }
});

const tlsOpts = (cert = clientCert): tls.ConnectionOptions => ({ ...clientTlsOptions(cert, [SERVER_ID]), host: '127.0.0.1', port });

/** A CONNECT (or other method) through Node's client; the status, or how the stream ended. */
async function request(headers: http2.OutgoingHttpHeaders, to = port): Promise<number | string> {
  const session = http2.connect(`https://127.0.0.1:${to}`, { createConnection: () => tls.connect({ ...tlsOpts(), port: to }) });
  session.on('error', () => {});
  try {
    const req = session.request(headers, { endStream: headers[':method'] !== 'CONNECT' });
    req.on('error', () => {});
    return await new Promise<number | string>((resolve) => {
      req.once('response', (h) => resolve(Number(h[':status'])));
      req.once('close', () => resolve(`reset ${req.rstCode}`));
    });
  } finally {
    session.destroy();
  }
}
const connect = (authority: string, to = port): Promise<number | string> => request({ ':method': 'CONNECT', ':authority': authority }, to);

// ---- raw HTTP/2 frames, for what Node's client refuses to send ----

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
/** HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
function hpackInt(v: number, n: number, first = 0): number[] {
  const max = (1 << n) - 1;
  if (v < max) return [first | v];
  const out = [first | max];
  for (v -= max; v >= 128; v = Math.floor(v / 128)) out.push((v % 128) + 128);
  out.push(v);
  return out;
}
/** Literal header fields without indexing, new names, no Huffman (RFC 7541 §6.2.2). */
function hpack(headers: [string, string][]): Buffer {
  const bytes: number[] = [];
  for (const [k, v] of headers) {
    bytes.push(0, ...hpackInt(k.length, 7), ...Buffer.from(k), ...hpackInt(v.length, 7), ...Buffer.from(v));
  }
  return Buffer.from(bytes);
}

type RawOutcome = { kind: 'status400' | 'headers' | 'rst' | 'goaway' | 'closed'; code?: number };

/** TLS with a valid client cert, then the given bytes; reports what the server did first. */
async function raw(bytes: Buffer): Promise<RawOutcome> {
  const socket = tls.connect(tlsOpts());
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('secureConnect', () => r()));
  return await new Promise<RawOutcome>((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (o: RawOutcome): void => {
      resolve(o);
      socket.destroy();
    };
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) return;
        const [type, flags, stream] = [buf[3]!, buf[4]!, buf.readUInt32BE(5) & 0x7fffffff];
        const payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === 4 && !(flags & 1)) socket.write(frame(4, 1, 0)); // ACK the server's SETTINGS
        // :status 400 is static-table entry 12, sent as the indexed byte 0x8c.
        if (type === 1 && stream === 1) return done({ kind: payload[0] === 0x8c ? 'status400' : 'headers' });
        if (type === 3 && stream === 1) return done({ kind: 'rst', code: payload.readUInt32BE(0) });
        if (type === 7) return done({ kind: 'goaway', code: payload.readUInt32BE(4) });
      }
    });
    socket.once('close', () => done({ kind: 'closed' }));
    socket.write(bytes);
  });
}
const rawRequest = (headers: [string, string][]): Promise<RawOutcome> => raw(Buffer.concat([PREFACE, frame(4, 0, 0), frame(1, 0x4, 1, hpack(headers))]));
const refused = (o: RawOutcome): boolean => o.kind === 'status400' || o.kind === 'rst' || o.kind === 'goaway';

/** Runs a case and checks it reached neither authz nor the upstream. */
async function untouched<T>(f: () => Promise<T>): Promise<T> {
  const [a, u] = [authorizeCalls, upstreamCalls];
  const r = await f();
  assert.deepEqual([authorizeCalls - a, upstreamCalls - u], [0, 0], 'reached authz or the upstream');
  return r;
}

describe('HBONE server: malformed requests', () => {
  it('a non-CONNECT method is 400', async () => {
    for (const method of ['GET', 'POST', 'OPTIONS']) {
      assert.equal(await untouched(() => request({ ':method': method, ':path': '/', ':authority': `127.0.0.1:${echoPort}` })), 400, method);
    }
  });

  it('CONNECT with :path or :scheme, and extended CONNECT (:protocol), are refused', async () => {
    const a = `127.0.0.1:${echoPort}`;
    const cases: [string, string][][] = [
      [[':method', 'CONNECT'], [':authority', a], [':path', '/']],
      [[':method', 'CONNECT'], [':authority', a], [':scheme', 'https'], [':path', '/']],
      [[':method', 'CONNECT'], [':protocol', 'websocket'], [':scheme', 'https'], [':path', '/'], [':authority', a]],
    ];
    for (const h of cases) {
      const o = await untouched(() => rawRequest(h));
      assert.ok(refused(o), `${JSON.stringify(h)} → ${JSON.stringify(o)}`);
    }
  });

  it('a missing, hostname, bad-port or overlong authority is 400 (or a reset when HTTP/2 itself forbids it)', async () => {
    const missing = await untouched(() => rawRequest([[':method', 'CONNECT']]));
    assert.ok(refused(missing), JSON.stringify(missing));
    const bad = ['echo.b.svc.cluster.local:80', `localhost:${echoPort}`, '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:-1', '127.0.0.1:', '127.0.0.1:80:80', `1${'0'.repeat(5000)}:80`, `127.0.0.1:${'9'.repeat(300)}`];
    for (const a of bad) assert.equal(await untouched(() => connect(a)), 400, a.slice(0, 40));
    // The same through raw frames (no client-side checks at all).
    const o = await untouched(() => rawRequest([[':method', 'CONNECT'], [':authority', 'x'.repeat(10_000)]]));
    assert.ok(refused(o), JSON.stringify(o));
  });

  it('an IP authority that is not the accepted address is 400 before authz (§2.6 step 3)', async () => {
    const n = tunnels.length;
    for (const a of [`127.0.0.2:${echoPort}`, `10.0.1.2:${echoPort}`, `[::1]:${echoPort}`]) assert.equal(await untouched(() => connect(a)), 400, a);
    const refusals = tunnels.slice(n).filter((t) => t.status !== 200); // a previous tunnel may close meanwhile
    assert.equal(refusals.length, 3);
    assert.ok(refusals.every((t) => t.status === 400 && /is not the destination 127\.0\.0\.1/.test(t.reason ?? '')), JSON.stringify(refusals));
  });

  it('a dual-stack listener compares without the ::ffff: prefix; [::1] matches over IPv6', async () => {
    assert.equal(canonicalIp('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalIp('::FFFF:7f00:1'), '127.0.0.1');
    assert.equal(canonicalIp('fd00:0:0::1'), 'fd00::1');
    assert.equal(await connect(`127.0.0.1:${echoPort}`, dualPort), 200);
    assert.equal(await untouched(() => connect(`127.0.0.2:${echoPort}`, dualPort)), 400);
  });

  it('the acceptAuthority hook can admit another IP (waypoint sandwich); a throwing hook fails closed', async () => {
    const seen: string[] = [];
    acceptOther = (dst, local) => (seen.push(`${dst.ip}:${dst.port} on ${local}`), dst.ip === '127.0.0.2');
    try {
      assert.equal(await connect(`127.0.0.2:${echoPort}`), 200);
      assert.equal(await connect(`127.0.0.3:${echoPort}`), 400);
      assert.deepEqual(seen, [`127.0.0.2:${echoPort} on 127.0.0.1`, `127.0.0.3:${echoPort} on 127.0.0.1`]);
      acceptOther = () => {
        throw new Error('boom');
      };
      assert.equal(await untouched(() => connect(`127.0.0.2:${echoPort}`)), 400);
    } finally {
      acceptOther = undefined;
    }
  });
});

describe('HBONE server: broken connections', () => {
  it('garbage instead of the HTTP/2 preface closes the connection', async () => {
    for (const junk of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.from('\x16\x03\x01\x00\x00garbage'), Buffer.alloc(4096, 0xff)]) {
      const o = await untouched(() => raw(junk));
      assert.ok(o.kind === 'goaway' || o.kind === 'closed', JSON.stringify(o));
    }
  });

  it('invalid HTTP/2 frames after the preface end the session with GOAWAY', async () => {
    const hello = Buffer.concat([PREFACE, frame(4, 0, 0)]);
    const bad = [
      frame(0, 0, 0, Buffer.from('data on stream 0')), // DATA on the connection stream
      frame(4, 0, 0, Buffer.from([1, 2, 3])), // SETTINGS not a multiple of 6
      frame(6, 0, 0, Buffer.from([1])), // PING of the wrong length
      frame(1, 0x4, 2, hpack([[':method', 'CONNECT']])), // even (server-initiated) stream id
      frame(1, 0x4, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), // undecodable HPACK
      frame(8, 0, 0, Buffer.from([0, 0, 0, 0])), // WINDOW_UPDATE of 0
      Buffer.concat([frame(1, 0, 1, Buffer.alloc(0)), frame(0, 0, 1, Buffer.from('x'))]), // CONTINUATION expected
    ];
    for (const b of bad) {
      const o = await untouched(() => raw(Buffer.concat([hello, b])));
      assert.ok(o.kind === 'goaway' || o.kind === 'closed' || o.kind === 'rst', JSON.stringify(o));
    }
    // Node (v20) sends GOAWAY, then neither reads nor emits anything for such a session, so its
    // socket would stay open for good; the unanswered keepalive PING is what reclaims it.
    for (let i = 0; i < 100 && server.stats().sessions > 0; i++) await sleep(20);
    assert.equal(server.stats().sessions, 0, 'sessions that broke the protocol are reclaimed');
    // A frame header announcing 16 MiB that never arrives: the connection is dropped on close, not leaked.
    const truncated = Buffer.concat([hello, Buffer.from([0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1])]);
    const o = await raw(truncated);
    assert.ok(o.kind === 'goaway' || o.kind === 'closed', JSON.stringify(o));
  });

  it('a client certificate from another trust domain, or none, never gets an HTTP/2 session', async () => {
    const attempt = (opts: tls.ConnectionOptions): Promise<string> =>
      new Promise((resolve) => {
        const s = tls.connect({ ...opts, host: '127.0.0.1', port, ALPNProtocols: ['h2'] });
        s.on('error', (e) => resolve(`error: ${e.message}`));
        s.once('close', () => resolve('closed'));
        s.on('data', (c: Buffer) => (c[3] === 4 ? (resolve('settings'), s.destroy()) : undefined)); // a SETTINGS frame
      });
    const foreign = await untouched(() => attempt(clientTlsOptions(foreignCert, [SERVER_ID])));
    assert.notEqual(foreign, 'settings');
    const none = await untouched(() => attempt({ ca: clientCert.rootsPem, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined }));
    assert.notEqual(none, 'settings');
    // Sanity: the same probe with a good certificate does get SETTINGS.
    assert.equal(await attempt(clientTlsOptions(clientCert, [SERVER_ID])), 'settings');
  });

  it('RST_STREAM while the upstream never answers: the wait ends at once and nothing leaks', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { createConnection: () => tls.connect(tlsOpts()) });
    session.on('error', () => {});
    const req = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${HANG_PORT}` }, { endStream: false });
    req.on('error', () => {});
    for (let i = 0; i < 40 && server.stats().pendingUpstreams === 0; i++) await sleep(10);
    assert.equal(server.stats().pendingUpstreams, 1);
    req.close(http2.constants.NGHTTP2_CANCEL);
    for (let i = 0; i < 40 && server.stats().pendingUpstreams > 0; i++) await sleep(10);
    assert.equal(server.stats().pendingUpstreams, 0, 'the hook ignores the signal, the server stops waiting anyway');
    assert.ok(!tunnels.some((t) => t.dst.endsWith(`:${HANG_PORT}`)), 'a reset stream gets no answer');
    // The same session still works for another stream.
    const ok = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${echoPort}` }, { endStream: false });
    ok.on('error', () => {});
    const status = await new Promise<number>((resolve) => ok.once('response', (h) => resolve(Number(h[':status']))));
    assert.equal(status, 200);
    session.destroy();
  });

  it('a client that vanishes mid-tunnel or mid-handshake leaves no session behind', async () => {
    const socket = tls.connect(tlsOpts());
    const session = http2.connect(`https://127.0.0.1:${port}`, { createConnection: () => socket });
    session.on('error', () => {});
    const req = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${echoPort}` }, { endStream: false });
    req.on('error', () => {});
    await new Promise<void>((r) => req.once('response', () => r()));
    req.write('half');
    await sleep(20);
    socket.destroy(); // TCP gone without GOAWAY
    const tcp = net.connect({ host: '127.0.0.1', port });
    tcp.on('error', () => {});
    await new Promise<void>((r) => tcp.once('connect', () => r()));
    tcp.write('\x16\x03\x01\x02\x00\x01'); // a torn ClientHello
    tcp.destroy();
    for (let i = 0; i < 50 && (server.stats().sessions > 0 || server.stats().tunnels > 0); i++) await sleep(20);
    assert.deepEqual(server.stats(), { sessions: 0, tunnels: 0, pendingUpstreams: 0 });
  });
});
