// Load client against real local servers: rate accuracy, coordinated-omission correction
// (a one-off stall shows in the tail), and bounded failure on refused / silent servers.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { startEcho, type EchoServer } from '../../src/apps/echo.js';
import { formatLoadSummary, runLoad } from '../../src/apps/load.js';

let echo: EchoServer;
let url: string;

before(async () => {
  echo = await startEcho({ httpPort: 0, tcpPort: 0, host: '127.0.0.1', closeGraceMs: 200 });
  url = `http://127.0.0.1:${echo.httpPort}/`;
});
after(() => echo.close());

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

test('200 rps for 1 s against echo: ~200 requests, no errors, sane percentiles', async () => {
  const r = await runLoad({ url, rate: 200, durationSec: 1, connections: 4, payloadBytes: 256 });
  assert.equal(r.requests, 200);
  assert.equal(r.ok, 200);
  assert.equal(r.errors.total, 0);
  assert.equal(r.non2xx, 0);
  assert.equal(r.protocol, 'http/1.1');
  const l = r.latencyMs;
  assert.ok(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, JSON.stringify(l));
  assert.ok(l.p50 < 50, `p50 ${l.p50} ms on loopback`);
  assert.ok(Math.abs(r.achievedRate - 200) < 20, `achievedRate ${r.achievedRate}`);
  assert.ok(r.throughputRps > 150 && r.throughputRps < 250, `throughput ${r.throughputRps}`);
  assert.match(formatLoadSummary(r), /^load http:\/\/127\.0\.0\.1:\d+\/ 200 rps 1s: 200 ok, 0 err, p50 [\d.]+ms p90 [\d.]+ms p99 [\d.]+ms p99\.9 [\d.]+ms$/);
});

test('h2c mode and non-2xx accounting', async () => {
  const r = await runLoad({ url: url + '?status=503', rate: 100, durationSec: 0.5, connections: 2, payloadBytes: 100, http2: true });
  assert.equal(r.protocol, 'h2c');
  assert.equal(r.requests, 50);
  assert.equal(r.ok, 0);
  assert.equal(r.non2xx, 50);
  assert.equal(r.errors.total, 0);
  assert.deepEqual(r.statusCodes, { '503': 50 });
  assert.match(formatLoadSummary(r), /0 ok, 0 err, 50 non-2xx/);
});

