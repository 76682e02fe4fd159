// Delta ADS server for node tunnels: envoy.service.discovery.v3.AggregatedDiscoveryService/
// DeltaAggregatedResources with Istio's ambient types (spec §4.1-4.2).
//
// - Only authenticated node tunnels connect: `authorization: Bearer <node token>`, verified by
//   the CA's NodeAuthority (ztunnel sends the same token to the CA and to xDS, §4.1).
// - Wildcard subscriptions: the first request of a type gets every resource, minus those the
//   client says it has at the same version (initial_resource_versions), plus removals of the
//   names it has that no longer exist.
// - A new snapshot is debounced, diffed per resource (content-hash versions, table.ts), and
//   each stream gets only the resources that changed. Per stream and type at most one response
//   is un-ACKed; changes arriving meanwhile are coalesced into the next one, so a slow client
//   costs a bounded map, never an unbounded queue. A client that does not ACK within
//   ackTimeoutMs, or whose unsent bytes exceed maxQueuedBytes, is dropped (it reconnects with
//   initial_resource_versions and resyncs).
// - First responses (full syncs) are throttled (maxConcurrentFullSyncs), as istiod throttles
//   pushes, so 1000 clients connecting at once do not buffer 1000 copies of the mesh.
// - ACK = response_nonce without error_detail; NACK = with error_detail, whose message names
//   the rejected resources ("name: reason; ..."). NACKs are logged, counted and recorded per
//   stream; the rejected version is not re-sent until it changes.
// - Types come from the registry (src/xds/registry.ts). A type whose audience is 'waypoint'
//   (WaypointRoutes) is served only to waypoint clients (node id `waypoint~...`, metadata
//   NAMESPACE and WAYPOINT_NAME), each receiving only the resources of the services bound to
//   its Gateway; a node tunnel asking for it gets nothing.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { MeshSnapshot } from '../mesh-api/types.js';
import type { Logger } from '../lib/log.js';
import type { Counter, Gauge, MetricsRegistry } from '../lib/metrics.js';
import { DELTA_ADS_PATH } from '../xds/proto.js';
import { isNodeToken, type TokenReviewer } from '../ca/token-review.js';
import { RESOURCE_TYPES, resourceType } from '../xds/registry.js';
import { ResourceTable, type Changes, type Entry, type TypeUrl } from '../xds/table.js';
import { decodeDeltaRequest, encodeDeltaRequest, encodeDeltaResponse, type DeltaRequest } from '../xds/wire.js';
import { structString, type PbStruct } from '../lib/proto.js';

export interface XdsServerOptions {
  /** Node token check (NodeAuthority.verifyNodeToken): returns the node name or throws. */
  nodeAuth: { verifyNodeToken(token: string): string };
  /** Service-account token check (TokenReview, ca/token-review.ts), for workloads such as waypoints; without it only node tokens connect. */
  reviewToken?: TokenReviewer;
  metrics: MetricsRegistry;
  log: Logger;
  /** Trust domain of workload identities recorded on streams (default cluster.local). */
  trustDomain?: string;
  /** Quiet time before a snapshot is pushed (default 100 ms) and the longest a burst may delay it (default 1 s). */
  debounceMs?: number;
  maxDelayMs?: number;
  maxConcurrentFullSyncs?: number;
  ackTimeoutMs?: number;
  maxQueuedBytes?: number;
}

export interface XdsMetrics {
  pushes: Counter;
  bytes: Counter;
  nacks: Counter;
  dropped: Counter;
  authnFailures: Counter;
  connected: Gauge;
}

const shortType = (t: string): string => t.slice(t.lastIndexOf('.') + 1);

function xdsMetrics(r: MetricsRegistry): XdsMetrics {
  return {
    pushes: r.counter('ambit_xds_pushes_total', 'Delta xDS responses sent, by type.', { labelled: true }),
    bytes: r.counter('ambit_xds_pushed_bytes_total', 'Bytes of delta xDS responses sent, by type.', { labelled: true }),
    nacks: r.counter('ambit_xds_nacks_total', 'Delta xDS responses rejected by clients, by type.', { labelled: true }),
    dropped: r.counter('ambit_xds_dropped_clients_total', 'xDS clients disconnected by the server, by reason.', { labelled: true }),
    authnFailures: r.counter('ambit_xds_authentication_failures_total', 'xDS streams refused for a missing or invalid node token.'),
    connected: r.gauge('ambit_xds_connected_clients', 'xDS streams currently open.'),
  };
}

