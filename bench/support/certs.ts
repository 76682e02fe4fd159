// Certificates of the benchmark lab, from one throwaway CA (ECDSA P-256): SPIFFE workload
// certificates for the two pods (used by Ambit's node tunnels, and as the client certificate of
// the TLS peers) and a server certificate naming pod B's IP (the TLS peers' server side). PEM files
// are written 0600 into the lab's private directory for the peers that read files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CertificateAuthority } from '../../src/ca/authority.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';
import { openCa, workloadCertificate, type BenchPod } from './mesh.js';

export interface PemFiles {
  cert: string;
  key: string;
  /** cert chain followed by the key (haproxy's `crt`). */
  bundle: string;
}

export interface BenchCa {
  ca: CertificateAuthority;
  /** Trust anchors (PEM file path). */
  roots: string;
  rootsPem: string;
  /** Workload certificates of pod A (client) and pod B (server), in memory. */
  podA: WorkloadCertificate;
  podB: WorkloadCertificate;
  /** Pod A's workload certificate as files: the TLS peers' client certificate. */
  client: PemFiles;
  /** A server certificate with pod B's IP as SAN: the TLS peers' server certificate. */
  server: PemFiles;
}

export async function createBenchCa(dir: string, podA: BenchPod, podB: BenchPod): Promise<BenchCa> {
  const ca = await openCa(path.join(dir, 'ca'));
  const a = await workloadCertificate(ca, podA);
  const b = await workloadCertificate(ca, podB);
  const srv = await ca.issueServerCert([], [podB.ip], 3 * 3600);
  const write = (name: string, body: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, body, { mode: 0o600 });
    return p;
  };
  const files = (name: string, chain: string, key: string): PemFiles => ({
    cert: write(`${name}.pem`, chain),
    key: write(`${name}.key`, key),
    bundle: write(`${name}.bundle.pem`, chain + key),
  });
  return {
    ca,
    roots: write('roots.pem', ca.rootsPem),
    rootsPem: ca.rootsPem,
    podA: a,
    podB: b,
    client: files('client', a.chainPem.join(''), a.keyPem),
    server: files('server', srv.certChain, srv.key),
  };
}
