// Endpoint choice for a backend service (waypoint-spec §2.7): the healthy endpoints the mesh
// state gives, Envoy's default LEAST_REQUEST (power of two choices over in-flight requests),
// and on a retry hosts already tried are avoided while others remain.
import type { Service } from '../mesh-api/types.js';
import type { MeshState } from '../dataplane/mesh-state.js';
import type { Endpoint } from '../dataplane/state/endpoints.js';
import { formatAuthority } from '../dataplane/hbone/headers.js';

export interface Picked extends Endpoint {
  /** `<pod IP>:<targetPort>`: the CONNECT authority on the way out. */
  addr: string;
  ip: string;
}

export class LeastRequest {
  readonly #active = new Map<string, number>();

  constructor(private readonly rand: () => number = Math.random) {}

  pick(mesh: MeshState, service: Service, servicePort: number, avoid: ReadonlySet<string> = new Set()): Picked | undefined {
    const all = mesh.candidates(service, servicePort).flatMap((e): Picked[] => {
      const ip = e.workload.addresses[0];
      return ip === undefined ? [] : [{ ...e, ip, addr: formatAuthority(ip, e.targetPort) }];
    });
    const fresh = all.filter((e) => !avoid.has(e.addr));
    const eps = fresh.length > 0 ? fresh : all;
    if (eps.length <= 1) return eps[0];
    const a = eps[Math.floor(this.rand() * eps.length)]!;
    let b = eps[Math.floor(this.rand() * eps.length)]!;
    if (b === a) b = eps[(eps.indexOf(a) + 1) % eps.length]!;
    return this.active(a.addr) <= this.active(b.addr) ? a : b;
  }

  active(addr: string): number {
    return this.#active.get(addr) ?? 0;
  }

  /** Counts a request in flight to addr; call the returned function once when it ends. */
  begin(addr: string): () => void {
    this.#active.set(addr, this.active(addr) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = this.active(addr) - 1;
      if (n <= 0) this.#active.delete(addr);
      else this.#active.set(addr, n);
    };
  }
}
