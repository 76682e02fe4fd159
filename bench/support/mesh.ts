// The static mesh config and certificates of the tunnel benchmark: two pods (client in pod A on
// node1, server in pod B on node2), both HBONE, no policies; workload certificates signed by a
// throwaway CertificateAuthority, plus a DNS/IP server certificate for the stunnel baseline.
import type { MeshSnapshot, Workload } from '../../src/mesh-api/types.js';
import { CertificateAuthority } from '../../src/ca/authority.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';
import { createCsr, exportPrivateKeyPem, generateKeyPair } from '../../src/identity/x509.js';

export const TRUST_DOMAIN = 'cluster.local';

export interface BenchPod {
  name: string;
  namespace: string;
  serviceAccount: string;
  node: string;
  ip: string;
}

export const spiffeOf = (p: BenchPod): string => `spiffe://${TRUST_DOMAIN}/ns/${p.namespace}/sa/${p.serviceAccount}`;

/** The minimal Workload the node tunnel needs (the same shape the mesh controller pushes for a pod). */
export function workloadOf(p: BenchPod): Workload {
  return {
    uid: `bench//Pod/${p.namespace}/${p.name}`,
    name: p.name,
    namespace: p.namespace,
    addresses: [p.ip],
    network: '',
    tunnelProtocol: 'HBONE',
    trustDomain: TRUST_DOMAIN,
    serviceAccount: p.serviceAccount,
    node: p.node,
    canonicalName: p.name,
    canonicalRevision: 'latest',
    workloadType: 'POD',
    workloadName: p.name,
    nativeTunnel: false,
    services: {},
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: 'bench',
  };
}

export const snapshotOf = (pods: BenchPod[]): MeshSnapshot => ({ workloads: pods.map(workloadOf), services: [], authorizations: [] });

/** A workload certificate for the pod's identity, as the CA client would hold it. */
export async function workloadCertificate(ca: CertificateAuthority, p: BenchPod, ttlSeconds = 3 * 3600): Promise<WorkloadCertificate> {
  const identity = spiffeOf(p);
  const keys = await generateKeyPair();
  const { chain, serial, notAfter } = await ca.sign(await createCsr(identity, keys), identity, ttlSeconds);
  return { identity, chainPem: chain.slice(0, -1), rootsPem: chain.at(-1)!, keyPem: await exportPrivateKeyPem(keys.privateKey), notBefore: new Date(), notAfter, serial };
}

export async function openCa(dir: string): Promise<CertificateAuthority> {
  return await CertificateAuthority.open(dir, { trustDomain: TRUST_DOMAIN });
}
