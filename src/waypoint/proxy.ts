// The waypoint's data path (waypoint-spec §1.4-§2.9): HBONE terminated on :15008, the CONNECT
// authority (VIP:port or pod IP:port) picks the service, HTTP is served inside the stream by one
// node:http and one node:http2 server (the stream is their socket), L7 routing from
// WaypointRoutes, and each request goes out as HTTP over a new HBONE CONNECT to
// `<pod IP>:15008` with authority `<pod IP>:<targetPort>`, with the waypoint's own certificate.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { WorkloadCertificate } from '../identity/ca-client.js';
import type { Port, Service, Workload } from '../mesh-api/types.js';
import { serviceResourceName } from '../mesh-api/types.js';
import type { BackendRef, RetryPolicy, RouteRule, WaypointRoutes } from '../mesh-api/waypoint.js';
import { HboneServer, type UpstreamContext } from '../dataplane/hbone/server.js';
import { HbonePool } from '../dataplane/hbone/pool.js';
import { canonicalIp, formatAuthority, type HboneTarget } from '../dataplane/hbone/headers.js';
import type { MeshState } from '../dataplane/mesh-state.js';
import { spiffeIdOf } from '../dataplane/state/identity.js';
import { HBONE_PORT } from '../dataplane/state/waypoints.js';
import { applyFilters, modifyHeaders, pickBackend, selectRoute, type RequestEdit } from './routing.js';
import { decorateRequest, decorateResponse, endToEnd, type HeaderMap } from './http-headers.js';
import { grpcStatusOf, isGrpc, LOCAL_REPLIES, type LocalReply, type ResponseFlag } from './local-reply.js';
import { declaredProtocol, sniffProtocol, type ChainProtocol } from './protocol.js';
import { LeastRequest, type Picked } from './endpoints.js';
import type { RequestRecord, WaypointTelemetry } from './telemetry.js';

/** Where the waypoint reads its L7 config: fed by xDS in the process, directly in tests. */
export interface RouteStore {
  get(service: string): WaypointRoutes | undefined;
}

export class MapRouteStore implements RouteStore {
  readonly routes = new Map<string, WaypointRoutes>();
  get(service: string): WaypointRoutes | undefined {
    return this.routes.get(service);
  }
  set(r: WaypointRoutes): void {
    this.routes.set(r.service, r);
  }
  delete(service: string): void {
    this.routes.delete(service);
  }
}

/** Istio's default route retry (§2.6): 2 attempts on connect failure and 503. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 2, codes: [503], backoffMs: 25 };
/** What a request body may occupy for replay on a retry (Envoy's per-request buffer limit). */
export const RETRY_BUFFER_BYTES = 64 * 1024;

export interface WaypointProxyOptions {
  certificate: WorkloadCertificate;
  mesh: () => MeshState;
  routes: RouteStore;
  telemetry: WaypointTelemetry;
  /** The HBONE port on destination pods (15008); tests run backends on another one. */
  upstreamHbonePort?: number;
  pool?: HbonePool;
  rand?: () => number;
  log?: (msg: string) => void;
}

/** Who the request came from and where it was addressed (the CONNECT). */
interface Downstream {
  dst: HboneTarget;
  authority: string;
  peerIdentity: string;
  srcAddr: string;
  srcWorkload?: Workload;
  /** The service the authority addressed, with its port; absent for pod-addressed traffic. */
  service?: Service;
  port?: Port;
  /** The pod, for workload-addressed traffic. */
  workload?: Workload;
}

/** A request's backend target: a service port, or a pod directly. */
type Target = { service: Service; servicePort: number } | { workload: Workload; port: number };

