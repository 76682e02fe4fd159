// The waypoint end to end (issue 15): `ambit waypoint apply --enroll-namespace --wait` starts a
// waypoint pod (`ambit waypoint run`: its own certificate and xDS through the node agent's
// control-plane relay), and a client on node1 reaches the echo Service (pods on node2) through
// it: node tunnel → waypoint (HBONE, authority VIP:port) → backends. Then GAMMA HTTPRoutes:
// a header match, a 90/10 split, and 404 for a path no rule matches.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasTool } from '../../src/platform/exec.js';
import { clusterCli, eventually, podReady, type PodView } from './support/cluster-cli.js';

const missing = ['ip', 'nft', 'curl'].filter((t) => !hasTool(t));
const skip = process.getuid?.() !== 0 ? 'needs root: creates network namespaces' : missing.length ? `needs ${missing.join(', ')} (bash scripts/setup.sh installs them)` : false;
if (skip) console.error(`\n*** SKIPPING waypoint e2e test: ${skip} ***\n`);

const cluster = `wp${process.pid % 100000}${Math.floor(Math.random() * 100)}`.slice(0, 12);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-waypoint-'));
const { ambit, ok, json } = clusterCli(cluster, stateDir);
const logs = path.join(stateDir, cluster, 'logs');

const echoDeployment = (version: string): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo-${version}, namespace: demo}
spec:
  replicas: 1
  selector: {matchLabels: {app: echo, version: ${version}}}
  template:
    metadata: {labels: {app: echo, version: ${version}}}
    spec:
      nodeName: node2
      serviceAccountName: echo
      containers:
      - name: echo
        command: ["ambit", "app", "echo", "--http-port", "8080"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: echo-${version}, namespace: demo}
spec:
  selector: {app: echo, version: ${version}}
  ports: [{name: http, port: 80, targetPort: 8080}]
`;

const manifest = `
apiVersion: v1
kind: Namespace
metadata: {name: demo, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: client, namespace: demo}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: echo, namespace: demo}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: demo, labels: {app: client}}
spec:
  nodeName: node1
  serviceAccountName: client
  containers: [{name: c, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: demo}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
${echoDeployment('v1')}
---
${echoDeployment('v2')}
`;

type PodObj = PodView;
const ready = podReady;
const pods = (ns: string): PodObj[] => json<{ items: PodObj[] }>('get', 'pods', '-n', ns).items;
const waypointPod = (): PodObj | undefined => pods('demo').find((p) => p.metadata.labels?.['gateway.networking.k8s.io/gateway-name'] === 'waypoint');

interface Reply {
  code: number;
  pod?: string;
  headers?: Record<string, string>;
}
/** GET from the client pod; the status and, on 200, which echo pod answered. */
function get(url: string, headers: Record<string, string> = {}): Reply {
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const r = ambit('exec', 'client', '-n', 'demo', '--', 'curl', '-s', '--max-time', '4', '-w', '\n%{http_code}', ...h, url);
  const lines = r.out.trimEnd().split('\n');
  const code = Number(lines.pop());
  let body: { pod?: string; headers?: Record<string, string> } = {};
  try {
    body = JSON.parse(lines.join('\n')) as typeof body;
  } catch {
    // a local reply (404 from the waypoint) is not JSON
  }
  return { code, ...(body.pod ? { pod: body.pod } : {}), ...(body.headers ? { headers: body.headers } : {}) };
}

function applyYaml(name: string, yaml: string): void {
  const file = path.join(stateDir, `${name}.yaml`);
  fs.writeFileSync(file, yaml);
  const r = ambit('apply', '-f', file);
  assert.equal(r.code, 0, `apply ${name}: ${r.out}${r.err}`);
}

const URL_ = 'http://echo.demo.svc.cluster.local/';

/** What to print when a check fails: the waypoint's and the tunnels' logs. */
function diagnostics(): string {
  const wp = waypointPod();
  const wpLog = wp ? ambit('logs', wp.metadata.name, '-n', 'demo').out : '<no waypoint pod>';
  const tail = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').slice(-25).join('\n') : '<none>');
  return `--- waypoint pod log:\n${wpLog.split('\n').slice(-40).join('\n')}\n--- node1 tunnel:\n${tail(path.join(logs, 'node1-tunnel.log'))}\n--- node2 tunnel:\n${tail(path.join(logs, 'node2-tunnel.log'))}`;
}

describe('a waypoint in a real cluster: ambit waypoint apply, L7 routing through it', { skip, timeout: 300_000 }, () => {
  before(async () => {
    ok('cluster', 'up', '--nodes', '2');
    applyYaml('base', manifest);
    await eventually('client and echo pods ready', () => {
      const ps = pods('demo');
      return ps.length >= 3 && ps.every(ready) ? true : undefined;
    }, 60_000);
    await eventually('mesh traffic to echo flows', () => (get(URL_).code === 200 ? true : undefined));
  });

  after(() => {
    ambit('cluster', 'down', '--force');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('waypoint apply --enroll-namespace --wait: programmed, listed, status shows the bound services', () => {
    const r = ambit('waypoint', 'apply', '-n', 'demo', '--enroll-namespace', '--wait', '--timeout', '90s');
    assert.equal(r.code, 0, `waypoint apply failed:\n${r.out}\n${r.err}\n${diagnostics()}`);
    assert.match(r.out, /waypoint demo\/waypoint applied/);
    assert.match(r.out, /namespace demo labeled with "istio.io\/use-waypoint: waypoint"/);
    assert.match(r.out, /waypoint demo\/waypoint is ready!/);
    const ns = json<{ metadata: { labels: Record<string, string> } }>('get', 'namespace', 'demo');
    assert.equal(ns.metadata.labels['istio.io/use-waypoint'], 'waypoint');
    const list = ok('waypoint', 'list', '-n', 'demo');
    assert.match(list, /\nwaypoint\s+default\s+none\s+True\s*\n/);
    const status = ok('waypoint', 'status', '-n', 'demo');
    assert.match(status, /pods:\s+1\/1 ready/);
    assert.match(status, /addresses:\s+\d+\.\d+\.\d+\.\d+, waypoint\.demo\.svc\.cluster\.local/);
    assert.match(status, /services:\s+echo, echo-v1, echo-v2/);
  });

  test('requests to the echo Service go through the waypoint (access log, reporter=waypoint metrics)', async () => {
    const wp = waypointPod();
    assert.ok(wp && ready(wp), 'the waypoint pod is ready');
    const before = ambit('logs', wp.metadata.name, '-n', 'demo').out.split('\n').filter((l) => l.includes('GET / HTTP/1.1')).length;
    await eventually(`a request through the waypoint\n${diagnostics()}`, () => {
      const r = get(URL_);
      if (r.code !== 200) return undefined;
      const lines = ambit('logs', wp.metadata.name, '-n', 'demo').out.split('\n').filter((l) => l.includes('GET / HTTP/1.1'));
      return lines.length > before ? true : undefined;
    }, 30_000, 500);
    const r = get(URL_);
    assert.equal(r.code, 200);
    assert.match(r.pod ?? '', /^echo-v[12]-/, 'an echo pod answered');
    const metrics = ambit('exec', wp.metadata.name, '-n', 'demo', '--', 'curl', '-s', 'http://127.0.0.1:15020/stats/prometheus').out;
    const line = metrics.split('\n').find((l) => l.startsWith('istio_requests_total{') && l.includes('reporter="waypoint"') && l.includes('destination_service="echo.demo.svc.cluster.local"') && l.includes('response_code="200"') && l.includes('source_workload="client"'));
    assert.ok(line, `istio_requests_total{reporter="waypoint",destination_service="echo.demo...",response_code="200"} in:\n${metrics.split('\n').filter((l) => l.startsWith('istio_requests_total')).join('\n')}`);
    assert.ok(Number(line.split(' ').pop()) >= 1);
  });

  test('HTTPRoute (GAMMA): header match to echo-v2, a 90/10 split, 404 for an unmatched path', async () => {
    applyYaml('route', `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 80}]
  rules:
  - matches: [{headers: [{name: x-version, value: v2}]}]
    backendRefs: [{name: echo-v2, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: echo-v1, port: 80, weight: 90}, {name: echo-v2, port: 80, weight: 10}]
