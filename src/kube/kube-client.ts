// A small Kubernetes REST client: CRUD, list and streaming watch. Everything in Ambit that
// reads cluster state goes through this (or an Informer on top), so pointing it at a real
// Kubernetes API server is a matter of baseUrl and token.
import * as http from 'node:http';
import * as https from 'node:https';
import { AmbitError } from '../lib/errors.js';
import { apiVersionOf, type KindInfo } from '../model/core/kinds.js';
import type { KubeObject } from '../model/core/types.js';

export interface ClientConfig {
  baseUrl: string; // https://127.0.0.1:6443
  /** Bearer token; none when the client authenticates with a client certificate only. */
  token?: string;
  /** PEM CA that signed the API server's certificate. */
  ca?: string;
  /** PEM client certificate and key (a kubeconfig's client-certificate/client-key). */
  cert?: string;
  key?: string;
}

/** The TLS options of a client config (CA, client certificate). */
function tlsOptions(c: ClientConfig): { ca?: string; cert?: string; key?: string } {
  return { ...(c.ca ? { ca: c.ca } : {}), ...(c.cert ? { cert: c.cert } : {}), ...(c.key ? { key: c.key } : {}) };
}

export class KubeApiError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string, readonly body?: unknown) {
    super(message);
  }
}

export class ConnectionError extends AmbitError {
  constructor(message: string) {
    super('AMBIT_E_API_UNREACHABLE', message);
  }
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export function resourcePath(info: KindInfo, ns?: string, name?: string, sub?: string): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : '/api/v1';
  const nsPart = info.namespaced && ns ? `/namespaces/${encodeURIComponent(ns)}` : '';
  return `${base}${nsPart}/${info.resource}${name ? `/${encodeURIComponent(name)}` : ''}${sub ? `/${sub}` : ''}`;
}

export class KubeClient {
  readonly #agent: http.Agent;
  readonly #mod: typeof http | typeof https;

  constructor(readonly config: ClientConfig) {
    const tls = config.baseUrl.startsWith('https:');
    this.#mod = tls ? https : http;
    this.#agent = tls ? new https.Agent({ keepAlive: true, maxSockets: 16, ...tlsOptions(config) }) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  close(): void {
    this.#agent.destroy();
  }

  #auth(): { authorization?: string } {
    return this.config.token ? { authorization: `Bearer ${this.config.token}` } : {};
  }

  request(method: string, path: string, body?: unknown, contentType = 'application/json', accept = 'application/json'): Promise<unknown> {
    const url = new URL(path, this.config.baseUrl);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = this.#mod.request(
        url,
        {
          method,
          agent: this.#agent,
          headers: {
            ...this.#auth(),
            accept,
            ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              /* plain text body */
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve(parsed);
            const st = parsed as { message?: string; reason?: string } | undefined;
            reject(new KubeApiError(status, st?.reason ?? 'Unknown', st?.message ?? `HTTP ${status}: ${text.slice(0, 200)}`, parsed));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new ConnectionError(`API server at ${this.config.baseUrl} did not answer within 30s`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED') reject(new ConnectionError(`cannot reach the API server at ${this.config.baseUrl} (connection refused): is the cluster up? Try: ambit cluster status`));
        else reject(e);
      });
      req.end(data);
    });
  }

  get(info: KindInfo, ns: string | undefined, name: string): Promise<KubeObject> {
    return this.request('GET', resourcePath(info, ns, name)) as Promise<KubeObject>;
  }

  async getOrUndefined(info: KindInfo, ns: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.get(info, ns, name);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async list(info: KindInfo, ns?: string, opts: ListOptions = {}): Promise<ListResult> {
    const q = new URLSearchParams();
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
    const qs = q.toString();
    const r = (await this.request('GET', `${resourcePath(info, ns)}${qs ? `?${qs}` : ''}`)) as { items: KubeObject[]; metadata: { resourceVersion: string } };
    const av = apiVersionOf(info);
    return { items: r.items.map((o) => ({ ...o, apiVersion: o.apiVersion ?? av, kind: o.kind ?? info.kind })), resourceVersion: r.metadata.resourceVersion };
  }

  create(info: KindInfo, obj: KubeObject): Promise<KubeObject> {
    return this.request('POST', resourcePath(info, obj.metadata.namespace), obj) as Promise<KubeObject>;
  }

  update(info: KindInfo, obj: KubeObject, sub?: string): Promise<KubeObject> {
    return this.request('PUT', resourcePath(info, obj.metadata.namespace, obj.metadata.name, sub), obj) as Promise<KubeObject>;
  }

  patch(info: KindInfo, ns: string | undefined, name: string, patch: unknown, sub?: string): Promise<KubeObject> {
    return this.request('PATCH', resourcePath(info, ns, name, sub), patch, 'application/merge-patch+json') as Promise<KubeObject>;
  }

  delete(info: KindInfo, ns: string | undefined, name: string, gracePeriodSeconds?: number): Promise<KubeObject> {
    const q = gracePeriodSeconds !== undefined ? `?gracePeriodSeconds=${gracePeriodSeconds}` : '';
    return this.request('DELETE', `${resourcePath(info, ns, name)}${q}`) as Promise<KubeObject>;
  }

  /**
   * Opens a watch stream. Calls onEvent per event; resolves when the stream ends
   * (server timeout or disconnect); rejects with KubeApiError(410) when the
   * resourceVersion is too old.
   */
  watch(info: KindInfo, ns: string | undefined, opts: ListOptions & { resourceVersion?: string; signal?: AbortSignal }, onEvent: (ev: WatchEvent) => void): Promise<void> {
    const q = new URLSearchParams({ watch: 'true', allowWatchBookmarks: 'true' });
    if (opts.resourceVersion) q.set('resourceVersion', opts.resourceVersion);
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
    const url = new URL(`${resourcePath(info, ns)}?${q}`, this.config.baseUrl);
    return new Promise((resolve, reject) => {
      const req = this.#mod.request(url, { method: 'GET', ...tlsOptions(this.config), headers: { ...this.#auth(), accept: 'application/json' }, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let st: { message?: string; reason?: string } = {};
            try {
              st = JSON.parse(Buffer.concat(chunks).toString()) as typeof st;
            } catch {
              /* not JSON */
            }
            reject(new KubeApiError(res.statusCode ?? 0, st.reason ?? 'Unknown', st.message ?? `watch failed: HTTP ${res.statusCode}`));
          });
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            let ev: WatchEvent;
            try {
              ev = JSON.parse(line) as WatchEvent;
            } catch {
              // A garbled stream is dropped; the informer reconnects from its last resourceVersion.
              req.destroy();
              resolve();
              return;
            }
            onEvent(ev);
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
        res.on('aborted', () => resolve());
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.name === 'AbortError') resolve();
        else reject(e.code === 'ECONNREFUSED' ? new ConnectionError(`cannot reach the API server at ${this.config.baseUrl}`) : e);
      });
      req.end();
    });
  }
}