const noop = (): void => {};
const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export class WaypointProxy {
  readonly hbone: HboneServer;
  readonly pool: HbonePool;
  readonly #opts: WaypointProxyOptions;
  readonly #h1: http.Server;
  readonly #h2: http2.Http2Server;
  readonly #lb: LeastRequest;
  readonly #byStream = new WeakMap<object, Downstream>();
  readonly #bySession = new WeakMap<object, Downstream>();
  #pending: Downstream | undefined;
  #cert: WorkloadCertificate;

  constructor(opts: WaypointProxyOptions) {
    this.#opts = opts;
    this.#cert = opts.certificate;
    this.pool = opts.pool ?? new HbonePool();
    this.#lb = new LeastRequest(opts.rand);
    this.hbone = new HboneServer({
      certificate: opts.certificate,
      authorize: () => ({ allowed: true }), // L7 authz is not implemented yet; L4 trust is the TLS trust domain
      connectUpstream: () => Promise.reject(new Error('the waypoint terminates every tunnel')),
      acceptAuthority: (dst) => this.#resolve(dst) !== undefined,
      terminate: (stream, dst, ctx) => this.#onTunnel(stream, dst, ctx),
    });
    this.#h1 = http.createServer({ keepAlive: true }, (req, res) => this.#onRequest(req, res, this.#byStream.get(req.socket)));
    this.#h1.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      // Malformed HTTP: 400 and close this tunnel only (Envoy: http1.codec_error).
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\ncontent-type: text/plain\r\nconnection: close\r\nserver: istio-envoy\r\n\r\nBad Request');
      else socket.destroy();
      const d = this.#byStream.get(socket);
      if (d) this.#record(d, { method: '-', path: '-', protocol: 'HTTP/1.1', grpc: false, requestId: '-', authority: '-', startedAt: Date.now() }, LOCAL_REPLIES.BAD_REQUEST, {});
    });
    this.#h1.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head, this.#byStream.get(socket)));
    this.#h2 = http2.createServer({ settings: { maxConcurrentStreams: 1000 } }, (req, res) => this.#onRequest(req, res, this.#bySession.get(req.stream.session as object)));
    this.#h2.on('session', (s: http2.ServerHttp2Session) => {
      if (this.#pending) this.#bySession.set(s, this.#pending);
      this.#pending = undefined;
      s.on('error', noop);
    });
  }

  async listen(port = HBONE_PORT, host = '0.0.0.0'): Promise<{ port: number; address: string }> {
    return this.hbone.listen(port, host);
  }

  setCertificate(cert: WorkloadCertificate): void {
    this.#cert = cert;
    this.hbone.setCertificate(cert);
  }

  async close(): Promise<void> {
    await this.hbone.close(1000);
    this.pool.close();
    this.#h1.closeAllConnections();
  }

  /** The service (by VIP) or pod the authority names; undefined if the waypoint serves neither. */
  #resolve(dst: HboneTarget): Omit<Downstream, 'authority' | 'peerIdentity' | 'srcAddr' | 'dst'> | undefined {
    const mesh = this.#opts.mesh();
    const svc = mesh.serviceByVip(dst.ip, dst.port);
    if (svc) return { service: svc.service, port: svc.port };
    const w = mesh.workloadByIp(dst.ip);
    return w ? { workload: w } : undefined;
  }

  #onTunnel(stream: http2.ServerHttp2Stream, dst: HboneTarget, ctx: UpstreamContext): void {
    const r = this.#resolve(dst);
    if (!r) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    const d: Downstream = { ...r, dst, authority: formatAuthority(canonicalIp(dst.ip), dst.port), peerIdentity: ctx.peerIdentity, srcAddr: ctx.srcAddr, srcWorkload: this.#opts.mesh().workloadByIp(ctx.srcAddr) };
    const declared = declaredProtocol(d.port?.appProtocol);
    if (declared) return this.#serve(stream, d, declared);
    // Sniff (http_inspector): read what arrived first, put it back, then hand the stream over.
    const onReadable = (): void => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.unshift(chunk);
      this.#serve(stream, d, sniffProtocol(chunk));
    };
    const onEnd = (): void => void stream.off('readable', onReadable);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
  }

  #serve(stream: http2.ServerHttp2Stream, d: Downstream, proto: ChainProtocol): void {
    if (proto === 'http1') {
      // node:http corks header and body into one writev; on an Http2Stream that corrupted the
      // first bytes of small local replies (seen on Node 20), so each write goes out on its own.
      (stream as unknown as { _writev: unknown })._writev = null;
      this.#byStream.set(stream, d);
      this.#h1.emit('connection', stream);
    } else if (proto === 'http2') {
      this.#pending = d;
      this.#h2.emit('connection', stream);
      this.#pending = undefined;
    } else {
      this.#tcp(stream, d).catch(() => stream.destroy());
    }
  }

  /** The default target of a request: the addressed service port, or the pod itself. */
  #defaultTarget(d: Downstream): Target | undefined {
    if (d.service && d.port) return { service: d.service, servicePort: d.port.servicePort };
    if (d.workload) return { workload: d.workload, port: d.dst.port };
    return undefined;
  }

  /** An endpoint for a target; undefined: none healthy. */
  #pick(target: Target, avoid: ReadonlySet<string>): { ep: Picked; service?: Service } | undefined {
    if ('service' in target) {
      const ep = this.#lb.pick(this.#opts.mesh(), target.service, target.servicePort, avoid);
      return ep && { ep, service: target.service };
    }
    const ip = target.workload.addresses[0];
    if (ip === undefined || target.workload.status !== 'HEALTHY') return undefined;
    return { ep: { workload: target.workload, targetPort: target.port, ip, addr: formatAuthority(ip, target.port) } };
  }

  /** A CONNECT stream to the endpoint's pod, as the waypoint. */
  #tunnel(ep: Picked, service?: Service): Promise<http2.ClientHttp2Stream> {
    const id = spiffeIdOf(ep.workload);
    return this.pool.connect({
      dst: ep.addr,
      nextHop: formatAuthority(ep.ip, this.#opts.upstreamHbonePort ?? HBONE_PORT),
      certificate: this.#cert,
      expectedIdentities: [id, ...(service?.subjectAltNames ?? [])],
    });
  }

  async #tcp(stream: http2.ServerHttp2Stream, d: Downstream): Promise<void> {
    const target = this.#defaultTarget(d);
    const picked = target && this.#pick(target, new Set());
    if (!picked) return void stream.close(http2.constants.NGHTTP2_CONNECT_ERROR);
    const up = await this.#tunnel(picked.ep, picked.service);
    up.on('error', noop);
    stream.pipe(up);
    up.pipe(stream);
    const kill = (): void => {
      if (!up.destroyed) up.destroy();
      if (!stream.destroyed) stream.destroy();
    };
    up.once('close', () => stream.writableEnded || kill());
    stream.once('close', () => up.writableEnded || kill());
  }

  #backendTarget(ref: BackendRef): Target | undefined {
    const slash = ref.service.indexOf('/');
    const svc = slash > 0 ? this.#opts.mesh().serviceByHost(ref.service.slice(0, slash), ref.service.slice(slash + 1)) : undefined;
    return svc ? { service: svc, servicePort: ref.port } : undefined;
  }

  #onRequest(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse, d: Downstream | undefined): void {
    if (!d) return void res.destroy();
    this.#handle(req, res, d).catch((e: unknown) => {
      this.#opts.log?.(`waypoint: request failed: ${(e as Error).message}`);
      if (!res.headersSent) {
        res.writeHead(500);
        res.end();
      } else res.destroy();
    });
  }

  async #handle(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse, d: Downstream): Promise<void> {
    const startedAt = Date.now();
    const t0 = performance.now();
    const h2 = req.httpVersionMajor === 2;
    const headers: HeaderMap = endToEnd(req.headers as HeaderMap);
    const authority = first(req.headers[':authority'] as string | undefined) ?? first(req.headers.host) ?? d.authority;
    delete headers['host'];
    const { requestId } = decorateRequest(headers);
    const grpc = isGrpc(req.headers['content-type']);
    const info: Info = { method: req.method ?? 'GET', path: req.url ?? '/', protocol: h2 ? 'HTTP/2' : 'HTTP/1.1', grpc, requestId, authority, startedAt, userAgent: first(req.headers['user-agent']), forwardedFor: first(req.headers['x-forwarded-for']) };
    let reqBytes = 0;
    req.on('data', (c: Buffer) => (reqBytes += c.length));
    const finish = (reply: LocalReply | { status: number; flag: ResponseFlag; details: string; grpcStatus?: string }, extra: Partial<RequestRecord>): void =>
      this.#record(d, { ...info, startedAt }, reply, { ...extra, durationMs: performance.now() - t0, requestBytes: reqBytes });
    const local = (r: LocalReply, extra: Partial<RequestRecord> = {}): void => {
      const sent = this.#localReply(res, r, grpc);
      req.resume();
      finish({ ...r, ...(sent.grpcStatus !== undefined ? { grpcStatus: sent.grpcStatus, status: sent.status } : {}) }, { ...extra, responseBytes: sent.bytes });
    };

    // Route (§2.6): WaypointRoutes of the addressed service, or the service itself.
    const routes = d.service ? this.#opts.routes.get(serviceResourceName(d.service)) : undefined;
    const decision = selectRoute(routes, d.port?.servicePort ?? d.dst.port, { method: info.method, path: info.path, headers: req.headers as HeaderMap });
    if (decision.kind === 'none') return local(LOCAL_REPLIES.NR);
    let target: Target | undefined;
    let rule: RouteRule | undefined;
    let edit: RequestEdit = { path: info.path, authority, headers, response: [] };
    let routeName: string | undefined;
    if (decision.kind === 'rule') {
      rule = decision.rule;
      routeName = `${rule.source.namespace}.${rule.source.name}.${rule.source.rule}`;
      edit = applyFilters(rule.filters, { path: info.path, authority, headers, scheme: 'http' }, decision.match);
      if (edit.redirect) {
        const sent = this.#send(res, edit.redirect.status, { location: edit.redirect.location, server: 'istio-envoy' }, '');
        req.resume();
        return finish({ status: edit.redirect.status, flag: '-', details: 'via_route_redirect' }, { responseBytes: sent, route: routeName });
      }
      const backend = pickBackend(rule.backends, this.#opts.rand);
      if (!backend) return local(LOCAL_REPLIES.NO_BACKENDS, { route: routeName });
      if (backend.filters?.length) {
        const more = applyFilters(backend.filters, { path: edit.path, authority: edit.authority, headers: edit.headers, scheme: 'http' }, decision.match);
        edit = { ...more, response: [...edit.response, ...more.response] };
        if (more.redirect) {
          const sent = this.#send(res, more.redirect.status, { location: more.redirect.location, server: 'istio-envoy' }, '');
          req.resume();
          return finish({ status: more.redirect.status, flag: '-', details: 'via_route_redirect' }, { responseBytes: sent, route: routeName });
        }
      }
      target = this.#backendTarget(backend);
      if (!target) return local(LOCAL_REPLIES.NC, { route: routeName });
    } else {
      target = this.#defaultTarget(d);
      if (!target) return local(LOCAL_REPLIES.UH);
    }
    const cluster = 'service' in target ? `inbound-vip|${target.servicePort}|http|${target.service.hostname}` : 'encap';
    const upstreamH2 = upstreamIsH2(target, h2);

    // Attempts (§2.6 retry, HTTPRoute timeouts): the body is streamed and kept for replay while small.
    const retry = rule?.retry ?? DEFAULT_RETRY;
    const tap = new BodyTap(req as Readable, RETRY_BUFFER_BYTES);
    const tried = new Set<string>();
    const deadline = rule?.timeouts?.requestMs;
    const perTry = rule?.timeouts?.backendRequestMs ?? retry.perTryTimeoutMs;
    let timedOut = false;
    let current: Attempt | undefined;
    const overall = deadline
      ? setTimeout(() => {
          timedOut = true;
          current?.abort();
        }, deadline)
      : undefined;
    let lastPicked: { ep: Picked; service?: Service } | undefined;
    try {
      for (let n = 0; ; n++) {
        const picked = this.#pick(target, tried);
        if (!picked) return local(n === 0 ? LOCAL_REPLIES.UH : LOCAL_REPLIES.URX, { cluster, route: routeName, ...(lastPicked ? { upstream: upstreamOf(lastPicked) } : {}) });
        lastPicked = picked;
        tried.add(picked.ep.addr);
        const done = this.#lb.begin(picked.ep.addr);
        const sendHeaders = { ...edit.headers };
        const attemptStart = performance.now();
        current = new Attempt();
        const attemptTimer = perTry ? setTimeout(() => current?.abort('per-try'), perTry) : undefined;
        let outcome: AttemptOutcome;
        try {
          outcome = await this.#attempt(current, picked, { method: info.method, path: edit.path, authority: edit.authority, headers: sendHeaders }, tap, upstreamH2);
        } finally {
          clearTimeout(attemptTimer);
        }
        const canRetry = n < retry.attempts && !tap.overflowed && !timedOut;
        if (outcome.kind === 'response') {
          const grpcNow = first(outcome.headers['grpc-status'] as string | undefined);
          const retriable = retry.codes.includes(outcome.status) || (grpc && (grpcNow === '14' || grpcNow === '1') && rule?.retry === undefined);
          if (retriable && canRetry) {
            outcome.discard();
            done();
            await sleep(backoff(retry.backoffMs, n, this.#opts.rand));
            continue;
          }
          clearTimeout(overall);
          await this.#relay(res, outcome, edit, performance.now() - attemptStart, () => timedOut);
          done();
          return finish(
            { status: outcome.status, flag: '-', details: 'via_upstream', ...(outcome.grpcStatus() !== undefined ? { grpcStatus: outcome.grpcStatus() } : {}) },
            { responseBytes: outcome.bytes, upstream: upstreamOf(picked), cluster, route: routeName, upstreamMs: outcome.headersAtMs - attemptStart },
          );
        }
        done();
        if (outcome.kind === 'timeout' || timedOut) return local(LOCAL_REPLIES.UT, { upstream: upstreamOf(picked), cluster, route: routeName });
        if (outcome.kind === 'connect' && canRetry) {
          await sleep(backoff(retry.backoffMs, n, this.#opts.rand));
          continue;
        }
        const r = outcome.kind === 'connect' ? (n > 0 ? LOCAL_REPLIES.URX : LOCAL_REPLIES.UF) : LOCAL_REPLIES.UC;
        return local(r, { upstream: upstreamOf(picked), cluster, route: routeName });
      }
    } finally {
      clearTimeout(overall);
    }
  }

  /** One try: CONNECT to the pod, then the request as HTTP/1.1 or HTTP/2 inside it, up to the response headers. */
  async #attempt(a: Attempt, picked: { ep: Picked; service?: Service }, r: { method: string; path: string; authority: string; headers: HeaderMap }, tap: BodyTap, h2: boolean): Promise<AttemptOutcome> {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = await a.race(this.#tunnel(picked.ep, picked.service));
    } catch (e) {
      return a.reason ? { kind: 'timeout' } : { kind: 'connect', error: (e as Error).message };
    }
    stream.on('error', noop);
    a.onAbort(() => stream.destroy());
    if (a.reason) return { kind: 'timeout' };
    return h2 ? this.#attemptH2(a, stream, r, tap) : this.#attemptH1(a, stream, r, tap);
  }

  #attemptH1(a: Attempt, stream: Duplex, r: { method: string; path: string; authority: string; headers: HeaderMap }, tap: BodyTap): Promise<AttemptOutcome> {
    return new Promise((resolve) => {
      const headers: HeaderMap = { ...r.headers, host: r.authority };
      delete headers['te']; // HTTP/1.1 upstream: no TE unless chunked trailers are asked for
      const req = http.request({ method: r.method, path: r.path, headers: headers as http.OutgoingHttpHeaders, createConnection: () => stream as never, setHost: false });
      let settled = false;
      req.on('error', (e) => {
        if (settled) return;
        settled = true;
        resolve(a.reason ? { kind: 'timeout' } : { kind: 'reset', error: e.message });
      });
      a.onAbort(() => req.destroy());
      req.on('response', (res) => {
        settled = true;
        const headersAtMs = performance.now();
        let bytes = 0;
        resolve({
          kind: 'response',
          status: res.statusCode ?? 502,
          headers: res.headers as HeaderMap,
          headersAtMs,
          get bytes() {
            return bytes;
          },
          body: res,
          trailers: () => res.trailers as HeaderMap,
          grpcStatus: () => first(res.headers['grpc-status']) ?? first(res.trailers['grpc-status']),
          count: (n) => (bytes += n),
          discard: () => (res.resume(), req.destroy()),
        });
      });
      tap.pipeTo(req);
    });
  }

  #attemptH2(a: Attempt, stream: Duplex, r: { method: string; path: string; authority: string; headers: HeaderMap }, tap: BodyTap): Promise<AttemptOutcome> {
    return new Promise((resolve) => {
      const session = http2.connect(`http://${r.authority}`, { createConnection: () => stream as never });
      session.on('error', noop);
      const req = session.request({ ...r.headers, ':method': r.method, ':path': r.path, ':authority': r.authority, ':scheme': 'http' } as http2.OutgoingHttpHeaders);
      let settled = false;
      let trailers: HeaderMap = {};
      const close = (): void => {
        if (!session.closed) session.close();
      };
      req.on('close', close);
      a.onAbort(() => session.destroy());
      req.on('error', (e) => {
        if (settled) return;
        settled = true;
        close();
        resolve(a.reason ? { kind: 'timeout' } : { kind: 'reset', error: e.message });
      });
      req.on('trailers', (t) => (trailers = t as HeaderMap));
      req.on('response', (h) => {
        settled = true;
        const headersAtMs = performance.now();
        let bytes = 0;
        const status = Number(h[':status']);
        resolve({
          kind: 'response',
          status,
          headers: h as HeaderMap,
          headersAtMs,
          get bytes() {
            return bytes;
          },
          body: req,
          trailers: () => trailers,
          grpcStatus: () => first(h['grpc-status'] as string | undefined) ?? first(trailers['grpc-status']),
          count: (n) => (bytes += n),
          discard: () => (req.resume(), req.close(http2.constants.NGHTTP2_CANCEL)),
        });
      });
      tap.pipeTo(req);
    });
  }

  /** Streams the upstream response to the client; trailers follow (gRPC). */
  async #relay(res: http.ServerResponse | http2.Http2ServerResponse, o: Extract<AttemptOutcome, { kind: 'response' }>, edit: RequestEdit, upstreamMs: number, timedOut: () => boolean): Promise<void> {
    const h = decorateResponse(o.headers, upstreamMs);
    for (const m of edit.response) modifyHeaders(h, m);
    if (res instanceof http.ServerResponse) {
      // Upstream framing is not ours: let node frame (chunked or content-length as given).
      res.writeHead(o.status, h as http.OutgoingHttpHeaders);
    } else {
      delete h['content-length'];
      if (o.headers['content-length'] !== undefined) h['content-length'] = o.headers['content-length'];
      res.writeHead(o.status, h as http2.OutgoingHttpHeaders);
    }
    await new Promise<void>((resolve) => {
      const body = o.body;
      body.on('data', (c: Buffer) => {
        o.count(c.length);
        if (!(res as Writable).write(c)) {
          body.pause();
          (res as Writable).once('drain', () => body.resume());
        }
      });
      body.once('end', () => {
        const t = o.trailers();
        const tr: HeaderMap = {};
        for (const [k, v] of Object.entries(t)) if (!k.startsWith(':') && v !== undefined) tr[k] = v;
        if (Object.keys(tr).length) res.addTrailers(tr as http.OutgoingHttpHeaders);
        res.end();
        resolve();
      });
      body.once('error', () => (res.destroy(), resolve()));
      body.once('close', () => {
        if (!body.readableEnded) {
          if (timedOut()) res.destroy();
          else res.destroy();
          resolve();
        }
      });
      res.once('close', () => {
        if (!res.writableFinished) body.destroy();
      });
    });
  }

  #localReply(res: http.ServerResponse | http2.Http2ServerResponse, r: LocalReply, grpc: boolean): { bytes: number; status: number; grpcStatus?: string } {
    if (grpc) {
      // Envoy answers gRPC callers trailers-only: 200 with grpc-status (the HTTP code mapped).
      const gs = String(grpcStatusOf(r.status));
      this.#send(res, 200, { 'content-type': 'application/grpc', 'grpc-status': gs, 'grpc-message': r.body, server: 'istio-envoy' }, '');
      return { bytes: 0, status: 200, grpcStatus: gs };
    }
    return { bytes: this.#send(res, r.status, { 'content-type': 'text/plain', server: 'istio-envoy' }, r.body), status: r.status };
  }

  #send(res: http.ServerResponse | http2.Http2ServerResponse, status: number, headers: Record<string, string>, body: string): number {
    if (res.headersSent) {
      res.destroy();
      return 0;
    }
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
    return Buffer.byteLength(body);
  }

  /** WebSocket and other Upgrades (HTTP/1.1): route, then a raw byte pipe to the chosen pod. */
  #onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, d: Downstream | undefined): void {
    socket.on('error', noop);
    if (!d) return void socket.destroy();
    const startedAt = Date.now();
    const t0 = performance.now();
    const headers = endToEnd(req.headers as HeaderMap, { keepUpgrade: true });
    const authority = first(req.headers.host) ?? d.authority;
    delete headers['host'];
    const { requestId } = decorateRequest(headers);
    const info: Info = { method: req.method ?? 'GET', path: req.url ?? '/', protocol: 'HTTP/1.1', grpc: false, requestId, authority, startedAt, userAgent: first(req.headers['user-agent']) };
    const fail = (r: LocalReply, extra: Partial<RequestRecord> = {}): void => {
      socket.end(`HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status] ?? ''}\r\ncontent-length: ${Buffer.byteLength(r.body)}\r\ncontent-type: text/plain\r\nserver: istio-envoy\r\nconnection: close\r\n\r\n${r.body}`);
      this.#record(d, info, r, { ...extra, durationMs: performance.now() - t0 });
    };
    const routes = d.service ? this.#opts.routes.get(serviceResourceName(d.service)) : undefined;
    const decision = selectRoute(routes, d.port?.servicePort ?? d.dst.port, { method: info.method, path: info.path, headers: req.headers as HeaderMap });
    if (decision.kind === 'none') return fail(LOCAL_REPLIES.NR);
    let target = this.#defaultTarget(d);
    let path = info.path;
    let auth = authority;
    if (decision.kind === 'rule') {
      const edit = applyFilters(decision.rule.filters, { path, authority, headers, scheme: 'http' }, decision.match);
      const backend = pickBackend(decision.rule.backends, this.#opts.rand);
      target = backend && this.#backendTarget(backend);
      path = edit.path;
      auth = edit.authority;
      Object.assign(headers, edit.headers);
    }
    const picked = target && this.#pick(target, new Set());
    if (!picked) return fail(LOCAL_REPLIES.UH);
    this.#tunnel(picked.ep, picked.service).then(
      (up) => {
        up.on('error', noop);
        const lines = [`${info.method} ${path} HTTP/1.1`, `host: ${auth}`];
        for (const [k, v] of Object.entries(headers)) for (const x of Array.isArray(v) ? v : [v ?? '']) lines.push(`${k}: ${x}`);
        up.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length) up.write(head);
        let status = 0;
        let bytes = 0;
        up.on('data', (c: Buffer) => {
          if (status === 0) status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(c.subarray(0, 16).toString('latin1'))?.[1] ?? 502);
          bytes += c.length;
        });
        socket.pipe(up);
        up.pipe(socket);
        let closed = false;
        const end = (): void => {
          if (closed) return;
          closed = true;
          socket.destroy();
          up.destroy();
          this.#record(d, info, { status: status || 502, flag: '-', details: 'via_upstream' }, { durationMs: performance.now() - t0, responseBytes: bytes, upstream: upstreamOf(picked) });
        };
        socket.once('close', end);
        up.once('close', end);
      },
      () => fail(LOCAL_REPLIES.UF, { upstream: upstreamOf(picked) }),
    );
  }

  #record(d: Downstream, info: Info, reply: { status: number; flag: ResponseFlag; details: string; grpcStatus?: string }, extra: Partial<RequestRecord>): void {
    try {
      this.#opts.telemetry.record({
        ...info,
        durationMs: 0,
        requestBytes: 0,
        responseBytes: 0,
        ...extra,
        status: reply.status,
        flag: reply.flag,
        details: reply.details,
        ...(reply.grpcStatus !== undefined ? { grpcStatus: reply.grpcStatus } : {}),
        src: { addr: d.srcAddr, identity: d.peerIdentity, ...(d.srcWorkload ? { workload: d.srcWorkload } : {}) },
        dstAuthority: d.authority,
        ...(d.service ? { service: d.service } : {}),
      });
    } catch (e) {
      this.#opts.log?.(`waypoint: telemetry failed: ${(e as Error).message}`);
    }
  }
}

