// The HBONE server (spec §2.5, §2.6): mTLS + HTTP/2 on a listener, one CONNECT stream per tunnel.
// The 200 goes out only after authz passed and the upstream TCP connect succeeded.
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { WorkloadCertificate } from '../identity/ca-client.js';
import { keepalive, raiseConnectionWindow, serverSettings, sessionOptions, tuneSocket, type KeepaliveOptions } from './h2.js';
import { parseAuthority, type HboneTarget } from './headers.js';
import { splice } from './splice.js';
import { peerIdentityIn, serverTlsOptions, trustDomainOf } from './tls.js';

export interface AuthorizeRequest {
  peerIdentity: string;
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
  /** The listener's address (the L3 destination, e.g. the pod IP; §2.6 step 3). */
  localAddr: string;
  headers: http2.IncomingHttpHeaders;
}

export interface AuthorizeResult {
  allowed: boolean;
  reason?: string;
}

export interface UpstreamContext {
  peerIdentity: string;
  srcAddr: string;
  /** Aborted when the client resets the stream before the upstream connected. */
  signal: AbortSignal;
}

export interface HboneServerOptions {
  certificate: WorkloadCertificate;
  authorize(req: AuthorizeRequest): AuthorizeResult | Promise<AuthorizeResult>;
  connectUpstream(dst: HboneTarget, ctx: UpstreamContext): Promise<net.Socket>;
  keepalive?: KeepaliveOptions;
  handshakeTimeoutMs?: number;
}

export interface SessionInfo {
  peerIdentity: string;
  remoteAddr: string;
  /** SNI the client sent; HBONE clients send none (§2.2). */
  servername: string | false | null | undefined;
  alpn: string | false | null;
}

export interface TunnelInfo {
  peerIdentity: string;
  srcAddr: string;
  dst: string;
  status: number;
  reason?: string;
  bytesIn: number;
  bytesOut: number;
}

export interface HboneServerEvents {
  session: [SessionInfo];
  /** A CONNECT finished: refused (status ≠ 200) or a tunnel that closed. */
  tunnel: [TunnelInfo];
  /** A TLS handshake or identity check failed. */
  rejected: [{ remoteAddr: string; reason: string }];
}

const noop = (): void => {};

export class HboneServer extends EventEmitter<HboneServerEvents> {
  readonly #opts: HboneServerOptions;
  readonly #tls: tls.Server;
  #trustDomain: string;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #listeners = new Set<net.Server>();
  #tunnels = 0;
  #pendingUpstreams = 0;

  constructor(opts: HboneServerOptions) {
    super();
    this.#opts = opts;
    this.#trustDomain = trustDomainOf(opts.certificate.identity);
    this.#tls = tls.createServer({ ...serverTlsOptions(opts.certificate), handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000 });
    this.#tls.on('secureConnection', (s) => this.#onSecure(s));
    this.#tls.on('tlsClientError', (e, s) => this.emit('rejected', { remoteAddr: s.remoteAddress ?? '', reason: e.message }));
    this.#tls.on('error', noop);
  }

  /** Serves HBONE on an existing listener (e.g. one opened inside a pod netns). */
  attach(server: net.Server): void {
    this.#listeners.add(server);
    server.on('error', noop);
    server.on('connection', (raw: net.Socket) => {
      raw.on('error', noop);
      tuneSocket(raw);
      this.#tls.emit('connection', raw);
    });
  }

  async listen(port: number, host = '127.0.0.1'): Promise<net.AddressInfo> {
    const server = net.createServer();
    this.attach(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server.address() as net.AddressInfo;
  }

  /** Rotation: new connections present the new certificate; open ones keep theirs (§3). */
  setCertificate(cert: WorkloadCertificate): void {
    this.#trustDomain = trustDomainOf(cert.identity);
    this.#tls.setSecureContext(serverTlsOptions(cert));
  }

  stats(): { sessions: number; tunnels: number; pendingUpstreams: number } {
    return { sessions: this.#sessions.size, tunnels: this.#tunnels, pendingUpstreams: this.#pendingUpstreams };
  }

  /** Stops the listeners, then drains (§2.12). */
  async close(graceMs = 5000): Promise<void> {
    for (const l of this.#listeners) l.close();
    await this.drain(graceMs);
  }

  /** Graceful GOAWAY on every open session (§2.12); destroys what is still open after graceMs. */
  async drain(graceMs = 5000): Promise<void> {
    const sessions = [...this.#sessions];
    await Promise.all(
      sessions.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.destroyed) return resolve();
            const t = setTimeout(() => s.destroy(), graceMs);
            s.once('close', () => (clearTimeout(t), resolve()));
            s.close();
          }),
      ),
    );
  }

