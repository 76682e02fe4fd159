// The policies of one snapshot, indexed once so a connection's decision touches only the
// policies that apply to its destination (spec §5.3 step 1): GLOBAL ones, the destination
// namespace's NAMESPACE ones, and the workload's selector keys. Same order and same result as
// applicablePolicies over the whole list (tested against it). Pure.
import { authorizationResourceName, type Authorization, type Workload } from '../mesh-api/types.js';
import { decide, type Connection, type Decision } from './evaluate.js';

export class PolicyIndex {
  readonly #byKey = new Map<string, Authorization>();
  /** Position in the snapshot: the order ztunnel (and applicablePolicies) sees them in. */
  readonly #position = new Map<Authorization, number>();
  readonly #global: Authorization[] = [];
  readonly #namespaced = new Map<string, Authorization[]>();
  /** GLOBAL ∪ NAMESPACE(ns) in snapshot order, merged lazily once per namespace. */
  readonly #scoped = new Map<string, readonly Authorization[]>();

  constructor(all: Iterable<Authorization>) {
    let i = 0;
    for (const p of all) {
      this.#position.set(p, i++);
      this.#byKey.set(authorizationResourceName(p), p);
      if (p.scope === 'GLOBAL') this.#global.push(p);
      else if (p.scope === 'NAMESPACE') {
        const list = this.#namespaced.get(p.namespace);
        if (list) list.push(p);
        else this.#namespaced.set(p.namespace, [p]);
      }
    }
  }

  get size(): number {
    return this.#position.size;
  }

  #scopedFor(ns: string): readonly Authorization[] {
    let list = this.#scoped.get(ns);
    if (!list) {
      const local = this.#namespaced.get(ns) ?? [];
      list = local.length === 0 ? this.#global : [...this.#global, ...local].sort((a, b) => this.#position.get(a)! - this.#position.get(b)!);
      this.#scoped.set(ns, list);
    }
    return list;
  }

  /** applicablePolicies(all, dest) without scanning all. */
  applicable(dest: Pick<Workload, 'namespace' | 'authorizationPolicies'>): { policies: Authorization[]; unknownKeys: string[] } {
    const scoped = this.#scopedFor(dest.namespace);
    const policies = [...scoped];
    const unknownKeys: string[] = [];
    const added = new Set<Authorization>();
    for (const k of dest.authorizationPolicies) {
      const p = this.#byKey.get(k);
      if (!p) unknownKeys.push(k);
      // Already listed when its scope put it in `scoped` (the same object), or added by an earlier key.
      else if (!(p.scope === 'GLOBAL' || (p.scope === 'NAMESPACE' && p.namespace === dest.namespace)) && !added.has(p)) {
        added.add(p);
        policies.push(p);
      }
    }
    return { policies, unknownKeys };
  }

  /** evaluate(all, dest, c), from the index. */
  evaluate(dest: Pick<Workload, 'namespace' | 'authorizationPolicies'>, c: Connection): Decision {
    const { policies, unknownKeys } = this.applicable(dest);
    return decide(policies, unknownKeys, c);
  }
}
