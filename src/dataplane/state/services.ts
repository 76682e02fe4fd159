// Services of one snapshot by VIP and by namespace/hostname. Pure.
import { serviceResourceName, type Port, type Service } from '../../mesh-api/types.js';
import { canonicalIp } from '../hbone/headers.js';
import { push } from './workloads.js';

export interface ServiceMatch {
  service: Service;
  port: Port;
}

export class ServiceIndex {
  readonly #byVip = new Map<string, Service[]>();
  readonly #byKey = new Map<string, Service>();

  constructor(services: Iterable<Service>) {
    for (const s of services) {
      this.#byKey.set(serviceResourceName(s), s);
      for (const a of s.addresses) push(this.#byVip, canonicalIp(a.address), s);
    }
  }

  byHost(namespace: string, hostname: string): Service | undefined {
    return this.#byKey.get(`${namespace}/${hostname}`);
  }

  /** The service whose VIP is ip and that exposes port: one in preferNamespace, else a canonical one, else any (§2.8 step 3). */
  byVip(ip: string, port: number, preferNamespace?: string): ServiceMatch | undefined {
    let found: ServiceMatch | undefined;
    for (const service of this.#byVip.get(canonicalIp(ip)) ?? []) {
      const p = service.ports.find((x) => x.servicePort === port);
      if (!p) continue;
      if (service.namespace === preferNamespace) return { service, port: p };
      if (!found || (service.canonical && !found.service.canonical)) found = { service, port: p };
    }
    return found;
  }
}
