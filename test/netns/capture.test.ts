// In-pod capture for real: two throwaway pod namespaces joined by a veth, the capture rules in
// pod A, and the tunnel's listeners opened inside pod A from THIS (host-netns) process through
// the koffi socket factory. Checks redirection both ways, original destinations, the 0x539
// no-loop exemption, client-IP preservation (IP_TRANSPARENT + policy route), the 15008
// exemption, failing closed, and that removing the rules restores direct traffic.
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { INPOD_MARK, RULE_PREF, applyCaptureRules, hasPolicyRule, removeCaptureRules } from '../../src/platform/capture-rules.js';
import { hasTool, isRoot, run, runAsync } from '../../src/platform/exec.js';
import { type Address, SyscallError, connectFromNetns, listenInNetns, originalDst } from '../../src/platform/sockets.js';
import { createVethPair } from './support/veth-pair.js';

const missing = ['ip', 'nft', 'curl'].filter((t) => !hasTool(t));
const skip = !isRoot() ? 'needs root: creates network namespaces' : missing.length > 0 ? `needs ${missing.join(', ')} installed` : false;
if (skip) console.error(`\n*** SKIPPING netns capture test: ${skip} ***\n`);

const id = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
const A = `ambitcap-${id}-a`;
const B = `ambitcap-${id}-b`;
const pathA = `/run/netns/${A}`;
const pathB = `/run/netns/${B}`;
const IP_A = '10.77.0.1';
const IP_B = '10.77.0.2';
const homeNetns = readlinkSync('/proc/thread-self/ns/net');

/** Connects (socket already dialing), sends msg, resolves with everything read until the peer ends. */
function exchange(s: net.Socket, msg: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    s.on('connect', () => s.write(msg));
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.on('end', () => {
      clearTimeout(t);
      s.end();
      resolve(out);
    });
  });
}

/** An app-like client: plain (unmarked) socket created inside the netns. */
const dial = (nsPath: string, host: string, port: number): net.Socket => connectFromNetns(nsPath, { host, port });

