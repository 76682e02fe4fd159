// Workload certificates from a real on-disk CA for HBONE tests (TLS needs real chains).
import { CertificateAuthority } from '../../../src/ca/authority.js';
import type { WorkloadCertificate } from '../../../src/identity/ca-client.js';
import { createCsr, exportPrivateKeyPem, generateKeyPair } from '../../../src/identity/x509.js';

/** A leaf for `id` signed by `ca`; `extraRoots` are trusted in addition to the CA's own root. */
export async function issueCert(ca: CertificateAuthority, id: string, extraRoots = ''): Promise<WorkloadCertificate> {
  const keys = await generateKeyPair();
  const { chain, serial, notAfter } = await ca.sign(await createCsr(id, keys), id, 3600);
  return {
    identity: id,
    chainPem: chain.slice(0, -1),
    rootsPem: chain.at(-1)! + extraRoots,
    keyPem: await exportPrivateKeyPem(keys.privateKey),
    notBefore: new Date(),
    notAfter,
    serial,
  };
}
