// Workload certificates end to end against a real TLS gRPC CA on loopback that signs with the
// real CertificateAuthority: CaClient checks, rotation at half-life, outage with backoff and
// recovery, in-flight bound and priority, forget/setWanted, and no key material in snapshots.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { CaClient, CaFetchError, type WorkloadCertificate } from '../../src/identity/ca-client.js';
import { CertManager, refreshAtMs, retryDelayMs, type CertSnapshot } from '../../src/identity/cert-manager.js';
import { certFacts } from '../../src/identity/x509.js';
import { TEST_CA_TOKEN, TestCaServer } from './support/test-ca-server.js';

const ID = (sa: string): string => `spiffe://cluster.local/ns/demo/sa/${sa}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let authority: CertificateAuthority;
let ca: TestCaServer;
const clients: CaClient[] = [];
const managers: CertManager[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-certmgr-'));
  authority = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  ca = await TestCaServer.start(authority);
});
after(() => {
  for (const m of managers) m.close();
  for (const c of clients) c.close();
  ca.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function client(token: () => string = () => TEST_CA_TOKEN): CaClient {
  // Quick channel reconnects so the outage test sees recovery within its certificate's life.
  const c = new CaClient({ address: ca.address, rootsPem: authority.rootsPem, token, timeoutMs: 5000, channelOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 300 } });
  clients.push(c);
  return c;
}

function manager(opts: ConstructorParameters<typeof CertManager>[1]): CertManager {
  const m = new CertManager(client(), opts);
  managers.push(m);
  return m;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function snap(m: CertManager, identity: string): CertSnapshot | undefined {
  const all = m.snapshot();
  assert.ok(!JSON.stringify(all).includes('PRIVATE KEY'), 'snapshot must not carry key material');
  return all.find((s) => s.identity === identity);
}

function assertValid(c: WorkloadCertificate, identity: string): void {
  assert.equal(c.identity, identity);
  assert.ok(c.notAfter.getTime() > Date.now(), `certificate ${c.serial} expired at ${c.notAfter.toISOString()}`);
}

test('backoff and refresh arithmetic', () => {
  assert.deepEqual([1, 2, 3, 4].map((a) => retryDelayMs(a, 1000, 150_000, () => 0.5)), [1000, 2000, 4000, 8000]);
  assert.equal(retryDelayMs(20, 1000, 150_000, () => 0.5), 150_000);
  assert.equal(retryDelayMs(20, 1000, 150_000, () => 1), 150_000, 'jitter never goes above the cap');
  assert.equal(retryDelayMs(1, 1000, 150_000, () => 0), 800);
  assert.equal(retryDelayMs(1, 1000, 150_000, () => 1), 1200);
  const now = 1_000_000;
  assert.equal(refreshAtMs(new Date(now), new Date(now + 86_400_000), now), now + 43_200_000);
  // Backdated by more than the TTL: half of what is left, not "now" in a loop.
  assert.equal(refreshAtMs(new Date(now - 60_000), new Date(now + 4000), now), now + 2000);
});

test('CaClient: impersonated fetch, chain checks, openssl verify, gRPC errors carry the code', async () => {
  ca.reset();
  let token = TEST_CA_TOKEN;
  const c = client(() => token);
  const id = ID('web');
  const cert = await c.fetchCertificate(id, 3600);
  assert.deepEqual(ca.calls, [id]);
  assert.equal(cert.identity, id);
  assert.equal(cert.chainPem.length, 1, 'self-signed CA: the leaf only');
  const leaf = certFacts(cert.chainPem[0]!);
  assert.deepEqual(leaf.uris, [id]);
  assert.equal(leaf.serial, cert.serial);
  assert.equal(leaf.isCA, false);
  assert.ok(Math.abs(cert.notAfter.getTime() - (Date.now() + 3600_000)) < 10_000);
  assert.equal(cert.rootsPem, authority.rootsPem);
  assert.ok(new X509Certificate(cert.chainPem[0]!).checkPrivateKey(createPrivateKey(cert.keyPem)), 'the key is the leaf key');
  assert.ok(authority.issued().some((r) => r.serial === cert.serial && r.identity === id), 'signed by the real CA path');
  const leafFile = path.join(dir, 'leaf.pem');
  const rootsFile = path.join(dir, 'roots.pem');
  fs.writeFileSync(leafFile, cert.chainPem.join(''));
  fs.writeFileSync(rootsFile, cert.rootsPem);
  assert.match(execFileSync('openssl', ['verify', '-CAfile', rootsFile, leafFile], { encoding: 'utf8' }), /: OK/);

  // The token is read per call.
  token = 'stale';
  await assert.rejects(c.fetchCertificate(id, 3600), (e: unknown) => e instanceof CaFetchError && e.failure === 'rpc' && e.code === grpc.status.UNAUTHENTICATED && /UNAUTHENTICATED: bad bearer token/.test(e.message));
  token = TEST_CA_TOKEN;
  ca.mode = 'fail';
  ca.failCode = grpc.status.PERMISSION_DENIED;
  await assert.rejects(c.fetchCertificate(id, 3600), (e: unknown) => e instanceof CaFetchError && e.code === grpc.status.PERMISSION_DENIED && /test CA told to fail/.test(e.message));
  ca.failCode = grpc.status.UNAVAILABLE;
  ca.mode = 'ok';
  // The server's name is checked against servername.
  const wrongName = new CaClient({ address: ca.address, rootsPem: authority.rootsPem, token: () => TEST_CA_TOKEN, servername: 'evil.example', timeoutMs: 2000 });
  clients.push(wrongName);
  await assert.rejects(wrongName.fetchCertificate(id, 3600), (e: unknown) => e instanceof CaFetchError && e.code === grpc.status.UNAVAILABLE);
});

test('a CA that returns a leaf for another identity is rejected', async () => {
  ca.reset();
  ca.signAs = ID('someone-else');
  await assert.rejects(client().fetchCertificate(ID('web'), 3600), (e: unknown) => e instanceof CaFetchError && e.failure === 'identity-mismatch' && e.code === undefined && /someone-else, not the requested/.test(e.message));
  const m = manager({ retryInitialMs: 60_000 });
  await assert.rejects(m.get(ID('web')), /identity-mismatch|not the requested/);
  const s = snap(m, ID('web'));
  assert.equal(s?.state, 'Backoff');
  assert.equal(s?.attempts, 1);
  assert.equal(s?.serial, undefined);
  assert.match(s?.lastError ?? '', /not the requested/);
  m.close();
});

test('rotation at half of the validity: new serial, get() always has a valid certificate', async () => {
  ca.reset();
  const m = manager({ ttlSeconds: 4 });
  const id = ID('rotate');
  const updated: string[] = [];
  m.on('updated', (c) => updated.push(c.serial));
  const t0 = Date.now();
  const first = await m.get(id);
  assertValid(first, id);
  const s = snap(m, id);
  assert.equal(s?.state, 'Available');
  assert.ok(s?.refreshAt && Math.abs(s.refreshAt.getTime() - (t0 + 2000)) < 500, `refresh planned about 2 s out, got ${s?.refreshAt?.toISOString()}`);
  const seen = new Map<string, number>([[first.serial, 0]]);
  while (Date.now() - t0 < 4500) {
    const before = Date.now();
    const c = await m.get(id);
    assert.ok(Date.now() - before < 50, 'a cached certificate comes back at once');
    assertValid(c, id);
    if (!seen.has(c.serial)) seen.set(c.serial, Date.now() - t0);
    await sleep(25);
  }
  const rotations = [...seen.values()].slice(1);
  assert.ok(rotations.length >= 1, 'rotated at least once');
  assert.ok(rotations[0]! > 1500 && rotations[0]! < 3000, `first rotation at ${rotations[0]} ms, expected about 2000`);
  assert.deepEqual(updated.slice(0, seen.size), [...seen.keys()]);
  assert.ok(ca.calls.every((c) => c === id));
  m.close();
});

test('CA down: the valid certificate keeps being served, retries back off, recovery when the CA returns', async () => {
  ca.reset();
  const m = manager({ ttlSeconds: 8, retryInitialMs: 200, retryMaxMs: 1000 });
  const id = ID('outage');
  const delays: number[] = [];
  m.on('fetchFailed', (identity, err) => {
    assert.equal(identity, id);
    assert.ok(err instanceof CaFetchError && err.code === grpc.status.UNAVAILABLE, String(err));
    const s = snap(m, id);
    delays.push(s!.nextRetryAt!.getTime() - Date.now());
  });
  const original = await m.get(id);
  ca.stop();
  // Refresh at ~4 s fails; retries at ~+200, +400, +800 ms.
  while (delays.length < 4) {
    const c = await m.get(id);
    assert.equal(c.serial, original.serial);
    assertValid(c, id);
    await sleep(20);
  }
  const s = snap(m, id);
  assert.equal(s?.state, 'Backoff');
  assert.ok((s?.attempts ?? 0) >= 4);
  assert.equal(s?.serial, original.serial, 'the still-valid certificate is kept');
  assert.match(s?.lastError ?? '', /UNAVAILABLE/);
  assert.ok(delays[0]! >= 140 && delays[0]! <= 250, `first retry delay ${delays[0]}`);
  assert.ok(delays[0]! < delays[1]! && delays[1]! < delays[2]!, `growing delays ${delays.join(', ')}`);
  assert.ok(delays.every((d) => d <= 1000), `capped delays ${delays.join(', ')}`);

  await ca.listen(); // same port
  await waitFor(() => snap(m, id)?.state === 'Available', 'recovery after the CA is back', 3000);
  const renewed = await m.get(id);
  assert.notEqual(renewed.serial, original.serial);
  assertValid(renewed, id);
  assert.equal(snap(m, id)?.attempts, 0);
  assert.equal(snap(m, id)?.lastError, undefined);
  m.close();
});

test('an expired certificate is never returned', async () => {
  ca.reset();
  const m = manager({ ttlSeconds: 2, retryInitialMs: 10_000 });
  const id = ID('expiring');
  const c = await m.get(id);
  ca.mode = 'fail'; // the refresh at ~1 s fails and the next retry is far away
  await waitFor(() => snap(m, id)?.state === 'Backoff', 'the failed refresh');
  assert.equal((await m.get(id)).serial, c.serial, 'still valid: still served');
  await sleep(c.notAfter.getTime() - Date.now() + 20);
  await assert.rejects(m.get(id), (e: unknown) => e instanceof CaFetchError && e.code === grpc.status.UNAVAILABLE);
  const s = snap(m, id);
  assert.equal(s?.state, 'Backoff');
  assert.equal(s?.serial, undefined, 'the expired certificate was dropped');
  m.close();
});

test('at most 8 CSRs in flight for 20 identities; a RealTime get() jumps the Warmup queue', async () => {
  ca.reset();
  ca.mode = 'stall';
  const m = manager({ ttlSeconds: 3600 });
  const ids = Array.from({ length: 20 }, (_, i) => ID(`pod-${i}`));
  for (const id of ids) m.prefetch(id);
  await waitFor(() => ca.calls.length === 8, '8 calls at the CA');
  await sleep(300);
  assert.equal(ca.calls.length, 8, 'no more than 8 in flight');
  assert.equal(ca.inFlight, 8);
  const snaps = m.snapshot();
  assert.equal(snaps.filter((s) => s.inFlight).length, 8);
  assert.equal(snaps.filter((s) => s.queued === 'Warmup').length, 12);

  const urgent = ID('urgent');
  const got = m.get(urgent);
  assert.equal(snap(m, urgent)?.queued, 'RealTime');
  ca.release(1); // one slot frees: the RealTime fetch takes it, ahead of 12 older Warmup ones
  await waitFor(() => ca.calls.length === 9, 'the 9th call');
  assert.equal(ca.calls[8], urgent);
  ca.mode = 'ok';
  ca.release();
  assertValid(await got, urgent);
  await waitFor(() => m.snapshot().filter((s) => s.state === 'Available').length === 21, 'all 21 certificates');
  assert.equal(ca.maxInFlight, 8);
  assert.equal(new Set(ca.calls).size, 21);
  m.close();
});

test('forget stops refreshing and discards fetches in flight; setWanted follows the node pods', async () => {
  ca.reset();
  const m = manager({ ttlSeconds: 2 }); // refresh at ~1 s
  const [a, b] = [ID('a'), ID('b')];
  await Promise.all([m.get(a), m.get(b)]);
  m.forget(a);
  assert.equal(snap(m, a), undefined);
  await sleep(1600);
  assert.equal(ca.calls.filter((c) => c === a).length, 1, 'a is not refreshed any more');
  assert.ok(ca.calls.filter((c) => c === b).length >= 2, 'b is');

  // Forgotten while the CSR is in flight: the waiter is told, the answer is dropped.
  ca.mode = 'stall';
  const c = ID('c');
  const pending = m.get(c);
  await waitFor(() => ca.stalled === 1, 'c in flight');
  m.forget(c);
  await assert.rejects(pending, /forgotten/);
  ca.mode = 'ok';
  ca.release();
  await sleep(100);
  assert.equal(snap(m, c), undefined);

  const d = ID('d');
  m.setWanted([b, d]);
  assert.deepEqual(m.snapshot().map((s) => s.identity), [b, d]);
  assert.equal(snap(m, d)?.state === 'Initializing' || snap(m, d)?.state === 'Available', true);
  await waitFor(() => snap(m, d)?.state === 'Available', 'd prefetched');
  m.setWanted([]);
  assert.deepEqual(m.snapshot(), []);
  await assert.rejects(m.get(ID('after-close')).then(() => m.close()).then(() => m.get(b)), /closed/);
});
