// The object store: one map of every object, a global resourceVersion counter and a
// bounded event history so watchers can resume after a disconnect. Writes go to the
// Wal (when one is given) before they become visible.
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../model/core/types.js';
import { ApiError } from './errors.js';
import type { ReplayedRecord, Wal } from './wal.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  type: EventType;
  kindKey: string;
  namespace: string;
  obj: KubeObject;
  /** The object before this change (MODIFIED only), so filtered watches can tell enter/leave. */
  prev?: KubeObject;
}

export interface Watcher {
  kindKey: string;
  namespace?: string;
  send(ev: StoreEvent): void;
}

const HISTORY = 20_000;
/** etcd's default --max-request-bytes (1.5 MiB): Kubernetes cannot store a larger object either. */
export const MAX_OBJECT_BYTES = 1536 * 1024;
/**
 * Deepest nesting of an object's JSON. Kubernetes' JSON decoder stops at 10,000; no real object
 * comes near 100, and far deeper ones overflow the stack of every recursive reader (compaction
 * would break on them), so they are refused before storage.
 */
export const MAX_OBJECT_DEPTH = 100;

export interface StoreOptions {
  log?: (msg: string) => void;
  /** Called on every failed compaction (a metric). */
  onCompactionError?: (e: Error) => void;
}

export const objectKey = (kindKey: string, ns: string, name: string): string => `${kindKey}/${ns}/${name}`;

export class Store {
  #rv = 0;
  readonly #objects = new Map<string, KubeObject>();
  readonly #history: StoreEvent[] = [];
  /** Lowest rv a watcher may resume from; older ones get 410 Expired. */
  #oldestResumable = 0;
  readonly #watchers = new Set<Watcher>();

  #compactionFailing = false;
  /** Compactions that failed since start (the log keeps every record, so nothing is lost). */
  compactionFailures = 0;

  constructor(readonly wal?: Wal, readonly opts: StoreOptions = {}) {
    if (!wal) return;
    const loaded = wal.load();
    this.#rv = loaded.rv;
    for (const [k, v] of loaded.objects) this.#objects.set(k, v);
    this.#oldestResumable = loaded.rv - loaded.tail.length;
    for (const rec of loaded.tail) this.#history.push(toEvent(rec, rec.op === 'del' ? 'DELETED' : rec.prev ? 'MODIFIED' : 'ADDED'));
    this.truncatedBytes = loaded.truncatedBytes;
  }

  truncatedBytes = 0;

  get resourceVersion(): number {
    return this.#rv;
  }

  get(kindKey: string, ns: string, name: string): KubeObject | undefined {
    return this.#objects.get(objectKey(kindKey, ns, name));
  }

