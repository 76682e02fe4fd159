// Workloads of one snapshot by IP, by UID, and by the services they list. Pure.
import type { Workload } from '../../mesh-api/types.js';
import { canonicalIp } from '../hbone/headers.js';

export function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

export class WorkloadIndex {
  readonly #byIp = new Map<string, Workload>();
  readonly #byUid = new Map<string, Workload>();
  /** "ns/hostname" → workloads listing that service. */
  readonly #members = new Map<string, Workload[]>();

  constructor(workloads: Iterable<Workload>) {
    for (const w of workloads) {
      this.#byUid.set(w.uid, w);
      for (const a of w.addresses) if (!this.#byIp.has(canonicalIp(a))) this.#byIp.set(canonicalIp(a), w);
      for (const key of Object.keys(w.services)) push(this.#members, key, w);
    }
  }

  byIp(ip: string): Workload | undefined {
    return this.#byIp.get(canonicalIp(ip));
  }

  byUid(uid: string): Workload | undefined {
    return this.#byUid.get(uid);
  }

  /** Workloads listing the service "ns/hostname". */
  members(serviceKey: string): readonly Workload[] {
    return this.#members.get(serviceKey) ?? [];
  }
}