describe('in-pod capture (nftables + koffi sockets)', { skip, timeout: 30_000 }, () => {
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const track = (srv: net.Server): net.Server => {
    servers.push(srv);
    srv.on('connection', (c: net.Socket) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
    });
    return srv;
  };
  const bSeen: string[] = [];
  const appSeen: string[] = [];
  const outboundDst: Address[] = [];
  const inboundDst: Address[] = [];
  let outbound: net.Server;

  /** Proxies c to `to`, dialled from pod A with the tunnel's mark. */
  function relay(c: net.Socket, to: Address, localAddress?: string): void {
    const up = connectFromNetns(pathA, { host: to.address, port: to.port, mark: INPOD_MARK, ...(localAddress ? { localAddress, transparent: true } : {}) });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    c.pipe(up).pipe(c);
    up.on('error', () => c.destroy());
    c.on('error', () => up.destroy());
  }

  before(async () => {
    createVethPair({ netns: A, ip: IP_A }, { netns: B, ip: IP_B });
    await applyCaptureRules(A);

    // Pod B's server: answers HTTP-ish so curl and raw clients both can read it.
    track(listenInNetns(pathB, { host: '0.0.0.0', port: 8080 })).on('connection', (c: net.Socket) => {
      bSeen.push(c.remoteAddress ?? '?');
      c.once('data', (d: Buffer) => c.end(`HTTP/1.0 200 OK\r\n\r\nB from=${c.remoteAddress} got=${d.toString().split('\r\n')[0]}\n`));
    });
    // Pod A's app on 9000 and a stand-in for the tunnel's HBONE port 15008.
    track(listenInNetns(pathA, { host: '0.0.0.0', port: 9000 })).on('connection', (c: net.Socket) => {
      appSeen.push(c.remoteAddress ?? '?');
      c.once('data', () => c.end(`app from=${c.remoteAddress}`));
    });
    track(listenInNetns(pathA, { host: '0.0.0.0', port: 15008, mark: INPOD_MARK })).on('connection', (c: net.Socket) => {
      c.once('data', () => c.end(`hbone from=${c.remoteAddress}`));
    });
    // The tunnel's capture listeners inside pod A.
    outbound = track(listenInNetns(pathA, { host: '127.0.0.1', port: 15001, mark: INPOD_MARK, reusePort: true }));
    outbound.on('connection', (c: net.Socket) => {
      const dst = originalDst(c);
      outboundDst.push(dst);
      relay(c, dst);
    });
    track(listenInNetns(pathA, { host: '0.0.0.0', port: 15006, mark: INPOD_MARK, transparent: true })).on('connection', (c: net.Socket) => {
      const dst = originalDst(c);
      inboundDst.push(dst);
      relay(c, dst, c.remoteAddress);
    });
  });

  after(() => {
    for (const s of sockets) s.destroy();
    for (const srv of servers) srv.close();
    run(['ip', 'netns', 'del', A], { allowFail: true });
    run(['ip', 'netns', 'del', B], { allowFail: true });
  });

  it('installs the table and the policy route idempotently', async () => {
    await applyCaptureRules(A);
    assert.equal(run(['ip', '-n', A, 'rule', 'show', 'pref', String(RULE_PREF)]).trim().split('\n').length, 1);
    assert.match(run(['ip', '-n', A, 'route', 'show', 'table', '100']), /^local default dev lo/);
    assert.match(run(['ip', 'netns', 'exec', A, 'nft', 'list', 'tables']), /table ip ambit_capture/);
  });

  it('outbound curl from pod A is captured on 15001; the 0x539 dial reaches B once, from A, without looping', async () => {
    const body = await runAsync(['ip', 'netns', 'exec', A, 'curl', '-sS', '--max-time', '3', `http://${IP_B}:8080/x`]);
    assert.equal(body, `B from=${IP_A} got=GET /x HTTP/1.1\n`);
    assert.deepEqual(outboundDst, [{ address: IP_B, port: 8080 }]);
    assert.deepEqual(bSeen, [IP_A]);
  });

  it('bytes flow end to end through the outbound listener for a raw TCP client', async () => {
    const got = await exchange(dial(pathA, IP_B, 8080), 'ping');
    assert.match(got, new RegExp(`B from=${IP_A} got=ping\\n$`));
    assert.equal(outboundDst.length, 2);
    assert.equal(bSeen.length, 2);
  });

  it('inbound from B to A:9000 lands on 15006; the app sees B’s IP (IP_TRANSPARENT + table 100)', async () => {
    const got = await exchange(dial(pathB, IP_A, 9000), 'hi');
    assert.deepEqual(inboundDst, [{ address: IP_A, port: 9000 }]);
    assert.equal(got, `app from=${IP_B}`);
    assert.deepEqual(appSeen, [IP_B]);
  });

  it('inbound to A:15008 is not redirected', async () => {
    assert.equal(await exchange(dial(pathB, IP_A, 15008), 'x'), `hbone from=${IP_B}`);
    assert.equal(inboundDst.length, 1);
  });

  it('fails closed inbound: new TCP that escaped redirection is dropped before the app', async () => {
    run(['ip', 'netns', 'exec', A, 'nft', 'flush', 'chain', 'ip', 'ambit_capture', 'prerouting_nat']);
    await assert.rejects(exchange(dial(pathB, IP_A, 9000), 'hi', 800), /timeout/);
    assert.equal(appSeen.length, 1);
    await applyCaptureRules(A);
  });

  it('fails closed outbound: with no listener on 15001 the connection is refused, nothing reaches B', async () => {
    await new Promise<void>((r) => outbound.close(() => r()));
    await assert.rejects(exchange(dial(pathA, IP_B, 8080), 'leak?'), /ECONNREFUSED/);
    await assert.rejects(runAsync(['ip', 'netns', 'exec', A, 'curl', '-sS', '--max-time', '3', `http://${IP_B}:8080/leak`]));
    assert.equal(bSeen.length, 2);
    assert.equal(outboundDst.length, 2);
  });

  it('errors carry errno and say what failed; the JS thread is back in its own netns', () => {
    assert.throws(
      () => listenInNetns(pathA, { host: '0.0.0.0', port: 9000 }),
      (e: unknown) => e instanceof SyscallError && e.code === 'EADDRINUSE' && e.syscall === 'bind' && /binding listener 0\.0\.0\.0:9000 in \/run\/netns\//.test(e.message),
    );
    assert.throws(() => listenInNetns('/run/netns/ambitcap-does-not-exist', { host: '0.0.0.0', port: 1 }), /ENOENT/);
    assert.equal(readlinkSync('/proc/thread-self/ns/net'), homeNetns);
  });

  it('removing the rules restores direct traffic and leaves no table or route behind', async () => {
    await removeCaptureRules(A);
    await removeCaptureRules(A);
    assert.equal(await exchange(dial(pathA, IP_B, 8080), 'direct'), `HTTP/1.0 200 OK\r\n\r\nB from=${IP_A} got=direct\n`);
    assert.equal(await exchange(dial(pathB, IP_A, 9000), 'direct'), `app from=${IP_B}`);
    assert.equal(inboundDst.length, 1);
    assert.equal(hasPolicyRule(A), false);
    assert.equal(run(['ip', '-n', A, 'route', 'show', 'table', '100']).trim(), '');
    assert.doesNotMatch(run(['ip', 'netns', 'exec', A, 'nft', 'list', 'tables']), /ambit_capture/);
  });
});
