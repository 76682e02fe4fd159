// Unauthenticated work on the HBONE port is bounded (issue 17 item 2), on loopback with real
// sockets: stalled TLS handshakes (silent, or half a ClientHello) are closed at the handshake
// timeout and the server's socket count returns to 0; the global and per-source caps on
// unfinished handshakes close the excess at once; real mTLS clients keep working during a
// flood of idle connections; a peer that opens no flow-control window cannot make the server
// read more than a bounded amount from the upstream.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { openConnection, sendConnect } from '../../src/dataplane/hbone/client.js';
import { HboneServer, type HboneServerOptions, type TunnelInfo } from '../../src/dataplane/hbone/server.js';
import { PUMP_LIMIT } from '../../src/dataplane/hbone/splice.js';
import { clientTlsOptions } from '../../src/dataplane/hbone/tls.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';
import { issueCert } from './support/hbone-certs.js';

const CLIENT_ID = 'spiffe://cluster.local/ns/a/sa/client';
const SERVER_ID = 'spiffe://cluster.local/ns/b/sa/server';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let clientCert: WorkloadCertificate;
let serverCert: WorkloadCertificate;
let echoPort = 0;
let firehosePort = 0;
const upstreams: net.Server[] = [];
const servers: HboneServer[] = [];

async function listenOn(s: net.Server): Promise<number> {
  upstreams.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-hbone-flood-'));
  const ca = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  clientCert = await issueCert(ca, CLIENT_ID);
  serverCert = await issueCert(ca, SERVER_ID);
  echoPort = await listenOn(net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)));
  // Writes as fast as the reader takes it, until closed.
  firehosePort = await listenOn(
    net.createServer((s) => {
      s.on('error', () => {});
      const chunk = Buffer.alloc(256 * 1024, 7);
      const more = (): void => {
        while (!s.destroyed && s.write(chunk));
        if (!s.destroyed) s.once('drain', more);
      };
      more();
    }),
  );
});

after(async () => {
  for (const s of servers) await s.close(100);
  for (const u of upstreams) u.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function startServer(extra: Partial<HboneServerOptions>): Promise<{ server: HboneServer; port: number }> {
  const server = new HboneServer({
    certificate: serverCert,
    authorize: () => ({ allowed: true }),
    connectUpstream: (dst) =>
      new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: dst.port, allowHalfOpen: true });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    ...extra,
  });
  servers.push(server);
  return { server, port: (await server.listen(0, '127.0.0.1')).port };
}

