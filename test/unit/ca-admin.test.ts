// CaAdmin over a real grpc-js TLS server (certificate from the authority) with a real CA in a
// temp dir, driven through the `ambit ca` CLI code; results checked with the openssl CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CaAdminClient } from '../../src/ca/admin-client.js';
import { addAdminService } from '../../src/ca/admin-service.js';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { caCommand, caDirOf } from '../../src/cli/commands/ca.js';
import type { Ctx } from '../../src/cli/context.js';
import { clusterPaths } from '../../src/local/cluster/paths.js';
import { certFacts, splitPemCerts } from '../../src/identity/x509.js';
import { verifyPeer } from '../../src/identity/verify.js';

const ADMIN = 'admin-token-for-test';
const CLUSTER = 'catest';
const TD = 'cluster.local';
let tmp: string;
let ca: CertificateAuthority;
let server: grpc.Server;
let port = 0;
const logs: string[] = [];
let changes = 0;

function openssl(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

function writeClusterFiles(cluster: string, caPort: number, token: string): void {
  const p = clusterPaths(cluster);
  fs.mkdirSync(p.root, { recursive: true });
  // A cluster whose "control plane" is this test process, so the CLI goes online.
  fs.writeFileSync(p.clusterFile, JSON.stringify({ name: cluster, nodes: 1, apiPort: 1, caPort, createdAt: new Date().toISOString(), pids: { controlPlane: process.pid, nodes: {} } }));
  fs.writeFileSync(p.tokens, JSON.stringify([{ token, user: 'admin', role: 'admin' }]));
}

async function cli(args: string[], cluster = CLUSTER): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: Ctx = {
    cluster,
    client: () => {
      throw new Error('the ca command must not use the API server');
    },
    out: (s) => (out += s),
    err: (s) => (err += s),
  };
  try {
    return { code: await caCommand(ctx, args), out, err };
  } catch (e) {
    return { code: 1, out, err: err + (e as Error).message };
  }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-ca-admin-'));
  process.env['AMBIT_STATE_DIR'] = path.join(tmp, 'state');
  ca = await CertificateAuthority.open(caDirOf(CLUSTER), { trustDomain: TD });
  server = new grpc.Server();
  addAdminService(server, {
    authority: ca,
    isAdmin: (md) => md.get('authorization')[0] === `Bearer ${ADMIN}`,
    onChange: async () => {
      changes++;
    },
    log: (m) => logs.push(m),
  });
  const tls = await ca.issueServerCert(['istiod.istio-system.svc'], ['127.0.0.1'], 3600);
  const creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.certChain), private_key: Buffer.from(tls.key) }], false);
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  writeClusterFiles(CLUSTER, port, ADMIN);
});

