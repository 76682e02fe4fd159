// HBONE connection pool (spec §2.9): keyed by (source identity, acceptable destination
// identities, next hop, source IP); at most 100 streams per connection, more connections when
// full; a per-key "mutex" so a burst to a new key opens one connection; idle release after 5 min;
// a connection that got GOAWAY or closed takes no new streams.
import type http2 from 'node:http2';
import type { WorkloadCertificate } from '../../identity/ca-client.js';
import { openConnection, sendConnect, serverSerialOf, type SocketConnector } from './client.js';
import { CLIENT_MAX_STREAMS, type KeepaliveOptions } from './h2.js';
import type { ConnectRequest } from './headers.js';

export interface PoolConnectOptions extends Omit<ConnectRequest, 'authority'> {
  /** `ip:port` for :authority (the pod IP and target port, or the original dst via a waypoint). */
  dst: string;
  /** `ip:15008`. */
  nextHop: string;
  certificate: WorkloadCertificate;
  expectedIdentities: readonly string[];
  srcIp?: string;
}

export interface HbonePoolOptions {
  /** Default 5 min (POOL_UNUSED_RELEASE_TIMEOUT). */
  idleTimeoutMs?: number;
  /** Default 100 (POOL_MAX_STREAMS_PER_CONNECTION); the peer's MAX_CONCURRENT_STREAMS caps it. */
  maxStreamsPerConnection?: number;
  connectTimeoutMs?: number;
  keepalive?: KeepaliveOptions;
  /** How the TCP socket to the next hop is made (default net.connect); one pool serves one source pod. */
  connectSocket?: SocketConnector;
}

interface Conn {
  session: http2.ClientHttp2Session;
  active: number;
  maxStreams: number;
  draining: boolean;
  idle?: NodeJS.Timeout;
}

interface Entry {
  conns: Conn[];
  connecting?: Promise<void>;
}

export class HbonePool {
  readonly #idleMs: number;
  readonly #maxStreams: number;
  readonly #opts: HbonePoolOptions;
  readonly #entries = new Map<string, Entry>();
  #revoked: ReadonlySet<string> = new Set();

  constructor(opts: HbonePoolOptions = {}) {
    this.#opts = opts;
    this.#idleMs = opts.idleTimeoutMs ?? 5 * 60_000;
    this.#maxStreams = opts.maxStreamsPerConnection ?? CLIENT_MAX_STREAMS;
  }

  /** A tunnel to `dst` through `nextHop`: the stream is a Duplex, resolved after the 200. */
  async connect(o: PoolConnectOptions): Promise<http2.ClientHttp2Stream> {
    const key = [o.certificate.identity, [...o.expectedIdentities].sort().join(','), o.nextHop, o.srcIp ?? ''].join('|');
    for (let attempt = 0; ; attempt++) {
      const conn = await this.#checkout(key, o);
      let stream: http2.ClientHttp2Stream | undefined;
      try {
        stream = await sendConnect(conn.session, { ...o, authority: o.dst });
        return stream;
      } catch (e) {
        // The session went away under us (GOAWAY race): retry once on a fresh connection.
        const sessionGone = conn.session.closed || conn.session.destroyed;
        if (sessionGone) conn.draining = true;
        if (!sessionGone || attempt > 0) throw e;
      } finally {
        if (stream) stream.once('close', () => this.#release(key, conn));
        else this.#release(key, conn);
      }
    }
  }

  stats(): { keys: number; connections: number; streams: number } {
    let connections = 0;
    let streams = 0;
    for (const e of this.#entries.values()) {
      connections += e.conns.length;
      for (const c of e.conns) streams += c.active;
    }
    return { keys: this.#entries.size, connections, streams };
  }

  /** A new CRL: new connections refuse revoked servers; pooled ones to them are torn down now. Returns how many. */
  setRevoked(serials: ReadonlySet<string>): number {
    this.#revoked = serials;
    let n = 0;
    for (const e of this.#entries.values()) {
      for (const c of [...e.conns]) {
        const serial = serverSerialOf(c.session);
        if (serial === undefined || !serials.has(serial)) continue;
        n++;
        c.draining = true;
        c.session.destroy();
      }
    }
    return n;
  }

  /** Closes every pooled connection (GOAWAY; open streams finish). */
  close(): void {
    for (const e of this.#entries.values()) for (const c of e.conns) this.#drop(c, e);
    this.#entries.clear();
  }

  async #checkout(key: string, o: PoolConnectOptions): Promise<Conn> {
    for (;;) {
      let entry = this.#entries.get(key);
      if (!entry) this.#entries.set(key, (entry = { conns: [] }));
      const conn = entry.conns.find((c) => !c.draining && !c.session.closed && !c.session.destroyed && c.active < c.maxStreams);
      if (conn) {
        conn.active++;
        if (conn.idle) clearTimeout(conn.idle);
        conn.idle = undefined;
        return conn;
      }
      if (!entry.connecting) {
        const e = entry;
        e.connecting = this.#open(key, e, o).finally(() => (e.connecting = undefined));
      }
      await entry.connecting;
    }
  }

  async #open(key: string, entry: Entry, o: PoolConnectOptions): Promise<void> {
    const session = await openConnection({ ...o, connectTimeoutMs: this.#opts.connectTimeoutMs, keepalive: this.#opts.keepalive, connectSocket: this.#opts.connectSocket, revoked: this.#revoked });
    const peerMax = session.remoteSettings.maxConcurrentStreams ?? Infinity;
    const conn: Conn = { session, active: 0, maxStreams: Math.min(this.#maxStreams, peerMax), draining: false };
    entry.conns.push(conn);
    session.once('goaway', () => (conn.draining = true));
    session.once('close', () => this.#remove(key, conn));
    this.#armIdle(key, conn);
  }

  #release(key: string, conn: Conn): void {
    conn.active--;
    if (conn.active === 0) this.#armIdle(key, conn);
  }

  #armIdle(key: string, conn: Conn): void {
    if (conn.idle) clearTimeout(conn.idle);
    conn.idle = setTimeout(() => {
      const entry = this.#entries.get(key);
      if (conn.active === 0) this.#drop(conn, entry);
    }, this.#idleMs);
    conn.idle.unref();
  }

  #drop(conn: Conn, entry: Entry | undefined): void {
    if (conn.idle) clearTimeout(conn.idle);
    conn.draining = true;
    if (entry) entry.conns = entry.conns.filter((c) => c !== conn);
    if (!conn.session.closed) conn.session.close();
  }

  #remove(key: string, conn: Conn): void {
    if (conn.idle) clearTimeout(conn.idle);
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.conns = entry.conns.filter((c) => c !== conn);
    if (entry.conns.length === 0 && !entry.connecting) this.#entries.delete(key);
  }
}
