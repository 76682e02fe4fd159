// X.509 building blocks over WebCrypto (ECDSA P-256, SHA-256): key pairs, CSRs, PEM
// handling and certificate facts. @peculiar/x509 needs the reflect-metadata polyfill.
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

export const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return toPem(Buffer.from(der), 'PRIVATE KEY');
}

export async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const der = fromPem(pem, 'PRIVATE KEY');
  return webcrypto.subtle.importKey('pkcs8', der, EC_ALG, true, ['sign']);
}

export function toPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

export function fromPem(pem: string, label: string): Buffer {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  if (!m) throw new Error(`no PEM block '${label}' found`);
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

/** Splits a PEM bundle into single-certificate PEM strings. */
export function splitPemCerts(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)?.map((c) => (c.endsWith('\n') ? c : `${c}\n`)) ?? [];
}

/** A CSR with the workload profile: empty subject, one critical URI SAN. */
export async function createCsr(identity: string, keys: CryptoKeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: EC_ALG,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }], true)],
  });
  return csr.toString('pem');
}

export interface CertFacts {
  serial: string; // lowercase hex
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  uris: string[];
  isCA: boolean;
  fingerprintSha256: string;
}

export function certFacts(pem: string): CertFacts {
  const c = new x509.X509Certificate(pem);
  const san = c.getExtension(x509.SubjectAlternativeNameExtension);
  const bc = c.getExtension(x509.BasicConstraintsExtension);
  return {
    serial: c.serialNumber.toLowerCase(),
    subject: c.subject,
    issuer: c.issuer,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    uris: san?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? [],
    isCA: bc?.ca ?? false,
    fingerprintSha256: createHash('sha256').update(Buffer.from(c.rawData)).digest('hex').replace(/(..)(?!$)/g, '$1:'),
  };
}
