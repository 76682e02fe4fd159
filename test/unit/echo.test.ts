// Echo app over real sockets on 127.0.0.1: HTTP/1.1 and h2c on one port (node clients and
// curl when installed), query knobs, client-error resilience, raw TCP echo with half-close.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { MAX_PADDING, startEcho, type EchoReply, type EchoServer } from '../../src/apps/echo.js';

let echo: EchoServer;
let base: string;

before(async () => {
  // The pod's environment is read by `ambit app echo` and handed in (the server reads none).
  echo = await startEcho({ httpPort: 0, tcpPort: 0, host: '127.0.0.1', name: 'echo-test', pod: { namespace: 'demo' }, closeGraceMs: 200 });
  base = `http://127.0.0.1:${echo.httpPort}`;
});
after(() => echo.close());

interface Resp {
  status: number;
  body: string;
}

function h1(path: string, opts: { method?: string; body?: Buffer; agent?: http.Agent } = {}): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method: opts.method ?? 'GET', agent: opts.agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function h2(path: string, opts: { method?: string; body?: Buffer } = {}): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(base);
    session.on('error', reject);
    const stream = session.request({ ':method': opts.method ?? 'GET', ':path': path });
    let status = 0;
    let body = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (body += d));
    stream.on('end', () => {
      session.close();
      resolve({ status, body });
    });
    stream.on('error', reject);
    stream.end(opts.body);
  });
}

function curl(args: string[]): Promise<{ code: number | null; out: string } | undefined> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '-m', '5', ...args], (err, out) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') resolve(undefined);
      else resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out });
    });
  });
}

test('HTTP/1.1 request is described as JSON with the client address', async () => {
  const r = await h1('/a/b?x=1', { method: 'POST', body: Buffer.alloc(1000, 'y') });
  assert.equal(r.status, 200);
  const j = JSON.parse(r.body) as EchoReply;
  assert.equal(j.pod, 'echo-test');
  assert.equal(j.namespace, 'demo');
  assert.equal(j.method, 'POST');
  assert.equal(j.path, '/a/b?x=1');
  assert.equal(j.httpVersion, '1.1');
  assert.equal(j.bodyLength, 1000);
  assert.equal(j.client.address, '127.0.0.1');
  assert.ok(j.client.port > 0);
  assert.equal(j.host, `127.0.0.1:${echo.httpPort}`);
  assert.equal(j.headers['content-length'], '1000');
  assert.equal(j.padding, undefined);
});

test('h2c prior knowledge on the same port', async () => {
  const r = await h2('/h2?q', { method: 'PUT', body: Buffer.alloc(70_000, 'z') });
  assert.equal(r.status, 200);
  const j = JSON.parse(r.body) as EchoReply;
  assert.equal(j.httpVersion, '2.0');
  assert.equal(j.method, 'PUT');
  assert.equal(j.path, '/h2?q');
  assert.equal(j.bodyLength, 70_000);
  assert.equal(j.client.address, '127.0.0.1');
  assert.equal(j.host, `127.0.0.1:${echo.httpPort}`);
  assert.ok(!Object.keys(j.headers).some((k) => k.startsWith(':')), 'pseudo-headers are not echoed');
});

test('size and status query knobs, bounded padding, healthz', async () => {
  const small = JSON.parse((await h1('/?size=100')).body) as EchoReply;
  assert.equal(small.padding?.length, 100);
  const huge = JSON.parse((await h2('/?size=999999999')).body) as EchoReply;
  assert.equal(huge.padding?.length, MAX_PADDING);
  assert.equal((await h1('/?status=418')).status, 418);
  assert.equal((await h2('/?status=503')).status, 503);
  assert.equal((await h1('/?status=42')).status, 200, 'out-of-range status is ignored');
  assert.deepEqual(await h1('/healthz'), { status: 200, body: 'ok' });
  assert.deepEqual(await h2('/healthz'), { status: 200, body: 'ok' });
});

test('keep-alive: several HTTP/1.1 requests share one connection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ports = new Set<number>();
  for (let i = 0; i < 3; i++) ports.add((JSON.parse((await h1('/', { agent })).body) as EchoReply).client.port);
  agent.destroy();
  assert.equal(ports.size, 1);
});

test('curl: plain HTTP/1.1 and --http2-prior-knowledge', async (t) => {
  const fmt = ['-w', '\n%{http_code} %{http_version}'];
  const plain = await curl([...fmt, `${base}/c1`]);
  if (!plain) {
    t.skip('curl not installed');
    return;
  }
  assert.equal(plain.code, 0);
  const [body1, meta1] = splitMeta(plain.out);
  assert.equal(meta1, '200 1.1');
  assert.equal((JSON.parse(body1 ?? '') as EchoReply).client.address, '127.0.0.1');
  const pk = await curl([...fmt, '--http2-prior-knowledge', '--data-binary', 'hello', `${base}/c2`]);
  assert.equal(pk?.code, 0);
  const [body2, meta2] = splitMeta(pk?.out ?? '');
  assert.equal(meta2, '200 2');
  const j = JSON.parse(body2 ?? '') as EchoReply;
  assert.equal(j.httpVersion, '2.0');
  assert.equal(j.bodyLength, 5);
});

