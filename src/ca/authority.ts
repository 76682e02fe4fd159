// The certificate authority: a self-signed root made on first start, or an organisation's
// own intermediate ("plug-in CA", Istio's cacerts layout). Signs workload CSRs with the
// SPIFFE leaf profile, keeps a ledger of what it issued, revokes, and publishes CRLs.
// Private keys are files with mode 0600 and are never logged.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSpiffeId } from '../identity/spiffe.js';
import type { AmbitCode } from '../lib/errors.js';
import { EC_ALG, certFacts, exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, splitPemCerts, toPem, x509 } from '../identity/x509.js';

export const DEFAULT_TTL_S = 24 * 3600;
export const MAX_TTL_S = 90 * 24 * 3600;
const ROOT_TTL_S = 10 * 365 * 24 * 3600;
const CLOCK_SKEW_S = 60;

export class CaError extends Error {
  constructor(readonly code: 'BAD_CSR' | 'BAD_TTL' | 'BAD_IDENTITY' | 'CA_FILES' | 'NOT_FOUND', message: string) {
    super(message);
  }
}

/** The stable code users see for each CaError (docs/errors.md). */
export const CA_ERROR_CODES: Record<CaError['code'], AmbitCode> = {
  BAD_CSR: 'AMBIT_E_CA_BAD_CSR',
  BAD_TTL: 'AMBIT_E_CA_BAD_TTL',
  BAD_IDENTITY: 'AMBIT_E_CA_BAD_IDENTITY',
  CA_FILES: 'AMBIT_E_CA_FILES',
  NOT_FOUND: 'AMBIT_E_CA_NOT_FOUND',
};

export interface IssuedRecord {
  serial: string;
  identity: string;
  notAfter: string;
}

export interface RevokedRecord {
  serial: string;
  identity?: string;
  revokedAt: string;
}

export interface CaStatus {
  mode: 'self-signed' | 'plug-in';
  trustDomain: string;
  roots: { subject: string; fingerprintSha256: string; notAfter: string }[];
  signing: { subject: string; fingerprintSha256: string; notAfter: string };
  issued: number;
  revoked: number;
}

interface Files {
  rootCert: string;
  rootKey: string;
  roots: string;
  caCert: string;
  caKey: string;
  certChain: string;
  issued: string;
  revoked: string;
  crl: string;
}

const files = (dir: string): Files => ({
  rootCert: path.join(dir, 'root-cert.pem'),
  rootKey: path.join(dir, 'root-key.pem'),
  roots: path.join(dir, 'roots.pem'),
  caCert: path.join(dir, 'ca-cert.pem'),
  caKey: path.join(dir, 'ca-key.pem'),
  certChain: path.join(dir, 'cert-chain.pem'),
  issued: path.join(dir, 'issued.jsonl'),
  revoked: path.join(dir, 'revoked.json'),
  crl: path.join(dir, 'crl.pem'),
});

function writeSecret(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

async function makeRoot(trustDomain: string): Promise<{ cert: string; key: string }> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `O=${trustDomain}, CN=Ambit root CA`,
    notBefore: new Date(now - CLOCK_SKEW_S * 1000),
    notAfter: new Date(now + ROOT_TTL_S * 1000),
    keys,
    signingAlgorithm: EC_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  // toString('pem') has no final newline; bundles are concatenations, so add it.
  return { cert: `${cert.toString('pem')}\n`, key: await exportPrivateKeyPem(keys.privateKey) };
}

function randomSerial(): string {
  const b = randomBytes(16);
  // Positive INTEGER with a non-zero first byte: DER drops leading zero bytes, and the serial we
  // record must read the same as the one parsed back from the certificate.
  b[0] = (b[0]! & 0x7f) || 0x01;
  return b.toString('hex');
}

export interface InitOptions {
  trustDomain: string;
  /** Istio "cacerts" directory: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem. */
  pluginDir?: string;
}

export class CertificateAuthority {
  readonly #files: Files;
  #signingKey!: CryptoKey;
  #signingCert!: x509.X509Certificate;
  #signingPem = '';
  /** Certificates between the signing cert and the root, in chain order. */
  #intermediates: string[] = [];
  #roots: string[] = [];
  #revoked: RevokedRecord[] = [];

