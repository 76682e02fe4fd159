// Istio's decisions in a real cluster (issue 13): the same YAML must allow and deny exactly as
// istiod + ztunnel would. A client on node1, an echo pod on node2 with an HTTP port (8080) and a
// raw TCP port (9999), and a pod outside the mesh for plaintext; each case is checked with real
// connections through the node tunnels, and neither tunnel NACKs any push.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasTool } from '../../src/platform/exec.js';
import { clusterCli, eventually, podReady, type PodView } from './support/cluster-cli.js';

const missing = ['ip', 'nft', 'curl'].filter((t) => !hasTool(t));
const skip = process.getuid?.() !== 0 ? 'needs root: creates network namespaces' : missing.length ? `needs ${missing.join(', ')} (bash scripts/setup.sh installs them)` : false;
if (skip) console.error(`\n*** SKIPPING Istio-semantics e2e test: ${skip} ***\n`);

const cluster = `is${process.pid % 100000}${Math.floor(Math.random() * 100)}`.slice(0, 12);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-semantics-'));
const { ambit, ok, json } = clusterCli(cluster, stateDir);
const logs = path.join(stateDir, cluster, 'logs');

const manifest = `
apiVersion: v1
kind: Namespace
metadata: {name: demo, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: outside}
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
kind: Pod
metadata: {name: echo, namespace: demo, labels: {app: echo}}
spec:
  nodeName: node2
  serviceAccountName: echo
  containers:
  - name: echo
    command: ["ambit", "app", "echo", "--http-port", "8080", "--tcp-port", "9999"]
    ports: [{name: http, containerPort: 8080}, {name: tcp-echo, containerPort: 9999}]
    readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: demo}
spec:
  selector: {app: echo}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: tcp-echo, port: 9999, targetPort: 9999}
  - {name: tls-passthrough, port: 8443, targetPort: 9999}
  - {name: raw, port: 9998, targetPort: 9999, appProtocol: tcp}
---
apiVersion: v1
kind: Pod
metadata: {name: outsider, namespace: outside}
spec:
  nodeName: node1
  containers: [{name: c, command: ["sleep", "infinity"]}]
`;

type PodObj = PodView;
const pod = (ns: string, name: string): PodObj => json<PodObj>('get', 'pod', name, '-n', ns);
const ready = podReady;
const tunnelLog = (node: string): string => fs.readFileSync(path.join(logs, `${node}-tunnel.log`), 'utf8');

/** HTTP GET from a pod; true when the echo app answered 200. */
function httpOk(ns: string, from: string, url: string): boolean {
  const r = ambit('exec', from, '-n', ns, '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '4', url);
  return r.code === 0 && r.out === '200';
}

/** A line through the raw TCP echo port from a pod; true when it came back. */
function tcpEchoOk(ns: string, from: string, ip: string, port: number): boolean {
  const script = `exec 3<>/dev/tcp/${ip}/${port} || exit 9; printf 'ping-ambit\\n' >&3; timeout 3 head -c 10 <&3`;
  const r = ambit('exec', from, '-n', ns, '--', 'bash', '-c', script);
  return r.code === 0 && r.out === 'ping-ambit';
}

function applyYaml(name: string, yaml: string): string {
  const file = path.join(stateDir, `${name}.yaml`);
  fs.writeFileSync(file, yaml);
  const r = ambit('apply', '-f', file);
  assert.equal(r.code, 0, `apply ${name}: ${r.out}${r.err}`);
  return r.out + r.err;
}

/** Applies a policy file, runs the checks, and always removes it again so one failure does not cascade. */
async function withYaml(name: string, yaml: string, checks: (applyOutput: string) => Promise<void>): Promise<void> {
  const out = applyYaml(name, yaml);
  try {
    await checks(out);
  } finally {
    ambit('delete', '-f', path.join(stateDir, `${name}.yaml`));
  }
}

/** Waits until both node tunnels list the policy (so a decision seen afterwards is the policy's). */
async function policyPushed(namespace: string, name: string, present = true): Promise<void> {
  await eventually(`${namespace}/${name} ${present ? 'on' : 'gone from'} both tunnels`, () => {
    const out = ok('tunnel-config', 'policies');
    const rows = out.split('\n').filter((l) => new RegExp(`\\s${namespace}\\s+${name}\\s`).test(` ${l} `));
    return (present ? rows.length >= 2 : rows.length === 0) ? true : undefined;
  }, 15_000);
}

describe('Istio semantics in a real cluster: authz, PeerAuthentication, no NACKs', { skip, timeout: 300_000 }, () => {
  let echoIP = '';

  before(async () => {
    ok('cluster', 'up', '--nodes', '2');
    applyYaml('base', manifest);
    await eventually('pods ready', () => (ready(pod('demo', 'client')) && ready(pod('demo', 'echo')) && ready(pod('outside', 'outsider')) ? true : undefined));
    echoIP = pod('demo', 'echo').status!.podIP!;
    await eventually('mesh traffic flows', () => (httpOk('demo', 'client', `http://${echoIP}:8080/`) ? true : undefined));
  });

  after(() => {
    ambit('cluster', 'down', '--force');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('an ALLOW with two `when` conditions ANDs them: demo → 9999 allowed, demo → 8080 denied', async () => {
    assert.ok(tcpEchoOk('demo', 'client', echoIP, 9999), 'the TCP echo port works before any policy');
    await withYaml('allow-when', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-when, namespace: demo}
spec:
  selector: {matchLabels: {app: echo}}
  action: ALLOW
  rules:
  - when:
    - {key: source.namespace, values: [demo]}
    - {key: destination.port, values: ["9999"]}
`, async () => {
      await policyPushed('demo', 'allow-when');
      await eventually('8080 denied by the ANDed conditions', () => (!httpOk('demo', 'client', `http://${echoIP}:8080/`) ? true : undefined), 10_000);
      assert.ok(tcpEchoOk('demo', 'client', echoIP, 9999), 'both conditions hold on 9999: allowed');
      assert.match(tunnelLog('node2'), /inbound 401 spiffe:\/\/cluster\.local\/ns\/demo\/sa\/client .*:8080/);
    });
    await eventually('8080 allowed again', () => (httpOk('demo', 'client', `http://${echoIP}:8080/`) ? true : undefined), 10_000);
  });

  test('a DENY whose `to` holds only L7 attributes is a no-op, as in istiod (not a deny of the whole namespace)', async () => {
    await withYaml('deny-l7', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-l7, namespace: demo}
spec:
  selector: {matchLabels: {app: echo}}
  action: DENY
  rules:
  - from: [{source: {namespaces: [demo]}}]
    to: [{operation: {methods: [POST]}}]
`, async (out) => {
      assert.match(out, /no effect|no-op/i, `apply warns that the rule does nothing at L4: ${out}`);
      await policyPushed('demo', 'deny-l7');
      for (let i = 0; i < 3; i++) assert.ok(httpOk('demo', 'client', `http://${echoIP}:8080/`), 'the L7-only DENY denies nothing at the node tunnel');
    });
    await policyPushed('demo', 'deny-l7', false);
  });

  test('dry-run: a DENY annotated istio.io/dry-run is logged as it would decide and never enforced', async () => {
    await withYaml('deny-dry', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-dry, namespace: demo, annotations: {istio.io/dry-run: "true"}}
spec:
  selector: {matchLabels: {app: echo}}
  action: DENY
  rules:
  - from: [{source: {principals: ["cluster.local/ns/demo/sa/client"]}}]
`, async () => {
      await policyPushed('demo', 'deny-dry');
      assert.ok(httpOk('demo', 'client', `http://${echoIP}:8080/`), 'a dry-run DENY is not enforced');
      await eventually('the would-be decision is logged', () => (/dry[- ]run.*deny-dry|deny-dry.*dry[- ]run/i.test(tunnelLog('node2')) ? true : undefined), 10_000);
    });
    await policyPushed('demo', 'deny-dry', false);
  });

  test('namespace STRICT + a workload PeerAuthentication with no mode: a DISABLE port stays STRICT, a PERMISSIVE port is exempt', async () => {
    assert.ok(httpOk('outside', 'outsider', `http://${echoIP}:8080/`), 'plaintext from outside the mesh passes by default (PERMISSIVE)');
    const pa = (ports: string): string => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: demo}
spec:
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: echo-ports, namespace: demo}
spec:
  selector: {matchLabels: {app: echo}}
  portLevelMtls:
