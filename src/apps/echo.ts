// The echo sample app run as a pod command: an HTTP port answering HTTP/1.1 and h2c
// (prior knowledge) with a JSON description of the request, plus a raw TCP echo port.
// Mesh tests read `client.address` to see which identity/IP the server observed.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { stripV4Mapped } from '../lib/ip.js';

export interface EchoOptions {
  httpPort: number;
  tcpPort: number;
  host?: string;
  name?: string;
  /** Where it runs, as reported in replies (the pod's POD_NAMESPACE, POD_IP, NODE_NAME; read by the command). */
  pod?: { namespace?: string; podIP?: string; node?: string };
  /** How long close() lets open connections finish before destroying them. */
  closeGraceMs?: number;
}

export interface EchoServer {
  close(): Promise<void>;
  httpPort: number;
  tcpPort: number;
}

/** The JSON body of every echo response (besides /healthz). */
export interface EchoReply {
  pod: string;
  namespace: string;
  podIP: string;
  node: string;
  client: { address: string; port: number };
  method: string;
  path: string;
  host: string;
  httpVersion: string;
  headers: Record<string, string | string[]>;
  bodyLength: number;
  padding?: string;
}

export const MAX_PADDING = 1024 * 1024;
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** One handler serves both: the http2 compat API mirrors the HTTP/1 request/response classes. */
type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export async function startEcho(opts: EchoOptions): Promise<EchoServer> {
  const host = opts.host ?? '0.0.0.0';
  const name = opts.name ?? 'echo';
  const pod = opts.pod ?? {};
  const handler = (req: Req, res: Res): void => handle(req, res, name, pod);

  // Cleartext http2 servers ignore allowHTTP1 (it only works through TLS ALPN), so one
  // net.Server sniffs the first bytes for the h2 preface and hands the socket over.
  const h1 = http.createServer(handler);
  const h2 = http2.createServer({}, handler);
  h1.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => sessions.delete(s));
  });
  h2.on('sessionError', () => undefined);

  // Our own connection bookkeeping: h1 never listens itself, so its closeIdleConnections()
  // knows nothing about the sockets handed to it.
  const httpSockets = new Set<net.Socket>();
  const tcpSockets = new Set<net.Socket>();
  const kind = new WeakMap<net.Socket, 'h1' | 'h2'>();
  const active = new Map<net.Socket, Set<http.ServerResponse>>(); // h1 responses in progress
  let shuttingDown = false;
  const track = (sock: net.Socket, set: Set<net.Socket>): void => {
    set.add(sock);
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      set.delete(sock);
      active.delete(sock);
    });
  };
  const busy = (sock: net.Socket): boolean => (active.get(sock)?.size ?? 0) > 0;
  h1.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const sock = req.socket as net.Socket;
    const set = active.get(sock) ?? new Set<http.ServerResponse>();
    active.set(sock, set);
    set.add(res);
    if (shuttingDown) res.setHeader('connection', 'close');
    res.on('close', () => {
      set.delete(res);
      // A keep-alive response already on the wire can't say "close"; FIN after it instead.
      if (shuttingDown && set.size === 0) sock.end();
    });
  });

  const front = net.createServer((sock) => {
    track(sock, httpSockets);
    dispatch(sock, (k) => {
      kind.set(sock, k);
      (k === 'h2' ? h2 : h1).emit('connection', sock);
    });
  });
  const tcp = net.createServer({ allowHalfOpen: true }, (sock) => {
    track(sock, tcpSockets);
    // pipe() ends our side only after the peer's FIN, which is exactly half-close semantics.
    sock.pipe(sock);
  });

  await listen(front, opts.httpPort, host);
  try {
    await listen(tcp, opts.tcpPort, host);
  } catch (err) {
    front.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      const stopped = Promise.all([closeServer(front), closeServer(tcp)]);
      // Graceful first: h2 sessions get GOAWAY, idle HTTP connections go now, busy ones
      // finish their response; TCP echo streams get the grace period to wind down.
      for (const s of sessions) s.close();
      for (const sock of httpSockets) {
        const k = kind.get(sock);
        // Not yet dispatched, or h1 between requests: nothing in progress to lose.
        if (k === undefined || (k === 'h1' && !busy(sock))) sock.destroy();
        for (const res of active.get(sock) ?? []) if (!res.headersSent) res.setHeader('connection', 'close');
      }
      const grace = setTimeout(() => {
        for (const sock of [...httpSockets, ...tcpSockets]) sock.destroy();
      }, opts.closeGraceMs ?? 2000);
      await stopped;
      clearTimeout(grace);
    })();
    return closing;
  };

  return { close, httpPort: portOf(front), tcpPort: portOf(tcp) };
}