interface Inflight {
  nonce: string;
  sentAt: number;
  /** Generation the response brought the client up to. */
  gen: number;
  full: boolean;
}

/** One type on one stream. Invariant: for a name not in `behind` the client has the table's version. */
interface TypeState {
  initial: boolean; // first response not sent yet
  initialVersions: Record<string, string>;
  /** name → version the client has (null: none), for names where that differs from the table. */
  behind: Map<string, string | null>;
  inflight?: Inflight;
  /** name → version the client rejected (not re-sent until the table's version changes). */
  rejected: Map<string, { version: string; reason: string }>;
  syncedGen: number;
  acks: number;
  nacks: number;
}

export interface StreamStatus {
  id: number;
  /** The node of a node token; '' for a workload stream. */
  node: string;
  /** What the stream authenticated as: `node/<name>` or the workload's `spiffe://` identity. */
  identity: string;
  nodeId: string;
  peer: string;
  types: Record<string, { acked: boolean; syncedGen: number; acks: number; nacks: number; rejected: Record<string, string> }>;
}

type Call = grpc.ServerDuplexStream<DeltaRequest, Buffer>;

class Stream {
  readonly types = new Map<TypeUrl, TypeState>();
  nodeId = '';
  /** `<namespace>/<gateway>` when the client is a waypoint. */
  waypoint: string | undefined;
  queuedBytes = 0;
  closed = false;
  waitingFullSync = new Set<TypeUrl>();
  constructor(readonly id: number, readonly node: string, readonly identity: string, readonly call: Call) {}
}

function bearer(md: grpc.Metadata): string | undefined {
  const v = md.get('authorization')[0];
  const s = typeof v === 'string' ? v : v?.toString('utf8');
  return (s ? /^bearer\s+(\S+)\s*$/i.exec(s) : null)?.[1];
}

/** "name: reason; name2: reason" (spec §4.2) → names. */
export function nackedNames(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split('; ')) {
    const i = part.indexOf(': ');
    if (i > 0) out.set(part.slice(0, i), part.slice(i + 2));
  }
  return out;
}

/**
 * The waypoint a client says it is: node id `waypoint~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`
 * (Istio's router node id) with metadata NAMESPACE (default: the id's namespace) and
 * WAYPOINT_NAME (the Gateway; a waypoint pod carries it as the label
 * gateway.networking.k8s.io/gateway-name). Undefined for any other client.
 */
export function waypointIdentity(nodeId: string, metadata: PbStruct | null | undefined): { key?: string; error?: string } {
  const parts = nodeId.split('~');
  if (parts[0] !== 'waypoint') return {};
  const ns = structString(metadata, 'NAMESPACE') ?? parts[3]?.split('.')[0];
  const name = structString(metadata, 'WAYPOINT_NAME') ?? structString(metadata, 'gateway.networking.k8s.io/gateway-name');
  if (!ns || !name) return { error: 'a waypoint node must send metadata NAMESPACE and WAYPOINT_NAME (its Gateway)' };
  return { key: `${ns}/${name}` };
}

export const deltaAdsService: grpc.ServiceDefinition = {
  DeltaAggregatedResources: {
    path: DELTA_ADS_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: (r: Partial<DeltaRequest>) => encodeDeltaRequest(r),
    requestDeserialize: (b: Buffer) => decodeDeltaRequest(b),
    // Responses are assembled as bytes (wire.ts).
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
    originalName: 'deltaAggregatedResources',
  },
};