after(async () => {
  await new Promise<void>((r) => server.tryShutdown(() => r()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function issue(identity: string, name: string, extra: string[] = []): Promise<{ dir: string; serial: string }> {
  const dir = path.join(tmp, name);
  const r = await cli(['issue', '--identity', identity, '--out', dir, ...extra]);
  assert.equal(r.code, 0, r.err);
  const serial = certFacts(fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8')).serial;
  assert.match(r.out, new RegExp(`serial ${serial}`));
  assert.match(r.out, /CaAdmin API on 127\.0\.0\.1:/);
  return { dir, serial };
}

test('issue writes cert.pem, key.pem (0600) and root.pem that openssl accepts, with the SPIFFE leaf profile', async () => {
  const id = `spiffe://${TD}/ns/demo/sa/vm`;
  const { dir } = await issue(id, 'issue1', ['--ttl', '1h']);
  for (const f of ['cert.pem', 'key.pem', 'root.pem']) assert.ok(fs.existsSync(path.join(dir, f)), f);
  assert.equal(fs.statSync(path.join(dir, 'key.pem')).mode & 0o777, 0o600);
  const v = openssl(['verify', '-CAfile', path.join(dir, 'root.pem'), path.join(dir, 'cert.pem')]);
  assert.ok(v.ok, v.out);
  const text = openssl(['x509', '-noout', '-text', '-in', path.join(dir, 'cert.pem')]).out;
  assert.match(text, /Subject: *\n/, 'empty subject');
  assert.match(text, /X509v3 Subject Alternative Name: critical\s*\n\s*URI:spiffe:\/\/cluster\.local\/ns\/demo\/sa\/vm\s*\n/);
  // The key matches the certificate.
  const pub1 = openssl(['pkey', '-pubout', '-in', path.join(dir, 'key.pem')]).out;
  const pub2 = openssl(['x509', '-noout', '-pubkey', '-in', path.join(dir, 'cert.pem')]).out;
  assert.equal(pub1, pub2);
  const facts = certFacts(fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'));
  const ttl = (facts.notAfter.getTime() - Date.now()) / 1000;
  assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
  assert.ok(logs.some((l) => l.includes('CaAdmin.Issue ok') && l.includes(id)));
  assert.ok(!logs.some((l) => l.includes('PRIVATE KEY')), 'keys are never logged');
});

test('issue: default TTL is 24h; more than 90 days and foreign trust domains are INVALID_ARGUMENT', async () => {
  const { dir } = await issue(`spiffe://${TD}/ns/demo/sa/default-ttl`, 'issue-default');
  const ttl = (certFacts(fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8')).notAfter.getTime() - Date.now()) / 1000;
  assert.ok(ttl > 86_300 && ttl <= 86_400, `ttl ${ttl}`);
  const client = new CaAdminClient({ address: `127.0.0.1:${port}`, rootsPem: ca.rootsPem, token: ADMIN });
  try {
    await assert.rejects(client.issue(`spiffe://${TD}/ns/a/sa/b`, 91 * 86_400), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /max allowed TTL/.test(e.details));
    await assert.rejects(client.issue('spiffe://example.org/ns/a/sa/b', 60), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /trust domain/.test(e.details));
    await assert.rejects(client.issue('spiffe://cluster.local/ns/a', 60), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
  } finally {
    client.close();
  }
  const r = await cli(['issue', '--identity', `spiffe://${TD}/ns/a/sa/b`, '--out', path.join(tmp, 'x'), '--ttl', '91d']);
  assert.equal(r.code, 1);
  assert.match(r.err, /max allowed TTL/);
});

test('revoke by serial: the CRL lists it and openssl -crl_check rejects the certificate', async () => {
  const { dir, serial } = await issue(`spiffe://${TD}/ns/demo/sa/revoke-me`, 'rev1');
  const before = changes;
  const r = await cli(['revoke', '--serial', serial]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`revoked 1 certificate\\(s\\): ${serial}`));
  assert.equal(changes, before + 1, 'onChange called');
  const crlFile = path.join(tmp, 'crl1.pem');
  fs.writeFileSync(crlFile, r.out.slice(r.out.indexOf('-----BEGIN X509 CRL-----')));
  const crlText = openssl(['crl', '-noout', '-text', '-in', crlFile]).out;
  assert.match(crlText.toLowerCase(), new RegExp(`serial number: ${serial}`));
  const v = openssl(['verify', '-crl_check', '-CAfile', path.join(dir, 'root.pem'), '-CRLfile', crlFile, path.join(dir, 'cert.pem')]);
  assert.ok(!v.ok);
  assert.match(v.out, /certificate revoked/);
  const vp = await verifyPeer({ chainPem: [fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8')], rootsPem: ca.rootsPem, crlPem: fs.readFileSync(crlFile, 'utf8'), trustDomain: TD });
  assert.equal(vp.ok, false);
  assert.match(vp.ok ? '' : vp.reason, /certificate revoked \(serial/);
  // Again: nothing new, and no republish.
  const again = await cli(['revoke', '--serial', serial]);
  assert.match(again.out, /nothing new to revoke/);
  assert.equal(changes, before + 1);
});

test('revoke by identity revokes every live certificate of that identity', async () => {
  const id = `spiffe://${TD}/ns/demo/sa/many`;
  const a = await issue(id, 'many-a');
  const b = await issue(id, 'many-b');
  const r = await cli(['revoke', '--identity', id]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /revoked 2 certificate/);
  const crlFile = path.join(tmp, 'crl2.pem');
  fs.writeFileSync(crlFile, r.out.slice(r.out.indexOf('-----BEGIN X509 CRL-----')));
  for (const c of [a, b]) {
    assert.ok(r.out.includes(c.serial));
    const v = openssl(['verify', '-crl_check', '-CAfile', path.join(c.dir, 'root.pem'), '-CRLfile', crlFile, path.join(c.dir, 'cert.pem')]);
    assert.ok(!v.ok && /certificate revoked/.test(v.out), v.out);
  }
  const unknown = await cli(['revoke', '--identity', `spiffe://${TD}/ns/demo/sa/never`]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /no certificate was ever issued/);
  const usage = await cli(['revoke', '--serial', 'ab', '--identity', id]);
  assert.match(usage.err, /exactly one/);
});

test('a non-admin token is refused (UNAUTHENTICATED) and logged', async () => {
  const client = new CaAdminClient({ address: `127.0.0.1:${port}`, rootsPem: ca.rootsPem, token: 'node-token' });
  try {
    for (const call of [() => client.status(), () => client.issue(`spiffe://${TD}/ns/a/sa/b`, 60), () => client.revoke({ identity: `spiffe://${TD}/ns/demo/sa/many` }), () => client.rotateRoot()]) {
      await assert.rejects(call(), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
    }
  } finally {
    client.close();
  }
  assert.ok(logs.some((l) => /CaAdmin\.RotateRoot refused/.test(l)));
  // Through the CLI: a tokens.json from somewhere else.
  writeClusterFiles('catest-bad', port, 'not-the-admin');
  fs.mkdirSync(caDirOf('catest-bad'), { recursive: true });
  fs.writeFileSync(path.join(caDirOf('catest-bad'), 'roots.pem'), ca.rootsPem);
  const r = await cli(['status'], 'catest-bad');
  assert.equal(r.code, 1);
  assert.match(r.err, /refused the admin token/);
});

test('status prints mode, fingerprints, expiry and counts', async () => {
  const r = await cli(['status']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /CA: self-signed, trust domain cluster\.local \(CaAdmin API/);
  assert.match(r.out, /signing: O=cluster\.local, CN=Ambit root CA {2}sha256 ([0-9A-F]{2}:){31}[0-9A-F]{2} {2}expires \d{4}-/i);
  assert.match(r.out, /issued: \d+, revoked: 3/);
});

test('rotate-root: a new root joins the bundle and a leaf of the old root still verifies', async () => {
  const oldLeaf = await issue(`spiffe://${TD}/ns/demo/sa/before-rotation`, 'old');
  const oldRoot = ca.status().signing.fingerprintSha256;
  const r = await cli(['rotate-root']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /roots \(2\)/);
  const st = ca.status();
  assert.notEqual(st.signing.fingerprintSha256, oldRoot);
  assert.deepEqual(st.roots.map((x) => x.fingerprintSha256).sort(), [oldRoot, st.signing.fingerprintSha256].sort());
  // The CLI verifies the server (still on a certificate of the old root) against the new bundle.
  const newLeaf = await issue(`spiffe://${TD}/ns/demo/sa/after-rotation`, 'new');
  const bundle = path.join(tmp, 'bundle.pem');
  fs.writeFileSync(bundle, fs.readFileSync(path.join(caDirOf(CLUSTER), 'roots.pem')));
  assert.equal(splitPemCerts(fs.readFileSync(bundle, 'utf8')).length, 2);
  assert.equal(openssl(['crl2pkcs7', '-nocrl', '-certfile', bundle]).ok, true, 'roots.pem parses as a PEM bundle');
  assert.equal(fs.readFileSync(path.join(newLeaf.dir, 'root.pem'), 'utf8'), fs.readFileSync(bundle, 'utf8'), 'issue returns the whole bundle');
  for (const leaf of [oldLeaf, newLeaf]) {
    const v = openssl(['verify', '-CAfile', bundle, path.join(leaf.dir, 'cert.pem')]);
    assert.ok(v.ok, v.out);
    const vp = await verifyPeer({ chainPem: [fs.readFileSync(path.join(leaf.dir, 'cert.pem'), 'utf8')], rootsPem: ca.rootsPem, crlPem: await ca.crlPem(), trustDomain: TD });
    assert.ok(vp.ok, vp.ok ? '' : vp.reason);
  }
  assert.ok(logs.some((l) => l.includes('CaAdmin.RotateRoot ok')));
});

test('offline: init makes the CA, refuses a second time, and the other commands work on the files and say so', async () => {
  const cl = 'offline1';
  const init = await cli(['init', '--trust-domain', 'example.org'], cl);
  assert.equal(init.code, 0, init.err);
  assert.match(init.out, /CA: self-signed, trust domain example\.org/);
  assert.match(init.out, /next: ambit cluster up --name offline1/);
  const again = await cli(['init'], cl);
  assert.equal(again.code, 1);
  assert.match(again.err, /a CA already exists in .*offline1\/ca \(self-signed, trust domain example\.org\).*rm -rf/);
  const st = await cli(['status'], cl);
  assert.equal(st.code, 0, st.err);
  assert.match(st.err, /cluster 'offline1' is not running: working on the CA files in .* directly/);
  assert.match(st.out, /trust domain example\.org \(offline/);
  const dir = path.join(tmp, 'offline-issue');
  const is = await cli(['issue', '--identity', 'spiffe://example.org/ns/x/sa/y', '--out', dir], cl);
  assert.equal(is.code, 0, is.err);
  assert.ok(openssl(['verify', '-CAfile', path.join(dir, 'root.pem'), path.join(dir, 'cert.pem')]).ok);
  const none = await cli(['status'], 'offline-none');
  assert.equal(none.code, 1);
  assert.match(none.err, /has no CA yet .* ambit --cluster offline-none ca init/);
});

test('a running cluster whose CA port does not answer: the error says what to do', async () => {
  const cl = 'deadport';
  writeClusterFiles(cl, 1, ADMIN); // port 1: nothing listens
  fs.mkdirSync(caDirOf(cl), { recursive: true });
  fs.writeFileSync(path.join(caDirOf(cl), 'roots.pem'), ca.rootsPem);
  const r = await cli(['status'], cl);
  assert.equal(r.code, 1);
  assert.match(r.err, /cannot reach the CA on 127\.0\.0\.1:1 .*cluster restart control-plane/);
});