${ports}`;
    await withYaml('strict', pa('    8080: {mode: DISABLE}\n'), async () => {
      await eventually('8080 refused in plaintext', () => (!httpOk('outside', 'outsider', `http://${echoIP}:8080/`) ? true : undefined), 15_000);
      assert.ok(!tcpEchoOk('outside', 'outsider', echoIP, 9999), 'the inherited STRICT covers the other ports');
      assert.ok(!httpOk('outside', 'outsider', `http://${echoIP}:8080/`), 'DISABLE under an inherited STRICT stays STRICT (istiod lists the static strict policy)');
      assert.ok(httpOk('demo', 'client', `http://${echoIP}:8080/`), 'mesh traffic (mTLS) still passes');
      // The same workload policy with a PERMISSIVE port instead: that port is exempt, the rest stays STRICT.
      applyYaml('strict', pa('    9999: {mode: PERMISSIVE}\n'));
      await eventually('9999 exempt from STRICT', () => (tcpEchoOk('outside', 'outsider', echoIP, 9999) ? true : undefined), 15_000);
      assert.ok(!httpOk('outside', 'outsider', `http://${echoIP}:8080/`), '8080 inherits STRICT');
    });
    await eventually('plaintext allowed again', () => (httpOk('outside', 'outsider', `http://${echoIP}:8080/`) ? true : undefined), 10_000);
  });

  test('a Service with tcp / tls / appProtocol ports reaches both node tunnels without a NACK, and its VIP works', async () => {
    const vip = json<{ spec: { clusterIP: string } }>('get', 'service', 'echo', '-n', 'demo').spec.clusterIP;
    assert.ok(tcpEchoOk('demo', 'client', vip, 9999), 'tcp- port through the VIP');
    assert.ok(tcpEchoOk('demo', 'client', vip, 9998), 'appProtocol: tcp port through the VIP');
    const ports = (JSON.parse(fs.readFileSync(path.join(stateDir, cluster, 'cluster.json'), 'utf8')) as { tunnelPorts: Record<string, { admin: number }> }).tunnelPorts;
    const adminToken = (JSON.parse(fs.readFileSync(path.join(stateDir, cluster, 'tokens.json'), 'utf8')) as { token: string; role: string }[]).find((t) => t.role === 'admin')!.token;
    for (const n of ['node1', 'node2']) {
      const dump = (await (await fetch(`http://127.0.0.1:${ports[n]!.admin}/config_dump`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { xds: { stats: { nacks: number; acks: number } } };
      assert.equal(dump.xds.stats.nacks, 0, `${n}: no xDS response was NACKed`);
      assert.ok(dump.xds.stats.acks > 0, `${n}: pushes were ACKed`);
    }
  });
});
