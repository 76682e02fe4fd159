// The API server's HTTP layer: Kubernetes REST paths, list/watch, Table output for
// kubectl, PATCH, the scale subresource and Status errors. Listens on loopback only.
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { KINDS, kindByResource, kindKey, apiVersionOf, type KindInfo } from '../../model/core/kinds.js';
import { fieldValue, matches, parseFieldSelector, parseSelector, SUPPORTED_FIELDS, type Requirement } from '../../model/core/labels.js';
import { tableFor } from '../../model/core/printers.js';
import type { Deployment, KubeObject, Pod } from '../../model/core/types.js';
import { authorize, authorizePodStatusMetadata, type Authenticator, type User } from './auth.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, openApiV3GroupVersion, openApiV3Root, versionInfo } from './discovery.js';
import { ApiError } from './errors.js';
import { AmbitError } from '../../lib/errors.js';
import { applyPatch } from './patch.js';
import { servedAs, type Registry } from './registry.js';
import { meshWarnings, warningText } from '../../model/mesh/warnings.js';
import type { StoreEvent } from './store.js';
import type { ServiceAccountTokens } from './service-account-tokens.js';
import { tokenRequest, tokenReview } from './token-endpoints.js';

const MAX_BODY = 3 * 1024 * 1024;
const BOOKMARK_MS = 15_000;
const DEFAULT_WATCH_TIMEOUT_S = 1800;

interface Route {
  info: KindInfo;
  namespace: string | undefined; // undefined: all namespaces (list/watch) or cluster-scoped
  name?: string;
  subresource?: string;
}

export interface ApiServerOptions {
  registry: Registry;
  auth: Authenticator;
  host?: string;
  port: number;
  /** PEM serving certificate and key; without them the server speaks plain HTTP (tests only). */
  tls?: { cert: string; key: string };
  log?: (msg: string) => void;
  /** Signs and checks service-account tokens (TokenRequest, TokenReview); without it they are not served. */
  saTokens?: ServiceAccountTokens;
}

export class ApiServer {
  readonly #server: http.Server | https.Server;
  readonly #watches = new Set<http.ServerResponse>();

