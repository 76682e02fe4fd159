// The node tunnel's xDS client (ztunnel's role, spec §4.1-4.2): one delta ADS stream over TLS
// with the node token, wildcard subscriptions to Address and Authorization, an in-memory state
// built from upserts and removals, per-resource validation (a bad resource is NACKed by name
// and the rest of the response applied), `ready` after the first response of every type has
// been ACKed, and reconnection with backoff 10 ms → ×2 → 15 s that keeps all state and sends
// initial_resource_versions, so the server sends only what changed meanwhile. The types come
// from the registry (src/xds/registry.ts): a node tunnel subscribes to NODE_TUNNEL_TYPES, a
// waypoint to WAYPOINT_TYPES; each type's module decodes, checks and stores its resources.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../lib/log.js';
import { DELTA_ADS_PATH } from '../xds/proto.js';
import { NODE_TUNNEL_TYPES, resourceType } from '../xds/registry.js';
import { emptyStore, type ResourceType, type XdsStore } from '../xds/resource-type.js';
import type { TypeUrl } from '../xds/table.js';
import { decodeDeltaResponse, encodeDeltaRequest, type DeltaRequest, type DeltaResponse } from '../xds/wire.js';

/** ztunnel's limit for a decoded message (§4.1). */
export const MAX_MESSAGE_BYTES = 200 * 1024 * 1024;

export interface XdsClientOptions {
  /** host:port of the control plane (its :15012). */
  address: string;
  /** PEM roots to verify the server with (the mesh CA's root). */
  roots: string;
  /** Node token, read at each (re)connect so a rotated token is picked up. */
  token: string | (() => string);
  /** Node.id (ztunnel: `ztunnel~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`) and the node name (metadata NODE_NAME). */
  node: { id: string; nodeName: string; metadata?: Record<string, string> };
  /** TLS name the server certificate must carry (default: the address host). */
  servername?: string;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Type URLs to subscribe to (default NODE_TUNNEL_TYPES; a waypoint passes WAYPOINT_TYPES). */
  types?: readonly string[];
  log?: Logger;
}

export type XdsState = XdsStore;

export interface ChangeEvent {
  typeUrl: string;
  upserted: string[];
  removed: string[];
  rejected: { name: string; reason: string }[];
}

const INVALID_ARGUMENT = 3;

/** Terminations after which ztunnel reconnects at once (§4.2). */
function benign(s: grpc.StatusObject): boolean {
  if (s.code === grpc.status.OK || s.code === grpc.status.UNKNOWN || s.code === grpc.status.CANCELLED || s.code === grpc.status.DEADLINE_EXCEEDED) return true;
  return /transport is closing|received prior goaway/i.test(s.details);
}

type Stream = grpc.ClientDuplexStream<Partial<DeltaRequest>, DeltaResponse>;

export class XdsClient extends EventEmitter<{ change: [ChangeEvent]; connected: []; disconnected: [grpc.StatusObject] }> {
  readonly state: XdsState = emptyStore();
  /** Resolves once the first response of each type has been ACKed (or NACKed: it was answered). */
  readonly ready: Promise<void>;
  readonly #types: Map<TypeUrl, ResourceType>;
  readonly #versions: Map<TypeUrl, Map<string, string>>;
  readonly #answered = new Set<TypeUrl>();
  readonly #opts: XdsClientOptions;
  readonly #client: grpc.Client;
  readonly #log: Logger;
  #markReady!: () => void;
  #call: Stream | undefined;
  #closed = false;
  #delay: number;
  #timer: NodeJS.Timeout | undefined;
  /** Counters for tests and debugging. */
  readonly stats = { connects: 0, responses: 0, acks: 0, nacks: 0 };
  /** Responses received, by type URL (the tunnel's istio_xds_message_total). */
  readonly messagesByType = new Map<string, number>();

  constructor(opts: XdsClientOptions) {
    super();
    this.#opts = opts;
    this.#types = new Map(
      (opts.types ?? NODE_TUNNEL_TYPES).map((t) => {
        const rt = resourceType(t);
        if (!rt) throw new Error(`xds client: unknown resource type ${t}; known types are in src/xds/registry.ts`);
        return [t, rt];
      }),
    );
    this.#versions = new Map([...this.#types.keys()].map((t) => [t, new Map()]));
    this.#log = opts.log ?? (() => {});
    this.#delay = opts.backoff?.initialMs ?? 10;
    this.ready = new Promise((r) => (this.#markReady = r));
    const channelOpts: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.initial_reconnect_backoff_ms': this.#delay,
      'grpc.max_reconnect_backoff_ms': opts.backoff?.maxMs ?? 15_000,
      ...(opts.servername ? { 'grpc.ssl_target_name_override': opts.servername, 'grpc.default_authority': opts.servername } : {}),
    };
    this.#client = new grpc.Client(opts.address, grpc.credentials.createSsl(Buffer.from(opts.roots)), channelOpts);
  }