  private constructor(readonly dir: string, readonly trustDomain: string, readonly mode: 'self-signed' | 'plug-in') {
    this.#files = files(dir);
  }

  /** Loads the CA from dir, creating a self-signed root (or importing a plug-in CA) on first use. */
  static async open(dir: string, opts: InitOptions): Promise<CertificateAuthority> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const f = files(dir);
    if (opts.pluginDir) {
      for (const name of ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem']) {
        const src = path.join(opts.pluginDir, name);
        if (!fs.existsSync(src)) throw new CaError('CA_FILES', `plug-in CA: ${src} is missing (expected ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)`);
      }
      fs.copyFileSync(path.join(opts.pluginDir, 'ca-cert.pem'), f.caCert);
      writeSecret(f.caKey, fs.readFileSync(path.join(opts.pluginDir, 'ca-key.pem'), 'utf8'));
      fs.copyFileSync(path.join(opts.pluginDir, 'cert-chain.pem'), f.certChain);
      fs.copyFileSync(path.join(opts.pluginDir, 'root-cert.pem'), f.roots);
    } else if (!fs.existsSync(f.caKey) && !fs.existsSync(f.rootKey)) {
      const root = await makeRoot(opts.trustDomain);
      writeSecret(f.rootKey, root.key);
      fs.writeFileSync(f.rootCert, root.cert);
      fs.writeFileSync(f.roots, root.cert);
    }
    const mode = fs.existsSync(f.caKey) ? 'plug-in' : 'self-signed';
    const ca = new CertificateAuthority(dir, opts.trustDomain, mode);
    await ca.#load();
    return ca;
  }

  async #load(): Promise<void> {
    const f = this.#files;
    const read = (p: string): string => {
      try {
        return fs.readFileSync(p, 'utf8');
      } catch {
        throw new CaError('CA_FILES', `CA file ${p} is missing or unreadable`);
      }
    };
    this.#roots = splitPemCerts(read(f.roots));
    if (this.#roots.length === 0) throw new CaError('CA_FILES', `${f.roots} holds no certificate`);
    if (this.mode === 'plug-in') {
      this.#signingPem = read(f.caCert);
      this.#signingKey = await importPrivateKeyPem(read(f.caKey)).catch(() => {
        throw new CaError('CA_FILES', `${f.caKey}: not a PKCS#8 ECDSA P-256 private key (convert with: openssl pkcs8 -topk8 -nocrypt)`);
      });
      // cert-chain.pem is ca-cert → ... → root; keep what lies strictly between.
      const chain = splitPemCerts(read(f.certChain));
      const sameAs = (a: string, b: string): boolean => certFacts(a).fingerprintSha256 === certFacts(b).fingerprintSha256;
      this.#intermediates = chain.filter((c) => !sameAs(c, this.#signingPem) && !this.#roots.some((r) => sameAs(c, r)));
    } else {
      this.#signingPem = read(f.rootCert);
      this.#signingKey = await importPrivateKeyPem(read(f.rootKey));
    }
    this.#signingCert = new x509.X509Certificate(this.#signingPem);
    await this.#checkChain();
    this.#revoked = fs.existsSync(f.revoked) ? (JSON.parse(read(f.revoked)) as RevokedRecord[]) : [];
  }

  /** The signing certificate must chain to a root in the trust bundle, and its key must match it. */
  async #checkChain(): Promise<void> {
    const chain = [this.#signingPem, ...this.#intermediates].map((p) => new x509.X509Certificate(p));
    const roots = this.#roots.map((p) => new x509.X509Certificate(p));
    for (let i = 0; i < chain.length; i++) {
      const issuers = i + 1 < chain.length ? [chain[i + 1]!] : roots;
      let ok = false;
      for (const issuer of issuers) if (await chain[i]!.verify({ publicKey: issuer.publicKey, signatureOnly: true }).catch(() => false)) ok = true;
      if (!ok) throw new CaError('CA_FILES', `CA chain broken: ${chain[i]!.subject} is not signed by ${i + 1 < chain.length ? chain[i + 1]!.subject : 'any root in the trust bundle'}`);
    }
    if (!(this.#signingCert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false)) {
      throw new CaError('CA_FILES', `the signing certificate ${this.#signingCert.subject} is not a CA certificate (basicConstraints CA:TRUE required)`);
    }
    const probe = Buffer.from('ambit-ca-key-check');
    const sig = await crypto.subtle.sign(EC_ALG, this.#signingKey, probe);
    const pub = await this.#signingCert.publicKey.export(EC_ALG, ['verify']);
    if (!(await crypto.subtle.verify(EC_ALG, pub, sig, probe))) throw new CaError('CA_FILES', 'the CA private key does not match the signing certificate');
  }

  /** PEM roots that workloads trust (several during a root rotation). */
  get rootsPem(): string {
    return this.#roots.join('');
  }

  /**
   * Signs a workload CSR for `identity`. The response chain is leaf, intermediates, and
   * last the root bundle, as Istio's CreateCertificate returns it.
   */
  async sign(csrPem: string, identity: string, ttlSeconds: number): Promise<{ chain: string[]; serial: string; notAfter: Date }> {
    const id = parseSpiffeIdOr(identity);
    if (id.trustDomain !== this.trustDomain) throw new CaError('BAD_IDENTITY', `identity ${identity} is not in this CA's trust domain '${this.trustDomain}'`);
    const ttl = ttlSeconds <= 0 ? DEFAULT_TTL_S : ttlSeconds;
    if (ttl > MAX_TTL_S) throw new CaError('BAD_TTL', `requested TTL ${ttl}s is greater than the max allowed TTL ${MAX_TTL_S}s`);
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (e) {
      throw new CaError('BAD_CSR', `the CSR is not a valid PEM/DER PKCS#10 request (${(e as Error).message})`);
    }
    const alg = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
    if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') throw new CaError('BAD_CSR', `the CSR key must be ECDSA P-256 (got ${alg.name ?? '?'} ${alg.namedCurve ?? ''})`);
    if (!(await csr.verify().catch(() => false))) throw new CaError('BAD_CSR', 'the CSR signature does not verify');
    const sanExt = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
    const csrUris = sanExt?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? [];
    if (csrUris.some((u) => u !== identity)) throw new CaError('BAD_CSR', `the CSR asks for ${csrUris.join(', ')} but the identity being issued is ${identity}`);

    const now = Date.now();
    const notAfter = new Date(Math.min(now + ttl * 1000, this.#signingCert.notAfter.getTime()));
    const serial = randomSerial();
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: '',
      issuer: this.#signingCert.subject,
      notBefore: new Date(now - CLOCK_SKEW_S * 1000),
      notAfter,
      signingKey: this.#signingKey,
      publicKey: csr.publicKey,
      signingAlgorithm: EC_ALG,
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }], true),
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        await x509.AuthorityKeyIdentifierExtension.create(this.#signingCert),
      ],
    });
    fs.appendFileSync(this.#files.issued, `${JSON.stringify({ serial, identity, notAfter: notAfter.toISOString() } satisfies IssuedRecord)}\n`, { mode: 0o600 });
    const middle = this.mode === 'plug-in' ? [this.#signingPem, ...this.#intermediates] : [];
    return { chain: [leaf.toString('pem') + '\n', ...middle, this.rootsPem], serial, notAfter };
  }

  issued(): IssuedRecord[] {
    if (!fs.existsSync(this.#files.issued)) return [];
    return fs
      .readFileSync(this.#files.issued, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as IssuedRecord);
  }

  revoked(): RevokedRecord[] {
    return [...this.#revoked];
  }

  /** Revokes by serial, or every unexpired certificate of an identity; returns what was added. */
  async revoke(sel: { serial?: string; identity?: string }): Promise<RevokedRecord[]> {
    const now = new Date().toISOString();
    const known = new Set(this.#revoked.map((r) => r.serial));
    let add: RevokedRecord[];
    if (sel.serial) {
      const serial = sel.serial.toLowerCase().replace(/:/g, '');
      const rec = this.issued().find((r) => r.serial === serial);
      add = known.has(serial) ? [] : [{ serial, ...(rec ? { identity: rec.identity } : {}), revokedAt: now }];
    } else if (sel.identity) {
      parseSpiffeIdOr(sel.identity);
      const live = this.issued().filter((r) => r.identity === sel.identity && Date.parse(r.notAfter) > Date.now() && !known.has(r.serial));
      if (live.length === 0 && !this.issued().some((r) => r.identity === sel.identity)) throw new CaError('NOT_FOUND', `no certificate was ever issued for ${sel.identity}`);
      add = live.map((r) => ({ serial: r.serial, identity: r.identity, revokedAt: now }));
    } else throw new CaError('NOT_FOUND', 'give --serial or --identity');
    this.#revoked.push(...add);
    const tmp = `${this.#files.revoked}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.#revoked, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, this.#files.revoked);
    await this.writeCrl();
    return add;
  }

  /** A CRL signed by the signing certificate, valid for `validitySeconds`. */
  async crlPem(validitySeconds = 24 * 3600): Promise<string> {
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.#signingCert.subject,
      thisUpdate: new Date(),
      nextUpdate: new Date(Date.now() + validitySeconds * 1000),
      entries: this.#revoked.map((r) => ({ serialNumber: r.serial, revocationDate: new Date(r.revokedAt) })),
      signingKey: this.#signingKey,
      signingAlgorithm: EC_ALG,
    });
    // OpenSSL and Go expect the "X509 CRL" PEM label.
    return toPem(Buffer.from(crl.rawData), 'X509 CRL');
  }

  async writeCrl(): Promise<string> {
    const pem = await this.crlPem();
    fs.writeFileSync(this.#files.crl, pem);
    return pem;
  }

  /** A key and certificate for a non-workload use (the CA's own TLS server). */
  async issueServerCert(dnsNames: string[], ips: string[], ttlSeconds: number): Promise<{ certChain: string; key: string }> {
    const keys = await generateKeyPair();
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: 'CN=ambit-ca',
      issuer: this.#signingCert.subject,
      notBefore: new Date(now - CLOCK_SKEW_S * 1000),
      notAfter: new Date(Math.min(now + ttlSeconds * 1000, this.#signingCert.notAfter.getTime())),
      signingKey: this.#signingKey,
      publicKey: keys.publicKey,
      signingAlgorithm: EC_ALG,
      extensions: [
        new x509.SubjectAlternativeNameExtension([...dnsNames.map((d) => ({ type: 'dns' as const, value: d })), ...ips.map((ip) => ({ type: 'ip' as const, value: ip }))], false),
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        // Roots share a name across rotations; the key id lets TLS clients pick the right one.
        await x509.AuthorityKeyIdentifierExtension.create(this.#signingCert),
      ],
    });
    const middle = this.mode === 'plug-in' ? [this.#signingPem, ...this.#intermediates] : [];
    return { certChain: [cert.toString('pem') + '\n', ...middle].join(''), key: await exportPrivateKeyPem(keys.privateKey) };
  }

  /**
   * Self-signed mode only: a new root signs from now on; the old root stays in the trust
   * bundle so certificates it signed keep verifying until they expire.
   */
  async rotateRoot(): Promise<void> {
    if (this.mode === 'plug-in') throw new CaError('CA_FILES', 'rotate-root applies to the self-signed root; with a plug-in CA, replace the cacerts files instead');
    const root = await makeRoot(this.trustDomain);
    const bundle = [root.cert, ...this.#roots.filter((r) => certFacts(r).notAfter.getTime() > Date.now())].join('');
    writeSecret(`${this.#files.rootKey}.new`, root.key);
    fs.writeFileSync(`${this.#files.rootCert}.new`, root.cert);
    fs.writeFileSync(`${this.#files.roots}.new`, bundle);
    fs.renameSync(`${this.#files.roots}.new`, this.#files.roots);
    fs.renameSync(`${this.#files.rootCert}.new`, this.#files.rootCert);
    fs.renameSync(`${this.#files.rootKey}.new`, this.#files.rootKey);
    await this.#load();
  }

  status(): CaStatus {
    const describe = (pem: string): { subject: string; fingerprintSha256: string; notAfter: string } => {
      const f = certFacts(pem);
      return { subject: f.subject, fingerprintSha256: f.fingerprintSha256, notAfter: f.notAfter.toISOString() };
    };
    return {
      mode: this.mode,
      trustDomain: this.trustDomain,
      roots: this.#roots.map(describe),
      signing: describe(this.#signingPem),
      issued: this.issued().length,
      revoked: this.#revoked.length,
    };
  }
}

function parseSpiffeIdOr(identity: string): ReturnType<typeof parseSpiffeId> {
  try {
    return parseSpiffeId(identity);
  } catch (e) {
    throw new CaError('BAD_IDENTITY', (e as Error).message);
  }
}
