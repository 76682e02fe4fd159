// Resource builders for the xDS tests and the scale benchmark.
import { emptyMatch, type Authorization, type MeshSnapshot, type Service, type Workload } from '../../../src/mesh-api/types.js';

export function workload(ns: string, name: string, ip: string, svc?: string, extra: Partial<Workload> = {}): Workload {
  return {
    uid: `Kubernetes//Pod/${ns}/${name}`,
    name,
    namespace: ns,
    addresses: [ip],
    network: '',
    tunnelProtocol: 'HBONE',
    trustDomain: '',
    serviceAccount: 'default',
    node: 'node1',
    canonicalName: svc ?? name,
    canonicalRevision: 'latest',
    workloadType: 'POD',
    workloadName: name,
    nativeTunnel: false,
    services: svc ? { [`${ns}/${svc}.${ns}.svc.cluster.local`]: [{ servicePort: 80, targetPort: 8080 }] } : {},
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: 'Kubernetes',
    ...extra,
  };
}

export function service(ns: string, name: string, vip: string): Service {
  return { name, namespace: ns, hostname: `${name}.${ns}.svc.cluster.local`, addresses: [{ network: '', address: vip }], ports: [{ servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' }], subjectAltNames: [] };
}

export function allowFrom(ns: string, name: string, fromNs: string): Authorization {
  return { name, namespace: ns, scope: 'NAMESPACE', action: 'ALLOW', dryRun: false, rules: [{ clauses: [{ matches: [{ ...emptyMatch(), namespaces: [{ exact: fromNs }] }] }] }] };
}

export const snapshot = (s: Partial<MeshSnapshot>): MeshSnapshot => ({ workloads: [], services: [], authorizations: [], ...s });
