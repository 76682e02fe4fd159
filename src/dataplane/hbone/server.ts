// The HBONE server (spec §2.5, §2.6): mTLS + HTTP/2 on a listener, one CONNECT stream per tunnel.
// The 200 goes out only after authz passed and the upstream TCP connect succeeded.
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { WorkloadCertificate } from '../../identity/ca-client.js';
import { keepalive, raiseConnectionWindow, serverSettings, sessionOptions, tuneSocket, type KeepaliveOptions } from './h2.js';
import { handshakeStart, publishHandshake, publishHandshakeRefused } from './handshake-events.js';
import { parseBaggage, type Baggage } from './baggage.js';
import { canonicalIp, parseAuthority, type HboneTarget } from './headers.js';
import { splice } from './splice.js';
import { normalizeSerial } from '../../identity/serial.js';
import { peerIdentityIn, serverTlsOptions, trustDomainOf } from './tls.js';
import { DATAPLANE_ERRORS, type DataplaneErrorKind } from '../errors.js';

export interface AuthorizeRequest {
  peerIdentity: string;
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
  /** The listener's address (the L3 destination, e.g. the pod IP; §2.6 step 3), v4-mapped stripped. */
  localAddr: string;
  headers: http2.IncomingHttpHeaders;
}

export interface AuthorizeResult {
  allowed: boolean;
  reason?: string;
  /** Why it is refused (default POLICY_DENIED): decides the status (errors.ts). */
  kind?: DataplaneErrorKind;
}

export interface UpstreamContext {
  peerIdentity: string;
  srcAddr: string;
  /** Aborted when the client resets the stream before the upstream connected. */
  signal: AbortSignal;
  /** The CONNECT request's headers (forwarded, baggage, traceparent) for telemetry. */
  headers: http2.IncomingHttpHeaders;
  peer: PeerTelemetry;
}

/** What the client says about itself on the CONNECT (spec §2.4), for labels when its IP is unknown here. */
export interface PeerTelemetry {
  /** Its `baggage`, parsed defensively (empty when absent or unusable). */
  baggage: Baggage;
  /** `x-forwarded-network` (the inner CONNECT of double HBONE), capped at 256 characters. */
  forwardedNetwork?: string;
}

/** Never throws: a malformed header only loses telemetry. */
export function peerTelemetry(headers: http2.IncomingHttpHeaders): PeerTelemetry {
  let baggage: Baggage = {};
  try {
    baggage = parseBaggage(headers['baggage']);
  } catch {
    // keep it empty
  }
  const fwd = headers['x-forwarded-network'];
  const network = (Array.isArray(fwd) ? fwd[0] : fwd)?.slice(0, 256);
  return network ? { baggage, forwardedNetwork: network } : { baggage };
}

export interface HboneServerOptions {
  certificate: WorkloadCertificate;
  authorize(req: AuthorizeRequest): AuthorizeResult | Promise<AuthorizeResult>;
  connectUpstream(dst: HboneTarget, ctx: UpstreamContext): Promise<net.Socket>;
  /**
   * Called only when an IP authority differs from the L3 destination (§2.6 step 3); true lets it
   * through (a waypoint "sandwich" or application tunnel). Without it such requests get 400.
   */
  acceptAuthority?(dst: HboneTarget, localAddr: string): boolean;
  /**
   * The `baggage` for the 200 (the destination workload, spec §2.5; ztunnel's
   * ENABLE_RESPONSE_BAGGAGE). Refusals carry none. A throw or an unsendable value just omits it.
   */
  responseBaggage?(dst: HboneTarget): string | undefined;
  /**
   * Terminates the tunnel here instead of connecting upstream (a waypoint serves HTTP inside the
   * stream): after authz the 200 goes out and the stream is handed over; connectUpstream is not called.
   */
  terminate?(stream: http2.ServerHttp2Stream, dst: HboneTarget, ctx: UpstreamContext): void;
  keepalive?: KeepaliveOptions;
  /** A TLS handshake not finished in this time closes the connection (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Unfinished handshakes at once on this server (default 1024); a connection past it is closed at once. */
  maxPendingHandshakes?: number;
  /** The same per source IP (default 128), so one source cannot take the whole budget. */
  maxPendingHandshakesPerSource?: number;
}

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_PENDING_HANDSHAKES = 1024;
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_SOURCE = 128;

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
  /** Why it was refused (errors.ts); absent on a 200. */
  kind?: DataplaneErrorKind;
  bytesIn: number;
  bytesOut: number;
  /** What the client said about itself in the request's headers. */
  peer?: PeerTelemetry;
}

