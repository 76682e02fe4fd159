// HBONE metadata (spec §2.4, §2.5): the `baggage` header both ways and the `forwarded` header.
// Parsing rules after ztunnel's src/baggage.rs (its tests' cases, our own values), plus what it
// does not test: hostile input never breaks a tunnel. Then real sockets: the HBONE library (what
// goes on the wire, the 200's baggage, refusals without it) and two pod tunnels on loopback
// (node/outbound.ts → node/inbound.ts), where the destination tunnel does not know the source
// workload and labels it from its baggage.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { Workload } from '../../src/mesh-api/types.js';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { formatBaggage, MAX_BAGGAGE_BYTES, parseBaggage, type Baggage } from '../../src/dataplane/hbone/baggage.js';
import { responseBaggageOf } from '../../src/dataplane/hbone/client.js';
import { formatForwarded } from '../../src/dataplane/hbone/headers.js';
import { HbonePool } from '../../src/dataplane/hbone/pool.js';
import { HboneServer, peerTelemetry, type UpstreamContext } from '../../src/dataplane/hbone/server.js';
import { clientTlsOptions } from '../../src/dataplane/hbone/tls.js';
import type { WorkloadCertificate } from '../../src/identity/ca-client.js';
import type { SocketFactory } from '../../src/platform/sockets.js';
import { baggageOf, forwardedHost, peerMeta, type ConnectionRecord } from '../../src/dataplane/connections.js';
import { createHboneInbound } from '../../src/node-tunnel/inbound.js';
import { handleOutbound, type OutboundContext } from '../../src/node-tunnel/outbound.js';
import type { PodContext } from '../../src/node-tunnel/pod.js';
import { MeshState } from '../../src/dataplane/mesh-state.js';
import { trafficLabels } from '../../src/dataplane/telemetry/labels.js';
import { issueCert } from './support/hbone-certs.js';
import { workload } from './support/xds-fixtures.js';

const CLIENT_ID = 'spiffe://cluster.local/ns/shop/sa/cart';
const SERVER_ID = 'spiffe://cluster.local/ns/pay/sa/ledger';

