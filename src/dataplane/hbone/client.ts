// The HBONE client: one mTLS HTTP/2 connection to a next hop (spec §2.1-2.3) and CONNECT
// streams over it (§2.4). A stream is handed out only after the server's 200 (§2.5).
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { WorkloadCertificate } from '../../identity/ca-client.js';
import { clientSettings, keepalive, raiseConnectionWindow, sessionOptions, tuneSocket, type KeepaliveOptions } from './h2.js';
import { parseBaggage, type Baggage } from './baggage.js';
import { handshakeStart, publishHandshake } from './handshake-events.js';
import { connectHeaders, parseAuthority, type ConnectRequest } from './headers.js';
import { normalizeSerial } from '../../identity/serial.js';
import { clientTlsOptions, negotiatedGroup } from './tls.js';

export type HboneErrorCode = 'HTTP_STATUS' | 'CONNECT_TIMEOUT' | 'TLS' | 'CERT_REVOKED' | 'CONNECTION' | 'STREAM_RESET' | 'BAD_ADDRESS';

export class HboneError extends Error {
  constructor(
    message: string,
    readonly code: HboneErrorCode,
    /** The CONNECT response status when the server answered with one (400/401/503...). */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HboneError';
  }
}

/** §2.1: 10 s TCP connect timeout, with ztunnel's hint. */
export const CONNECT_TIMEOUT_MS = 10_000;

export interface ConnectionOptions {
  /** `ip:15008` (or `[v6]:15008`): an IP, so no SNI goes out (§2.2). */
  nextHop: string;
  certificate: WorkloadCertificate;
  expectedIdentities: readonly string[];
  /** Local address to bind (the source pod IP in-pod). */
  srcIp?: string;
  connectTimeoutMs?: number;
  keepalive?: KeepaliveOptions;
  /** Makes the TCP socket to the next hop (default net.connect); in-pod: a marked socket in the pod netns. */
  connectSocket?: SocketConnector;
  /** Revoked certificate serials (normalized): a server presenting one is refused. */
  revoked?: ReadonlySet<string>;
}

const serverSerials = new WeakMap<http2.ClientHttp2Session, string>();
/** The serial (normalized) of the certificate the server presented on this session. */
export const serverSerialOf = (s: http2.ClientHttp2Session): string | undefined => serverSerials.get(s);
const groups = new WeakMap<http2.ClientHttp2Session, string>();
/** The key-exchange group this session's TLS handshake used (e.g. X25519MLKEM768, X25519). */
export const keyExchangeGroupOf = (s: http2.ClientHttp2Session): string | undefined => groups.get(s);

/** Opens a (connecting) TCP socket to host:port, optionally bound to localAddress. */
export type SocketConnector = (o: { host: string; port: number; localAddress?: string }) => net.Socket;

const noop = (): void => {};

/** TLS + HTTP/2 up to the server's SETTINGS: proof the server accepted our certificate. */
export async function openConnection(o: ConnectionOptions): Promise<http2.ClientHttp2Session> {
  const hop = parseAuthority(o.nextHop);
  if (!hop) throw new HboneError(`next hop '${o.nextHop}' is not <ip>:<port>`, 'BAD_ADDRESS');
  const timeoutMs = o.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  const tcp = (o.connectSocket ?? net.connect)({ host: hop.ip, port: hop.port, localAddress: o.srcIp });
  tcp.on('error', noop);
  let tcpConnected = false;
  let handshakeAt = handshakeStart();
  tcp.once('connect', () => ((tcpConnected = true), (handshakeAt = handshakeStart())));
  tuneSocket(tcp);
  // host is an IP literal: Node derives SNI only from hostnames, so the ClientHello has none.
  let serial = '';
  let group: string | undefined;
  const socket = tls.connect({ ...clientTlsOptions(o.certificate, o.expectedIdentities), socket: tcp, host: hop.ip });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new HboneError(`connection to ${o.nextHop} timed out, maybe a NetworkPolicy is blocking HBONE port ${hop.port}`, 'CONNECT_TIMEOUT')),
        timeoutMs,
      );
      socket.once('secureConnect', () => {
        clearTimeout(t);
        group = negotiatedGroup(socket);
        publishHandshake('client', handshakeAt, true, group);
        resolve();
      });
      socket.once('error', (e: Error & { code?: string }) => {
        clearTimeout(t);
        if (tcpConnected) publishHandshake('client', handshakeAt, false);
        reject(new HboneError(`${o.nextHop}: ${e.message}`, tcpConnected ? 'TLS' : 'CONNECTION'));
      });
    });
    if (socket.alpnProtocol !== 'h2') throw new HboneError(`${o.nextHop}: ALPN h2 not negotiated`, 'TLS');
    serial = normalizeSerial(socket.getPeerCertificate().serialNumber ?? '');
    if (o.revoked?.has(serial)) throw new HboneError(`${o.nextHop}: the server's certificate ${serial} is revoked`, 'CERT_REVOKED');
  } catch (e) {
    socket.destroy();
    throw e;
  }
  socket.on('error', noop);
  const session = http2.connect(`https://${o.nextHop}`, { createConnection: () => socket, settings: clientSettings, ...sessionOptions });
  session.on('error', noop);
  try {
    // TLS 1.3: a server that rejects our certificate does so after our handshake "completed";
    // its SETTINGS frame is the first sign that it accepted us.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new HboneError(`${o.nextHop}: no HTTP/2 SETTINGS within ${timeoutMs} ms`, 'CONNECT_TIMEOUT')), timeoutMs);
      session.once('remoteSettings', () => (clearTimeout(t), resolve()));
      session.once('close', () => (clearTimeout(t), reject(new HboneError(`${o.nextHop}: connection closed during setup (certificate refused?)`, 'TLS'))));
    });
  } catch (e) {
    session.destroy();
    throw e;
  }
  raiseConnectionWindow(session);
  keepalive(session, o.keepalive);
  serverSerials.set(session, serial);
  if (group) groups.set(session, group);
  return session;
}

const responseBaggage = new WeakMap<http2.ClientHttp2Stream, Baggage>();
/** The peer's `baggage` from the 200 of this CONNECT stream (the destination workload, spec §2.5); undefined without one. */
export const responseBaggageOf = (s: http2.ClientHttp2Stream): Baggage | undefined => responseBaggage.get(s);

/** Sends one CONNECT; resolves with the stream after a 200, else rejects with the status. */
export function sendConnect(session: http2.ClientHttp2Session, req: ConnectRequest): Promise<http2.ClientHttp2Stream> {
  return new Promise((resolve, reject) => {
    const stream = session.request(connectHeaders(req), { endStream: false });
    let settled = false;
    const fail = (e: HboneError): void => {
      if (settled) return;
      settled = true;
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(e);
    };
    stream.on('error', (e: Error) => fail(new HboneError(`CONNECT ${req.authority}: ${e.message}`, 'STREAM_RESET')));
    stream.once('close', () => fail(new HboneError(`CONNECT ${req.authority}: stream closed (code ${stream.rstCode ?? 'none'})`, 'STREAM_RESET')));
    stream.once('response', (headers) => {
      const status = Number(headers[':status']);
      if (status === 200) {
        settled = true;
        if (headers['baggage'] !== undefined) responseBaggage.set(stream, parseBaggage(headers['baggage']));
        resolve(stream);
      } else {
        fail(new HboneError(`CONNECT ${req.authority}: HTTP ${status}`, 'HTTP_STATUS', status));
      }
    });
  });
}