  list(kindKey: string, ns?: string): KubeObject[] {
    const prefix = ns === undefined ? `${kindKey}/` : `${kindKey}/${ns}/`;
    const out: KubeObject[] = [];
    for (const [k, v] of this.#objects) if (k.startsWith(prefix)) out.push(v);
    return out.sort((a, b) => compareMeta(a, b));
  }

  create(kindKey: string, obj: KubeObject): KubeObject {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name!;
    if (this.#objects.has(objectKey(kindKey, ns, name))) {
      throw new ApiError('AlreadyExists', `${kindKey.split('/')[1]} "${name}" already exists`, { name, kind: kindKey.split('/')[1]! });
    }
    const stored: KubeObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        generation: 1,
      },
    };
    return this.#commit(kindKey, ns, name, stored, 'ADDED');
  }

  /** Replaces an object. If expectedRV is set and stale, throws Conflict. */
  update(kindKey: string, obj: KubeObject, expectedRV?: string): KubeObject {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name!;
    const cur = this.#objects.get(objectKey(kindKey, ns, name));
    if (!cur) throw new ApiError('NotFound', `${kindKey.split('/')[1]} "${name}" not found`, { name, kind: kindKey.split('/')[1]! });
    if (expectedRV && expectedRV !== cur.metadata.resourceVersion) {
      throw new ApiError(
        'Conflict',
        `Operation cannot be fulfilled on ${kindKey.split('/')[1]} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, kind: kindKey.split('/')[1]! },
      );
    }
    const specChanged = JSON.stringify(cur.spec) !== JSON.stringify(obj.spec);
    const stored: KubeObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        uid: cur.metadata.uid!,
        creationTimestamp: cur.metadata.creationTimestamp!,
        generation: (cur.metadata.generation ?? 1) + (specChanged ? 1 : 0),
      },
    };
    return this.#commit(kindKey, ns, name, stored, 'MODIFIED');
  }

  delete(kindKey: string, ns: string, name: string): KubeObject {
    const cur = this.#objects.get(objectKey(kindKey, ns, name));
    if (!cur) throw new ApiError('NotFound', `${kindKey.split('/')[1]} "${name}" not found`, { name, kind: kindKey.split('/')[1]! });
    return this.#commit(kindKey, ns, name, cur, 'DELETED');
  }

  /**
   * Registers a watcher. With fromRV, replays history after it (410 Expired when it is
   * too old); without, the caller is expected to have sent the current state itself.
   */
  watch(w: Watcher, fromRV?: number): () => void {
    if (fromRV !== undefined && fromRV > 0) {
      if (fromRV < this.#oldestResumable) {
        throw new ApiError('Expired', `too old resource version: ${fromRV} (${this.#oldestResumable})`);
      }
      for (const ev of this.#history) if (ev.rv > fromRV && matchesWatcher(w, ev)) w.send(ev);
    }
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }

  #commit(kindKey: string, ns: string, name: string, obj: KubeObject, type: EventType): KubeObject {
    const rv = this.#rv + 1;
    const stored: KubeObject = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    const key = objectKey(kindKey, ns, name);
    const prev = type === 'MODIFIED' ? this.#objects.get(key) : undefined;
    if (type !== 'DELETED') checkLimits(kindKey, name, stored);
    try {
      this.wal?.append({ rv, op: type === 'DELETED' ? 'del' : 'put', key, obj: stored });
    } catch (e) {
      throw persistError(e, this.wal!.dir);
    }
    this.#rv = rv;
    if (type === 'DELETED') this.#objects.delete(key);
    else this.#objects.set(key, stored);
    const ev: StoreEvent = { rv, type, kindKey, namespace: ns, obj: stored, ...(prev ? { prev } : {}) };
    this.#history.push(ev);
    if (this.#history.length > HISTORY) {
      const dropped = this.#history.shift()!;
      this.#oldestResumable = dropped.rv;
    }
    for (const w of this.#watchers) if (matchesWatcher(w, ev)) w.send(ev);
    if (this.wal?.needsCompaction()) this.#compact();
    return stored;
  }

  /** The write is committed already (it is in the log): a failed compaction must not turn it into an error. */
  #compact(): void {
    try {
      this.wal!.compact(this.#rv, this.#objects);
      if (this.#compactionFailing) this.opts.log?.('store: compaction works again');
      this.#compactionFailing = false;
    } catch (e) {
      this.compactionFailures++;
      this.opts.onCompactionError?.(e as Error);
      // Once per failure streak, not on every write; retried after compactEvery more records.
      if (!this.#compactionFailing) this.opts.log?.(`store: compaction failed, the log keeps growing until it succeeds (retried after more writes): ${(e as Error).message}`);
      this.#compactionFailing = true;
    }
  }

  close(): void {
    this.wal?.close();
  }
}

/** Size and depth limits, checked before anything is written (413 / 422 naming the limit). */
function checkLimits(kindKey: string, name: string, obj: KubeObject): void {
  const kind = kindKey.split('/')[1]!;
  const depth = jsonDepth(obj, MAX_OBJECT_DEPTH);
  if (depth > MAX_OBJECT_DEPTH) {
    throw new ApiError('Invalid', `${kind} "${name}" is invalid: nested more than ${MAX_OBJECT_DEPTH} levels deep; flatten the object`, { name, kind });
  }
  const bytes = Buffer.byteLength(JSON.stringify(obj));
  if (bytes > MAX_OBJECT_BYTES) {
    throw new ApiError('RequestEntityTooLarge', `${kind} "${name}" is too large to store: ${bytes} bytes, the limit is ${MAX_OBJECT_BYTES}`, { name, kind });
  }
}

/** Nesting depth of a JSON value, without recursion; stops counting past `limit`. */
export function jsonDepth(v: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const c of Object.values(x as Record<string, unknown>)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return max;
}

/** A failed durable write: the object was not stored; say why in words an operator can act on. */
function persistError(e: unknown, dir: string): ApiError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOSPC') return new ApiError('InternalError', `no space left on device: the store in ${dir} could not persist this write, so it was not made; free space on that filesystem and retry`);
  if (err.code === 'EDQUOT') return new ApiError('InternalError', `disk quota exceeded: the store in ${dir} could not persist this write, so it was not made; raise the quota or free space and retry`);
  return new ApiError('InternalError', `the store in ${dir} could not persist this write, so it was not made: ${err.message}`);
}

function matchesWatcher(w: Watcher, ev: StoreEvent): boolean {
  return w.kindKey === ev.kindKey && (w.namespace === undefined || w.namespace === ev.namespace);
}

function toEvent(rec: ReplayedRecord, type: EventType): StoreEvent {
  const [group = '', resource = '', ns = ''] = rec.key.split('/');
  return { rv: rec.rv, type, kindKey: `${group}/${resource}`, namespace: ns, obj: rec.obj, ...(type === 'MODIFIED' && rec.prev ? { prev: rec.prev } : {}) };
}

function compareMeta(a: KubeObject, b: KubeObject): number {
  const an = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
  const bn = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  return an < bn ? -1 : an > bn ? 1 : 0;
}