describe('baggage parsing (ztunnel baggage.rs rules)', () => {
  it('reads every key ztunnel writes', () => {
    const b = parseBaggage('k8s.cluster.name=east,k8s.namespace.name=shop,k8s.deployment.name=cart,service.name=cart-svc,service.version=v7,cloud.region=eu-1,cloud.availability_zone=eu-1b');
    assert.deepEqual(b, { clusterName: 'east', namespace: 'shop', workloadType: 'deployment', workloadName: 'cart', serviceName: 'cart-svc', serviceVersion: 'v7', region: 'eu-1', zone: 'eu-1b' });
    for (const type of ['cronjob', 'pod', 'job'] as const) assert.deepEqual(parseBaggage(`k8s.${type}.name=w`), { workloadType: type, workloadName: 'w' });
  });

  it('empty values are absent; no header is an empty result', () => {
    assert.deepEqual(parseBaggage('k8s.cluster.name=,k8s.namespace.name=,k8s.job.name=,service.name=,service.version='), {});
    assert.deepEqual(parseBaggage(undefined), {});
    assert.deepEqual(parseBaggage(''), {});
    assert.deepEqual(parseBaggage([]), {});
  });

  it('several header lines, and the ", " form Node gives repeated HTTP/2 headers, read as one list', () => {
    const lines = ['k8s.cluster.name=west', 'k8s.namespace.name=pay', 'k8s.pod.name=ledger-0', 'service.name=ledger', 'service.version=2'];
    const want: Baggage = { clusterName: 'west', namespace: 'pay', workloadType: 'pod', workloadName: 'ledger-0', serviceName: 'ledger', serviceVersion: '2' };
    assert.deepEqual(parseBaggage(lines), want);
    assert.deepEqual(parseBaggage(lines.join(', ')), want);
  });

  it('what we write reads back the same (empty, partial and full)', () => {
    const cases: Baggage[] = [
      {},
      { clusterName: 'c', namespace: 'n', workloadType: 'deployment', workloadName: 'w', serviceName: 's' },
      { clusterName: 'c', namespace: 'n', workloadType: 'job', workloadName: 'w', serviceName: 's', serviceVersion: 'v', region: 'r', zone: 'z' },
    ];
    for (const b of cases) assert.deepEqual(parseBaggage(formatBaggage(b)), b);
    assert.equal(formatBaggage({}), '');
  });

  it('the last value of a key wins and `k=` clears it; properties and unknown keys are ignored', () => {
    assert.deepEqual(parseBaggage('service.name=a,service.name=b'), { serviceName: 'b' });
    assert.deepEqual(parseBaggage('service.name=a,service.name='), {});
    assert.deepEqual(parseBaggage('k8s.pod.name=p,k8s.deployment.name=d'), { workloadType: 'deployment', workloadName: 'd' });
    assert.deepEqual(parseBaggage('k8s.deployment.name=d,k8s.job.name='), {});
    assert.deepEqual(parseBaggage('service.name=cart;ttl=3;secret,userId=42,k8s.statefulset.name=db,k8s..name=x'), { serviceName: 'cart' });
    assert.deepEqual(parseBaggage(' k8s.namespace.name = shop ,service.version=a=b'), { namespace: 'shop', serviceVersion: 'a' });
  });

  it('hostile input is ignored, never thrown: no "=", bad characters, huge values, huge headers, many members', () => {
    assert.deepEqual(parseBaggage('garbage,,,=,==,k8s.namespace.name'), {});
    for (const v of ['a b', 'a"b', 'a\\b', 'ünï', 'a\x00b', 'a\rb', 'a\tb']) assert.deepEqual(parseBaggage(`service.name=${v}`), {}, JSON.stringify(v));
    assert.deepEqual(parseBaggage(`service.name=${'x'.repeat(257)},k8s.namespace.name=ok`), { namespace: 'ok' }, 'a too-long value is dropped, not cut');
    assert.deepEqual(parseBaggage(`${'k=v,'.repeat(200)}service.name=late`), {}, 'members past 180 are not read');
    assert.deepEqual(parseBaggage(['k8s.namespace.name=first', `x=${'y'.repeat(MAX_BAGGAGE_BYTES)}`, 'service.name=late']), { namespace: 'first' }, 'reading stops at 8 KiB');
    assert.deepEqual(parseBaggage([42, null, 'service.name=ok'] as unknown as string[]), { serviceName: 'ok' });
    // Random bytes: always an object, never an exception.
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    for (let i = 0; i < 2000; i++) {
      const s = Array.from({ length: rnd(120) }, () => String.fromCharCode(rnd(4) === 0 ? rnd(0x3000) : ' ,;=.ks8a'.charCodeAt(rnd(9)))).join('');
      assert.equal(typeof parseBaggage(s), 'object');
      assert.equal(typeof peerTelemetry({ baggage: s, 'x-forwarded-network': s }).baggage, 'object');
    }
  });
});

