// Pod IP allocation for one node's pod CIDR (10.0.<node>.0/24). Pure: no I/O.
// The node agent owns one Ipam per node and rebuilds it from live pods after a restart.
import { FIRST_POD_HOST, LAST_POD_HOST, nodeName, podIP } from './addressing.js';

export class Ipam {
  /** host number -> pod key */
  private readonly byHost = new Map<number, string>();
  /** pod key -> host number */
  private readonly byKey = new Map<string, number>();
  /**
   * Last host handed out. Allocation continues after it (round-robin) so a just-released
   * IP is not given straight to the next pod, where stale peers/conntrack could still reach it.
   */
  private cursor = FIRST_POD_HOST - 1;

  constructor(readonly nodeIndex: number) {}

  /** Returns the pod's IP, allocating one if it has none yet (idempotent per key). */
  allocate(podKey: string): string {
    const existing = this.byKey.get(podKey);
    if (existing !== undefined) return podIP(this.nodeIndex, existing);
    const span = LAST_POD_HOST - FIRST_POD_HOST + 1;
    for (let step = 1; step <= span; step++) {
      const host = FIRST_POD_HOST + ((this.cursor - FIRST_POD_HOST + step) % span);
      if (this.byHost.has(host)) continue;
      this.take(host, podKey);
      this.cursor = host;
      return podIP(this.nodeIndex, host);
    }
    throw new Error(`${nodeName(this.nodeIndex)} has no free pod IPs (${this.byHost.size} in use)`);
  }

  /** Frees an IP; unknown or already free IPs are ignored. */
  release(ip: string): void {
    const host = this.hostOf(ip);
    const key = this.byHost.get(host);
    if (key === undefined) return;
    this.byHost.delete(host);
    this.byKey.delete(key);
  }

  /** Marks an IP as held by podKey, e.g. for pods found running after a restart. */
  restore(ip: string, podKey: string): void {
    const host = this.hostOf(ip);
    const holder = this.byHost.get(host);
    if (holder === podKey) return;
    if (holder !== undefined) throw new Error(`cannot restore ${ip} for ${podKey}: already held by ${holder}`);
    const previous = this.byKey.get(podKey);
    if (previous !== undefined) throw new Error(`cannot restore ${ip} for ${podKey}: it already holds ${podIP(this.nodeIndex, previous)}`);
    this.take(host, podKey);
    // Without the real history, continuing after the highest live IP is the best guess at round-robin.
    this.cursor = Math.max(this.cursor, host);
  }

  ipOf(podKey: string): string | undefined {
    const host = this.byKey.get(podKey);
    return host === undefined ? undefined : podIP(this.nodeIndex, host);
  }

  get inUse(): number {
    return this.byHost.size;
  }

  private take(host: number, podKey: string): void {
    this.byHost.set(host, podKey);
    this.byKey.set(podKey, host);
  }

  /** Host number of an IP in this node's pod range; throws for anything else. */
  private hostOf(ip: string): number {
    const prefix = `10.0.${this.nodeIndex}.`;
    const rest = ip.startsWith(prefix) ? ip.slice(prefix.length) : '';
    const host = /^\d{1,3}$/.test(rest) ? Number(rest) : NaN;
    if (!(host >= FIRST_POD_HOST && host <= LAST_POD_HOST)) {
      throw new Error(`${ip} is not a pod IP of ${nodeName(this.nodeIndex)} (expected ${prefix}${FIRST_POD_HOST}-${LAST_POD_HOST})`);
    }
    return host;
  }
}