export class XdsServer extends EventEmitter<{ synced: [generation: number]; pushed: [generation: number] }> {
  readonly metrics: XdsMetrics;
  readonly #opts: Required<Omit<XdsServerOptions, 'metrics' | 'reviewToken'>> & Pick<XdsServerOptions, 'reviewToken'>;
  readonly #tables = new Map<TypeUrl, ResourceTable>(RESOURCE_TYPES.map((t) => [t.typeUrl, new ResourceTable(t)]));
  readonly #streams = new Set<Stream>();
  #nextStream = 1;
  #nonce = 0;
  #gen = 0;
  #syncedEmitted = 0;
  #pending: MeshSnapshot | undefined;
  #timer: NodeJS.Timeout | undefined;
  #burstStart = 0;
  #fullSyncs = 0;
  readonly #fullQueue: { s: Stream; t: TypeUrl }[] = [];
  readonly #watchdog: NodeJS.Timeout;

  constructor(opts: XdsServerOptions) {
    super();
    this.metrics = xdsMetrics(opts.metrics);
    this.#opts = { trustDomain: 'cluster.local', debounceMs: 100, maxDelayMs: 1000, maxConcurrentFullSyncs: 32, ackTimeoutMs: 60_000, maxQueuedBytes: 512 * 1024 * 1024, ...opts };
    this.#watchdog = setInterval(() => this.#checkSlow(), Math.min(1000, this.#opts.ackTimeoutMs / 2)).unref();
  }