describe('baggage and forwarded as the node tunnel writes and uses them', () => {
  const cart = workload('shop', 'cart-7f9c-x2x', '10.0.1.7', 'cart', {
    workloadType: 'DEPLOYMENT', workloadName: 'cart', canonicalName: 'cart-svc', canonicalRevision: 'v7', clusterId: 'east', locality: { region: 'eu-1', zone: 'eu-1b', subzone: 'rack9' },
  });

  it('a workload becomes ztunnel\'s baggage: fixed key order, lower-case workload type, workload name not pod name', () => {
    assert.equal(formatBaggage(baggageOf(cart)!), 'k8s.cluster.name=east,k8s.namespace.name=shop,k8s.deployment.name=cart,service.name=cart-svc,service.version=v7,cloud.region=eu-1,cloud.availability_zone=eu-1b');
    assert.equal(formatBaggage(baggageOf({ ...cart, workloadName: '', locality: undefined } as Workload)!), 'k8s.cluster.name=east,k8s.namespace.name=shop,service.name=cart-svc,service.version=v7');
    assert.equal(baggageOf(undefined), undefined);
  });

  it('forwarded: for= always quoted, IPv6 in brackets, ;host= for a service (ztunnel build_forwarded)', () => {
    assert.equal(formatForwarded({ ip: '10.0.1.7', port: 41000 }), 'for="10.0.1.7:41000"');
    assert.equal(formatForwarded({ ip: 'fd00:10::7', port: 41000 }), 'for="[fd00:10::7]:41000"');
    assert.equal(formatForwarded({ ip: '10.0.1.7', port: 80 }, 'ledger.pay.svc.cluster.local'), 'for="10.0.1.7:80";host=ledger.pay.svc.cluster.local');
    assert.equal(forwardedHost(formatForwarded({ ip: 'fd00:10::7', port: 80 }, 'ledger.pay.svc.cluster.local')), 'ledger.pay.svc.cluster.local');
    assert.equal(forwardedHost(formatForwarded({ ip: 'fd00:10::7', port: 80 })), undefined);
  });

  it('labels: a peer we know comes from our config; an unknown one from its baggage, with ztunnel\'s *_app = workload name', () => {
    const b = parseBaggage(formatBaggage(baggageOf(cart)!));
    const rec = (src: ConnectionRecord['src']): ConnectionRecord => ({ id: 'x', direction: 'inbound', pod: '10.0.2.9', src, dst: { addr: '10.0.2.9:8080' }, security: 'mutual_tls', startedAt: 0 });
    const derived = trafficLabels(rec(peerMeta('10.0.1.7', undefined, CLIENT_ID, b)));
    assert.equal(derived.source_workload, 'cart');
    assert.equal(derived.source_workload_namespace, 'shop');
    assert.equal(derived.source_canonical_service, 'cart-svc');
    assert.equal(derived.source_canonical_revision, 'v7');
    assert.equal(derived.source_version, 'v7');
    assert.equal(derived.source_app, 'cart', 'ztunnel metrics.rs with_derived_source: app = workload name');
    assert.equal(derived.source_cluster, 'east');
    assert.equal(derived.source_principal, CLIENT_ID, 'the mTLS identity, never the baggage');
    const known = trafficLabels(rec(peerMeta('10.0.1.7', { ...cart, canonicalName: 'from-config' }, CLIENT_ID, b)));
    assert.equal(known.source_canonical_service, 'from-config');
    assert.equal(known.source_app, 'from-config');
    const none = trafficLabels(rec(peerMeta('10.0.1.7', undefined, CLIENT_ID, {})));
    assert.equal(none.source_workload, 'unknown');
    assert.equal(none.source_app, 'unknown');
  });
});

// ---- real sockets ----

let dir: string;
let ca: CertificateAuthority;
let clientCert: WorkloadCertificate;
let serverCert: WorkloadCertificate;
const closers: (() => unknown)[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-baggage-'));
  ca = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  clientCert = await issueCert(ca, CLIENT_ID);
  serverCert = await issueCert(ca, SERVER_ID);
});

after(async () => {
  for (const c of closers.reverse()) await c();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function echoServer(host: string): Promise<number> {
  const s = net.createServer({ allowHalfOpen: true }, (c) => (c.on('error', () => {}), c.pipe(c)));
  await new Promise<void>((r) => s.listen(0, host, r));
  closers.push(() => new Promise<void>((r) => s.close(() => r())));
  return (s.address() as net.AddressInfo).port;
}

function roundTrip(s: NodeJS.ReadWriteStream & { end(d: string): void }, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.once('end', () => resolve(got));
    s.once('error', reject);
    s.end(msg);
  });
}

