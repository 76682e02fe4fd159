// The node tunnel data path for real: two pod namespaces on a veth, one NodeTunnel in this
// process enrolling both (capture rules + 15001/15006/15008 in each pod netns), a test CA, and a
// static mesh config with both workloads on HBONE. curl and raw TCP from pod A to B:8080 go
// through HBONE (peer identity seen by B's tunnel, A's IP seen by the app); a DENY policy
// refuses with 401 and the app sees nothing; closed listeners fail closed; cleanup is complete.
import { issueCert } from '../unit/support/hbone-certs.js';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { emptyMatch, type Authorization, type MeshSnapshot, type Workload } from '../../src/mesh-api/types.js';
import { CertificateAuthority } from '../../src/ca/authority.js';
import type { TunnelInfo } from '../../src/dataplane/hbone/server.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';
import type { ConnectionClosed } from '../../src/dataplane/connections.js';
import { normalizeSerial } from '../../src/identity/serial.js';
import { NodeTunnel } from '../../src/node-tunnel/tunnel.js';
import { workload } from '../unit/support/xds-fixtures.js';
import { hasTool, isRoot, run, runAsync } from '../../src/platform/exec.js';
import { connectFromNetns, listenInNetns } from '../../src/platform/sockets.js';
import { createVethPair } from './support/veth-pair.js';

const missing = ['ip', 'nft', 'curl'].filter((t) => !hasTool(t));
const skip = !isRoot() ? 'needs root: creates network namespaces' : missing.length > 0 ? `needs ${missing.join(', ')} installed` : false;
if (skip) console.error(`\n*** SKIPPING netns node-tunnel test: ${skip} ***\n`);

const id = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
const A = `ambitnt-${id}-a`;
const B = `ambitnt-${id}-b`;
const IP_A = '10.78.0.1';
const IP_B = '10.78.0.2';
const CLIENT_ID = 'spiffe://cluster.local/ns/a/sa/client';
const SERVER_ID = 'spiffe://cluster.local/ns/b/sa/server';

// The shared builder, with this test's identities in the cluster.local trust domain.
const wl = (name: string, ns: string, sa: string, ip: string): Workload =>
  workload(ns, name, ip, undefined, { uid: `c//Pod/${ns}/${name}`, trustDomain: 'cluster.local', serviceAccount: sa, clusterId: 'c' });
const snapshot: MeshSnapshot = { workloads: [wl('client', 'a', 'client', IP_A), wl('server', 'b', 'server', IP_B)], services: [], authorizations: [] };
const denyClient: Authorization = {
  name: 'deny-client',
  namespace: 'b',
  scope: 'NAMESPACE',
  action: 'DENY',
  dryRun: false,
  rules: [{ clauses: [{ matches: [{ ...emptyMatch(), principals: [{ exact: 'cluster.local/ns/a/sa/client' }] }] }] }],
};

function exchange(s: net.Socket, msg: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => (s.destroy(), reject(new Error('timeout'))), timeoutMs);
    s.on('connect', () => s.write(msg));
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('error', (e) => (clearTimeout(t), reject(e)));
    s.on('close', () => (clearTimeout(t), resolve(out)));
    s.on('end', () => s.end());
  });
}

const issue = (ca: CertificateAuthority, sid: string): Promise<WorkloadCertificate> => issueCert(ca, sid);

/** Writes msg and resolves with the next data chunk. */
const roundTrip = (s: net.Socket, msg: string): Promise<string> =>
  new Promise((resolve, reject) => {
    s.once('data', (d: Buffer) => resolve(d.toString()));
    s.once('error', reject);
    s.write(msg);
  });

