// WaypointRoutes over the delta ADS: a node tunnel and two waypoints on one server. Each waypoint
// gets exactly the routes of the services bound to its Gateway, the tunnel none; a route change
// arrives as a delta of that one resource; a rebinding moves the resource from one waypoint to
// the other; a resource the codec refuses is NACKed by name.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { MeshSnapshot, Service } from '../../src/mesh-api/types.js';
import type { WaypointRoutes } from '../../src/mesh-api/waypoint.js';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { NodeAuthority } from '../../src/ca/node-auth.js';
import { MetricsRegistry } from '../../src/lib/metrics.js';
import { XdsClient, type ChangeEvent } from '../../src/dataplane/xds-client.js';
import { XdsServer } from '../../src/control-plane/xds-server.js';
import { NODE_TUNNEL_TYPES, WAYPOINT_ROUTES_TYPE_URL, WAYPOINT_TYPES } from '../../src/xds/registry.js';
import { decodeWaypointRoutes, encodeWaypointRoutes } from '../../src/xds/types/waypoint-routes-codec.js';
import { CodecError } from '../../src/xds/codec.js';
import { sleep } from './support/control-plane.js';
import { service, snapshot, workload } from './support/xds-fixtures.js';

let dir: string;
let authority: CertificateAuthority;
let xds: XdsServer;
let server: grpc.Server;
let port = 0;
let token: string;
const clients: XdsClient[] = [];
const logs: string[] = [];

const bound = (s: Service, wp: string): Service => ({ ...s, waypoint: { hostname: { namespace: 'demo', hostname: `${wp}.demo.svc.cluster.local` }, hboneMtlsPort: 15008 } });
const key = (name: string): string => `demo/${name}.demo.svc.cluster.local`;
const routes = (name: string, backend: string, prefix = '/'): WaypointRoutes => ({
  service: key(name),
  ports: [],
  rules: [{ source: { kind: 'HTTPRoute', namespace: 'demo', name, rule: 0 }, matches: [{ path: { type: 'PathPrefix', value: prefix } }], filters: [], backends: [{ service: key(backend), port: 80, weight: 1 }] }],
});

function snap(o: { aTo?: string; bTo?: string; aPrefix?: string; extra?: WaypointRoutes[] } = {}): MeshSnapshot {
  return {
    ...snapshot({ workloads: [workload('demo', 'a-1', '10.0.1.2', 'a')], services: [bound(service('demo', 'a', '10.96.0.1'), o.aTo ?? 'wp-a'), bound(service('demo', 'b', '10.96.0.2'), o.bTo ?? 'wp-b'), service('demo', 'c', '10.96.0.3')], authorizations: [] }),
    waypointRoutes: [routes('a', 'a-v1', o.aPrefix), routes('b', 'b-v1'), routes('c', 'c-v1'), ...(o.extra ?? [])],
  };
}

async function push(s: MeshSnapshot): Promise<void> {
  const done = new Promise<void>((r) => xds.once('pushed', () => r()));
  xds.updateSnapshot(s);
  await done;
}

function client(id: string, types: readonly string[], metadata: Record<string, string> = {}): XdsClient {
  const c = new XdsClient({ address: `127.0.0.1:${port}`, roots: authority.rootsPem, token, node: { id, nodeName: 'node1', metadata }, types, servername: 'istiod.istio-system.svc', backoff: { initialMs: 10, maxMs: 100 } });
  clients.push(c);
  return c.start();
}
const waypoint = (name: string): XdsClient => client(`waypoint~10.0.9.1~${name}-abc.demo~demo.svc.cluster.local`, WAYPOINT_TYPES, { NAMESPACE: 'demo', WAYPOINT_NAME: name });