/** Reads just enough of the first bytes to tell an h2 preface from an HTTP/1 request line. */
function dispatch(sock: net.Socket, handOff: (kind: 'h1' | 'h2') => void): void {
  let buf: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const n = Math.min(buf.length, H2_PREFACE.length);
    const isPrefix = buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isPrefix && buf.length < H2_PREFACE.length) return; // need more bytes to decide
    sock.removeListener('data', onData);
    sock.removeListener('end', onEnd);
    sock.pause();
    sock.unshift(buf);
    if (isPrefix) {
      // The h2 session drains already-buffered bytes itself before reading the handle.
      handOff('h2');
    } else {
      handOff('h1');
      // The http parser reads via 'data'; resuming replays the unshifted bytes first.
      sock.resume();
    }
  };
  const onEnd = (): void => {
    sock.destroy();
  };
  sock.on('data', onData);
  sock.on('end', onEnd);
}

type PodInfo = NonNullable<EchoOptions['pod']>;

function handle(req: Req, res: Res, name: string, pod: PodInfo): void {
  const url = new URL(req.url ?? '/', 'http://echo.invalid');
  let bodyLength = 0;
  req.on('data', (chunk: Buffer) => {
    bodyLength += chunk.length;
  });
  req.on('error', () => undefined);
  res.on('error', () => undefined);
  req.on('end', () => {
    if (url.pathname === '/healthz') {
      send(res, 200, 'text/plain', 'ok');
      return;
    }
    const reply = describe(req, url, name, pod, bodyLength);
    send(res, statusParam(url), 'application/json', JSON.stringify(reply) + '\n');
  });
}

function describe(req: Req, url: URL, name: string, pod: PodInfo, bodyLength: number): EchoReply {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    // h2 pseudo-headers are reported via method/path/host instead, so both protocols look alike.
    if (!k.startsWith(':') && v !== undefined) headers[k] = v;
  }
  const authority = req.headers[':authority'];
  const reply: EchoReply = {
    pod: name,
    namespace: pod.namespace ?? '',
    podIP: pod.podIP ?? '',
    node: pod.node ?? '',
    client: { address: stripV4Mapped(req.socket.remoteAddress ?? ''), port: req.socket.remotePort ?? 0 },
    method: req.method ?? '',
    path: req.url ?? '/',
    host: req.headers.host ?? (typeof authority === 'string' ? authority : ''),
    httpVersion: req.httpVersion,
    headers,
    bodyLength,
  };
  const size = intParam(url, 'size');
  if (size !== undefined && size > 0) reply.padding = 'x'.repeat(Math.min(size, MAX_PADDING));
  return reply;
}

function send(res: Res, status: number, type: string, body: string): void {
  if (res.headersSent) return;
  // Both response classes accept this call shape; the union's overloads just don't unify in TS.
  (res as http.ServerResponse).writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function statusParam(url: URL): number {
  const s = intParam(url, 'status');
  return s !== undefined && s >= 200 && s <= 599 ? s : 200;
}

function intParam(url: URL, key: string): number | undefined {
  const v = url.searchParams.get(key);
  if (v === null || !/^\d{1,9}$/.test(v)) return undefined;
  return Number(v);
}


function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function portOf(server: net.Server): number {
  const a = server.address();
  return typeof a === 'object' && a !== null ? a.port : 0;
}