describe('node tunnel: in-pod capture + HBONE + L4 authz', { skip, timeout: 60_000 }, () => {
  let dir: string;
  let tunnel: NodeTunnel;
  let app: net.Server;
  let echo: net.Server;
  let ca: CertificateAuthority;
  const appSeen: string[] = [];
  const inbound: (TunnelInfo & { pod: string })[] = [];
  const certs = new Map<string, WorkloadCertificate>();
  const closed: ConnectionClosed[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-nt-'));
    ca = await CertificateAuthority.open(dir, { trustDomain: 'cluster.local' });
    for (const sid of [CLIENT_ID, SERVER_ID]) certs.set(sid, await issue(ca, sid));
    createVethPair({ netns: A, ip: IP_A }, { netns: B, ip: IP_B });
    // Pod B's app (no mark: an ordinary app socket).
    app = listenInNetns(`/run/netns/${B}`, { host: '0.0.0.0', port: 8080 });
    app.on('connection', (c: net.Socket) => {
      appSeen.push(c.remoteAddress ?? '?');
      c.on('error', () => {});
      c.once('data', (d: Buffer) => c.end(`HTTP/1.0 200 OK\r\n\r\nB from=${c.remoteAddress} got=${d.toString().split('\r\n')[0]}\n`));
    });
    // A long-lived echo on 8081 for the rotation case.
    echo = listenInNetns(`/run/netns/${B}`, { host: '0.0.0.0', port: 8081 });
    echo.on('connection', (c: net.Socket) => (c.on('error', () => {}), c.pipe(c)));
    tunnel = new NodeTunnel({ snapshot, certificateFor: (sid) => certs.get(sid) ?? Promise.reject(new Error(`no cert for ${sid}`)) });
    tunnel.on('inbound', (t) => inbound.push(t));
    tunnel.on('connectionClosed', (c) => closed.push(c));
    await tunnel.enroll({ netns: A, ip: IP_A });
    await tunnel.enroll({ netns: B, ip: IP_B });
  });

  after(async () => {
    await tunnel?.close();
    app?.close();
    echo?.close();
    run(['ip', 'netns', 'del', A], { allowFail: true });
    run(['ip', 'netns', 'del', B], { allowFail: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('curl from pod A to B:8080 goes through HBONE; the app sees A’s IP, B’s tunnel sees A’s identity', async () => {
    const body = await runAsync(['ip', 'netns', 'exec', A, 'curl', '-sS', '--max-time', '5', `http://${IP_B}:8080/x`]);
    assert.equal(body, `B from=${IP_A} got=GET /x HTTP/1.1\n`);
    assert.deepEqual(appSeen, [IP_A]);
    // The 'tunnel' event comes when the tunnel closes; give it a moment.
    for (let i = 0; i < 50 && inbound.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(inbound.length, 1);
    assert.equal(inbound[0]!.status, 200);
    assert.equal(inbound[0]!.peerIdentity, CLIENT_ID);
    assert.equal(inbound[0]!.dst, `${IP_B}:8080`);
    assert.equal(inbound[0]!.pod, IP_B);
    assert.ok(inbound[0]!.bytesIn > 0 && inbound[0]!.bytesOut > 0, 'the request and response bytes crossed the HBONE stream');
    // One record per side, with both identities, mTLS, and the bytes the app exchanged.
    for (let i = 0; i < 50 && closed.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const out = closed.find((c) => c.direction === 'outbound');
    const inn = closed.find((c) => c.direction === 'inbound');
    assert.ok(out && inn, JSON.stringify(closed));
    for (const c of [out, inn]) {
      assert.equal(c.src.identity, CLIENT_ID);
      assert.equal(c.dst.identity, SERVER_ID);
      assert.equal(c.security, 'mutual_tls');
      assert.equal(c.flag, '-');
      assert.equal(c.dst.hboneAddr, `${IP_B}:8080`);
      assert.equal(c.src.workload, 'client');
      assert.equal(c.dst.namespace, 'b');
    }
    assert.equal(out.dst.addr, `${IP_B}:15008`);
    assert.equal(inn.bytesSent, out.bytesSent, 'both sides count the same request bytes');
    assert.equal(inn.bytesRecv, out.bytesRecv);
    assert.ok(out.bytesSent > 20 && out.bytesRecv > 20);
    assert.deepEqual(tunnel.connections(), []);
  });

  it('raw TCP from pod A works the same way', async () => {
    const got = await exchange(connectFromNetns(`/run/netns/${A}`, { host: IP_B, port: 8080 }), 'ping');
    assert.match(got, new RegExp(`B from=${IP_A} got=ping\\n$`));
    assert.deepEqual(appSeen, [IP_A, IP_A]);
  });

  it('certificate rotation: an open connection keeps working, new TLS sessions get the new certificate', async () => {
    const long = connectFromNetns(`/run/netns/${A}`, { host: IP_B, port: 8081 });
    await new Promise((r) => long.once('connect', r));
    assert.equal(await roundTrip(long, 'one'), 'one');
    const rotated = await issue(ca, SERVER_ID);
    assert.notEqual(rotated.serial, certs.get(SERVER_ID)!.serial);
    certs.set(SERVER_ID, rotated);
    tunnel.updateCertificate(rotated);
    assert.equal(await roundTrip(long, 'two'), 'two', 'the connection opened before the rotation still carries data');
    // A fresh HBONE handshake to B (marked so A's capture leaves it alone) sees the new leaf.
    const raw = connectFromNetns(`/run/netns/${A}`, { host: IP_B, port: 15008, mark: 0x539 });
    const client = certs.get(CLIENT_ID)!;
    const served = await new Promise<string>((resolve, reject) => {
      const t = tls.connect({ socket: raw, cert: client.chainPem.join(''), key: client.keyPem, ca: client.rootsPem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
      t.once('secureConnect', () => (resolve(t.getPeerCertificate().serialNumber), t.destroy()));
      t.once('error', reject);
    });
    assert.equal(served.toLowerCase().replace(/^0+/, ''), rotated.serial.toLowerCase().replace(/^0+/, ''));
    long.destroy();
  });

  it('a policy change closes an open connection it now denies', async () => {
    const long = connectFromNetns(`/run/netns/${A}`, { host: IP_B, port: 8081 });
    await new Promise((r) => long.once('connect', r));
    assert.equal(await roundTrip(long, 'still here?'), 'still here?');
    const closed = new Promise<void>((r) => long.once('close', () => r()));
    long.on('error', () => {});
    const revoked: string[] = [];
    tunnel.on('revoked', (e) => revoked.push(`${e.peerIdentity} ${e.dstPort} ${e.reason}`));
    tunnel.setSnapshot({ ...snapshot, authorizations: [denyClient] });
    await Promise.race([closed, new Promise((_, rej) => setTimeout(() => rej(new Error('connection not closed within 2s')), 2000))]);
    assert.ok(revoked.some((r) => r.startsWith(`${CLIENT_ID} 8081`) && /deny-client/.test(r)), revoked.join('; '));
    tunnel.setSnapshot(snapshot);
  });

  it('revocation: a revoked client certificate is refused at handshake and its open tunnel is torn down (CERT_REVOKED)', async () => {
    const long = connectFromNetns(`/run/netns/${A}`, { host: IP_B, port: 8081 });
    await new Promise((r) => long.once('connect', r));
    assert.equal(await roundTrip(long, 'before'), 'before');
    const events: string[] = [];
    const onRevoked = (e: { side: string; sessions: number }): void => void events.push(`${e.side}:${e.sessions}`);
    tunnel.on('certRevoked', onRevoked);
    long.on('error', () => {});
    const gone = new Promise<void>((r) => long.once('close', () => r()));
    const revokedSerial = normalizeSerial(certs.get(CLIENT_ID)!.serial);
    tunnel.setRevoked(new Set([revokedSerial]));
    await Promise.race([gone, new Promise((_, rej) => setTimeout(() => rej(new Error('open tunnel not torn down within 2s')), 2000))]);
    assert.ok(events.includes('server:1'), events.join(','));
    for (let i = 0; i < 50 && !closed.some((c) => c.flag === 'CERT_REVOKED'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(closed.some((c) => c.direction === 'inbound' && c.flag === 'CERT_REVOKED' && c.src.identity === CLIENT_ID));
    // New connections with the revoked certificate are refused at the handshake.
    const outcome = await new Promise<string>((resolve) => {
      const s2 = connectFromNetns(`/run/netns/${A}`, { host: IP_B, port: 8081 });
      const t = setTimeout(() => (s2.destroy(), resolve('hung')), 3000);
      s2.on('connect', () => s2.write('revoked?'));
      s2.on('data', () => (clearTimeout(t), s2.destroy(), resolve('echoed')));
      s2.on('error', () => {});
      s2.on('close', () => (clearTimeout(t), resolve('closed')));
    });
    assert.equal(outcome, 'closed', 'the tunnel with the revoked certificate was refused (closed, no echo)');
    assert.ok(events.filter((e) => e === 'server:1').length >= 2, `handshake refusal counted: ${events.join(',')}`);
    // A fresh certificate (new serial) works again while the old serial stays revoked.
    certs.set(CLIENT_ID, await issue(ca, CLIENT_ID));
    const again = connectFromNetns(`/run/netns/${A}`, { host: IP_B, port: 8081 });
    await new Promise((r) => again.once('connect', r));
    assert.equal(await roundTrip(again, 'renewed'), 'renewed');
    again.destroy();
    tunnel.off('certRevoked', onRevoked);
  });

  it('a DENY for cluster.local/ns/a/sa/client → 401 on HBONE, the connection closes, the app sees nothing', async () => {
    tunnel.setSnapshot({ ...snapshot, authorizations: [denyClient] });
    const before = inbound.length;
    const got = await exchange(connectFromNetns(`/run/netns/${A}`, { host: IP_B, port: 8080 }), 'denied?').catch((e: Error) => `error: ${e.message}`);
    assert.doesNotMatch(got, /B from=/);
    assert.equal(appSeen.length, 2);
    // (The earlier tunnels' close events may land here too: look for the refusal itself.)
    const refused = (): TunnelInfo | undefined => inbound.slice(before).find((t) => t.status !== 200);
    for (let i = 0; i < 50 && !refused(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(refused()?.status, 401);
    assert.equal(refused()?.peerIdentity, CLIENT_ID);
    assert.match(refused()?.reason ?? '', /denied by policy \(b\/deny-client\)/);
    assert.ok(closed.some((c) => c.direction === 'inbound' && c.flag === 'DENY'), 'the destination side records DENY');
    assert.ok(closed.some((c) => c.direction === 'outbound' && c.flag === 'DENY'), 'the source side records DENY (401)');
    await assert.rejects(runAsync(['ip', 'netns', 'exec', A, 'curl', '-sS', '--max-time', '3', `http://${IP_B}:8080/denied`]));
    assert.equal(appSeen.length, 2);
    tunnel.setSnapshot(snapshot);
  });

  it('fails closed: with the tunnel’s listeners closed in pod A, captured traffic is refused and nothing reaches B', async () => {
    tunnel.closeListeners(IP_A);
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(exchange(connectFromNetns(`/run/netns/${A}`, { host: IP_B, port: 8080 }), 'leak?'), /ECONNREFUSED/);
    await assert.rejects(runAsync(['ip', 'netns', 'exec', A, 'curl', '-sS', '--max-time', '3', `http://${IP_B}:8080/leak`]));
    assert.equal(appSeen.length, 2);
  });

  it('unenrolling removes rules and listeners: plain traffic flows directly again', async () => {
    const before = inbound.length;
    await tunnel.unenroll(IP_A);
    await tunnel.unenroll(IP_B);
    assert.deepEqual(tunnel.enrolled(), []);
    assert.doesNotMatch(run(['ip', 'netns', 'exec', A, 'nft', 'list', 'tables']), /ambit_capture/);
    assert.doesNotMatch(run(['ip', 'netns', 'exec', B, 'nft', 'list', 'tables']), /ambit_capture/);
    const got = await exchange(connectFromNetns(`/run/netns/${A}`, { host: IP_B, port: 8080 }), 'direct');
    assert.match(got, new RegExp(`B from=${IP_A} got=direct\\n$`));
    assert.equal(inbound.length, before);
  });
});