/** curl -w appends "code version" after the body; the body itself ends with a newline. */
function splitMeta(out: string): [string, string] {
  const i = out.lastIndexOf('\n');
  return [out.slice(0, i), out.slice(i + 1)];
}

function rawExchange(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', () => resolve(Buffer.concat(chunks)));
    sock.on('error', reject);
    sock.end(data);
  });
}

test('garbage on the HTTP port gets a 400 (or a closed session) and the server keeps serving', async () => {
  const bad = await rawExchange(echo.httpPort, Buffer.from('garbage\r\n\r\n'));
  assert.match(bad.toString('latin1'), /^HTTP\/1\.1 400/);
  // A valid h2 preface followed by junk frames: the session errors out, the process must not.
  const junk = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.alloc(64, 0xff)]);
  await rawExchange(echo.httpPort, junk).catch(() => Buffer.alloc(0));
  // Connect-and-close without a byte, and a truncated preface.
  await rawExchange(echo.httpPort, Buffer.alloc(0)).catch(() => Buffer.alloc(0));
  await rawExchange(echo.httpPort, Buffer.from('PRI * HT')).catch(() => Buffer.alloc(0));
  assert.equal((await h1('/healthz')).status, 200);
  assert.equal((await h2('/healthz')).status, 200);
});

test('raw TCP port echoes bytes and supports half-close', async () => {
  assert.equal((await rawExchange(echo.tcpPort, Buffer.from('hello'))).toString(), 'hello');
  // 2 MiB sent then FIN right away: the echo must keep writing after our half-close.
  const big = Buffer.alloc(2 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const back = await rawExchange(echo.tcpPort, big);
  assert.equal(back.length, big.length);
  assert.ok(back.equals(big));
});

test('close() drops idle HTTP/1.1 and h2 connections at once, without waiting for the grace period', async () => {
  const e = await startEcho({ httpPort: 0, tcpPort: 0, host: '127.0.0.1', closeGraceMs: 5000 });
  const agent = new http.Agent({ keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    http.get(`http://127.0.0.1:${e.httpPort}/`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
  const session = http2.connect(`http://127.0.0.1:${e.httpPort}`);
  session.on('error', () => undefined);
  await new Promise<void>((resolve) => session.on('connect', () => resolve()));
  const raw = net.connect(e.httpPort, '127.0.0.1'); // connected, not a byte sent yet
  raw.on('error', () => undefined);
  await new Promise<void>((resolve) => raw.on('connect', () => resolve()));
  const t0 = Date.now();
  await e.close();
  assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
  agent.destroy();
  session.destroy();
  raw.destroy();
});

test('close() lets an in-flight HTTP/1.1 request finish, then ends the connection', async () => {
  const e = await startEcho({ httpPort: 0, tcpPort: 0, host: '127.0.0.1', closeGraceMs: 5000 });
  const got = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    const req = http.request(`http://127.0.0.1:${e.httpPort}/slow`, { method: 'POST', headers: { 'content-length': '10' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
    });
    req.on('error', reject);
    req.write('12345');
    // Finish the body only after close() has begun: the echo answers on end of body.
    setTimeout(() => {
      closed = e.close();
      setTimeout(() => req.end('67890'), 50);
    }, 50);
  });
  let closed: Promise<void> | undefined;
  const r = await got;
  assert.equal(r.status, 200);
  assert.equal(r.connection, 'close');
  assert.equal((JSON.parse(r.body) as EchoReply).bodyLength, 10);
  const t0 = Date.now();
  await closed;
  assert.ok(Date.now() - t0 < 1000);
});

test('close() gives open TCP echo streams the grace period, then closes them', async () => {
  const e = await startEcho({ httpPort: 0, tcpPort: 0, host: '127.0.0.1', closeGraceMs: 200 });
  const tcp = net.connect(e.tcpPort, '127.0.0.1');
  tcp.on('error', () => undefined);
  await new Promise<void>((resolve) => tcp.on('connect', () => resolve()));
  const ended = new Promise<void>((resolve) => tcp.on('close', () => resolve()));
  const t0 = Date.now();
  await e.close();
  const took = Date.now() - t0;
  assert.ok(took >= 150 && took < 1500, `close took ${took} ms`);
  await ended;
});