export interface HboneServerEvents {
  session: [SessionInfo];
  /** A CONNECT finished: refused (status ≠ 200) or a tunnel that closed. */
  tunnel: [TunnelInfo];
  /** A TLS handshake or identity check failed (or timed out). */
  rejected: [{ remoteAddr: string; reason: string }];
  /** A connection closed before its handshake began: too many unfinished handshakes (all sources, or its source). */
  refused: [{ remoteAddr: string; limit: 'global' | 'source' }];
  /** An open session was torn down because its peer's certificate was revoked. */
  revokedPeer: [{ peerIdentity: string; serial: string; remoteAddr: string }];
}

const noop = (): void => {};

/** When the TLS handshake of an accepted socket began (handshake timing, read back through the TLSSocket's parent). */
const HANDSHAKE_AT = Symbol('hboneHandshakeAt');
/** Releases the accepted socket's slot among the unfinished handshakes. */
const HANDSHAKE_SETTLE = Symbol('hboneHandshakeSettle');
const handshakeDone = (s: tls.TLSSocket, ok: boolean): void => {
  const parent = (s as unknown as { _parent?: { [HANDSHAKE_AT]?: bigint; [HANDSHAKE_SETTLE]?: () => void } })._parent;
  parent?.[HANDSHAKE_SETTLE]?.();
  const at = parent?.[HANDSHAKE_AT];
  if (at !== undefined) publishHandshake('server', at, ok);
};

/**
 * Stops waiting for a connect when the stream is reset, even if the hook ignores the signal;
 * a socket that still arrives later is closed.
 */
