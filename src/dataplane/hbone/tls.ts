// HBONE mutual TLS (spec §2.2): TLS 1.3 only, ALPN h2, no SNI, client certificate required.
// The server accepts any client of its own trust domain (which identity is L4 authz's business,
// §5); the client accepts only a server whose leaf carries one of the expected SPIFFE IDs.
import tls from 'node:tls';
import type { WorkloadCertificate } from '../../identity/ca-client.js';
import { parseSpiffeId } from '../../identity/spiffe.js';

/** ztunnel's suites (§2.2); the workload keys themselves are ECDSA P-256 (§3.2). */
const CIPHERSUITES = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256';

/** Hybrid post-quantum key exchange (ML-KEM-768 + X25519), OpenSSL >= 3.5 (Node 24 LTS). */
export const PQ_GROUP = 'X25519MLKEM768';
/** Preference order: post-quantum where this OpenSSL has it, then X25519, then P-256. */
const CLASSIC_GROUPS = 'X25519:P-256';

export interface KeyExchangeSupport {
  /** The OpenSSL groups list HBONE offers/accepts (`ecdhCurve`). */
  groups: string;
  postQuantum: boolean;
  /** Why post-quantum is off (absent when on). */
  reason?: string;
}

let support: KeyExchangeSupport | undefined;

/** Probed once: an unknown group name makes createSecureContext throw (Node 20 / OpenSSL 3.0). */
export function keyExchangeSupport(): KeyExchangeSupport {
  if (support) return support;
  const pq = `${PQ_GROUP}:${CLASSIC_GROUPS}`;
  try {
    tls.createSecureContext({ ecdhCurve: pq });
    support = { groups: pq, postQuantum: true };
  } catch {
    support = {
      groups: CLASSIC_GROUPS,
      postQuantum: false,
      reason: `Node ${process.version} with OpenSSL ${process.versions.openssl} has no ${PQ_GROUP}; run Node 24 LTS`,
    };
  }
  return support;
}

/**
 * The key-exchange group a finished handshake used. Node reports it on the client side only
 * (getEphemeralKeyInfo is null on a server socket, Node 20 and 24 alike); Node 24 names hybrid
 * groups `{type:'TLSGroup', name:'X25519MLKEM768'}`, classic ones `{type:'ECDH', name:'X25519'}`.
 */
export function negotiatedGroup(s: tls.TLSSocket): string | undefined {
  try {
    const info = s.getEphemeralKeyInfo() as { name?: string } | null;
    return info?.name || undefined;
  } catch {
    return undefined;
  }
}

function baseOptions(cert: WorkloadCertificate): tls.SecureContextOptions & { ALPNProtocols: string[] } {
  return {
    minVersion: 'TLSv1.3',
    ecdhCurve: keyExchangeSupport().groups,
    maxVersion: 'TLSv1.3',
    ciphers: CIPHERSUITES,
    ALPNProtocols: ['h2'],
    cert: cert.chainPem.join(''),
    key: cert.keyPem,
    ca: cert.rootsPem,
  };
}

export function trustDomainOf(identity: string): string {
  return parseSpiffeId(identity).trustDomain;
}

/** URI SANs of a peer certificate, in order (Node renders them as `URI:...`, quoted if escaped). */
export function uriSans(cert: { subjectaltname?: string } | undefined): string[] {
  const san = cert?.subjectaltname;
  if (!san) return [];
  const out: string[] = [];
  for (const part of san.split(', ')) {
    if (!part.startsWith('URI:')) continue;
    let v = part.slice(4);
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        continue;
      }
    }
    out.push(v);
  }
  return out;
}

/** The first URI SAN that is a valid SPIFFE ID in the trust domain ("the" identity, §2.2). */
export function peerIdentityIn(cert: { subjectaltname?: string } | undefined, trustDomain: string): string | undefined {
  for (const uri of uriSans(cert)) {
    try {
      if (parseSpiffeId(uri).trustDomain === trustDomain) return uri;
    } catch {
      // not a SPIFFE ID: try the next SAN
    }
  }
  return undefined;
}

/** Server side: requestCert + rejectUnauthorized; the trust-domain check follows the handshake. */
export function serverTlsOptions(cert: WorkloadCertificate): tls.TlsOptions {
  return { ...baseOptions(cert), requestCert: true, rejectUnauthorized: true };
}

export class IdentityMismatchError extends Error {
  readonly code = 'HBONE_IDENTITY_MISMATCH';
}

/**
 * Client side: chain to the roots, then an exact URI SAN match (§2.2 IdentityVerifier; DNS names
 * ignored). No servername: Node sends SNI only for hostnames and HBONE dials IPs, so none goes out.
 */
export function clientTlsOptions(cert: WorkloadCertificate, expectedIdentities: readonly string[]): tls.ConnectionOptions {
  const expected = new Set(expectedIdentities);
  return {
    ...baseOptions(cert),
    rejectUnauthorized: true,
    checkServerIdentity: (_host, peer) => {
      const sans = uriSans(peer);
      if (sans.some((s) => expected.has(s))) return undefined;
      return new IdentityMismatchError(`server identity [${sans.join(', ')}] is not one of the expected [${[...expected].join(', ')}]`);
    },
  };
}
