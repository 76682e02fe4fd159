// ClusterIP allocation from the service CIDR (the apiserver does this in Kubernetes too).
import { intToIpv4, ipv4ToInt } from '../../lib/ip.js';
import { ApiError } from './errors.js';

export class ServiceIPAllocator {
  readonly #base: number;
  readonly #size: number;
  readonly #used = new Set<number>();

  constructor(readonly cidr: string) {
    const [ip = '', bits = ''] = cidr.split('/');
    this.#base = ipv4ToInt(ip);
    this.#size = 2 ** (32 - Number(bits));
  }

  /** Marks an existing IP as used (rebuilding state after a restart). */
  restore(ip: string): void {
    this.#used.add(ipv4ToInt(ip) - this.#base);
  }

  allocate(requested?: string): string {
    if (requested) {
      const off = ipv4ToInt(requested) - this.#base;
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(requested) || off <= 0 || off >= this.#size - 1) {
        throw new ApiError('Invalid', `spec.clusterIP: Invalid value: "${requested}": must be inside the service CIDR ${this.cidr}`, {
          causes: [{ field: 'spec.clusterIP', message: `must be inside the service CIDR ${this.cidr}` }],
        });
      }
      if (this.#used.has(off)) {
        throw new ApiError('Invalid', `spec.clusterIP: Invalid value: "${requested}": provided IP is already allocated`, {
          causes: [{ field: 'spec.clusterIP', message: 'provided IP is already allocated' }],
        });
      }
      this.#used.add(off);
      return requested;
    }
    // .1 is left free, as Kubernetes reserves it for the `kubernetes` service.
    for (let off = 10; off < this.#size - 1; off++) {
      if (!this.#used.has(off)) {
        this.#used.add(off);
        return intToIpv4(this.#base + off);
      }
    }
    throw new ApiError('InternalError', `the service CIDR ${this.cidr} is exhausted`);
  }

  release(ip: string): void {
    this.#used.delete(ipv4ToInt(ip) - this.#base);
  }
}
