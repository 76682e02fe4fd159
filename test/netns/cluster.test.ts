// End-to-end: a real 2-node cluster made by `ambit cluster up`, driven only through the
// CLI as a user would: apply the demo, curl by name / VIP / pod IP across nodes, scale,
// crash and restart the control plane, and check that `cluster down` leaves nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CaClient } from '../../src/identity/ca-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(ROOT, 'dist', 'src', 'bin', 'ambit.js');
const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root: creates network namespaces, veth links and nftables rules (CI runs as root)';

const cluster = `e${process.pid % 100000}${Math.floor(Math.random() * 100)}`.slice(0, 12);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-e2e-'));
const env = { ...process.env, AMBIT_STATE_DIR: stateDir, AMBIT_CLUSTER: cluster };

function ambit(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

function ok(...args: string[]): string {
  const r = ambit(...args);
  assert.equal(r.code, 0, `ambit ${args.join(' ')} failed (${r.code}):\n${r.out}\n${r.err}`);
  return r.out;
}

function json<T>(...args: string[]): T {
  return JSON.parse(ok(...args, '-o', 'json')) as T;
}

interface Obj { metadata: { name: string; namespace?: string }; spec: Record<string, unknown>; status?: Record<string, unknown> }
interface List { items: Obj[] }

async function eventually<T>(what: string, fn: () => T | undefined, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

const readyPods = (app: string): Obj[] =>
  json<List>('get', 'pods', '-n', 'demo', '-l', `app=${app}`).items.filter((p) =>
    ((p.status?.['conditions'] as { type: string; status: string }[] | undefined) ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  );

const readyAddresses = (): string[] => {
  const ep = json<{ subsets?: { addresses?: { ip: string }[] }[] }>('get', 'endpoints', 'echo', '-n', 'demo');
  return (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
};

function curlFrom(client: string, url: string): { pod: string; node: string; client: { address: string } } {
  const out = ok('exec', client, '-n', 'demo', '--', 'curl', '-s', '--fail', '--max-time', '5', url);
  return JSON.parse(out) as { pod: string; node: string; client: { address: string } };
}

describe('local cluster end to end', { skip, timeout: 240_000 }, () => {
  let client = '';
  let clientIP = '';

  before(() => {
    ok('cluster', 'up', '--nodes', '2');
  });

  after(() => {
    ambit('cluster', 'down', '--force');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('the demo applies and its deployments become ready on both nodes', async () => {
    const out = ok('apply', '-f', path.join(ROOT, 'examples', 'demo'));
    assert.match(out, /deployment.apps\/echo created/);
    await eventually('2 ready echo pods and 1 client', () => (readyPods('echo').length === 2 && readyPods('client').length === 1 ? true : undefined));
    const nodes = new Set(readyPods('echo').map((p) => p.spec['nodeName']));
    assert.equal(nodes.size, 2, 'the scheduler spreads the two echo replicas over both nodes');
    const c = readyPods('client')[0]!;
    client = c.metadata.name;
    clientIP = c.status!['podIP'] as string;
  });

  test('a client pod reaches the echo service by name, and the echo sees the client pod IP', async () => {
    await eventually('service rules', () => (readyAddresses().length === 2 ? true : undefined));
    for (const url of ['http://echo.demo.svc.cluster.local/', 'http://echo.demo/', 'http://echo/']) {
      const body = await eventually(`curl ${url}`, () => curlFrom(client, url));
      assert.equal(body.client.address, clientIP, `${url}: echo saw the caller's pod IP`);
    }
  });

  test('the Service VIP balances over endpoints on both nodes', async () => {
    const svc = json<Obj>('get', 'service', 'echo', '-n', 'demo');
    const vip = svc.spec['clusterIP'] as string;
    assert.match(vip, /^10\.96\.\d+\.\d+$/);
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 2; i++) seen.add(curlFrom(client, `http://${vip}/`).node);
    assert.equal(seen.size, 2, `answers came from ${[...seen].join(', ')}`);
  });

  test('pods reach each other by pod IP across nodes, and the raw TCP echo port works', () => {
    const echo = readyPods('echo').find((p) => p.spec['nodeName'] !== readyPods('client')[0]!.spec['nodeName'])!;
    const ip = echo.status!['podIP'] as string;
    const body = curlFrom(client, `http://${ip}:8080/`);
    assert.equal(body.pod, echo.metadata.name);
    const tcp = ok('exec', client, '-n', 'demo', '--', 'bash', '-c', `exec 3<>/dev/tcp/${ip}/9000; printf ping >&3; timeout 2 head -c 4 <&3`);
    assert.equal(tcp, 'ping');
  });

  test('exec passes the exit code through and logs show the container output', () => {
    assert.equal(ambit('exec', client, '-n', 'demo', '--', 'sh', '-c', 'exit 7').code, 7);
    const echo = readyPods('echo')[0]!.metadata.name;
    assert.match(ok('logs', echo, '-n', 'demo'), /echo: http :8080/);
  });

  test('scaling a deployment updates its endpoints', async () => {
    ok('scale', 'deployment/echo', '-n', 'demo', '--replicas', '4');
    await eventually('4 ready endpoints', () => (readyAddresses().length === 4 ? true : undefined));
    ok('scale', 'deployment/echo', '-n', 'demo', '--replicas', '1');
    await eventually('1 endpoint and 1 echo pod', () => (readyAddresses().length === 1 && json<List>('get', 'pods', '-n', 'demo', '-l', 'app=echo').items.length === 1 ? true : undefined));
    // Traffic follows: every request now lands on the single remaining pod.
    const only = readyPods('echo')[0]!.metadata.name;
    for (let i = 0; i < 5; i++) assert.equal(curlFrom(client, 'http://echo.demo/').pod, only);
  });

  test('restartPolicy restarts crashing containers with backoff, and readiness gates endpoints', async () => {
    const file = path.join(stateDir, 'lifecycle.yaml');
    fs.writeFileSync(
      file,
      [
        'apiVersion: v1\nkind: Pod\nmetadata: {name: crasher, namespace: demo}\nspec:\n  containers:\n  - name: c\n    command: ["sh", "-c", "echo crashing; exit 3"]',
        'apiVersion: v1\nkind: Pod\nmetadata: {name: oneshot, namespace: demo}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: c\n    command: ["true"]',
        'apiVersion: v1\nkind: Pod\nmetadata: {name: unready, namespace: demo, labels: {app: unready}}\nspec:\n  containers:\n  - name: c\n    command: ["sleep", "600"]\n    readinessProbe: {tcpSocket: {port: 7777}, periodSeconds: 1}',
        'apiVersion: v1\nkind: Service\nmetadata: {name: unready, namespace: demo}\nspec:\n  selector: {app: unready}\n  ports: [{port: 80, targetPort: 7777}]',
      ].join('\n---\n'),
    );
    ok('apply', '-f', file);
    const statusOf = (name: string): { phase?: string; containerStatuses?: { restartCount: number; state?: { waiting?: { reason: string } } }[] } =>
      json<Obj>('get', 'pod', name, '-n', 'demo').status as never;
    await eventually('crasher restarted twice', () => ((statusOf('crasher').containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? true : undefined), 20_000);
    assert.match(ok('get', 'pod', 'crasher', '-n', 'demo'), /CrashLoopBackOff|Running/);
    assert.match(ok('logs', 'crasher', '-n', 'demo'), /crashing\ncrashing/);
    await eventually('oneshot Succeeded', () => (statusOf('oneshot').phase === 'Succeeded' ? true : undefined));
    await eventually('unready listed as not ready', () => {
      const ep = json<{ subsets?: { addresses?: unknown[]; notReadyAddresses?: { ip: string }[] }[] }>('get', 'endpoints', 'unready', '-n', 'demo');
      return ep.subsets?.[0]?.notReadyAddresses?.length === 1 && !ep.subsets[0]!.addresses ? true : undefined;
    });
    const vip = json<Obj>('get', 'service', 'unready', '-n', 'demo').spec['clusterIP'] as string;
    const r = ambit('exec', client, '-n', 'demo', '--', 'curl', '-s', '--max-time', '3', `http://${vip}/`);
    assert.equal(r.code, 7, 'a Service without ready endpoints refuses connections at once (curl exit 7)');
    ok('delete', '-f', file);
  });

  test('a control-plane crash and restart keeps every resource, and the cluster keeps working', async () => {
    const before = ['namespaces', 'serviceaccounts', 'services', 'deployments', 'pods', 'endpoints'].map((k) => ok('get', k, '-A', '-o', 'json'));
    const info = JSON.parse(fs.readFileSync(path.join(stateDir, cluster, 'cluster.json'), 'utf8')) as { pids: { controlPlane: number } };
    process.kill(info.pids.controlPlane, 'SIGKILL');
    const down = ambit('get', 'pods', '-A');
    assert.notEqual(down.code, 0, 'the API is unreachable while the control plane is down');
    assert.match(down.err, /cannot reach the API server/);
    ok('cluster', 'restart', 'control-plane');
    const after = ['namespaces', 'serviceaccounts', 'services', 'deployments', 'pods', 'endpoints'].map((k) => ok('get', k, '-A', '-o', 'json'));
    const strip = (s: string): unknown => (JSON.parse(s) as List).items.map((o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } }));
    // Objects may have moved on (status heartbeats), but nothing is lost: same names, same specs.
    for (let i = 0; i < before.length; i++) {
      const names = (s: string): string[] => (JSON.parse(s) as List).items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
      assert.deepEqual(names(after[i]!), names(before[i]!));
      assert.deepEqual((strip(after[i]!) as Obj[]).map((o) => o.spec), (strip(before[i]!) as Obj[]).map((o) => o.spec));
    }
    // Node agents resume their watches: a scale after the restart still turns into pods and endpoints.
    ok('scale', 'deployment/echo', '-n', 'demo', '--replicas', '2');
    await eventually('2 ready endpoints after restart', () => (readyAddresses().length === 2 ? true : undefined));
  });

  test('the CA issues workload identities only to the node that runs them, and publishes roots and CRLs', async () => {
    const info = JSON.parse(fs.readFileSync(path.join(stateDir, cluster, 'cluster.json'), 'utf8')) as { caPort: number };
    assert.match(ok('ca', 'status'), /self-signed/);
    const out = path.join(stateDir, 'issued');
    ok('ca', 'issue', '--identity', 'spiffe://cluster.local/ns/demo/sa/client', '--ttl', '1h', '--out', out);
    const verified = spawnSync('openssl', ['verify', '-CAfile', path.join(out, 'root.pem'), path.join(out, 'cert.pem')], { encoding: 'utf8' });
    assert.match(verified.stdout, /OK/);
    assert.match(spawnSync('openssl', ['x509', '-in', path.join(out, 'cert.pem'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' }).stdout, /URI:spiffe:\/\/cluster.local\/ns\/demo\/sa\/client/);

    // A node agent's credential: the identity of a pod on its node, nothing else.
    const clientNode = readyPods('client')[0]!.spec['nodeName'] as string;
    const otherNode = clientNode === 'node1' ? 'node2' : 'node1';
    const roots = fs.readFileSync(path.join(stateDir, cluster, 'ca', 'roots.pem'), 'utf8');
    const caFor = (node: string): CaClient =>
      new CaClient({ address: `127.0.0.1:${info.caPort}`, rootsPem: roots, token: () => fs.readFileSync(path.join(stateDir, cluster, 'nodes', node, 'ca-token'), 'utf8').trim() });
    const mine = caFor(clientNode);
    const cert = await mine.fetchCertificate('spiffe://cluster.local/ns/demo/sa/client', 600);
    assert.equal(cert.identity, 'spiffe://cluster.local/ns/demo/sa/client');
    mine.close();
    const theirs = caFor(otherNode);
    await assert.rejects(theirs.fetchCertificate('spiffe://cluster.local/ns/demo/sa/client', 600), /no pod with service account demo\/client is scheduled on/);
    theirs.close();

    assert.match(ok('get', 'configmap', 'istio-ca-root-cert', '-n', 'demo', '-o', 'yaml'), /root-cert.pem/);
    ok('ca', 'revoke', '--serial', cert.serial);
    await eventually('the CRL ConfigMap lists the revoked serial', () => {
      const cm = json<{ data: Record<string, string> }>('get', 'configmap', 'istio-ca-crl', '-n', 'istio-system');
      const text = spawnSync('openssl', ['crl', '-noout', '-text'], { input: cm.data['ca-crl.pem'], encoding: 'utf8' }).stdout;
      return text.toUpperCase().includes(cert.serial.toUpperCase().replace(/^0+/, '')) ? true : undefined;
    }, 10_000);
  });

  test('cluster down removes every namespace, /etc/netns entry and process', async () => {
    const info = JSON.parse(fs.readFileSync(path.join(stateDir, cluster, 'cluster.json'), 'utf8')) as { pids: { controlPlane: number; nodes: Record<string, number> } };
    const podNetns = fs.readdirSync('/run/netns').filter((n) => n.startsWith(`ambit-${cluster}-pod-`));
    assert.ok(podNetns.length >= 3, 'pods have namespaces before down');
    ok('cluster', 'down');
    assert.deepEqual(fs.readdirSync('/run/netns').filter((n) => n.startsWith(`ambit-${cluster}-`)), []);
    assert.deepEqual(fs.existsSync('/etc/netns') ? fs.readdirSync('/etc/netns').filter((n) => n.startsWith(`ambit-${cluster}-`)) : [], []);
    for (const pid of [info.pids.controlPlane, ...Object.values(info.pids.nodes)]) {
      // Terminated: gone, or a zombie waiting for init (its parent, the CLI, exited long ago).
      let state = 'gone';
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      } catch {
        /* gone */
      }
      assert.ok(state === 'gone' || state === 'Z', `pid ${pid} has terminated (state ${state})`);
    }
    assert.equal(fs.existsSync(path.join(stateDir, cluster)), false, 'state directory removed');
    assert.notEqual(ambit('get', 'pods').code, 0);
    assert.match(ambit('get', 'pods').err, /is not running/);
  });
});

describe('crash leftovers and coexisting clusters', { skip, timeout: 120_000 }, () => {
  const other = `f${process.pid % 100000}${Math.floor(Math.random() * 100)}`.slice(0, 12);
  const envB = { ...env, AMBIT_CLUSTER: other };
  const b = (...args: string[]): { code: number; out: string; err: string } => {
    const r = spawnSync(process.execPath, [BIN, ...args], { env: envB, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
  };

  after(() => {
    b('cluster', 'down', '--force');
    ambit('cluster', 'down', '--force');
  });

  test('two clusters with different names run side by side with the same addresses', () => {
    assert.equal(ambit('cluster', 'up', '--nodes', '1').code, 0);
    const r = b('cluster', 'up', '--nodes', '1');
    assert.equal(r.code, 0, r.err);
    for (const run of [ambit, b]) assert.match(run('get', 'nodes').out, /node1\s+Ready/);
    assert.equal(ambit('cluster', 'down').code, 0);
    assert.match(b('get', 'nodes').out, /node1\s+Ready/, 'removing one cluster leaves the other alone');
  });

  test('after a crash that lost the state file, down --force still finds and removes everything', async () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: sleeper\nspec:\n  containers:\n  - name: s\n    command: ["sleep", "600"]\n';
    const file = path.join(stateDir, 'sleeper.yaml');
    fs.writeFileSync(file, pod);
    assert.equal(b('apply', '-f', file).code, 0);
    await eventually('sleeper running', () => (/Running/.test(b('get', 'pods').out) ? true : undefined));
    const info = JSON.parse(fs.readFileSync(path.join(stateDir, other, 'cluster.json'), 'utf8')) as { pids: { controlPlane: number; nodes: Record<string, number> } };
    for (const pid of [info.pids.controlPlane, ...Object.values(info.pids.nodes)]) process.kill(pid, 'SIGKILL');
    fs.rmSync(path.join(stateDir, other, 'cluster.json'));
    const refused = b('cluster', 'down');
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /down --force/);
    assert.equal(b('cluster', 'up').code !== 0 && /leftovers/.test(b('cluster', 'up').err), true, 'up refuses to start over leftovers');
    assert.equal(b('cluster', 'down', '--force').code, 0);
    assert.deepEqual(fs.readdirSync('/run/netns').filter((n) => n.startsWith(`ambit-${other}-`)), []);
  });
});