  /** name → version of what the client holds, per type (sent as initial_resource_versions). */
  versions(typeUrl: TypeUrl): ReadonlyMap<string, string> {
    return this.#versions.get(typeUrl) ?? new Map();
  }

  get connected(): boolean {
    return this.#call !== undefined;
  }

  start(): this {
    if (!this.#call && !this.#timer && !this.#closed) this.#connect();
    return this;
  }

  /** Stops the stream; the state stays readable. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#call?.cancel();
    this.#call = undefined;
    this.#client.close();
  }

  #connect(): void {
    this.#timer = undefined;
    const md = new grpc.Metadata();
    const token = typeof this.#opts.token === 'function' ? this.#opts.token() : this.#opts.token;
    md.set('authorization', `Bearer ${token}`);
    const call = this.#client.makeBidiStreamRequest(DELTA_ADS_PATH, encodeDeltaRequest, decodeDeltaResponse, md) as Stream;
    this.#call = call;
    this.stats.connects++;
    let gotResponse = false;
    call.on('data', (resp: DeltaResponse) => {
      if (!gotResponse) {
        gotResponse = true;
        this.emit('connected');
      }
      this.#onResponse(call, resp);
    });
    call.on('error', () => {}); // the status event carries the outcome
    call.on('status', (st: grpc.StatusObject) => {
      if (this.#call !== call) return;
      this.#call = undefined;
      this.emit('disconnected', st);
      if (this.#closed) return;
      const max = this.#opts.backoff?.maxMs ?? 15_000;
      const initial = this.#opts.backoff?.initialMs ?? 10;
      if (benign(st)) this.#delay = initial;
      this.#log(`xds client: stream ended (${grpc.status[st.code] ?? st.code}: ${st.details}); reconnecting in ${this.#delay} ms with ${this.state.workloads.size} workloads, ${this.state.services.size} services, ${this.state.authorizations.size} authorizations kept`);
      this.#timer = setTimeout(() => this.#connect(), this.#delay);
      this.#delay = Math.min(this.#delay * 2, max);
    });
    const md2 = { NODE_NAME: this.#opts.node.nodeName, ...(this.#opts.node.metadata ?? {}) };
    const node = { id: this.#opts.node.id, cluster: '', metadata: { fields: Object.fromEntries(Object.entries(md2).map(([k, v]) => [k, { stringValue: v }])) } };
    [...this.#types.keys()].forEach((t, i) => {
      // Wildcard: empty subscribe list (§4.2); the node is sent on the first request.
      call.write({ ...(i === 0 ? { node } : {}), type_url: t, initial_resource_versions: Object.fromEntries(this.#versions.get(t) ?? []) });
    });
  }

  #onResponse(call: Stream, resp: DeltaResponse): void {
    this.stats.responses++;
    this.messagesByType.set(resp.type_url, (this.messagesByType.get(resp.type_url) ?? 0) + 1);
    const type = resp.type_url as TypeUrl;
    const versions = this.#versions.get(type);
    const rt = this.#types.get(type);
    if (!versions || !rt) {
      call.write({ type_url: resp.type_url, response_nonce: resp.nonce, error_detail: { code: INVALID_ARGUMENT, message: `unsupported type ${resp.type_url}` } });
      return;
    }
    const ev: ChangeEvent = { typeUrl: type, upserted: [], removed: [], rejected: [] };
    for (const r of resp.resources) {
      try {
        if (!r.resource) throw new Error('resource has no payload');
        if (r.resource.type_url !== type) throw new Error(`payload is ${r.resource.type_url}, not ${type}`);
        rt.apply(this.state, r.name, r.resource.value);
        versions.set(r.name, r.version);
        ev.upserted.push(r.name);
      } catch (e) {
        ev.rejected.push({ name: r.name, reason: (e as Error).message });
      }
    }
    for (const name of resp.removed_resources) {
      rt.remove(this.state, name);
      versions.delete(name);
      ev.removed.push(name);
    }
    if (ev.rejected.length) {
      this.stats.nacks++;
      const message = ev.rejected.map((x) => `${x.name}: ${x.reason}`).join('; ');
      this.#log(`xds client: rejecting ${ev.rejected.length} ${type} resource(s): ${message}`);
      call.write({ type_url: type, response_nonce: resp.nonce, error_detail: { code: INVALID_ARGUMENT, message } });
    } else {
      this.stats.acks++;
      call.write({ type_url: type, response_nonce: resp.nonce });
    }
    if (!this.#answered.has(type)) {
      this.#answered.add(type);
      if (this.#answered.size === this.#types.size) this.#markReady();
    }
    if (ev.upserted.length || ev.removed.length || ev.rejected.length) this.emit('change', ev);
  }
}
