// `ambit waypoint run` and `ambit waypoint apply|list|status|delete` against a real control
// plane (API server, CA, delta xDS, waypoint controller): the config loader names bad values;
// the process gets its own certificate with a pod-bound service-account token, syncs xDS as a
// waypoint client, receives its WaypointRoutes, and only then answers ready.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Ctx } from '../../src/cli/context.js';
import { boundServices, waypointApplyCommand, waypointDeleteCommand, waypointListCommand, waypointStatusCommand } from '../../src/cli/commands/waypoint.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { AmbitError } from '../../src/lib/errors.js';
import { ConfigError } from '../../src/lib/config.js';
import { K } from '../../src/model/core/kind-handles.js';
import { KINDS } from '../../src/model/core/kinds.js';
import type { KubeObject, Pod } from '../../src/model/core/types.js';
import { loadWaypointConfig, waypointNode, type WaypointProcessConfig } from '../../src/waypoint/config.js';
import { startWaypointDaemon, type WaypointDaemon } from '../../src/waypoint/daemon.js';
import { NODE1_TOKEN, TestControlPlane } from './support/control-plane.js';

const svc = (name: string, labels?: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, ...(labels ? { labels } : {}) } });
const GATEWAY = KINDS.find((k) => k.kind === 'Gateway' && k.version === 'v1')!;
const HTTPROUTE = KINDS.find((k) => k.kind === 'HTTPRoute' && k.version === 'v1')!;

const ENV = {
  POD_NAME: 'waypoint-1',
  POD_NAMESPACE: 'demo',
  POD_IP: '10.244.1.9',
  NODE_NAME: 'node1',
  SERVICE_ACCOUNT: 'waypoint',
  TRUST_DOMAIN: 'cluster.local',
  ISTIO_META_CLUSTER_ID: 'Kubernetes',
  WAYPOINT_NAME: 'waypoint',
  CA_ADDRESS: '10.244.1.1:15012',
  XDS_ADDRESS: 'https://10.244.1.1:15012',
  CA_ROOT_FILE: '/tmp/roots.pem',
  ISTIO_TOKEN_FILE: '/tmp/istio-token',
};

describe('waypoint run config', () => {
  it('reads the env contract; the node id and metadata are what the xDS server expects', () => {
    const c = loadWaypointConfig([], ENV);
    assert.ok(!(c instanceof Error), String(c));
    assert.equal(c.xdsAddress, '10.244.1.1:15012');
    assert.deepEqual(waypointNode(c), { id: 'waypoint~10.244.1.9~waypoint-1.demo~demo.svc.cluster.local', nodeName: 'node1', metadata: { NAMESPACE: 'demo', WAYPOINT_NAME: 'waypoint', CLUSTER_ID: 'Kubernetes' } });
  });

  it('names every missing variable, and a bad value with what it wants', () => {
    const { CA_ROOT_FILE: _a, ISTIO_TOKEN_FILE: _b, ...rest } = ENV;
    const e = loadWaypointConfig([], rest);
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^CA_ROOT_FILE, ISTIO_TOKEN_FILE are not set/);
    assert.equal(e.code, 'AMBIT_E_CONFIG_INVALID');
    const ip = loadWaypointConfig([], { ...ENV, POD_IP: '10.244.1' });
    assert.ok(ip instanceof ConfigError);
    assert.equal(ip.message, 'POD_IP="10.244.1": not an IP address');
    const addr = loadWaypointConfig([], { ...ENV, XDS_ADDRESS: 'istiod' });
    assert.ok(addr instanceof ConfigError);
    assert.match(addr.message, /^XDS_ADDRESS="istiod": not an address/);
    const flag = loadWaypointConfig(['--port', '1'], ENV);
    assert.ok(flag instanceof ConfigError);
    assert.equal(flag.code, 'AMBIT_E_USAGE');
  });
});