async function until(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; server log:\n  ${logs.slice(-10).join('\n  ')}`);
    await sleep(10);
  }
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-xds-wp-'));
  authority = await CertificateAuthority.open(path.join(dir, 'ca'), { trustDomain: 'cluster.local' });
  const nodeAuth = NodeAuthority.open(path.join(dir, 'ca'));
  token = nodeAuth.issueNodeToken('node1');
  const tls = await authority.issueServerCert(['istiod.istio-system.svc'], ['127.0.0.1'], 3600);
  xds = new XdsServer({ nodeAuth, metrics: new MetricsRegistry(), log: (m) => logs.push(m), debounceMs: 5, maxDelayMs: 50 });
  server = new grpc.Server();
  xds.register(server);
  const creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.certChain), private_key: Buffer.from(tls.key) }], false);
  port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? rej(e) : res(p))));
  await push(snap());
});

after(() => {
  for (const c of clients) c.close();
  xds.close();
  server.forceShutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('waypoint push', () => {
  let tunnel: XdsClient;
  let wpA: XdsClient;
  let wpB: XdsClient;

  it('each waypoint gets only its services\' routes; the node tunnel none; both get addresses', async () => {
    tunnel = client('ztunnel~10.0.1.1~ztunnel-node1.istio-system~istio-system.svc.cluster.local', NODE_TUNNEL_TYPES);
    wpA = waypoint('wp-a');
    wpB = waypoint('wp-b');
    await Promise.all([tunnel.ready, wpA.ready, wpB.ready]);
    assert.deepEqual([...wpA.state.waypointRoutes.keys()], [key('a')]);
    assert.deepEqual([...wpB.state.waypointRoutes.keys()], [key('b')]);
    assert.equal(tunnel.state.waypointRoutes.size, 0);
    assert.equal(tunnel.messagesByType.get(WAYPOINT_ROUTES_TYPE_URL), undefined, 'no WaypointRoutes message ever reaches a tunnel');
    for (const c of [tunnel, wpA, wpB]) assert.equal(c.state.services.size, 3);
  });

  it('a node tunnel that asks for WaypointRoutes anyway gets none', async () => {
    const sneaky = client('ztunnel~10.0.1.9~ztunnel-x.istio-system~istio-system.svc.cluster.local', WAYPOINT_TYPES);
    await until('sneaky has addresses', () => sneaky.state.services.size === 3);
    await sleep(100);
    assert.equal(sneaky.state.waypointRoutes.size, 0);
    sneaky.close();
  });

  it('a route change arrives as a delta of that resource, only at its waypoint', async () => {
    const evA: ChangeEvent[] = [];
    const evB: ChangeEvent[] = [];
    wpA.on('change', (e) => evA.push(e));
    wpB.on('change', (e) => evB.push(e));
    await push(snap({ aPrefix: '/v2' }));
    await until('wp-a has the new route', () => wpA.state.waypointRoutes.get(key('a'))?.rules[0]?.matches[0]?.path?.value === '/v2');
    await sleep(100);
    assert.deepEqual(evA.map((e) => [e.typeUrl, e.upserted, e.removed]), [[WAYPOINT_ROUTES_TYPE_URL, [key('a')], []]]);
    assert.deepEqual(evB, []);
  });

  it('rebinding service b to wp-a moves its routes: removed at wp-b, added at wp-a', async () => {
    await push(snap({ aPrefix: '/v2', bTo: 'wp-a' }));
    await until('moved', () => wpA.state.waypointRoutes.has(key('b')) && !wpB.state.waypointRoutes.has(key('b')));
    assert.equal(tunnel.state.waypointRoutes.size, 0);
  });

  it('a resource the waypoint cannot accept is NACKed by name; the rest applies', async () => {
    const bad = { ...routes('a', 'a-v1', '/v3'), rules: [{ ...routes('a', 'a-v1').rules[0]!, backends: [{ service: key('a-v1'), port: 70000, weight: 1 }] }] };
    await push({ ...snap({ aPrefix: '/v2', bTo: 'wp-a' }), waypointRoutes: [bad, routes('b', 'b-v2'), routes('c', 'c-v1')] });
    await until('b updated', () => wpA.state.waypointRoutes.get(key('b'))?.rules[0]?.backends[0]?.service === key('b-v2'));
    const rejected = (): string | undefined => xds.status().find((s) => s.nodeId.includes('~wp-a-'))?.types[WAYPOINT_ROUTES_TYPE_URL]?.rejected[key('a')];
    await until('the NACK reaches the server', () => rejected() !== undefined);
    assert.match(rejected() ?? '', /rules\[0\]\.backends\[0\]\.port/);
    assert.equal(wpA.state.waypointRoutes.get(key('a'))?.rules[0]?.matches[0]?.path?.value, '/v2', 'the previous version is kept');
  });
});

describe('WaypointRoutes codec', () => {
  it('round-trips and refuses bad regexes, weights and ports by field', () => {
    const ok = routes('a', 'a-v1');
    assert.deepEqual(decodeWaypointRoutes(encodeWaypointRoutes(ok)), ok);
    const bad = (mut: (r: WaypointRoutes) => void): string => {
      const r = structuredClone(ok);
      mut(r);
      try {
        decodeWaypointRoutes(encodeWaypointRoutes(r));
      } catch (e) {
        assert.ok(e instanceof CodecError);
        return e.message;
      }
      throw new Error('accepted');
    };
    assert.match(bad((r) => (r.rules[0]!.matches[0]!.path = { type: 'RegularExpression', value: '(' })), /rules\[0\]\.matches\[0\]\.path\.value: invalid regular expression/);
    assert.match(bad((r) => (r.rules[0]!.matches[0]!.path = { type: 'RegularExpression', value: '(?<=a)b' })), /RE2/);
    assert.match(bad((r) => (r.rules[0]!.backends[0]!.weight = -1)), /backends\[0\]\.weight/);
    assert.match(bad((r) => (r.ports = [0])), /^ports\[0\]/);
    assert.match(bad((r) => (r.service = 'nohost')), /^service/);
    assert.throws(() => decodeWaypointRoutes(Buffer.from('{')), CodecError);
  });
});
