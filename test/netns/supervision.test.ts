// Supervision like a DaemonSet's (issue 17 item 7), in its own 2-node cluster: SIGKILL node2's
// tunnel while a curl loop goes through the mesh; its node agent restarts it, mesh traffic is
// served again within 10 s, nothing crosses the fabric in plaintext meanwhile (tcpdump on the
// bridge), and `cluster status` shows the restart.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasTool } from '../../src/platform/exec.js';
import { BIN, clusterCli, eventually, podReady, type PodView } from './support/cluster-cli.js';

const missing = ['ip', 'nft', 'curl', 'tcpdump', 'openssl'].filter((t) => !hasTool(t));
const skip = process.getuid?.() !== 0 ? 'needs root: creates network namespaces' : missing.length ? `needs ${missing.join(', ')}` : false;
if (skip) console.error(`\n*** SKIPPING supervision test: ${skip} ***\n`);

const cluster = `s${process.pid % 100000}${Math.floor(Math.random() * 100)}`.slice(0, 12);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-supervision-'));
const { ambit, ok, json, env } = clusterCli(cluster, stateDir);
const MARKER = 'AMBIT-PLAINTEXT-MARKER-5b1c';

const manifest = `
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: demo}
spec:
  nodeName: node1
  containers: [{name: c, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: echo, namespace: demo, labels: {app: echo}}
spec:
  nodeName: node2
  containers:
  - name: echo
    command: ["ambit", "app", "echo", "--http-port", "8080"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
`;

type PodObj = PodView;
const ready = podReady;
const info = (): { pids: { tunnels: Record<string, number> }; restarts?: Record<string, { count: number; lastReason: string }> } =>
  JSON.parse(fs.readFileSync(path.join(stateDir, cluster, 'cluster.json'), 'utf8')) as never;

describe('supervision: a killed node tunnel comes back', { skip, timeout: 150_000 }, () => {
  let echoIP = '';
  before(async () => {
    ok('cluster', 'up', '--nodes', '2');
    const file = path.join(stateDir, 'm.yaml');
    fs.writeFileSync(file, manifest);
    ok('apply', '-f', file);
    ok('label', 'namespace', 'demo', 'istio.io/dataplane-mode=ambient');
    echoIP = await eventually('echo ready', () => {
      const p = json<PodObj>('get', 'pod', 'echo', '-n', 'demo');
      return ready(p) ? p.status!.podIP : undefined;
    }, 60_000);
    await eventually('mesh traffic', () => (ambit('exec', 'client', '-n', 'demo', '--', 'curl', '-s', '-m', '3', `http://${echoIP}:8080/`).code === 0 ? true : undefined), 60_000);
  });

  after(() => {
    ambit('cluster', 'down', '--force');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('SIGKILL node2 tunnel under load: back within 10 s, no plaintext on the wire, restart recorded', async () => {
    const pcap = path.join(stateDir, 'gap.pcap');
    const cap: ChildProcess = spawn('ip', ['netns', 'exec', `ambit-${cluster}-fabric`, 'tcpdump', '--immediate-mode', '-i', 'br0', '-U', '-s', '0', '-w', pcap, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let capErr = '';
    cap.stderr!.on('data', (d: Buffer) => (capErr += d.toString()));
    await eventually('tcpdump listening', () => (/listening on/.test(capErr) ? true : undefined), 10_000, 50);
    // One curl every ~100 ms from the client pod: "<unix ms> <http code>".
    const loop = spawn(process.execPath, [BIN, 'exec', 'client', '-n', 'demo', '--', 'bash', '-c',
      `while true; do c=$(curl -s -m 1 -o /dev/null -w '%{http_code}' -H 'x-marker: ${MARKER}' -d '${MARKER}' http://${echoIP}:8080/); echo "$(date +%s%3N) $c"; sleep 0.1; done`], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    const samples: { at: number; ok: boolean }[] = [];
    let buf = '';
    loop.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const [at, code] = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 1);
        samples.push({ at: Number(at), ok: code === '200' });
      }
    });
    try {
      await eventually('the loop to succeed', () => (samples.some((s) => s.ok) ? true : undefined), 20_000, 100);
      const victim = info().pids.tunnels['node2']!;
      const killedAt = Date.now();
      process.kill(victim, 'SIGKILL');
      const back = await eventually('mesh traffic served again', () => samples.find((s) => s.at > killedAt + 50 && s.ok), 30_000, 100);
      const gapMs = back.at - killedAt;
      console.log(`# supervision: node2 tunnel SIGKILLed; mesh traffic served again after ${gapMs} ms (${samples.filter((s) => s.at > killedAt && !s.ok).length} failed requests in the gap)`);
      assert.ok(gapMs < 10_000, `traffic back after ${gapMs} ms (bound 10 s)`);
      const now = info();
      assert.notEqual(now.pids.tunnels['node2'], victim, 'a new tunnel pid is recorded');
      assert.equal(now.restarts?.['tunnel/node2']?.count, 1);
      assert.match(now.restarts!['tunnel/node2']!.lastReason, new RegExp(`pid ${victim} exited unexpectedly`));
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      loop.kill('SIGTERM');
      cap.kill('SIGINT');
      await new Promise((r) => cap.once('exit', r));
    }
    const dump = spawnSync('tcpdump', ['-r', pcap, '-A', '-nn'], { encoding: 'latin1' }).stdout;
    assert.ok(dump.length > 0, 'the capture saw traffic');
    assert.ok(!dump.includes(MARKER), 'no plaintext request on the fabric, also not while the tunnel was down');
    const status = ambit('cluster', 'status');
    assert.match(status.out, /node2: agent running, tunnel ready \(restarts 1, /, status.out);
  });

  test('admin port: POST /quitquitquit without the admin token is 401 and the tunnel keeps running; tunnel-config log still works', async () => {
    const ports = (JSON.parse(fs.readFileSync(path.join(stateDir, cluster, 'cluster.json'), 'utf8')) as { tunnelPorts: Record<string, { admin: number }> }).tunnelPorts;
    const pid = info().pids.tunnels['node1']!;
    const r = await fetch(`http://127.0.0.1:${ports['node1']!.admin}/quitquitquit`, { method: 'POST' });
    assert.equal(r.status, 401);
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(info().pids.tunnels['node1'], pid);
    assert.ok(fs.existsSync(`/proc/${pid}`), 'the tunnel still runs');
    assert.match(ok('tunnel-config', 'log', '--level', 'debug', '--node', 'node1'), /node1: log level set to debug/);
    assert.match(ok('tunnel-config', 'log', '--level', 'info'), /node2: log level set to info/);
  });
});
