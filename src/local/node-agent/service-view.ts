// Pure translations from Services/Endpoints to what the node programs: nftables service
// rules (kube-proxy role) and per-pod hosts entries (cluster DNS role).
import type { HostEntry } from '../cluster/runtime.js';
import type { ServiceRule } from '../cluster/net/service-proxy.js';
import type { Endpoints, Service } from '../../model/core/types.js';

export const CLUSTER_DOMAIN = 'cluster.local';

/** internalTrafficPolicy Local keeps only the endpoints on `nodeName` (none elsewhere: traffic is dropped, as kube-proxy). */
export function serviceRules(services: Service[], endpoints: Endpoints[], nodeName?: string): ServiceRule[] {
  const eps = new Map(endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  const rules: ServiceRule[] = [];
  for (const s of services) {
    const vip = s.spec.clusterIP;
    if (!vip || vip === 'None') continue;
    const ep = eps.get(`${s.metadata.namespace}/${s.metadata.name}`);
    for (const sp of s.spec.ports ?? []) {
      if (sp.protocol === 'SCTP') continue;
      const targets: { ip: string; port: number }[] = [];
      for (const sub of ep?.subsets ?? []) {
        // Ports are matched by name (named multi-port services) or taken alone.
        const p = sub.ports?.find((x) => (sp.name ? x.name === sp.name : true));
        if (!p) continue;
        for (const a of sub.addresses ?? []) if (s.spec.internalTrafficPolicy !== 'Local' || a.nodeName === nodeName) targets.push({ ip: a.ip, port: p.port });
      }
      rules.push({ vip, port: sp.port, protocol: sp.protocol === 'UDP' ? 'UDP' : 'TCP', endpoints: targets });
    }
  }
  return rules;
}

/** Hosts entries as seen from a pod in `podNamespace`: FQDN, <svc>.<ns>.svc, <svc>.<ns>, and <svc> for its own namespace. */
export function hostEntries(services: Service[], podNamespace: string): HostEntry[] {
  const out: HostEntry[] = [];
  for (const s of services) {
    const ip = s.spec.clusterIP;
    if (!ip || ip === 'None') continue;
    const name = s.metadata.name!;
    const ns = s.metadata.namespace!;
    const names = [`${name}.${ns}.svc.${CLUSTER_DOMAIN}`, `${name}.${ns}.svc`, `${name}.${ns}`];
    if (ns === podNamespace) names.push(name);
    out.push({ ip, names });
  }
  return out;
}

export const searchDomains = (ns: string): string[] => [`${ns}.svc.${CLUSTER_DOMAIN}`, `svc.${CLUSTER_DOMAIN}`, CLUSTER_DOMAIN];
