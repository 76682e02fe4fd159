// List+watch cache for one kind. Resumes from the last seen resourceVersion after a
// disconnect (so a control-plane restart loses no event), relists on 410 Expired, and
// retries with capped exponential backoff while the API server is away.
import type { KindInfo } from '../model/core/kinds.js';
import type { KubeObject } from '../model/core/types.js';
import { KubeApiError, type KubeClient, type ListOptions } from './kube-client.js';

export type Handler = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, prev?: KubeObject) => void;

const key = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export class Informer {
  readonly #cache = new Map<string, KubeObject>();
  readonly #handlers: Handler[] = [];
  readonly #abort = new AbortController();
  #rv = '';
  #synced!: Promise<void>;
  #markSynced!: () => void;
  #running = false;

  constructor(readonly client: KubeClient, readonly info: KindInfo, readonly ns?: string, readonly opts: ListOptions = {}, readonly log: (m: string) => void = () => {}) {
    this.#synced = new Promise((r) => (this.#markSynced = r));
  }

  on(h: Handler): this {
    this.#handlers.push(h);
    return this;
  }

  list(): KubeObject[] {
    return [...this.#cache.values()];
  }

  get(ns: string, name: string): KubeObject | undefined {
    return this.#cache.get(`${ns}/${name}`);
  }

  /** Starts the loop; resolves once the first list has been delivered. */
  start(): Promise<void> {
    if (!this.#running) {
      this.#running = true;
      void this.#run();
    }
    return this.#synced;
  }

  stop(): void {
    this.#running = false;
    this.#abort.abort();
  }

  async #run(): Promise<void> {
    let delay = 200;
    let needList = true;
    while (this.#running) {
      try {
        if (needList) {
          await this.#relist();
          needList = false;
          this.#markSynced();
        }
        await this.client.watch(this.info, this.ns, { ...this.opts, resourceVersion: this.#rv, signal: this.#abort.signal }, (ev) => {
          if (ev.type === 'BOOKMARK') {
            this.#rv = ev.object.metadata.resourceVersion ?? this.#rv;
            return;
          }
          if (ev.type === 'ERROR') {
            needList = true;
            return;
          }
          this.#apply(ev.type, ev.object);
        });
        delay = 200;
      } catch (e) {
        if (!this.#running) return;
        if (e instanceof KubeApiError && e.status === 410) {
          needList = true;
          continue;
        }
        this.log(`watch ${this.info.resource}: ${(e as Error).message}; retrying in ${delay}ms`);
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  async #relist(): Promise<void> {
    const r = await this.client.list(this.info, this.ns, this.opts);
    const seen = new Set<string>();
    for (const o of r.items) {
      seen.add(key(o));
      this.#apply(this.#cache.has(key(o)) ? 'MODIFIED' : 'ADDED', o);
    }
    for (const [k, o] of [...this.#cache]) if (!seen.has(k)) this.#apply('DELETED', o);
    this.#rv = r.resourceVersion;
  }

  #apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const k = key(obj);
    const prev = this.#cache.get(k);
    if (type === 'DELETED') this.#cache.delete(k);
    else this.#cache.set(k, obj);
    if (obj.metadata.resourceVersion) this.#rv = obj.metadata.resourceVersion;
    if (type === 'MODIFIED' && prev && prev.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    const t = type === 'MODIFIED' && !prev ? 'ADDED' : type;
    for (const h of this.#handlers) {
      try {
        h(t, obj, prev);
      } catch (e) {
        this.log(`handler for ${this.info.resource} ${k} failed: ${(e as Error).stack ?? String(e)}`);
      }
    }
  }
}