function untilAborted(p: Promise<net.Socket>, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      reject(new Error('stream reset while connecting'));
      p.then((s) => s.destroy(), noop);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (s) => (signal.removeEventListener('abort', onAbort), resolve(s)), // after an abort: a no-op, onAbort closes s
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

export class HboneServer extends EventEmitter<HboneServerEvents> {
  readonly #opts: HboneServerOptions;
  readonly #tls: tls.Server;
  #trustDomain: string;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  /** Peer leaf serial (normalized) and identity per session, for revocation. */
  readonly #peers = new WeakMap<http2.ServerHttp2Session, { serial: string; identity: string; remoteAddr: string }>();
  #revoked: ReadonlySet<string> = new Set();
  readonly #listeners = new Set<net.Server>();
  #tunnels = 0;
  #pendingUpstreams = 0;
  /** Accepted TCP sockets not yet closed (handshaking or serving). */
  #openSockets = 0;
  /** Unfinished handshakes, in total and per source IP (unauthenticated work, bounded). */
  #pending = 0;
  readonly #pendingBySource = new Map<string, number>();
  #refused = 0;
  readonly #handshakeTimeoutMs: number;

  constructor(opts: HboneServerOptions) {
    super();
    this.#opts = opts;
    this.#trustDomain = trustDomainOf(opts.certificate.identity);
    this.#handshakeTimeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.#tls = tls.createServer({ ...serverTlsOptions(opts.certificate), handshakeTimeout: this.#handshakeTimeoutMs });
    this.#tls.on('secureConnection', (s) => (handshakeDone(s, true), this.#onSecure(s)));
    // Node leaves the socket open after tlsClientError (even a handshake timeout) once anyone
    // listens for it: close it here, or every stalled handshake holds a descriptor for good.
    this.#tls.on('tlsClientError', (e, s) => {
      handshakeDone(s, false);
      s.destroy();
      this.emit('rejected', { remoteAddr: s.remoteAddress ?? '', reason: e.message });
    });
    this.#tls.on('error', noop);
  }

  /** Serves HBONE on an existing listener (e.g. one opened inside a pod netns). */
  attach(server: net.Server): void {
    this.#listeners.add(server);
    server.on('error', noop);
    server.on('connection', (raw: net.Socket) => this.#onConnection(raw));
  }

  #onConnection(raw: net.Socket): void {
    raw.on('error', noop);
    const source = canonicalIp(raw.remoteAddress ?? '');
    const fromSource = this.#pendingBySource.get(source) ?? 0;
    const limit = this.#pending >= (this.#opts.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES)
      ? 'global'
      : fromSource >= (this.#opts.maxPendingHandshakesPerSource ?? DEFAULT_MAX_PENDING_HANDSHAKES_PER_SOURCE) ? 'source' : undefined;
    if (limit) {
      this.#refused++;
      raw.resetAndDestroy();
      publishHandshakeRefused(limit);
      this.emit('refused', { remoteAddr: source, limit });
      return;
    }
    this.#openSockets++;
    this.#pending++;
    this.#pendingBySource.set(source, fromSource + 1);
    let handshaking = true;
    const settle = (): void => {
      if (!handshaking) return;
      handshaking = false;
      clearTimeout(timer);
      this.#pending--;
      const n = (this.#pendingBySource.get(source) ?? 1) - 1;
      if (n > 0) this.#pendingBySource.set(source, n);
      else this.#pendingBySource.delete(source);
    };
    // Backstop to Node's handshakeTimeout: whatever stalls (TCP or TLS) is closed at the deadline.
    const timer = setTimeout(() => raw.destroy(), this.#handshakeTimeoutMs + 1000);
    (raw as net.Socket & { [HANDSHAKE_SETTLE]?: () => void })[HANDSHAKE_SETTLE] = settle;
    raw.once('close', () => (settle(), this.#openSockets--));
    tuneSocket(raw);
    (raw as net.Socket & { [HANDSHAKE_AT]?: bigint })[HANDSHAKE_AT] = handshakeStart();
    this.#tls.emit('connection', raw);
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

  /** openSockets: accepted TCP connections still open; pendingHandshakes: those not past TLS yet; refused: closed at once by the caps. */
  socketStats(): { openSockets: number; pendingHandshakes: number; refused: number } {
    return { openSockets: this.#openSockets, pendingHandshakes: this.#pending, refused: this.#refused };
  }

  /**
   * A new CRL (§2.12, §9): revoked clients are refused at handshake from now on, and open
   * sessions with a revoked peer are torn down at once (no GOAWAY: CERT_REVOKED).
   */
  setRevoked(serials: ReadonlySet<string>): void {
    this.#revoked = serials;
    for (const session of [...this.#sessions]) {
      const p = this.#peers.get(session);
      if (!p || !serials.has(p.serial)) continue;
      this.emit('revokedPeer', { peerIdentity: p.identity, serial: p.serial, remoteAddr: p.remoteAddr });
      session.destroy();
    }
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
    const serial = normalizeSerial(socket.getPeerCertificate().serialNumber ?? '');
    if (this.#revoked.has(serial)) return reject(`client certificate ${serial} (${peerIdentity}) is revoked`);
    let session: http2.ServerHttp2Session;
    try {
      session = http2.performServerHandshake(socket, { settings: serverSettings, ...sessionOptions });
    } catch (e) {
      return reject(`HTTP/2 handshake: ${(e as Error).message}`);
    }
    this.#sessions.add(session);
    this.#peers.set(session, { serial, identity: peerIdentity, remoteAddr });
    session.on('error', noop);
    session.once('close', () => this.#sessions.delete(session));
    raiseConnectionWindow(session);
    keepalive(session, this.#opts.keepalive);
    session.on('stream', (stream, headers) => {
      stream.on('error', noop);
      this.#onStream(stream, headers, peerIdentity, socket).catch(() => {
        // Closing can itself throw once the session is gone; nothing may escape as a rejection.
        try {
          if (!stream.closed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        } catch {
          // already torn down
        }
      });
    });
    this.emit('session', { peerIdentity, remoteAddr, servername: socket.servername, alpn: socket.alpnProtocol });
  }

  #acceptAuthority(dst: HboneTarget, localAddr: string): boolean {
    try {
      return this.#opts.acceptAuthority?.(dst, localAddr) === true;
    } catch {
      return false; // a failing hook fails closed
    }
  }

  #okHeaders(dst: HboneTarget): http2.OutgoingHttpHeaders {
    let baggage: string | undefined;
    try {
      baggage = this.#opts.responseBaggage?.(dst);
    } catch {
      baggage = undefined; // telemetry never fails a tunnel
    }
    // Printable ASCII only: anything else would make respond() throw.
    return baggage && /^[\x20-\x7e]+$/.test(baggage) ? { ':status': 200, baggage } : { ':status': 200 };
  }

  async #onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, peerIdentity: string, socket: tls.TLSSocket): Promise<void> {
    const srcAddr = socket.remoteAddress ?? '';
    const rawAuthority = headers[':authority'] ?? '';
    const authority = rawAuthority.slice(0, 256); // for events: a hostile one may be 64 KiB
    const peer = peerTelemetry(headers);
    const info = (status: number, reason?: string): TunnelInfo => ({ peerIdentity, srcAddr, dst: authority, status, reason, bytesIn: 0, bytesOut: 0, peer });
    const refuse = (kind: DataplaneErrorKind, reason: string): void => {
      const status = DATAPLANE_ERRORS[kind].hboneStatus;
      try {
        if (!stream.closed && !stream.headersSent) stream.respond({ ':status': status }, { endStream: true });
      } catch {
        // the session is gone; the refusal is still reported
      }
      this.emit('tunnel', { ...info(status, reason), kind });
    };
    // §2.5: non-CONNECT, extended CONNECT (RFC 8441) and unparseable authorities are 400.
    if (headers[':method'] !== 'CONNECT') return refuse('BAD_TUNNEL_REQUEST', `method ${String(headers[':method'])} is not CONNECT`);
    const extra = [':path', ':scheme', ':protocol'].find((h) => headers[h] !== undefined);
    if (extra) return refuse('BAD_TUNNEL_REQUEST', `plain CONNECT carries no ${extra}`);
    const dst = parseAuthority(rawAuthority);
    if (!dst) return refuse('BAD_TUNNEL_REQUEST', `bad authority '${authority.slice(0, 80)}'`);
    // §2.6 step 3: an IP authority must be the address this connection was accepted on.
    const localAddr = canonicalIp(socket.localAddress ?? '');
    if (canonicalIp(dst.ip) !== localAddr && !this.#acceptAuthority(dst, localAddr)) {
      return refuse('BAD_TUNNEL_REQUEST', `authority ${dst.ip} is not the destination ${localAddr}`);
    }

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
        localAddr,
        headers,
      });
    } catch (e) {
      decision = { allowed: false, kind: 'DESTINATION_REJECTED', reason: `authorize failed: ${(e as Error).message}` };
    }
    if (ac.signal.aborted) return;
    if (!decision.allowed) return refuse(decision.kind ?? 'POLICY_DENIED', decision.reason ?? 'denied'); // §2.5: authz denial

    if (this.#opts.terminate) return this.#terminate(stream, dst, { peerIdentity, srcAddr, signal: ac.signal, headers, peer }, info);

    let upstream: net.Socket;
    this.#pendingUpstreams++;
    try {
      upstream = await untilAborted(this.#opts.connectUpstream(dst, { peerIdentity, srcAddr, signal: ac.signal, headers, peer }), ac.signal);
    } catch (e) {
      if (ac.signal.aborted) return; // the client reset the stream: nothing to answer
      return refuse('UPSTREAM_CONNECT_FAILED', `upstream connect: ${(e as Error).message}`); // §2.5: CONNECT failure
    } finally {
      this.#pendingUpstreams--;
    }
    upstream.on('error', noop);
    if (ac.signal.aborted || stream.closed) {
      upstream.destroy();
      return;
    }
    tuneSocket(upstream);
    try {
      stream.respond(this.#okHeaders(dst));
    } catch {
      upstream.destroy(); // the session died between the check and the answer
      return;
    }
    this.#tunnels++;
    splice(stream, upstream, (r) => {
      this.#tunnels--;
      this.emit('tunnel', { ...info(200, r.error), bytesIn: r.streamToSocket, bytesOut: r.socketToStream });
    });
  }

  #terminate(stream: http2.ServerHttp2Stream, dst: HboneTarget, ctx: UpstreamContext, info: (status: number, reason?: string) => TunnelInfo): void {
    try {
      stream.respond(this.#okHeaders(dst));
    } catch {
      return; // the session died between the check and the answer
    }
    this.#tunnels++;
    stream.once('close', () => {
      this.#tunnels--;
      this.emit('tunnel', { ...info(200), bytesIn: 0, bytesOut: 0 }); // bytes are the terminator's to count
    });
    try {
      this.#opts.terminate!(stream, dst, ctx);
    } catch {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  }
}
