// SPIFFE parsing and the CA's signing rules, checked with the real openssl CLI.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CaError, CertificateAuthority, MAX_TTL_S } from '../../src/ca/authority.js';
import { formatSpiffeId, parseSpiffeId, SpiffeError } from '../../src/identity/spiffe.js';
import { certFacts, createCsr, generateKeyPair } from '../../src/identity/x509.js';

describe('SPIFFE identities', () => {
  test('a well-formed ID round-trips', () => {
    const id = parseSpiffeId('spiffe://cluster.local/ns/demo/sa/client');
    assert.deepEqual(id, { trustDomain: 'cluster.local', namespace: 'demo', serviceAccount: 'client' });
    assert.equal(formatSpiffeId(id), 'spiffe://cluster.local/ns/demo/sa/client');
  });
  const bad: [string, RegExp][] = [
    ['cluster.local/ns/demo/sa/client', /must start with spiffe:\/\//],
    ['spiffe://cluster.local/ns/demo', /must have the form/],
    ['spiffe://cluster.local/ns/demo/sa/client/extra', /must have the form/],
    ['spiffe://cluster.local/namespace/demo/sa/client', /must have the form/],
    ['spiffe://Cluster.Local/ns/demo/sa/client', /trust domain/],
    ['spiffe://cluster.local/ns//sa/client', /namespace '' is not valid/],
  ];
  for (const [uri, msg] of bad) test(`rejects ${uri}`, () => assert.throws(() => parseSpiffeId(uri), (e: unknown) => e instanceof SpiffeError && msg.test(e.message)));
});

describe('certificate authority signing rules', () => {
  let dir = '';
  let ca: CertificateAuthority;
  const id = 'spiffe://cluster.local/ns/demo/sa/client';

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-ca-'));
    ca = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the root key is private (0600) and never part of the chain', () => {
    assert.equal(fs.statSync(path.join(dir, 'ca', 'root-key.pem')).mode & 0o777, 0o600);
  });

  test('a leaf has the workload profile and verifies with openssl', async () => {
    const { chain, serial } = await ca.sign(await createCsr(id, await generateKeyPair()), id, 3600);
    assert.equal(chain.length, 2, 'self-signed mode: leaf then root');
    fs.writeFileSync(path.join(dir, 'leaf.pem'), chain[0]!);
    fs.writeFileSync(path.join(dir, 'root.pem'), chain[1]!);
    assert.match(execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'root.pem'), path.join(dir, 'leaf.pem')], { encoding: 'utf8' }), /OK/);
    const text = execFileSync('openssl', ['x509', '-in', path.join(dir, 'leaf.pem'), '-noout', '-text'], { encoding: 'utf8' });
    assert.match(text, /Subject: *\n/, 'empty subject');
    assert.match(text, /Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster.local\/ns\/demo\/sa\/client\s*\n/);
    assert.match(text, /ASN1 OID: prime256v1/);
    assert.match(text, /CA:FALSE/);
    const facts = certFacts(chain[0]!);
    assert.equal(facts.serial, serial);
    assert.deepEqual(facts.uris, [id]);
    const ttl = (facts.notAfter.getTime() - Date.now()) / 1000;
    assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
  });

  test('a zero TTL means 24h; more than 90 days is refused', async () => {
    const csr = await createCsr(id, await generateKeyPair());
    const { notAfter } = await ca.sign(csr, id, 0);
    assert.ok(Math.abs(notAfter.getTime() - Date.now() - 86_400_000) < 5000);
    await assert.rejects(ca.sign(csr, id, MAX_TTL_S + 1), (e: unknown) => e instanceof CaError && e.code === 'BAD_TTL');
  });

  test('a CSR asking for another identity, a foreign trust domain, or garbage is refused', async () => {
    const other = await createCsr('spiffe://cluster.local/ns/demo/sa/other', await generateKeyPair());
    await assert.rejects(ca.sign(other, id, 60), (e: unknown) => e instanceof CaError && e.code === 'BAD_CSR' && /asks for/.test(e.message));
    const foreign = 'spiffe://example.org/ns/demo/sa/client';
    await assert.rejects(ca.sign(await createCsr(foreign, await generateKeyPair()), foreign, 60), (e: unknown) => e instanceof CaError && e.code === 'BAD_IDENTITY');
    await assert.rejects(ca.sign('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', id, 60), (e: unknown) => e instanceof CaError && e.code === 'BAD_CSR');
  });

  test('an RSA CSR is refused: the profile is ECDSA P-256', async () => {
    const key = path.join(dir, 'rsa.key');
    const csr = execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/', '-addext', `subjectAltName=URI:${id}`], { encoding: 'utf8' });
    await assert.rejects(ca.sign(csr, id, 60), (e: unknown) => e instanceof CaError && /ECDSA P-256/.test(e.message));
  });

  test('a reopened CA keeps its root and its ledger', async () => {
    const before = ca.status();
    const again = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
    assert.deepEqual(again.status().roots, before.roots);
    assert.equal(again.issued().length, before.issued);
  });
});