  /** Adds the ADS service to a gRPC server (the CA's, on :15012, as istiod serves both there). */
  register(server: grpc.Server): void {
    server.addService(deltaAdsService, { DeltaAggregatedResources: (call: Call) => this.#accept(call) });
  }

  /** Snapshot generation last pushed (0 before the first). */
  get generation(): number {
    return this.#gen;
  }

  get connectedClients(): number {
    return this.#streams.size;
  }

  /** The new desired state. Debounced: bursts within debounceMs (up to maxDelayMs) become one push. */
  updateSnapshot(snapshot: MeshSnapshot): void {
    this.#pending = snapshot;
    const now = Date.now();
    if (!this.#timer) this.#burstStart = now;
    clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#opts.debounceMs, this.#burstStart + this.#opts.maxDelayMs - now));
    this.#timer = setTimeout(() => this.#apply(), wait);
  }

  status(): StreamStatus[] {
    return [...this.#streams].map((s) => ({
      id: s.id,
      node: s.node,
      identity: s.identity,
      nodeId: s.nodeId,
      peer: s.call.getPeer(),
      types: Object.fromEntries(
        [...s.types].map(([t, st]) => [t, { acked: !st.initial && !st.inflight, syncedGen: st.syncedGen, acks: st.acks, nacks: st.nacks, rejected: Object.fromEntries([...st.rejected].map(([n, r]) => [n, r.reason])) }]),
      ),
    }));
  }

  /** Ends every stream (clients keep their state and reconnect) and stops timers. */
  close(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#watchdog);
    for (const s of [...this.#streams]) this.#drop(s, grpc.status.UNAVAILABLE, 'server shutting down', 'shutdown');
  }

  #apply(): void {
    this.#timer = undefined;
    const snap = this.#pending;
    this.#pending = undefined;
    if (!snap) return;
    const t0 = Date.now();
    this.#gen++;
    const all = new Map<TypeUrl, Changes>();
    for (const [type, table] of this.#tables) {
      const { changes, duplicates, failed } = table.replace(snap);
      if (duplicates.length) this.#opts.log(`xds: snapshot has ${duplicates.length} duplicate ${shortType(type)} name(s), last one wins: ${duplicates.slice(0, 5).join(', ')}`);
      for (const f of failed) this.#opts.log(`xds: cannot encode ${shortType(type)} ${f.name} (clients keep the previous version): ${f.reason}`);
      all.set(type, changes);
    }
    for (const s of this.#streams) {
      for (const [type, st] of s.types) {
        const changes = all.get(type);
        if (!changes?.size) {
          if (!st.initial && !st.inflight && st.behind.size === 0) st.syncedGen = this.#gen;
          continue;
        }
        if (st.initial) continue; // the first response reads the whole table when it is sent
        const table = this.#tables.get(type);
        for (const [name, prev] of changes) {
          // What the client has: the previous version if it was for this client, else nothing.
          if (!st.behind.has(name)) st.behind.set(name, prev.version !== undefined && this.#visible(s, table, prev.audience) ? prev.version : null);
          const cur = this.#entryFor(s, table, name)?.version ?? null;
          if (st.behind.get(name) === cur) st.behind.delete(name);
        }
        this.#flush(s, type);
      }
    }
    const sizes = [...all].map(([t, c]) => `${shortType(t)} ${c.size}`).join(', ');
    this.#opts.log(`xds: generation ${this.#gen}: changed ${sizes}; ${this.#streams.size} client(s) (${Date.now() - t0} ms)`);
    this.emit('pushed', this.#gen);
    this.#checkSynced();
  }

  /** Refuses a stream without a valid node or service-account token before its first request is read (CaServer's guard for DELTA_ADS_PATH). */
  async guard(md: grpc.Metadata, peer: string): Promise<{ code: grpc.status; details: string } | undefined> {
    const token = bearer(md);
    const review = this.#opts.reviewToken;
    try {
      if (!token) throw new Error('no bearer token: send `authorization: Bearer <node token or service-account token>`');
      if (review && !isNodeToken(token)) await review(token);
      else this.#opts.nodeAuth.verifyNodeToken(token);
      return undefined;
    } catch (e) {
      this.metrics.authnFailures.inc();
      this.#opts.log(`xds: refused stream from ${peer}: ${(e as Error).message}`);
      return { code: grpc.status.UNAUTHENTICATED, details: `token rejected: ${(e as Error).message}` };
    }
  }

  #accept(call: Call): void {
    const token = bearer(call.metadata);
    const review = this.#opts.reviewToken;
    if (token && review && !isNodeToken(token)) {
      // A workload's service-account token: the API server says whose it is (as istiod's TokenReview).
      // Requests that arrive meanwhile stay buffered in the stream until #open attaches listeners.
      review(token).then(
        (w) => {
          if (call.cancelled) return;
          this.#open(call, '', `spiffe://${this.#opts.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`);
        },
        (e: unknown) => this.#refuseStream(call, `service-account token rejected: ${(e as Error).message}`),
      );
      return;
    }
    let node: string;
    try {
      if (!token) throw new Error('no bearer token: send `authorization: Bearer <node token>` (or a workload service-account token)');
      node = this.#opts.nodeAuth.verifyNodeToken(token);
    } catch (e) {
      this.#refuseStream(call, `node token rejected: ${(e as Error).message}`);
      return;
    }
    this.#open(call, node, `node/${node}`);
  }

  #refuseStream(call: Call, details: string): void {
    this.metrics.authnFailures.inc();
    this.#opts.log(`xds: refused stream from ${call.getPeer()}: ${details}`);
    call.emit('error', { code: grpc.status.UNAUTHENTICATED, details });
  }

  #open(call: Call, node: string, identity: string): void {
    const s = new Stream(this.#nextStream++, node, identity, call);
    this.#streams.add(s);
    this.metrics.connected.inc();
    call.on('data', (req: DeltaRequest) => {
      try {
        this.#onRequest(s, req);
      } catch (e) {
        this.#opts.log(`xds: stream ${s.id} (${identity}): ${(e as Error).stack ?? String(e)}`);
        this.#drop(s, grpc.status.INTERNAL, 'internal error', 'internal');
      }
    });
    call.on('end', () => {
      this.#close(s);
      call.end();
    });
    call.on('cancelled', () => this.#close(s));
    call.on('error', () => this.#close(s));
  }

  #onRequest(s: Stream, req: DeltaRequest): void {
    if (req.node && !s.nodeId) {
      s.nodeId = req.node.id;
      // The token names the node; a client claiming another node in its metadata is refused.
      const claimed = structString(req.node.metadata, 'NODE_NAME');
      if (s.node !== '' && claimed !== undefined && claimed !== s.node) {
        this.#drop(s, grpc.status.PERMISSION_DENIED, `node token is for ${s.node} but Node.metadata.NODE_NAME is ${claimed}`, 'node_mismatch');
        return;
      }
      // Only what is sent depends on this claim; who may connect is the token's business.
      const wp = waypointIdentity(s.nodeId, req.node.metadata);
      if (wp.error) this.#opts.log(`xds: stream ${s.id} (${s.node}) node ${s.nodeId}: ${wp.error}; it gets no waypoint resources`);
      s.waypoint = wp.key;
      this.#opts.log(`xds: ${s.node ? `node ${s.node}` : s.identity} connected as ${s.nodeId}${s.waypoint ? ` (waypoint ${s.waypoint})` : ''} from ${s.call.getPeer()} (stream ${s.id})`);
    }
    const type = req.type_url as TypeUrl;
    const rt = resourceType(type);
    if (!rt) {
      this.#opts.log(`xds: stream ${s.id} (${s.node}) asked for unknown type ${req.type_url}; ignored`);
      return;
    }
    if (rt.audience === 'waypoint' && !s.waypoint) {
      if (!req.response_nonce) this.#opts.log(`xds: stream ${s.id} (${s.node}) is not a waypoint and asked for ${shortType(type)}; ignored`);
      return;
    }
    const st = s.types.get(type);
    if (!st) {
      // The first request of a type: wildcard (§4.2). Named subscriptions (on-demand mode) are
      // not supported; such a client is served everything, which it applies as upserts.
      const named = req.resource_names_subscribe.filter((n) => n !== '*');
      if (named.length) this.#opts.log(`xds: stream ${s.id} (${s.node}) subscribed to named ${shortType(type)} resources; Ambit serves wildcard only, sending everything`);
      s.types.set(type, { initial: true, initialVersions: req.initial_resource_versions, behind: new Map(), rejected: new Map(), syncedGen: -1, acks: 0, nacks: 0 });
      this.#queueFullSync(s, type);
      return;
    }
    if (!req.response_nonce || req.response_nonce !== st.inflight?.nonce) return; // subscription change or stale nonce
    const inflight = st.inflight;
    st.inflight = undefined;
    if (inflight.full) this.#releaseFullSync();
    if (req.error_detail) {
      st.nacks++;
      this.metrics.nacks.inc({ type: shortType(type) });
      const names = nackedNames(req.error_detail.message);
      const table = this.#tables.get(type);
      for (const [name, reason] of names) {
        if (!this.#entryFor(s, table, name)) continue;
        const v = table?.entries.get(name)?.version;
        if (v === undefined) continue;
        st.rejected.set(name, { version: v, reason });
        // The client kept whatever it had before; we no longer know which version.
        st.behind.set(name, `rejected:${v}`);
      }
      this.#opts.log(`xds: node ${s.node} (stream ${s.id}) NACKed ${shortType(type)} nonce ${inflight.nonce}: ${req.error_detail.message}`);
    } else {
      st.acks++;
    }
    // Nothing left behind means the client has the table as of the current generation.
    if (this.#hasPending(st)) this.#flush(s, type);
    else st.syncedGen = this.#gen;
    this.#checkSynced();
  }

  /** Names still to send, ignoring rejected versions that have not changed. */
  #hasPending(st: TypeState): boolean {
    for (const name of st.behind.keys()) if (!st.rejected.has(name)) return true;
    return false;
  }

  #queueFullSync(s: Stream, t: TypeUrl): void {
    if (this.#fullSyncs < this.#opts.maxConcurrentFullSyncs) {
      this.#fullSyncs++;
      this.#flush(s, t);
    } else {
      s.waitingFullSync.add(t);
      this.#fullQueue.push({ s, t });
    }
  }

  #releaseFullSync(): void {
    this.#fullSyncs--;
    while (this.#fullSyncs < this.#opts.maxConcurrentFullSyncs) {
      const next = this.#fullQueue.shift();
      if (!next) return;
      if (next.s.closed) continue;
      next.s.waitingFullSync.delete(next.t);
      this.#fullSyncs++;
      this.#flush(next.s, next.t);
    }
  }

  /** Whether a resource with this audience is for this stream. */
  #visible(s: Stream, table: ResourceTable | undefined, audience: string | undefined): boolean {
    return table?.type.audience !== 'waypoint' || (audience !== undefined && audience === s.waypoint);
  }

  /** The table's entry if this stream should have it. */
  #entryFor(s: Stream, table: ResourceTable | undefined, name: string): Entry | undefined {
    const e = table?.entries.get(name);
    return e && this.#visible(s, table, e.audience) ? e : undefined;
  }