describe('HBONE library on loopback', () => {
  let hop: string;
  let echo: number;
  let seen: UpstreamContext[] = [];
  let answer: () => string | undefined = () => undefined;
  let deny = false;

  before(async () => {
    echo = await echoServer('127.0.0.1');
    const server = new HboneServer({
      certificate: serverCert,
      authorize: () => (deny ? { allowed: false, reason: 'no' } : { allowed: true }),
      connectUpstream: (dst, ctx) => {
        seen.push(ctx);
        return new Promise((resolve, reject) => {
          const s = net.connect({ host: '127.0.0.1', port: dst.port, allowHalfOpen: true });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
      },
      responseBaggage: () => answer(),
    });
    hop = `127.0.0.1:${(await server.listen(0)).port}`;
    closers.push(() => server.close(100));
  });

  const dial = (pool: HbonePool, extra: Partial<Parameters<HbonePool['connect']>[0]> = {}): ReturnType<HbonePool['connect']> =>
    pool.connect({ dst: `127.0.0.1:${echo}`, nextHop: hop, certificate: clientCert, expectedIdentities: [SERVER_ID], ...extra });

  it('CONNECT carries our baggage and forwarded (IPv4 and IPv6); the 200 carries theirs, parsed for the client', async () => {
    const pool = new HbonePool();
    closers.push(() => pool.close());
    seen = [];
    answer = () => 'k8s.cluster.name=west,k8s.namespace.name=pay,k8s.deployment.name=ledger,service.name=ledger,service.version=v2';
    const mine: Baggage = { clusterName: 'east', namespace: 'shop', workloadType: 'deployment', workloadName: 'cart', serviceName: 'cart-svc', serviceVersion: 'v7' };
    const s4 = await dial(pool, { baggage: mine, forwardedFor: { ip: '10.0.1.7', port: 41000 }, forwardedHost: 'ledger.pay.svc.cluster.local' });
    assert.equal(await roundTrip(s4, 'ping'), 'ping');
    const s6 = await dial(pool, { baggage: mine, forwardedFor: { ip: 'fd00:10::7', port: 41001 } });
    assert.equal(await roundTrip(s6, 'pong'), 'pong');

    assert.equal(seen.length, 2);
    assert.equal(seen[0]!.headers['baggage'], 'k8s.cluster.name=east,k8s.namespace.name=shop,k8s.deployment.name=cart,service.name=cart-svc,service.version=v7');
    assert.equal(seen[0]!.headers['forwarded'], 'for="10.0.1.7:41000";host=ledger.pay.svc.cluster.local');
    assert.equal(seen[1]!.headers['forwarded'], 'for="[fd00:10::7]:41001"');
    assert.deepEqual(seen[0]!.peer, { baggage: mine }, 'the server parsed the client\'s baggage');
    assert.match(String(seen[0]!.headers['traceparent']), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);

    for (const s of [s4, s6]) {
      assert.deepEqual(responseBaggageOf(s), { clusterName: 'west', namespace: 'pay', workloadType: 'deployment', workloadName: 'ledger', serviceName: 'ledger', serviceVersion: 'v2' });
    }
  });

  it('no baggage on a refusal, nor when the hook throws or returns what a header cannot hold; the tunnel works regardless', async () => {
    const pool = new HbonePool();
    closers.push(() => pool.close());
    answer = () => 'k8s.namespace.name=pay';
    deny = true;
    const refused = await rawConnect(hop, `127.0.0.1:${echo}`, {});
    deny = false;
    assert.equal(refused[':status'], 401);
    assert.equal(refused['baggage'], undefined, 'only the 200 says who answered (ztunnel build_response)');

    for (const bad of [() => { throw new Error('state gone'); }, () => 'service.name=a\r\nx-evil: 1', () => '']) {
      answer = bad;
      const s = await dial(pool);
      assert.equal(await roundTrip(s, 'still'), 'still');
      assert.equal(responseBaggageOf(s), undefined);
    }
    answer = () => undefined;
  });

  it('malformed or oversized client baggage never breaks the CONNECT: 200 and an empty parse', async () => {
    seen = [];
    const headers = [
      { baggage: `${'x=y,'.repeat(4000)}k8s.namespace.name=late` },
      { baggage: ['', ';;;', '====', 'k8s.namespace.name=ok'] },
      { baggage: `service.name=${'a'.repeat(20_000)}` },
      { baggage: 'service.name=%00%ff,k8s.pod.name=\u00ff' },
    ];
    for (const h of headers) {
      const res = await rawConnect(hop, `127.0.0.1:${echo}`, h);
      assert.equal(res[':status'], 200, JSON.stringify(h).slice(0, 60));
    }
    assert.deepEqual(seen.map((c) => c.peer.baggage), [{}, { namespace: 'ok' }, {}, { serviceName: '%00%ff' }]);
  });
});

/** A CONNECT by hand (node:http2), to send headers our client never would; resolves with the response headers. */
async function rawConnect(hop: string, authority: string, extra: http2.OutgoingHttpHeaders): Promise<http2.IncomingHttpHeaders> {
  const port = Number(hop.split(':')[1]);
  const session = http2.connect(`https://${hop}`, { createConnection: () => tls.connect({ ...clientTlsOptions(clientCert, [SERVER_ID]), host: '127.0.0.1', port }) });
  session.on('error', () => {});
  try {
    const req = session.request({ ':method': 'CONNECT', ':authority': authority, ...extra }, { endStream: false });
    req.on('error', () => {});
    return await new Promise((resolve, reject) => {
      req.once('response', (h) => (req.close(), resolve(h)));
      req.once('close', () => reject(new Error(`closed without response (rst ${req.rstCode})`)));
    });
  } finally {
    session.destroy();
  }
}

describe('two pod tunnels on loopback: the destination labels an unknown source from its baggage', () => {
  // Distinct loopback addresses stand for the two pods; a random /16 keeps parallel runs apart.
  const net16 = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
  const cartIp = `${net16}.3`;
  const ledgerIp = `${net16}.2`;
  const cart = workload('shop', 'cart-7f9c-x2x', cartIp, 'cart', { serviceAccount: 'cart', workloadType: 'DEPLOYMENT', workloadName: 'cart', canonicalName: 'cart-svc', canonicalRevision: 'v7', clusterId: 'east' });
  const ledger = workload('pay', 'ledger-0', ledgerIp, 'ledger', { serviceAccount: 'ledger', workloadType: 'POD', workloadName: 'ledger-0', canonicalName: 'ledger', canonicalRevision: 'v2', clusterId: 'west' });

  /** Plain loopback sockets in place of the pod netns ones (no netns, no marks, no tproxy needed on lo). */
  const loopback = (originalDst: { address: string; port: number }): SocketFactory => ({
    listenInNetns: () => assert.fail('not used'),
    connectFromNetns: (_ns, o) => net.connect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }),
    originalDst: () => originalDst,
    setMark: () => {},
  });

  const stateOf = (workloads: Workload[]): MeshState => new MeshState({ workloads, services: [], authorizations: [] });

  function podContext(ip: string, identity: string, state: () => MeshState, sockets: SocketFactory, sink: ConnectionRecord[]): PodContext {
    return {
      pod: { netns: 'none', netnsPath: '/nonexistent', ip },
      identity,
      connections: { opened: (r) => sink.push(r), closed: () => {} },
      state,
      sockets,
      track: () => {},
      waitForWorkload: async () => true,
      trackInbound: () => {},
    };
  }

  it('baggage goes out on CONNECT and back on 200; the unknown source gets labels from it, a gateway-forwarded one too', async () => {
    const ledgerOpened: ConnectionRecord[] = [];
    const cartOpened: ConnectionRecord[] = [];
    const app = await echoServer(ledgerIp);
    // The destination's tunnel knows only its own pod: cart is not in its config.
    let ledgerState = stateOf([ledger]);
    const ledgerCtx = podContext(ledgerIp, SERVER_ID, () => ledgerState, loopback({ address: ledgerIp, port: app }), ledgerOpened);
    const inbound = createHboneInbound(ledgerCtx, serverCert);
    // Routing dials <pod IP>:15008, so the destination listens there (on its own loopback address).
    await inbound.listen(15008, ledgerIp);
    closers.push(() => inbound.close(100));

    const pool = new HbonePool();
    closers.push(() => pool.close());
    let sent: Parameters<HbonePool['connect']>[0] | undefined;
    let stream: http2.ClientHttp2Stream | undefined;
    const cartState = stateOf([cart, ledger]);
    const recordingPool = {
      connect: async (o: Parameters<HbonePool['connect']>[0]) => ((sent = o), (stream = await pool.connect(o))),
    } as unknown as HbonePool;
    const cartCtx: OutboundContext = {
      ...podContext(cartIp, CLIENT_ID, () => cartState, loopback({ address: ledgerIp, port: app }), cartOpened),
      pool: recordingPool,
      certificate: async () => clientCert,
    };
    // The app's connection as the outbound listener would accept it.
    const capture = net.createServer((s) => handleOutbound(cartCtx, s));
    await new Promise<void>((r) => capture.listen(0, cartIp, r));
    closers.push(() => new Promise<void>((r) => capture.close(() => r())));
    const appSock = net.connect({ host: cartIp, port: (capture.address() as net.AddressInfo).port, localAddress: cartIp, allowHalfOpen: true });
    await new Promise<void>((r) => appSock.once('connect', r));
    const appPort = appSock.localPort;
    assert.equal(await roundTrip(appSock, 'order-1'), 'order-1');

    assert.deepEqual(sent?.baggage, { clusterName: 'east', namespace: 'shop', workloadType: 'deployment', workloadName: 'cart', serviceName: 'cart-svc', serviceVersion: 'v7' });
    assert.equal(formatBaggage(sent!.baggage!), 'k8s.cluster.name=east,k8s.namespace.name=shop,k8s.deployment.name=cart,service.name=cart-svc,service.version=v7');
    assert.deepEqual(sent?.forwardedFor, { ip: cartIp, port: appPort });
    assert.deepEqual(responseBaggageOf(stream!), { clusterName: 'west', namespace: 'pay', workloadType: 'pod', workloadName: 'ledger-0', serviceName: 'ledger', serviceVersion: 'v2' });

    assert.equal(ledgerOpened.length, 1);
    const l = trafficLabels(ledgerOpened[0]!);
    assert.equal(l.reporter, 'destination');
    assert.equal(l.source_workload, 'cart');
    assert.equal(l.source_workload_namespace, 'shop');
    assert.equal(l.source_canonical_service, 'cart-svc');
    assert.equal(l.source_canonical_revision, 'v7');
    assert.equal(l.source_app, 'cart');
    assert.equal(l.source_cluster, 'east');
    assert.equal(l.source_principal, CLIENT_ID);
    assert.equal(l.destination_workload, 'ledger-0');
    // The source side knows both workloads: its labels come from its config.
    assert.equal(cartOpened.length, 1);
    assert.equal(trafficLabels(cartOpened[0]!).destination_canonical_service, 'ledger');

    // A tunnel that does know the source ignores what its baggage claims.
    ledgerOpened.length = 0;
    ledgerState = stateOf([ledger, cart]);
    const s1 = await pool.connect({ dst: `${ledgerIp}:${app}`, nextHop: `${ledgerIp}:15008`, certificate: clientCert, expectedIdentities: [SERVER_ID], srcIp: cartIp, baggage: { namespace: 'lies', workloadType: 'pod', workloadName: 'imposter' } });
    assert.equal(await roundTrip(s1, 'x'), 'x');
    assert.equal(trafficLabels(ledgerOpened[0]!).source_workload, 'cart');
    assert.equal(trafficLabels(ledgerOpened[0]!).source_workload_namespace, 'shop');

    // Through a gateway from another network the source IP means nothing here: baggage it is.
    ledgerOpened.length = 0;
    const s2 = await pool.connect({ dst: `${ledgerIp}:${app}`, nextHop: `${ledgerIp}:15008`, certificate: clientCert, expectedIdentities: [SERVER_ID], srcIp: cartIp, forwardedNetwork: 'far-away', baggage: { clusterName: 'remote', namespace: 'shop', workloadType: 'deployment', workloadName: 'cart-remote' } });
    assert.equal(await roundTrip(s2, 'y'), 'y');
    const g = trafficLabels(ledgerOpened[0]!);
    assert.equal(g.source_workload, 'cart-remote');
    assert.equal(g.source_cluster, 'remote');
  });
});