`);
    await eventually(`the header route applies\n${diagnostics()}`, () => {
      const rs = Array.from({ length: 4 }, () => get(URL_, { 'x-version': 'v2' }));
      return rs.every((r) => r.code === 200 && r.pod?.startsWith('echo-v2-')) ? true : undefined;
    }, 30_000, 500);
    let v1 = 0;
    let v2 = 0;
    const n = 100;
    // One exec for all requests (an exec per request costs a process start each).
    const script = `for i in $(seq ${n}); do curl -s --max-time 4 ${URL_}; echo; done`;
    const out = ambit('exec', 'client', '-n', 'demo', '--', 'bash', '-c', script).out;
    for (const l of out.split('\n')) {
      if (!l.startsWith('{')) continue;
      const pod = (JSON.parse(l) as { pod?: string }).pod ?? '';
      if (pod.startsWith('echo-v1-')) v1++;
      else if (pod.startsWith('echo-v2-')) v2++;
    }
    assert.equal(v1 + v2, n);
    assert.ok(v1 >= 80 && v1 <= 98, `90/10 split: ${v1} to v1, ${v2} to v2`);

    applyYaml('route', `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo, namespace: demo}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: echo-v2, port: 80}]
`);
    await eventually('an unmatched path → 404 from the waypoint', () => (get('http://echo.demo.svc.cluster.local/other').code === 404 ? true : undefined), 30_000, 500);
    const api = get('http://echo.demo.svc.cluster.local/api/x');
    assert.equal(api.code, 200);
    assert.match(api.pod ?? '', /^echo-v2-/);
  });

  test('waypoint delete: the pod gets SIGTERM, drains and stops cleanly; the Service is served directly again', async () => {
    const wp = waypointPod();
    assert.ok(wp);
    ok('waypoint', 'delete', 'waypoint', '-n', 'demo');
    await eventually('the waypoint pod is gone', () => (waypointPod() ? undefined : true), 30_000);
    // The pod object is gone, so read its log file (ambit logs needs the pod).
    const file = path.join(stateDir, cluster, 'pods', `demo_${wp.metadata.name}.log`);
    const log = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `<no ${file}>`;
    assert.match(log, /SIGTERM: draining[\s\S]*stopped/, log.split('\n').slice(-10).join('\n'));
    assert.doesNotMatch(log, /shutdown did not finish/);
    ok('label', 'namespace', 'demo', 'istio.io/use-waypoint-');
    await eventually('echo answers without the waypoint', () => (get(URL_).code === 200 ? true : undefined), 30_000, 500);
  });
});