  #onSecure(socket: tls.TLSSocket): void {
    socket.on('error', noop);
    const remoteAddr = socket.remoteAddress ?? '';
    const reject = (reason: string): void => {
      this.emit('rejected', { remoteAddr, reason });
      socket.destroy();
    };
    if (!socket.authorized) return reject(`client certificate: ${String(socket.authorizationError)}`);
    if (socket.alpnProtocol !== 'h2') return reject('ALPN h2 not negotiated');
    // TrustDomainVerifier (§2.2): any valid client of our trust domain; which one is authz's call.
    const peerIdentity = peerIdentityIn(socket.getPeerCertificate(), this.#trustDomain);
    if (!peerIdentity) return reject(`client certificate has no SPIFFE ID in trust domain ${this.#trustDomain}`);
    const session = http2.performServerHandshake(socket, { settings: serverSettings, ...sessionOptions });
    this.#sessions.add(session);
    session.on('error', noop);
    session.once('close', () => this.#sessions.delete(session));
    raiseConnectionWindow(session);
    keepalive(session, this.#opts.keepalive);
    session.on('stream', (stream, headers) => {
      stream.on('error', noop);
      this.#onStream(stream, headers, peerIdentity, socket).catch(() => {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
    });
    this.emit('session', { peerIdentity, remoteAddr, servername: socket.servername, alpn: socket.alpnProtocol });
  }

  async #onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, peerIdentity: string, socket: tls.TLSSocket): Promise<void> {
    const srcAddr = socket.remoteAddress ?? '';
    const authority = headers[':authority'] ?? '';
    const info = (status: number, reason?: string): TunnelInfo => ({ peerIdentity, srcAddr, dst: authority, status, reason, bytesIn: 0, bytesOut: 0 });
    const refuse = (status: number, reason: string): void => {
      if (!stream.closed && !stream.headersSent) stream.respond({ ':status': status }, { endStream: true });
      this.emit('tunnel', info(status, reason));
    };
    // §2.5: non-CONNECT and unparseable authorities are 400.
    if (headers[':method'] !== 'CONNECT') return refuse(400, `method ${String(headers[':method'])} is not CONNECT`);
    const dst = parseAuthority(authority);
    if (!dst) return refuse(400, `bad authority '${authority}'`);

    const ac = new AbortController();
    stream.once('close', () => ac.abort());
    let decision: AuthorizeResult;
    try {
      decision = await this.#opts.authorize({
        peerIdentity,
        srcAddr,
        srcPort: socket.remotePort ?? 0,
        dstAddr: dst.ip,
        dstPort: dst.port,
        localAddr: socket.localAddress ?? '',
        headers,
      });
    } catch (e) {
      decision = { allowed: false, reason: `authorize failed: ${(e as Error).message}` };
    }
    if (ac.signal.aborted) return;
    if (!decision.allowed) return refuse(401, decision.reason ?? 'denied'); // §2.5: authz denial

    let upstream: net.Socket;
    this.#pendingUpstreams++;
    try {
      upstream = await this.#opts.connectUpstream(dst, { peerIdentity, srcAddr, signal: ac.signal });
    } catch (e) {
      return refuse(503, `upstream connect: ${(e as Error).message}`); // §2.5: CONNECT failure
    } finally {
      this.#pendingUpstreams--;
    }
    upstream.on('error', noop);
    // The client reset the stream while we were connecting: nothing to answer, drop the upstream.
    if (ac.signal.aborted || stream.closed) {
      upstream.destroy();
      return;
    }
    tuneSocket(upstream);
    stream.respond({ ':status': 200 });
    this.#tunnels++;
    splice(stream, upstream, (r) => {
      this.#tunnels--;
      this.emit('tunnel', { ...info(200, r.error), bytesIn: r.streamToSocket, bytesOut: r.socketToStream });
    });
  }
}