  constructor(readonly opts: ApiServerOptions) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.#handle(req, res).catch((e: unknown) => this.#fail(res, e));
    };
    this.#server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' }, handler) : http.createServer(handler);
    this.#server.keepAliveTimeout = 65_000;
  }

  async listen(): Promise<number> {
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'EADDRINUSE' ? new AmbitError('AMBIT_E_PORT_IN_USE', `port ${this.opts.port} on ${host} is already in use; stop what holds it or pick another with --api-port`) : e),
      );
      this.#server.listen(this.opts.port, host, () => resolve());
    });
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const w of this.#watches) w.end();
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname.replace(/\/+$/, '') || '/';
    if (p === '/healthz' || p === '/readyz' || p === '/livez') return this.#text(res, 200, 'ok');
    if (p === '/version') return this.#json(res, 200, versionInfo);
    const user = this.opts.auth.authenticate(req);
    if (req.method === 'GET') {
      if (p === '/api') return this.#json(res, 200, apiVersions(`${this.opts.host ?? '127.0.0.1'}:${this.opts.port}`));
      if (p === '/apis') return this.#json(res, 200, apiGroupList());
      if (p === '/api/v1') return this.#json(res, 200, apiResourceList('', 'v1'));
      if (p === '/openapi/v3') return this.#json(res, 200, openApiV3Root());
      if (p.startsWith('/openapi/v3/')) {
        const doc = openApiV3GroupVersion(p.slice('/openapi/v3/'.length));
        if (doc) return this.#json(res, 200, doc);
      }
      const gm = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(p);
      if (gm) {
        const doc = gm[2] ? apiResourceList(gm[1]!, gm[2]) : apiGroup(gm[1]!);
        if (doc) return this.#json(res, 200, doc);
      }
    }
    if (p === '/apis/authentication.k8s.io/v1/tokenreviews' && req.method === 'POST' && this.opts.saTokens) {
      return this.#json(res, 201, tokenReview(this.opts.registry, this.opts.saTokens, user, await readJson(req)));
    }
    const route = parseRoute(p);
    if (!route) throw new ApiError('NotFound', `the server could not find the requested resource (${req.method} ${p})`);
    return this.#resource(req, res, url, route, user);
  }

  async #resource(req: http.IncomingMessage, res: http.ServerResponse, url: URL, r: Route, user: User): Promise<void> {
    const reg = this.opts.registry;
    const { info } = r;
    const ns = info.namespaced ? (r.namespace ?? '') : '';
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    const podNode = (): string | undefined =>
      info.kind === 'Pod' && r.name ? (reg.store.get(kindKey(info), ns, r.name) as Pod | undefined)?.spec.nodeName : undefined;

    if (!r.name) {
      if (method === 'GET') {
        const watch = q.get('watch') === 'true' || q.get('watch') === '1';
        authorize(user, { verb: watch ? 'watch' : 'list', resource: info.resource });
        return watch ? this.#watch(req, res, r, q) : this.#list(req, res, r, q);
      }
      if (method === 'POST') {
        const body = (await readJson(req)) as KubeObject;
        authorize(user, { verb: 'create', resource: info.resource, ...opt('name', body?.metadata?.name) });
        if (info.namespaced && r.namespace === undefined) throw new ApiError('MethodNotAllowed', `create ${info.resource} in a namespace: POST .../namespaces/<ns>/${info.resource}`);
        const created = reg.create(info, ns, body);
        return this.#json(res, 201, created, warningHeaders(created));
      }
      throw new ApiError('MethodNotAllowed', `${method} is not supported on a collection`);
    }

    const name = r.name;
    if (r.subresource === 'scale') return this.#scale(req, res, info, ns, name, user);
    if (info.kind === 'ServiceAccount' && r.subresource === 'token' && this.opts.saTokens) {
      if (method !== 'POST') throw new ApiError('MethodNotAllowed', `${method} is not supported on serviceaccounts/token (POST a TokenRequest)`);
      return this.#json(res, 201, tokenRequest(reg, this.opts.saTokens, user, ns, name, await readJson(req)));
    }
    if (r.subresource && r.subresource !== 'status') throw new ApiError('NotFound', `subresource ${r.subresource} is not served`);
    const isStatus = r.subresource === 'status';
    const write = (obj: KubeObject): KubeObject => {
      if (!isStatus) return reg.update(info, ns, name, obj);
      if (info.kind === 'Pod') authorizePodStatusMetadata(user, reg.get(info, ns, name).metadata.annotations, obj.metadata?.annotations);
      return reg.updateStatus(info, ns, name, obj);
    };
    const written = (obj: KubeObject): void => this.#json(res, 200, obj, isStatus ? {} : warningHeaders(obj));
    switch (method) {
      case 'GET': {
        authorize(user, { verb: 'get', resource: info.resource });
        const obj = reg.get(info, ns, name);
        return wantsTable(req) ? this.#json(res, 200, toTable(info, [obj], String(reg.store.resourceVersion))) : this.#json(res, 200, obj);
      }
      case 'PUT': {
        authorize(user, { verb: 'update', resource: info.resource, ...(r.subresource ? { subresource: r.subresource } : {}), ...opt('podNode', podNode()), name });
        return written(write((await readJson(req)) as KubeObject));
      }
      case 'PATCH': {
        authorize(user, { verb: 'patch', resource: info.resource, ...(r.subresource ? { subresource: r.subresource } : {}), ...opt('podNode', podNode()), name });
        const body = await readJson(req);
        const cur = reg.get(info, ns, name);
        const patched = applyPatch(req.headers['content-type'] ?? '', cur, body) as KubeObject;
        // A patch is based on the current object, so drop its resourceVersion precondition
        // unless the client put one in the patch itself.
        const rvInPatch = (body as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
        const next = { ...patched, metadata: { ...patched.metadata } };
        if (rvInPatch === undefined) delete next.metadata.resourceVersion;
        return written(write(next));
      }
      case 'DELETE': {
        authorize(user, { verb: 'delete', resource: info.resource, ...opt('podNode', podNode()), name });
        let grace = q.get('gracePeriodSeconds') !== null ? Number(q.get('gracePeriodSeconds')) : undefined;
        const body = await readJson(req, true);
        const bodyGrace = (body as { gracePeriodSeconds?: number } | undefined)?.gracePeriodSeconds;
        if (bodyGrace !== undefined) grace = bodyGrace;
        const obj = reg.delete(info, ns, name, grace !== undefined ? { gracePeriodSeconds: grace } : {});
        return this.#json(res, 200, obj);
      }
      default:
        throw new ApiError('MethodNotAllowed', `${method} is not supported`);
    }
  }

  async #scale(req: http.IncomingMessage, res: http.ServerResponse, info: KindInfo, ns: string, name: string, user: User): Promise<void> {
    if (info.kind !== 'Deployment') throw new ApiError('NotFound', `${info.resource} has no scale subresource`);
    const reg = this.opts.registry;
    const toScale = (d: Deployment): object => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name, namespace: ns, uid: d.metadata.uid, resourceVersion: d.metadata.resourceVersion, creationTimestamp: d.metadata.creationTimestamp },
      spec: { replicas: d.spec.replicas ?? 1 },
      status: { replicas: d.status?.replicas ?? 0, selector: Object.entries(d.spec.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') },
    });
    const cur = reg.get(info, ns, name) as Deployment;
    if (req.method === 'GET') {
      authorize(user, { verb: 'get', resource: info.resource, subresource: 'scale' });
      return this.#json(res, 200, toScale(cur));
    }
    if (req.method !== 'PUT' && req.method !== 'PATCH') throw new ApiError('MethodNotAllowed', `${req.method} is not supported on scale`);
    authorize(user, { verb: req.method === 'PUT' ? 'update' : 'patch', resource: info.resource, subresource: 'scale' });
    const body = await readJson(req);
    const scale = (req.method === 'PUT' ? body : applyPatch(req.headers['content-type'] ?? '', toScale(cur), body)) as { spec?: { replicas?: unknown }; metadata?: { resourceVersion?: string } };
    const replicas = scale.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw new ApiError('Invalid', `Scale "${name}" is invalid: spec.replicas: must be a non-negative integer`);
    }
    const next = structuredClone(cur);
    next.spec.replicas = replicas;
    if (req.method === 'PUT' && scale.metadata?.resourceVersion) next.metadata.resourceVersion = scale.metadata.resourceVersion;
    else delete next.metadata.resourceVersion;
    const updated = reg.update(info, ns, name, next) as Deployment;
    return this.#json(res, 200, toScale(updated));
  }

  #list(req: http.IncomingMessage, res: http.ServerResponse, r: Route, q: URLSearchParams): void {
    const store = this.opts.registry.store;
    const filter = makeFilter(q);
    const items = store.list(kindKey(r.info), r.info.namespaced ? r.namespace : undefined).filter(filter).map((o) => servedAs(r.info, o));
    const rv = String(store.resourceVersion);
    if (wantsTable(req)) return this.#json(res, 200, toTable(r.info, items, rv));
    return this.#json(res, 200, { kind: r.info.listKind, apiVersion: apiVersionOf(r.info), metadata: { resourceVersion: rv }, items });
  }

  #watch(req: http.IncomingMessage, res: http.ServerResponse, r: Route, q: URLSearchParams): void {
    const store = this.opts.registry.store;
    const filter = makeFilter(q);
    const rvParam = q.get('resourceVersion');
    const fromRV = rvParam && rvParam !== '0' ? Number(rvParam) : undefined;
    if (fromRV !== undefined && !Number.isInteger(fromRV)) throw new ApiError('BadRequest', `resourceVersion '${rvParam}' is not a number`);
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const ns = r.info.namespaced ? r.namespace : undefined;
    const buffered: string[] = [];
    let started = false;
    const write = (line: string): void => {
      if (!started) buffered.push(line);
      else res.write(line);
    };
    const onEvent = (ev: StoreEvent): void => {
      const now = filter(ev.obj);
      const before = ev.prev ? filter(ev.prev) : ev.type !== 'ADDED';
      let type: string = ev.type;
      if (ev.type === 'MODIFIED') {
        if (now && !before) type = 'ADDED';
        else if (!now && before) type = 'DELETED';
        else if (!now) return;
      } else if (!now) return;
      write(`${JSON.stringify({ type, object: servedAs(r.info, ev.obj) })}\n`);
    };
    // Registers first (may throw 410 Expired before any header is sent).
    const stop = store.watch({ kindKey: kindKey(r.info), ...(ns !== undefined ? { namespace: ns } : {}), send: onEvent }, fromRV);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache' });
    res.flushHeaders();
    if (fromRV === undefined) {
      for (const obj of store.list(kindKey(r.info), ns).filter(filter)) res.write(`${JSON.stringify({ type: 'ADDED', object: servedAs(r.info, obj) })}\n`);
    }
    started = true;
    for (const line of buffered) res.write(line);
    this.#watches.add(res);
    const timeoutS = q.get('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : DEFAULT_WATCH_TIMEOUT_S;
    const end = setTimeout(() => res.end(), timeoutS * 1000);
    const bm = bookmarks
      ? setInterval(() => {
          res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: r.info.kind, apiVersion: apiVersionOf(r.info), metadata: { resourceVersion: String(store.resourceVersion) } } })}\n`);
        }, BOOKMARK_MS)
      : undefined;
    const cleanup = (): void => {
      stop();
      clearTimeout(end);
      if (bm) clearInterval(bm);
      this.#watches.delete(res);
    };
    res.on('close', cleanup);
    req.on('close', cleanup);
  }

  #json(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
    const data = JSON.stringify(body);
    res.writeHead(code, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    res.end(data);
  }

  #text(res: http.ServerResponse, code: number, body: string): void {
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(body);
  }

  #fail(res: http.ServerResponse, e: unknown): void {
    const err = e instanceof ApiError ? e : new ApiError('InternalError', `internal error: ${(e as Error).message}`);
    if (!(e instanceof ApiError)) this.opts.log?.(`internal error: ${(e as Error).stack ?? String(e)}`);
    if (res.headersSent) {
      res.end();
      return;
    }
    // A body too large to read is left unread: answer, then close the connection.
    if (err.code === 413) res.shouldKeepAlive = false;
    this.#json(res, err.code, err.toStatus(), err.code === 413 ? { connection: 'close' } : {});
  }
}

function opt<K extends string, V>(k: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined ? {} : ({ [k]: v } as Record<K, V>);
}

/** Maps a URL path to a resource route, or undefined. */
export function parseRoute(p: string): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  const segs = p.split('/').filter(Boolean);
  if (segs[0] === 'api' && segs[1] === 'v1') {
    group = '';
    version = 'v1';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const info = kindByResource(group, version, rest[2]!);
    if (info?.namespaced) return { info, namespace: rest[1]!, ...opt('name', rest[3]), ...opt('subresource', rest[4]) };
  }
  const info = kindByResource(group, version, rest[0] ?? '');
  if (!info || rest.length > 3) return undefined;
  return { info, namespace: undefined, ...opt('name', info.namespaced ? undefined : rest[1]), ...opt('subresource', rest[2]) };
}

function makeFilter(q: URLSearchParams): (o: KubeObject) => boolean {
  let reqs: Requirement[] = [];
  let fields: ReturnType<typeof parseFieldSelector> = [];
  try {
    reqs = parseSelector(q.get('labelSelector') ?? '');
    fields = parseFieldSelector(q.get('fieldSelector') ?? '');
  } catch (e) {
    throw new ApiError('BadRequest', (e as Error).message);
  }
  for (const f of fields) {
    if (!SUPPORTED_FIELDS.includes(f.path)) throw new ApiError('BadRequest', `field label not supported: ${f.path} (supported: ${SUPPORTED_FIELDS.join(', ')})`);
  }
  return (o) => matches(reqs, o.metadata.labels) && fields.every((f) => (fieldValue(o, f.path) === f.value) === (f.op === '='));
}

/**
 * Mesh warnings as Kubernetes sends admission warnings: `Warning: 299 - "<text>"`, one header
 * each (kubectl and client-go print them). Header text must be printable ASCII.
 */
function warningHeaders(obj: KubeObject): Record<string, string[]> {
  const ws = meshWarnings(obj);
  if (ws.length === 0) return {};
  const quote = (t: string): string => t.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&');
  return { warning: ws.map((w) => `299 - "${quote(warningText(w))}"`) };
}

function wantsTable(req: http.IncomingMessage): boolean {
  return /as=Table/.test(req.headers.accept ?? '');
}

function toTable(info: KindInfo, items: KubeObject[], rv: string): object {
  const t = tableFor(info.kind);
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: rv },
    columnDefinitions: t.columns.map((c) => ({ name: c.name, type: c.type, format: c.name === 'Name' ? 'name' : '', description: c.name, priority: c.priority })),
    rows: items.map((o) => ({
      cells: t.cells(o, now),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}

async function readJson(req: http.IncomingMessage, optional = false): Promise<unknown> {
  const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (ct === 'application/vnd.kubernetes.protobuf' || ct === 'application/yaml') {
    req.resume();
    throw new ApiError('UnsupportedMediaType', `the body of type ${ct} is not supported; send application/json`);
  }
  // Kubernetes' limit (3 MiB), with its 413: refused from Content-Length before reading, and while
  // reading a body sent without one. The connection is closed after the answer (see #fail), so the
  // rest of the body is never read.
  const tooLarge = (): ApiError => new ApiError('RequestEntityTooLarge', `request entity too large: limit is ${MAX_BODY} bytes`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw tooLarge();
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) {
    if (optional) return undefined;
    throw new ApiError('BadRequest', 'request body is empty');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError('BadRequest', `request body is not valid JSON: ${(e as Error).message}`);
  }
}

export { KINDS };
