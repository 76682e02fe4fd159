// Loading a CRL for the data path (spec §3, §9 "CRL update"): the signature is checked once
// against the trusted CA certificates, then the revoked serials become a set the handshake
// path can test without parsing anything.
import { fromPem, splitPemCerts, x509 } from './x509.js';
import { normalizeSerial } from './serial.js';

export interface RevocationList {
  issuer: string;
  /** Lower-case hex without leading zeros (identity/serial.ts normalizeSerial). */
  serials: Set<string>;
  thisUpdate: Date;
  nextUpdate?: Date;
}

/** Throws with the reason when the CRL is malformed or not signed by one of the trusted certificates. */
export async function loadRevocationList(crlPem: string, trustedPem: string): Promise<RevocationList> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(new Uint8Array(fromPem(crlPem, 'X509 CRL')));
  } catch (e) {
    throw new Error(`the CRL is not valid PEM/DER (${(e as Error).message})`);
  }
  const signers = splitPemCerts(trustedPem)
    .map((p) => new x509.X509Certificate(p))
    .filter((c) => c.subject === crl.issuer);
  let ok = false;
  for (const s of signers) if (await crl.verify({ publicKey: s.publicKey }).catch(() => false)) ok = true;
  if (!ok) throw new Error(`the CRL from ${crl.issuer} is not signed by a trusted CA certificate`);
  return {
    issuer: crl.issuer,
    serials: new Set(crl.entries.map((e) => normalizeSerial(e.serialNumber))),
    thisUpdate: crl.thisUpdate,
    ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate } : {}),
  };
}