test('a one-off 300 ms stall shows in p90/p99 because latency counts from the intended send time', async () => {
  // Every response is held until the stall ends, so the whole pool is blocked meanwhile.
  let n = 0;
  let stallUntil = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    if (++n === 60) stallUntil = Date.now() + 300;
    setTimeout(() => res.end('ok'), Math.max(0, stallUntil - Date.now()));
  });
  const port = await listen(server);
  try {
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, rate: 200, durationSec: 1, connections: 2, payloadBytes: 0 });
    assert.equal(r.errors.total, 0);
    assert.equal(r.ok, 200);
    // ~60 of 200 requests were scheduled during the stall, with waits from ~300 ms down to 0.
    // Measured from when a connection freed up, only the 2 stalled requests would be slow.
    assert.ok(r.latencyMs.max >= 280, `max ${r.latencyMs.max}`);
    assert.ok(r.latencyMs.p99 >= 200, `p99 ${r.latencyMs.p99}`);
    assert.ok(r.latencyMs.p90 >= 100, `p90 ${r.latencyMs.p90}`);
    assert.ok(r.latencyMs.p50 < 100, `p50 ${r.latencyMs.p50}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('an unreachable port counts errors and does not hang', async () => {
  const probe = net.createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  const t0 = Date.now();
  for (const http2 of [false, true]) {
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, rate: 50, durationSec: 0.5, connections: 2, payloadBytes: 0, http2, timeoutMs: 1000 });
    assert.equal(r.requests, 25);
    assert.equal(r.ok, 0);
    assert.equal(r.errors.total, 25);
    assert.equal(r.errors.byKind['ECONNREFUSED'], 25, JSON.stringify(r.errors));
  }
  assert.ok(Date.now() - t0 < 3000);
});

test('a server that never answers: requests time out or are counted unfinished, within the bound', async () => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.resume(); // read requests, never reply
  });
  const port = await listen(server);
  try {
    const t0 = Date.now();
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, rate: 40, durationSec: 0.5, connections: 2, payloadBytes: 0, timeoutMs: 300 });
    const took = Date.now() - t0;
    assert.equal(r.requests, 20);
    assert.equal(r.ok, 0);
    assert.equal(r.errors.total, 20, JSON.stringify(r.errors));
    const kinds = Object.keys(r.errors.byKind).sort();
    assert.ok(kinds.every((k) => k === 'timeout' || k === 'unfinished' || k === 'ECONNRESET'), kinds.join());
    assert.ok(took < 1500, `took ${took} ms`);
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('invalid options are rejected up front', async () => {
  await assert.rejects(runLoad({ url, rate: 0, durationSec: 1, connections: 1, payloadBytes: 0 }), RangeError);
  await assert.rejects(runLoad({ url, rate: 10, durationSec: 1, connections: 0, payloadBytes: 0 }), RangeError);
  await assert.rejects(runLoad({ url: 'https://x/', rate: 10, durationSec: 1, connections: 1, payloadBytes: 0 }), RangeError);
  await assert.rejects(runLoad({ url: 'nope', rate: 10, durationSec: 1, connections: 1, payloadBytes: 0 }), RangeError);
});

test('HTTP/1.1 framing: chunked, Connection: close, read-to-EOF and byte-by-byte responses all complete', async () => {
  const server = http.createServer((req, res) => {
    req.resume();
    const mode = new URL(req.url ?? '/', 'http://x').searchParams.get('m');
    if (mode === 'chunked') {
      res.write('a'.repeat(3000));
      setImmediate(() => res.end('tail'));
    } else if (mode === 'close') {
      res.setHeader('connection', 'close');
      res.end('bye');
    } else res.end('ok');
  });
  const port = await listen(server);
  // Raw server: headers and body dribbled one byte at a time; no length, body ends at EOF.
  const raw = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => {
      const bytes = Buffer.from('HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\nhello');
      let i = 0;
      const drip = (): void => {
        if (i < bytes.length) s.write(bytes.subarray(i, ++i), () => setImmediate(drip));
        else s.end();
      };
      drip();
    });
  });
  const rawPort = await listen(raw);
  try {
    for (const m of ['chunked', 'close']) {
      const r = await runLoad({ url: `http://127.0.0.1:${port}/?m=${m}`, rate: 100, durationSec: 0.3, connections: 2, payloadBytes: 10 });
      assert.equal(r.ok, 30, `${m}: ${JSON.stringify(r.errors)}`);
    }
    const r = await runLoad({ url: `http://127.0.0.1:${rawPort}/`, rate: 20, durationSec: 0.25, connections: 2, payloadBytes: 0 });
    assert.deepEqual(r.statusCodes, { '201': 5 }, JSON.stringify(r.errors));
  } finally {
    server.closeAllConnections();
    server.close();
    raw.close();
  }
});

test('the warm-up runs on the same keep-alive connections as the measured run', async () => {
  let connections = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    res.end('ok');
  });
  server.on('connection', () => connections++);
  const port = await listen(server);
  try {
    const events: string[] = [];
    const r = await runLoad({
      url: `http://127.0.0.1:${port}/`,
      rate: 200,
      durationSec: 0.5,
      connections: 3,
      payloadBytes: 0,
      warmupSec: 0.5,
      onWarmup: (w) => events.push(`warmup ${w.ok}`),
      onMeasureStart: () => events.push('measure'),
    });
    assert.deepEqual(events, ['warmup 100', 'measure']);
    assert.equal(r.ok, 100);
    assert.ok(connections >= 1 && connections <= 3, `${connections} connections for 200 requests over a pool of 3`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