describe('waypoint run against a real control plane, and the waypoint CLI', () => {
  let cp: TestControlPlane;
  let admin: KubeClient;
  let dir: string;
  let cfg: WaypointProcessConfig;
  let daemon: WaypointDaemon | undefined;
  const logs: string[] = [];

  before(async () => {
    cp = await TestControlPlane.start('ambit-waypoint-process-test-', { ca: { trustDomain: 'cluster.local' } });
    admin = cp.client();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-waypoint-run-'));
    await admin.create(K.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo', labels: { 'istio.io/dataplane-mode': 'ambient' } } });
    await admin.create(K.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'waypoint', namespace: 'demo' } });
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'waypoint-1', namespace: 'demo' }, spec: { containers: [{ name: 'istio-proxy', command: ['sleep', 'infinity'] }], serviceAccountName: 'waypoint', nodeName: 'node1' } };
    const uid = (await admin.create(K.Pod, pod)).metadata.uid!;
    // What the node agent does for a waypoint pod: a pod-bound token, audience istio-ca.
    const r = await cp.raw('POST', '/api/v1/namespaces/demo/serviceaccounts/waypoint/token', { token: NODE1_TOKEN, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['istio-ca'], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'waypoint-1', uid } } } });
    assert.equal(r.status, 201);
    fs.writeFileSync(path.join(dir, 'istio-token'), (r.json as { status: { token: string } }).status.token, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'roots.pem'), cp.cp.authority!.rootsPem);
    const addr = `127.0.0.1:${cp.cp.caPort!}`;
    const c = loadWaypointConfig([], { ...ENV, POD_IP: '127.0.0.1', CA_ADDRESS: addr, XDS_ADDRESS: addr, CA_ROOT_FILE: path.join(dir, 'roots.pem'), ISTIO_TOKEN_FILE: path.join(dir, 'istio-token') });
    assert.ok(!(c instanceof Error), String(c));
    cfg = c;
  });

  after(async () => {
    await daemon?.close();
    await cp?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const ops = { host: '127.0.0.1', ports: { hbone: 0, stats: 0, readiness: 0, admin: 0 } };

  it('an unreadable token file fails at start with its name', () => {
    assert.throws(
      () => startWaypointDaemon({ ...cfg, tokenFile: path.join(dir, 'nope') }, { ...ops, log: () => {} }),
      (e: unknown) => e instanceof AmbitError && e.code === 'AMBIT_E_SYSTEM' && e.message.includes(`ISTIO_TOKEN_FILE ${path.join(dir, 'nope')} cannot be read: ENOENT`),
    );
  });

  it('gets its own certificate and xDS with the pod token, serves HBONE, then answers ready; routes arrive by xDS', async () => {
    daemon = startWaypointDaemon(cfg, { ...ops, log: (m) => logs.push(m) });
    const d = daemon;
    await Promise.race([d.ready, new Promise((_, rej) => setTimeout(() => rej(new Error(`not ready in 15 s:\n${logs.join('\n')}\n${cp.logs.slice(-10).join('\n')}`)), 15_000))]);
    const p = d.ports();
    assert.ok(p.hbone > 0);
    const readiness = await fetch(`http://127.0.0.1:${p.readiness}/healthz/ready`);
    assert.equal(readiness.status, 200, await readiness.text());
    const dump = (await (await fetch(`http://127.0.0.1:${p.admin}/config_dump`)).json()) as { waypoint: { identity: string }; certificates: { identity: string; state: string }[]; xds: { synced: boolean; stats: { nacks: number } } };
    assert.equal(dump.waypoint.identity, 'spiffe://cluster.local/ns/demo/sa/waypoint');
    assert.deepEqual(dump.certificates.map((c) => [c.identity, c.state]), [['spiffe://cluster.local/ns/demo/sa/waypoint', 'Available']]);
    assert.equal(dump.xds.synced, true);
    assert.equal(dump.xds.stats.nacks, 0);
    assert.equal((await fetch(`http://127.0.0.1:${p.stats}/stats/prometheus`)).status, 200);

    // A Service bound to this waypoint (its Gateway exists) with a GAMMA route: its WaypointRoutes reach the process.
    await admin.create(GATEWAY, { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'waypoint', namespace: 'demo' }, spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] } });
    await admin.create(K.Service, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'demo', labels: { 'istio.io/use-waypoint': 'waypoint' } }, spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    await admin.create(HTTPROUTE, { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'echo', namespace: 'demo' }, spec: { parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 80 }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [{ name: 'echo', port: 80 }] }] } });
    await cp.waitFor('the WaypointRoutes of demo/echo in the waypoint', () => d.xds.state.waypointRoutes.get('demo/echo.demo.svc.cluster.local'), 10_000);
  });

  it('a token the CA refuses: not ready, and readiness names the certificate', async () => {
    const bad = path.join(dir, 'bad-token');
    fs.writeFileSync(bad, 'not-a-token', { mode: 0o600 });
    const d = startWaypointDaemon({ ...cfg, tokenFile: bad }, { ...ops, log: () => {} });
    try {
      await new Promise((r) => setTimeout(r, 800));
      const res = await fetch(`http://127.0.0.1:${d.ports().readiness}/healthz/ready`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /^not ready, pending: .*certificate \(spiffe:\/\/cluster\.local\/ns\/demo\/sa\/waypoint\)/);
    } finally {
      await d.close();
    }
  });

  it('waypoint apply / list / status / delete, as istioctl does', async () => {
    let out = '';
    let err = '';
    const ctx: Ctx = { cluster: 'test', client: () => admin, out: (s) => (out += s), err: (s) => (err += s) };
    assert.equal(await waypointApplyCommand(ctx, ['-n', 'demo', '--name', 'wp2', '--enroll-namespace', '--for', 'all']), 0);
    assert.equal(out, 'waypoint demo/wp2 applied\nnamespace demo labeled with "istio.io/use-waypoint: wp2"\n');
    const gw = await admin.get(GATEWAY, 'demo', 'wp2');
    assert.deepEqual(gw.spec, { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] });
    assert.equal(gw.metadata.labels?.['istio.io/waypoint-for'], 'all');
    assert.equal((await admin.get(K.Namespace, undefined, 'demo')).metadata.labels?.['istio.io/use-waypoint'], 'wp2');
    // The controller makes its Deployment; with no node running pods it never becomes Programmed.
    await cp.waitFor('the waypoint Deployment', () => admin.getOrUndefined(K.Deployment, 'demo', 'wp2'));
    await assert.rejects(waypointApplyCommand(ctx, ['-n', 'demo', '--name', 'wp2', '--for', 'all', '--wait', '--timeout', '1s']), (e: unknown) => e instanceof AmbitError && /waypoint demo\/wp2 is not programmed after 1s/.test(e.message));
    await assert.rejects(waypointApplyCommand(ctx, ['-n', 'demo', '--for', 'pods']), /--for pods: want one of service, workload, all, none/);
    // Already enrolled with wp2: another waypoint needs --overwrite (a warning, exit 0, nothing changed).
    err = '';
    assert.equal(await waypointApplyCommand(ctx, ['-n', 'demo', '--name', 'wp3', '--enroll-namespace']), 0);
    assert.match(err, /namespace demo already uses waypoint wp2; add --overwrite/);
    assert.equal(await admin.getOrUndefined(GATEWAY, 'demo', 'wp3'), undefined);
    await assert.rejects(waypointApplyCommand(ctx, ['-n', 'demo', '--name', 'none']), /'none' is reserved/);
    await assert.rejects(waypointApplyCommand(ctx, ['-n', 'nowhere']), (e: unknown) => e instanceof AmbitError && e.code === 'AMBIT_E_API_NOT_FOUND');

    out = '';
    assert.equal(await waypointListCommand(ctx, ['-n', 'demo']), 0);
    assert.match(out, /^NAME\s+REVISION\s+TRAFFIC TYPE\s+PROGRAMMED\n/);
    assert.match(out, /\nwp2\s+default\s+all\s+False\s*\n/);
    out = '';
    assert.equal(await waypointListCommand(ctx, ['-A']), 0);
    assert.match(out, /\ndemo\s+wp2\s+default\s+all\s+False/);

    out = '';
    assert.equal(await waypointStatusCommand(ctx, ['-n', 'demo', '--name', 'wp2']), 1, 'not programmed: exit 1');
    assert.match(out, /waypoint demo\/wp2 \(for all\)\n {2}pods: {7}0\/\d+ ready/);
    assert.match(out, /Programmed: False/);
    // The echo Service names the other waypoint itself; the namespace label does not override it.
    assert.match(out, /services: {3}<none>/);
    assert.deepEqual(boundServices('wp2', { 'istio.io/use-waypoint': 'wp2' }, [svc('a'), svc('b', { 'istio.io/use-waypoint': 'other' }), svc('wp2', { 'gateway.networking.k8s.io/gateway-name': 'wp2' })]), ['a']);

    out = '';
    err = '';
    assert.equal(await waypointDeleteCommand(ctx, ['-n', 'demo', 'wp2', 'ghost']), 1);
    assert.equal(out, 'waypoint demo/wp2 deleted\n');
    assert.equal(err, 'waypoint demo/ghost not found\n');
    await assert.rejects(waypointDeleteCommand(ctx, ['-n', 'demo']), /name the waypoints to delete, or pass --all/);
    assert.equal(await admin.getOrUndefined(GATEWAY, 'demo', 'wp2'), undefined);
  });
});
