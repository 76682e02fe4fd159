// verifyPeer: table tests over real certificates (authority-issued, or built directly with
// @peculiar/x509 for odd validity windows and SANs), and a plug-in CA made with the openssl CLI.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { verifyPeer, type VerifyInput } from '../../src/identity/verify.js';
import { EC_ALG, certFacts, createCsr, generateKeyPair, importPrivateKeyPem, splitPemCerts, x509 } from '../../src/identity/x509.js';

const TD = 'cluster.local';
const ID = `spiffe://${TD}/ns/demo/sa/good`;
let tmp: string;
let ca: CertificateAuthority; // cluster.local
let other: CertificateAuthority; // cluster.local too: same root name, different key
let foreign: CertificateAuthority; // example.org

async function issue(authority: CertificateAuthority, identity: string, ttl = 3600): Promise<{ chain: string[]; serial: string }> {
  const keys = await generateKeyPair();
  const r = await authority.sign(await createCsr(identity, keys), identity, ttl);
  return { chain: r.chain.slice(0, -1), serial: r.serial };
}

/** A leaf signed by `authority`'s self-signed root with any window and SANs. */
async function build(authority: CertificateAuthority, opts: { notBefore: Date; notAfter: Date; uris?: string[] }): Promise<string> {
  const rootPem = fs.readFileSync(path.join(authority.dir, 'root-cert.pem'), 'utf8');
  const root = new x509.X509Certificate(rootPem);
  const signingKey = await importPrivateKeyPem(fs.readFileSync(path.join(authority.dir, 'root-key.pem'), 'utf8'));
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0a1b2c3d',
    subject: '',
    issuer: root.subject,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    signingKey,
    publicKey: keys.publicKey,
    signingAlgorithm: EC_ALG,
    extensions: [new x509.SubjectAlternativeNameExtension((opts.uris ?? [ID]).map((value) => ({ type: 'url' as const, value })), true), new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return `${cert.toString('pem')}\n`;
}

function tamper(pem: string): string {
  // Same length, still parses: only the signature can notice.
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const at = der.indexOf(Buffer.from('sa/good'));
  assert.ok(at > 0);
  der.write('sa/evil', at);
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-verify-'));
  ca = await CertificateAuthority.open(path.join(tmp, 'ca'), { trustDomain: TD });
  other = await CertificateAuthority.open(path.join(tmp, 'other'), { trustDomain: TD });
  foreign = await CertificateAuthority.open(path.join(tmp, 'foreign'), { trustDomain: 'example.org' });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('verifyPeer table', async () => {
  const now = Date.now();
  const good = await issue(ca, ID);
  const revoked = await issue(ca, `spiffe://${TD}/ns/demo/sa/revoked`);
  await ca.revoke({ serial: revoked.serial });
  const crl = await ca.crlPem();
  const week = await issue(ca, ID, 7 * 86_400);
  const shortCrl = await ca.crlPem(1);
  const foreignLeaf = await issue(foreign, 'spiffe://example.org/ns/demo/sa/good');
  const otherLeaf = await issue(other, ID);
  const otherCrl = await other.crlPem();
  const base = { rootsPem: ca.rootsPem, trustDomain: TD };

  const cases: { name: string; input: VerifyInput; want: RegExp | 'ok'; warn?: RegExp }[] = [
    { name: 'good chain', input: { ...base, chainPem: good.chain }, want: 'ok' },
    { name: 'good chain, CRL not listing it', input: { ...base, chainPem: good.chain, crlPem: crl }, want: 'ok' },
    {
      name: 'expired (built)',
      input: { ...base, chainPem: [await build(ca, { notBefore: new Date(now - 7_200_000), notAfter: new Date(now - 3_600_000) })] },
      want: /^certificate 0a1b2c3d expired at \d{4}-\d\d-\d\dT/,
    },
    { name: 'expired (clock moved past notAfter)', input: { ...base, chainPem: good.chain, now: new Date(now + 3_700_000) }, want: /expired at/ },
    {
      name: 'not yet valid',
      input: { ...base, chainPem: [await build(ca, { notBefore: new Date(now + 3_600_000), notAfter: new Date(now + 7_200_000) })] },
      want: /^certificate 0a1b2c3d not valid before /,
    },
    { name: 'revoked', input: { ...base, chainPem: revoked.chain, crlPem: crl }, want: new RegExp(`^certificate revoked \\(serial ${revoked.serial}`) },
    { name: 'revoked, even if the CRL expired', input: { ...base, chainPem: revoked.chain, crlPem: shortCrl, now: new Date(now + 60_000) }, want: /^certificate revoked/ },
    { name: 'expired CRL is reported (fail-open warning)', input: { ...base, chainPem: week.chain, crlPem: shortCrl, now: new Date(now + 86_400_000) }, want: 'ok', warn: /CRL expired at .*revocation status unknown/ },
    { name: 'CRL signed by another key under the same name', input: { ...base, chainPem: good.chain, crlPem: otherCrl }, want: /CRL's signature does not verify/ },
    { name: 'wrong trust domain', input: { rootsPem: foreign.rootsPem, trustDomain: TD, chainPem: foreignLeaf.chain }, want: /^trust domain example\.org is not cluster\.local/ },
    { name: 'unknown root', input: { ...base, chainPem: otherLeaf.chain }, want: /^the leaf is not signed by a trusted root/ },
    { name: 'tampered leaf', input: { ...base, chainPem: [tamper(good.chain[0]!)] }, want: /^the leaf is not signed by a trusted root/ },
    { name: 'two URI SANs', input: { ...base, chainPem: [await build(ca, { notBefore: new Date(now - 1000), notAfter: new Date(now + 60_000), uris: [ID, `spiffe://${TD}/ns/x/sa/y`] })] }, want: /exactly one URI SAN/ },
    { name: 'not a strict SPIFFE ID', input: { ...base, chainPem: [await build(ca, { notBefore: new Date(now - 1000), notAfter: new Date(now + 60_000), uris: [`spiffe://${TD}/ns/demo`] })] }, want: /must have the form spiffe:/ },
    { name: 'root presented as leaf', input: { ...base, chainPem: [ca.rootsPem] }, want: /is a CA certificate/ },
    { name: 'no certificate', input: { ...base, chainPem: [] }, want: /presented no certificate/ },
    { name: 'garbage', input: { ...base, chainPem: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'] }, want: /the leaf is not a valid certificate/ },
  ];
  for (const c of cases) {
    const r = await verifyPeer(c.input);
    if (c.want === 'ok') {
      assert.ok(r.ok, `${c.name}: ${r.ok ? '' : r.reason}`);
      assert.equal(r.identity, ID, c.name);
      if (c.warn) assert.match(r.warnings.join('; '), c.warn, c.name);
      else assert.deepEqual(r.warnings, [], c.name);
    } else {
      assert.equal(r.ok, false, c.name);
      assert.match(r.ok ? '' : r.reason, c.want, c.name);
    }
  }
});

test('after a root rotation, old and new leaves verify against the bundle, and the new CRL covers old leaves', async () => {
  const dir = path.join(tmp, 'rot');
  const rca = await CertificateAuthority.open(dir, { trustDomain: TD });
  const old = await issue(rca, ID);
  await rca.rotateRoot();
  const fresh = await issue(rca, ID);
  for (const l of [old, fresh]) assert.ok((await verifyPeer({ chainPem: l.chain, rootsPem: rca.rootsPem, trustDomain: TD, crlPem: await rca.crlPem() })).ok);
  await rca.revoke({ serial: old.serial });
  const r = await verifyPeer({ chainPem: old.chain, rootsPem: rca.rootsPem, trustDomain: TD, crlPem: await rca.crlPem() });
  assert.match(r.ok ? '' : r.reason, /certificate revoked/);
});

test('plug-in CA (openssl-made root + intermediate, Istio cacerts layout): leaf → intermediate → root', async () => {
  const d = path.join(tmp, 'cacerts');
  fs.mkdirSync(d);
  const ossl = (...args: string[]): string => execFileSync('openssl', args, { cwd: d, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // genpkey writes PKCS#8, which is what cacerts' ca-key.pem must be.
  ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'root-key.pem');
  ossl('req', '-x509', '-new', '-key', 'root-key.pem', '-subj', '/O=Acme/CN=Acme Root CA', '-days', '3650', '-sha256', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'root-cert.pem');
  ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ca-key.pem');
  ossl('req', '-new', '-key', 'ca-key.pem', '-subj', '/O=Acme/CN=Acme Mesh Intermediate', '-out', 'ca.csr');
  fs.writeFileSync(path.join(d, 'ext.cnf'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  ossl('x509', '-req', '-in', 'ca.csr', '-CA', 'root-cert.pem', '-CAkey', 'root-key.pem', '-CAcreateserial', '-days', '365', '-sha256', '-extfile', 'ext.cnf', '-out', 'ca-cert.pem');
  fs.writeFileSync(path.join(d, 'cert-chain.pem'), fs.readFileSync(path.join(d, 'ca-cert.pem'), 'utf8') + fs.readFileSync(path.join(d, 'root-cert.pem'), 'utf8'));

  const pca = await CertificateAuthority.open(path.join(tmp, 'plugged'), { trustDomain: TD, pluginDir: d });
  assert.equal(pca.mode, 'plug-in');
  const keys = await generateKeyPair();
  const signed = await pca.sign(await createCsr(ID, keys), ID, 3600);
  assert.equal(signed.chain.length, 3, 'leaf, intermediate, root');
  const [leaf, inter, root] = signed.chain.map((p) => certFacts(p));
  assert.equal(leaf!.issuer, inter!.subject);
  assert.equal(inter!.subject, 'O=Acme, CN=Acme Mesh Intermediate');
  assert.equal(inter!.issuer, root!.subject);
  assert.equal(root!.subject, 'O=Acme, CN=Acme Root CA');

  const rootsPem = fs.readFileSync(path.join(d, 'root-cert.pem'), 'utf8');
  const ok = await verifyPeer({ chainPem: signed.chain.slice(0, -1), rootsPem, trustDomain: TD });
  assert.ok(ok.ok && ok.identity === ID, ok.ok ? '' : ok.reason);
  const noInter = await verifyPeer({ chainPem: signed.chain.slice(0, 1), rootsPem, trustDomain: TD });
  assert.match(noInter.ok ? '' : noInter.reason, /not signed by a trusted root or by a certificate in the chain \(issuer O=Acme, CN=Acme Mesh Intermediate/);

  fs.writeFileSync(path.join(d, 'leaf.pem'), signed.chain[0]!);
  fs.writeFileSync(path.join(d, 'inter.pem'), signed.chain[1]!);
  assert.match(ossl('verify', '-CAfile', 'root-cert.pem', '-untrusted', 'inter.pem', 'leaf.pem'), /leaf\.pem: OK/);

  // Revocation in plug-in mode: the intermediate signs the CRL.
  await pca.revoke({ serial: signed.serial });
  fs.writeFileSync(path.join(d, 'crl.pem'), await pca.crlPem());
  const v = spawnSync('openssl', ['verify', '-crl_check', '-CAfile', 'root-cert.pem', '-untrusted', 'inter.pem', '-CRLfile', 'crl.pem', 'leaf.pem'], { cwd: d, encoding: 'utf8' });
  assert.notEqual(v.status, 0);
  assert.match(v.stdout + v.stderr, /certificate revoked/);
  const rv = await verifyPeer({ chainPem: signed.chain.slice(0, -1), rootsPem, trustDomain: TD, crlPem: await pca.crlPem() });
  assert.match(rv.ok ? '' : rv.reason, /certificate revoked/);
  assert.equal(splitPemCerts(pca.rootsPem).length, 1);
});