  /** Sends what the client lacks, if nothing is in flight for this type. */
  #flush(s: Stream, type: TypeUrl): void {
    const st = s.types.get(type);
    const table = this.#tables.get(type);
    if (!st || !table || st.inflight || s.closed || s.waitingFullSync.has(type)) return;
    const resources: Buffer[] = [];
    const removed: string[] = [];
    const full = st.initial;
    if (full) {
      const iv = st.initialVersions;
      for (const [name, e] of table.entries) if (iv[name] !== e.version && this.#visible(s, table, e.audience)) resources.push(e.framed);
      for (const name of Object.keys(iv)) if (!this.#entryFor(s, table, name)) removed.push(name);
      st.initial = false;
      st.initialVersions = {};
      st.behind.clear();
    } else {
      for (const [name, clientVersion] of st.behind) {
        const e = this.#entryFor(s, table, name);
        const rej = st.rejected.get(name);
        if (rej && e?.version === rej.version) continue; // keep it behind; do not re-send a rejected version
        if (rej) st.rejected.delete(name);
        if (e) resources.push(e.framed);
        else if (clientVersion !== null) removed.push(name);
        st.behind.delete(name);
      }
      if (!resources.length && !removed.length) {
        st.syncedGen = this.#gen;
        return;
      }
    }
    const nonce = `${this.#gen}-${++this.#nonce}`;
    const buf = encodeDeltaResponse({ typeUrl: type, nonce, systemVersionInfo: String(this.#gen), resources, removed });
    st.inflight = { nonce, sentAt: Date.now(), gen: this.#gen, full };
    this.metrics.pushes.inc({ type: shortType(type) });
    this.metrics.bytes.inc({ type: shortType(type) }, buf.length);
    s.queuedBytes += buf.length;
    if (s.queuedBytes > this.#opts.maxQueuedBytes) {
      this.#drop(s, grpc.status.RESOURCE_EXHAUSTED, `client is not reading: ${s.queuedBytes} bytes unsent`, 'slow');
      return;
    }
    s.call.write(buf, () => {
      s.queuedBytes -= buf.length;
    });
  }

  #checkSlow(): void {
    const now = Date.now();
    for (const s of this.#streams) {
      for (const [type, st] of s.types) {
        if (st.inflight && now - st.inflight.sentAt > this.#opts.ackTimeoutMs) {
          this.#drop(s, grpc.status.DEADLINE_EXCEEDED, `no ACK for ${shortType(type)} nonce ${st.inflight.nonce} within ${this.#opts.ackTimeoutMs} ms`, 'ack_timeout');
          break;
        }
      }
    }
  }

  #drop(s: Stream, code: grpc.status, details: string, reason: string): void {
    if (s.closed) return;
    this.metrics.dropped.inc({ reason });
    if (reason !== 'shutdown') this.#opts.log(`xds: dropping node ${s.node} (stream ${s.id}, ${s.call.getPeer()}): ${details}`);
    this.#close(s);
    s.call.emit('error', { code, details });
  }

  #close(s: Stream): void {
    if (s.closed) return;
    s.closed = true;
    this.#streams.delete(s);
    this.metrics.connected.dec();
    for (const st of s.types.values()) if (st.inflight?.full) this.#releaseFullSync();
    this.#checkSynced();
  }

  /** Emits 'synced' for each generation every connected client has ACKed. */
  #checkSynced(): void {
    if (this.#syncedEmitted >= this.#gen) return;
    let min = this.#gen;
    for (const s of this.#streams) for (const st of s.types.values()) min = Math.min(min, st.syncedGen);
    while (this.#syncedEmitted < min) this.emit('synced', ++this.#syncedEmitted);
  }
}
