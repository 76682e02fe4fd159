// Peer certificate verification for the node tunnel: chain to a trusted root (signatures and
// validity windows), CRL check, and a strict SPIFFE identity in the expected trust domain.
// Pure apart from WebCrypto; `now` is injectable for tests.
import { fromPem, splitPemCerts, x509 } from './x509.js';
import { parseSpiffeId } from './spiffe.js';

export interface VerifyInput {
  /** The peer's chain, leaf first; elements may hold several PEM certificates each. */
  chainPem: string[];
  /** Trusted roots (PEM bundle). */
  rootsPem: string;
  /** Optional CRL (PEM "X509 CRL"). */
  crlPem?: string;
  trustDomain: string;
  now?: Date;
}

export type VerifyResult =
  | { ok: true; identity: string; serial: string; notAfter: Date; warnings: string[] }
  | { ok: false; reason: string };

const fail = (reason: string): VerifyResult => ({ ok: false, reason });

function parse(pem: string, what: string): x509.X509Certificate | string {
  try {
    return new x509.X509Certificate(pem);
  } catch (e) {
    return `${what} is not a valid certificate (${(e as Error).message})`;
  }
}

function windowProblem(c: x509.X509Certificate, now: Date, what: string): string | undefined {
  if (now < c.notBefore) return `${what}not valid before ${c.notBefore.toISOString()} (now ${now.toISOString()})`;
  if (now > c.notAfter) return `${what}expired at ${c.notAfter.toISOString()}`;
  return undefined;
}

const signedBy = (c: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> =>
  c.issuer === issuer.subject ? c.verify({ publicKey: issuer.publicKey, signatureOnly: true }).catch(() => false) : Promise.resolve(false);

const isCa = (c: x509.X509Certificate): boolean => c.getExtension(x509.BasicConstraintsExtension)?.ca ?? false;

export async function verifyPeer(input: VerifyInput): Promise<VerifyResult> {
  const now = input.now ?? new Date();
  const pems = input.chainPem.flatMap((p) => splitPemCerts(p));
  if (pems.length === 0) return fail('the peer presented no certificate');
  const certs: x509.X509Certificate[] = [];
  for (const [i, p] of pems.entries()) {
    const c = parse(p, i === 0 ? 'the leaf' : `chain certificate ${i}`);
    if (typeof c === 'string') return fail(c);
    certs.push(c);
  }
  const roots: x509.X509Certificate[] = [];
  for (const p of splitPemCerts(input.rootsPem)) {
    const c = parse(p, 'a trusted root');
    if (typeof c === 'string') return fail(c);
    roots.push(c);
  }
  if (roots.length === 0) return fail('no trusted roots configured');
  const leaf = certs[0]!;
  const serial = leaf.serialNumber.toLowerCase();

  // Leaf facts first: these are the reasons an operator most needs to see.
  const leafWindow = windowProblem(leaf, now, '');
  if (leafWindow) return fail(`certificate ${serial} ${leafWindow}`);
  if (isCa(leaf)) return fail(`the leaf ${leaf.subject || serial} is a CA certificate, not a workload certificate`);

  // Walk up: the peer's own certs are only candidates; the path must end at a trusted root.
  const path: x509.X509Certificate[] = [leaf];
  const unused = certs.slice(1);
  for (;;) {
    const cur = path[path.length - 1]!;
    const root = await findAsync(roots, (r) => signedBy(cur, r));
    if (root) {
      const p = windowProblem(root, now, `the root ${root.subject} `);
      if (p) return fail(p);
      path.push(root);
      break;
    }
    const idx = await findIndexAsync(unused, (c) => signedBy(cur, c));
    if (idx < 0) {
      const who = cur === leaf ? 'the leaf' : `intermediate ${cur.subject}`;
      return fail(`${who} is not signed by a trusted root or by a certificate in the chain (issuer ${cur.issuer || '<empty>'}; signature does not verify or the issuer is unknown)`);
    }
    const next = unused.splice(idx, 1)[0]!;
    if (!isCa(next)) return fail(`chain certificate ${next.subject} signs others but is not a CA (basicConstraints CA:FALSE)`);
    const p = windowProblem(next, now, `intermediate ${next.subject} `);
    if (p) return fail(p);
    path.push(next);
  }

  const warnings: string[] = [];
  if (input.crlPem) {
    const r = await checkCrl(input.crlPem, leaf, path[1]!, roots, now);
    if (typeof r === 'string') return fail(r);
    warnings.push(...r);
  }

  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = san?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? [];
  if (uris.length !== 1) return fail(`the leaf must carry exactly one URI SAN (a SPIFFE ID); it has ${uris.length}`);
  const identity = uris[0]!;
  let td: string;
  try {
    td = parseSpiffeId(identity).trustDomain;
  } catch (e) {
    return fail((e as Error).message);
  }
  if (td !== input.trustDomain) return fail(`trust domain ${td} is not ${input.trustDomain} (peer ${identity})`);
  return { ok: true, identity, serial, notAfter: leaf.notAfter, warnings };
}

/**
 * The leaf's serial must not be listed. The CRL must be signed by the leaf's issuer or, after a
 * root rotation (the CA signs CRLs with its current key, old leaves name the old root, same
 * name), by a trusted root with the issuer's name. A CRL from another issuer does not apply.
 * An expired CRL still revokes what it lists; otherwise status is unknown: a warning (fail-open,
 * as ztunnel is on unknown revocation status).
 */
async function checkCrl(pem: string, leaf: x509.X509Certificate, issuer: x509.X509Certificate, roots: x509.X509Certificate[], now: Date): Promise<string | string[]> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(new Uint8Array(fromPem(pem, 'X509 CRL')));
  } catch (e) {
    return `the CRL is not valid PEM/DER (${(e as Error).message})`;
  }
  if (crl.issuer !== leaf.issuer) return [`the CRL is from ${crl.issuer}, not the leaf's issuer ${leaf.issuer}: revocation status unknown`];
  const signers = [issuer, ...roots.filter((r) => r !== issuer && r.subject === crl.issuer)];
  const verified = await findAsync(signers, (s) => crl.verify({ publicKey: s.publicKey }).catch(() => false));
  if (!verified) return `the CRL's signature does not verify against its issuer ${crl.issuer}`;
  const serial = leaf.serialNumber.toLowerCase();
  const entry = crl.entries.find((e) => e.serialNumber.toLowerCase() === serial);
  if (entry) return `certificate revoked (serial ${serial}, at ${entry.revocationDate.toISOString()})`;
  if (crl.nextUpdate && now > crl.nextUpdate) return [`the CRL expired at ${crl.nextUpdate.toISOString()}: revocation status unknown (republish it)`];
  return [];
}

async function findIndexAsync<T>(xs: T[], pred: (x: T) => Promise<boolean>): Promise<number> {
  for (const [i, x] of xs.entries()) if (await pred(x)) return i;
  return -1;
}

async function findAsync<T>(xs: T[], pred: (x: T) => Promise<boolean>): Promise<T | undefined> {
  const i = await findIndexAsync(xs, pred);
  return i < 0 ? undefined : xs[i];
}