/** A TCP connection from `localAddress` that stays open until the server closes it; resolves when connected. */
function idle(port: number, localAddress = '127.0.0.1', send?: Buffer): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => {});
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    socket.once('connect', () => {
      if (send) socket.write(send);
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

/** The first bytes of a real ClientHello (record header promises more than follows). */
async function halfClientHello(): Promise<Buffer> {
  const grab = net.createServer();
  const port = await listenOn(grab);
  const got = new Promise<Buffer>((r) => grab.once('connection', (s) => s.once('data', (d: Buffer) => (r(d), s.destroy()))));
  const c = tls.connect({ ...clientTlsOptions(clientCert, [SERVER_ID]), host: '127.0.0.1', port });
  c.on('error', () => {});
  const hello = await got;
  c.destroy();
  assert.equal(hello[0], 0x16, 'a TLS handshake record');
  return hello.subarray(0, Math.floor(hello.length / 2));
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('stalled handshakes (silent, or half a ClientHello) are closed at the timeout; open sockets return to 0', async () => {
  const { server, port } = await startServer({ handshakeTimeoutMs: 1000, maxPendingHandshakesPerSource: 1000 });
  const half = await halfClientHello();
  const t0 = Date.now();
  const conns = [
    ...(await Promise.all(Array.from({ length: 100 }, () => idle(port)))),
    ...(await Promise.all(Array.from({ length: 100 }, () => idle(port, '127.0.0.1', half)))),
  ];
  assert.ok(server.socketStats().openSockets > 0 && server.socketStats().pendingHandshakes === server.socketStats().openSockets, 'held while handshaking');
  const closedAt = await Promise.race([Promise.all(conns.map((c) => c.closed)), sleep(6000).then(() => undefined)]);
  assert.ok(closedAt, `the server closed ${conns.filter((c) => c.socket.destroyed).length}/200 stalled connections within 6 s (timeout 1 s)`);
  const last = Math.max(...closedAt) - t0;
  assert.ok(last < 5000, `all closed ${last} ms after opening (timeout 1 s)`);
  await until('open sockets back to 0', () => server.socketStats().openSockets === 0, 2000);
  assert.equal(server.socketStats().pendingHandshakes, 0);
});

test('caps on unfinished handshakes: the excess per source and in total is closed at once and counted', async () => {
  const { server, port } = await startServer({ handshakeTimeoutMs: 5000, maxPendingHandshakesPerSource: 20, maxPendingHandshakes: 50 });
  const refused: string[] = [];
  server.on('refused', (r) => refused.push(`${r.limit} ${r.remoteAddr}`));
  const fromA = await Promise.all(Array.from({ length: 30 }, () => idle(port, '127.0.0.3')));
  await until('10 refusals for 127.0.0.3', () => refused.length === 10, 2000);
  // Refused ones are closed right away, long before the 5 s handshake timeout.
  await until('the 10 excess connections to close', () => fromA.filter((c) => c.socket.destroyed).length === 10, 2000);
  assert.deepEqual(new Set(refused), new Set(['source 127.0.0.3']));
  // Other sources still get in, up to the global cap (50: 20 held by .3, 30 more).
  const others = await Promise.all(Array.from({ length: 40 }, (_, i) => idle(port, `127.0.0.${4 + (i % 4)}`)));
  await until('the global cap to refuse 10 more', () => refused.length === 20, 2000);
  assert.equal(refused.filter((r) => r.startsWith('global')).length, 10);
  assert.equal(server.socketStats().pendingHandshakes, 50);
  assert.equal(server.socketStats().refused, 20);
  for (const c of [...fromA, ...others]) c.socket.destroy();
  await until('open sockets back to 0', () => server.socketStats().openSockets === 0, 2000);
  assert.equal(server.socketStats().pendingHandshakes, 0);
});

test('real mTLS clients keep ≥ 99% success while 1000 idle connections flood the port', async () => {
  const { server, port } = await startServer({ handshakeTimeoutMs: 4000, maxPendingHandshakesPerSource: 100, maxPendingHandshakes: 4096 });
  // 10 flooding sources × 100 connections, each reconnecting as soon as it is closed.
  let flooding = true;
  const flooders: Promise<void>[] = [];
  for (let src = 0; src < 10; src++) {
    for (let i = 0; i < 100; i++) {
      flooders.push(
        (async () => {
          while (flooding) {
            const c = await idle(port, `127.0.1.${src + 1}`).catch(() => undefined);
            if (!c) {
              await sleep(50);
              continue;
            }
            while (flooding && !c.socket.destroyed) await sleep(100);
            c.socket.destroy();
          }
        })(),
      );
    }
  }
  let ok = 0;
  const attempts = 60;
  const errors: string[] = [];
  let peak = 0;
  try {
    await until('the flood to be in place', () => server.socketStats().pendingHandshakes >= 700, 15_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(server.socketStats())}`);
    });
    for (let i = 0; i < attempts; i++) {
      peak = Math.max(peak, server.socketStats().pendingHandshakes);
      try {
        const session = await openConnection({ nextHop: `127.0.0.1:${port}`, certificate: clientCert, expectedIdentities: [SERVER_ID], connectTimeoutMs: 3000 });
        try {
          const stream = await sendConnect(session, { authority: `127.0.0.1:${echoPort}` });
          stream.end('ping');
          const got = await new Promise<string>((resolve, reject) => {
            let b = '';
            stream.on('data', (d: Buffer) => (b += d.toString()));
            stream.once('end', () => resolve(b));
            stream.once('error', reject);
          });
          if (got === 'ping') ok++;
          else errors.push(`echo returned '${got}'`);
        } finally {
          session.destroy();
        }
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  } finally {
    flooding = false;
    await Promise.all(flooders);
  }
  assert.ok(ok / attempts >= 0.99, `${ok}/${attempts} succeeded during the flood (peak ${peak} unfinished handshakes): ${errors.slice(0, 3).join('; ')}`);
  assert.ok(peak <= 10 * 100, `unfinished handshakes bounded by the per-source cap (${peak})`);
  await until('open sockets back to 0 after the flood', () => server.socketStats().openSockets === 0, 5000);
});

test('a peer that opens no HTTP/2 window makes the server read only a bounded amount from the upstream', async () => {
  const { server, port } = await startServer({});
  const done = new Promise<TunnelInfo>((r) => server.on('tunnel', r));
  const socket = tls.connect({ ...clientTlsOptions(clientCert, [SERVER_ID]), host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('secureConnect', () => r()));
  // Stream window 0: the server may not send a single DATA byte until we say so (we never do).
  const session = http2.connect(`https://127.0.0.1:${port}`, { createConnection: () => socket, settings: { initialWindowSize: 0 } });
  session.on('error', () => {});
  const stream = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${firehosePort}` }, { endStream: false });
  stream.on('error', () => {});
  await new Promise<void>((r) => stream.once('response', () => r()));
  await sleep(1500);
  session.destroy();
  const t = await done;
  // One pump limit queued in the stream, plus what one event-loop turn read past it.
  assert.ok(t.bytesOut <= PUMP_LIMIT + 2 * 1024 * 1024, `the server read ${t.bytesOut} bytes from an upstream it could not forward`);
});