type Info = Pick<RequestRecord, 'method' | 'path' | 'protocol' | 'grpc' | 'requestId' | 'authority' | 'startedAt' | 'userAgent' | 'forwardedFor'>;

type AttemptOutcome =
  | {
      kind: 'response';
      status: number;
      headers: HeaderMap;
      headersAtMs: number;
      readonly bytes: number;
      body: NodeJS.ReadableStream & { pause(): unknown; resume(): unknown; destroy(): unknown; readableEnded: boolean };
      trailers(): HeaderMap;
      grpcStatus(): string | undefined;
      count(n: number): void;
      discard(): void;
    }
  | { kind: 'connect'; error: string }
  | { kind: 'reset'; error: string }
  | { kind: 'timeout' };

/** The HTTP version towards the backend (§2.4): HTTP2/gRPC ports h2, HTTP ports h1, sniffed ports as the client spoke. */
function upstreamIsH2(target: Target, downstreamH2: boolean): boolean {
  if (!('service' in target)) return downstreamH2;
  const p = declaredProtocol(target.service.ports.find((x) => x.servicePort === target.servicePort)?.appProtocol);
  return p === 'http2' ? true : p === 'http1' ? false : downstreamH2;
}

function upstreamOf(p: { ep: Picked; service?: Service }): NonNullable<RequestRecord['upstream']> {
  return { addr: p.ep.addr, workload: p.ep.workload, ...(p.service ? { service: p.service } : {}) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Envoy's fully jittered exponential backoff: random in [0, base·2^n), capped at 10× base. */
const backoff = (baseMs: number, n: number, rand: () => number = Math.random): number => Math.floor(rand() * Math.min(baseMs * 2 ** n, baseMs * 10));

/** One try's cancellation: a per-try or overall timeout aborts it. */
class Attempt {
  reason: string | undefined;
  readonly #hooks: (() => void)[] = [];
  abort(reason = 'timeout'): void {
    if (this.reason) return;
    this.reason = reason;
    for (const h of this.#hooks.splice(0)) h();
  }
  onAbort(h: () => void): void {
    if (this.reason) h();
    else this.#hooks.push(h);
  }
  race<T>(p: Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.onAbort(() => reject(new Error('timeout')));
      p.then(resolve, reject);
    });
  }
}

/**
 * The request body, streamed to the current attempt and kept (up to a limit) so a retry can
 * replay it; past the limit retries are off, as Envoy's buffer limit does.
 */
class BodyTap {
  readonly #chunks: Buffer[] = [];
  #size = 0;
  overflowed = false;
  #ended = false;
  #sink: Writable | undefined;
  #waiting = false;

  constructor(private readonly src: Readable, private readonly limit: number) {
    src.on('data', (c: Buffer) => {
      if (!this.overflowed) {
        this.#size += c.length;
        if (this.#size > this.limit) {
          this.overflowed = true;
          this.#chunks.length = 0;
        } else this.#chunks.push(c);
      }
      const sink = this.#sink;
      if (sink && !sink.destroyed && !sink.write(c) && !this.#waiting) {
        this.#waiting = true;
        src.pause();
        const go = (): void => {
          this.#waiting = false;
          sink.off('drain', go).off('close', go);
          src.resume();
        };
        sink.on('drain', go).on('close', go);
      }
    });
    src.once('end', () => {
      this.#ended = true;
      const sink = this.#sink;
      if (sink && !sink.destroyed) sink.end();
    });
    src.pause();
  }

  /** Sends what was kept, then the rest as it comes. */
  pipeTo(sink: Writable): void {
    sink.on('error', noop);
    this.#sink = sink;
    for (const c of this.#chunks) sink.write(c);
    if (this.#ended) sink.end();
    else this.src.resume();
  }
}

export const newRequestId = randomUUID;
