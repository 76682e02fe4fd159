// The local cluster network for real: a throwaway 2-node cluster with 3 pods, checked with
// real sockets and tools (curl, node clients): pod-to-pod on one node and across nodes,
// service VIPs (both nodes' endpoints, refusal without endpoints, hairpin), DNS via the
// pod's hosts file, process tracking, and that destroy leaves nothing behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clusterPrefix, nodeName, nodeNetns } from '../../src/local/cluster/addressing.js';
import { Ipam } from '../../src/local/cluster/ipam.js';
import { createClusterNetwork, destroyClusterNetwork, listClusterNodes } from '../../src/local/cluster/net/fabric.js';
import { findLeftovers, isEmpty, removeLeftovers } from '../../src/local/cluster/net/leftovers.js';
import { NetnsPodRuntime } from '../../src/local/cluster/net/netns-runtime.js';
import { pidsInNetns } from '../../src/local/cluster/net/processes.js';
import { applyServiceRules, renderServiceRules } from '../../src/local/cluster/net/service-proxy.js';
import type { RunningProcess, Sandbox } from '../../src/local/cluster/runtime.js';
import { hasTool, isRoot } from '../../src/platform/exec.js';

const missing = ['ip', 'nft', 'curl'].filter((t) => !hasTool(t));
const skip = !isRoot() ? 'needs root: creates network namespaces' : missing.length > 0 ? `needs ${missing.join(', ')} installed` : false;
if (skip) console.error(`\n*** SKIPPING netns network test: ${skip} ***\n`);

const cluster = `t${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;

// Answers every request with its pod name; Connection: close from curl makes each request a new connection.
const HTTP_SERVER = `require('http').createServer((q, s) => s.end(process.env.NAME + '\\n')).listen(Number(process.env.PORT), '0.0.0.0')`;
const UDP_ECHO = `const s = require('dgram').createSocket('udp4'); s.on('message', (m, r) => s.send(process.env.NAME + ':' + m, r.port, r.address)); s.bind(Number(process.env.PORT))`;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function inNetns(ns: string, argv: string[], timeoutMs = 10_000): Result {
  const t0 = Date.now();
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

const curl = (ns: string, ...args: string[]): Result => inNetns(ns, ['curl', '-sS', '--max-time', '3', ...args]);

/** N separate connections to url from ns; returns how often each backend answered. */
function hits(ns: string, url: string, n: number): Map<string, number> {
  const r = curl(ns, '-H', 'Connection: close', ...Array.from({ length: n }, () => url));
  assert.equal(r.status, 0, r.stderr);
  const counts = new Map<string, number>();
  for (const line of r.stdout.split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

async function waitFor(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('netns cluster network', { skip, timeout: 60_000 }, () => {
  const logs = mkdtempSync(join(tmpdir(), 'ambit-nettest-'));
  const rt1 = new NetnsPodRuntime({ cluster, nodeIndex: 1 });
  const rt2 = new NetnsPodRuntime({ cluster, nodeIndex: 2 });
  const ipam1 = new Ipam(1);
  const ipam2 = new Ipam(2);
  const procs: RunningProcess[] = [];
  // a: client on node1, b: server on node1 (:8080), c: server on node2 (:9090, also UDP :5353)
  let a: Sandbox;
  let b: Sandbox;
  let c: Sandbox;

  const start = (rt: NetnsPodRuntime, sb: Sandbox, name: string, script: string, port: number): RunningProcess => {
    const p = rt.startProcess(sb, { command: [process.execPath, '-e', script], env: { NAME: name, PORT: String(port) }, logPath: join(logs, `${name}-${port}.log`) });
    procs.push(p);
    return p;
  };

  before(async () => {
    await createClusterNetwork(cluster, 2);
    a = await rt1.createSandbox({ namespace: 'demo', name: 'a', uid: 'ua' }, ipam1.allocate('demo/a'));
    b = await rt1.createSandbox({ namespace: 'demo', name: 'b', uid: 'ub' }, ipam1.allocate('demo/b'));
    c = await rt2.createSandbox({ namespace: 'demo', name: 'c', uid: 'uc' }, ipam2.allocate('demo/c'));
    start(rt1, b, 'b', HTTP_SERVER, 8080);
    start(rt2, c, 'c', HTTP_SERVER, 9090);
    start(rt2, c, 'c', UDP_ECHO, 5353);
    await waitFor('servers to listen', () => curl(a.netns, `http://${b.podIP}:8080/`).status === 0 && curl(a.netns, `http://${c.podIP}:9090/`).status === 0);
  });

  after(async () => {
    // Runs on failure too: whatever the test left, remove it by this cluster's prefix only.
    for (const p of procs) p.kill('SIGKILL');
    await destroyClusterNetwork(cluster).catch(async () => removeLeftovers(findLeftovers(cluster)));
    rmSync(logs, { recursive: true, force: true });
  });

  it('built the fabric, both nodes and refuses to build it twice', async () => {
    assert.deepEqual(listClusterNodes(cluster), [1, 2]);
    assert.deepEqual([a.podIP, b.podIP, c.podIP], ['10.0.1.2', '10.0.1.3', '10.0.2.2']);
    await assert.rejects(createClusterNetwork(cluster, 2), { message: `cluster network '${cluster}' already exists; run ambit cluster down` });
  });

  it('created nothing in the host namespace', () => {
    const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(links, /\bvp\d+\b|\bnode\d+@/);
    const tables = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(tables, /ambit_services/);
  });

  it('same-node pod to pod by pod IP', () => {
    const r = curl(a.netns, `http://${b.podIP}:8080/`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'b\n');
  });

  it('cross-node pod to pod by pod IP, both directions', () => {
    assert.equal(curl(a.netns, `http://${c.podIP}:9090/`).stdout, 'c\n');
    assert.equal(curl(c.netns, `http://${b.podIP}:8080/`).stdout, 'b\n');
  });

  it('the node itself reaches pods on both nodes', () => {
    assert.equal(curl(rt1.nodeNetns, `http://${b.podIP}:8080/`).stdout, 'b\n');
    assert.equal(curl(rt1.nodeNetns, `http://${c.podIP}:9090/`).stdout, 'c\n');
  });

  it('tracks the processes of a pod by namespace', () => {
    const server = procs[0];
    assert.ok(server);
    assert.ok(pidsInNetns(b.netns).includes(server.pid), `pid ${server.pid} not found in ${b.netns}`);
    assert.deepEqual(pidsInNetns(a.netns), []);
  });

  describe('services', () => {
    before(async () => {
      const script = renderServiceRules([
        { vip: '10.96.0.10', port: 80, protocol: 'TCP', endpoints: [{ ip: b.podIP, port: 8080 }, { ip: c.podIP, port: 9090 }] },
        { vip: '10.96.0.11', port: 80, protocol: 'TCP', endpoints: [] },
        { vip: '10.96.0.12', port: 80, protocol: 'TCP', endpoints: [{ ip: b.podIP, port: 8080 }] },
        { vip: '10.96.0.53', port: 53, protocol: 'UDP', endpoints: [{ ip: c.podIP, port: 5353 }] },
        { vip: '10.96.0.54', port: 53, protocol: 'UDP', endpoints: [] },
      ]);
      // Every node gets the same table, as kube-proxy does.
      for (const i of [1, 2]) await applyServiceRules(nodeNetns(cluster, nodeName(i)), script);
    });

    it('a VIP spreads new connections over endpoints on both nodes (different ports)', () => {
      for (const from of [a.netns, c.netns, rt1.nodeNetns]) {
        const counts = hits(from, 'http://10.96.0.10/', 40);
        assert.deepEqual([...counts.keys()].sort(), ['b', 'c'], `from ${from}: ${JSON.stringify([...counts])}`);
      }
    });

    it('a VIP without endpoints is refused at once, from a pod and from the node', () => {
      for (const from of [a.netns, rt2.nodeNetns]) {
        const r = curl(from, 'http://10.96.0.11/');
        assert.equal(r.status, 7, `curl should fail to connect: ${r.stderr}`); // 7 = connection refused
        assert.ok(r.ms < 1000, `refusal took ${r.ms} ms`);
      }
      // An unknown port on a known VIP, and an unknown VIP, are refused too.
      assert.equal(curl(a.netns, 'http://10.96.0.10:81/').status, 7);
      assert.equal(curl(a.netns, 'http://10.96.99.99/').status, 7);
    });

    it('UDP: DNAT to the endpoint, and ICMP refusal without endpoints', () => {
      const client = (vip: string): Result =>
        inNetns(a.netns, [
          process.execPath,
          '-e',
          `const s = require('dgram').createSocket('udp4');
           s.on('error', (e) => { console.log(e.code); process.exit(0); });
           s.on('message', (m) => { console.log(String(m)); process.exit(0); });
           s.connect(53, '${vip}', () => s.send('ping'));
           setTimeout(() => { console.log('TIMEOUT'); process.exit(1); }, 2000);`,
        ]);
      assert.equal(client('10.96.0.53').stdout.trim(), 'c:ping');
      assert.equal(client('10.96.0.54').stdout.trim(), 'ECONNREFUSED');
    });

    it('hairpin: a pod reaches its own service through the VIP', () => {
      const r = curl(b.netns, 'http://10.96.0.12/');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'b\n');
    });
  });

  describe('dns', () => {
    it('resolves service names from the pod hosts file with curl (getaddrinfo)', () => {
      rt1.writeDns(a, [{ ip: '10.96.0.10', names: ['echo.demo.svc.cluster.local', 'echo.demo', 'echo'] }], ['demo.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
      const resolv = readFileSync(`/etc/netns/${a.netns}/resolv.conf`, 'utf8');
      assert.match(resolv, /^search demo\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
      assert.match(resolv, /^options ndots:5$/m);
      for (const url of ['http://echo.demo.svc.cluster.local/', 'http://echo/']) {
        const r = curl(a.netns, url);
        assert.equal(r.status, 0, `${url}: ${r.stderr}`);
        assert.match(r.stdout, /^[bc]\n$/);
      }
      assert.equal(curl(a.netns, 'http://localhost:1/').status, 7); // localhost still resolves
      assert.equal(curl(a.netns, 'http://nosuch.demo/').status, 6); // 6 = could not resolve host
    });

    it('a process that is already running sees later updates', async () => {
      const waiter = rt1.startProcess(a, {
        command: [
          process.execPath,
          '-e',
          `const dns = require('dns');
           const t = setTimeout(() => process.exit(1), 8000);
           (function poll() { dns.lookup('late.demo', (err, addr) => err ? setTimeout(poll, 50) : (console.log(addr), clearTimeout(t))); })();`,
        ],
        env: {},
        logPath: join(logs, 'late.log'),
      });
      procs.push(waiter);
      await new Promise((r) => setTimeout(r, 300)); // let it fail a few lookups first
      rt1.writeDns(a, [{ ip: '10.96.0.12', names: ['late.demo'] }], []);
      assert.equal(await waiter.exited, 0);
      assert.equal(readFileSync(join(logs, 'late.log'), 'utf8').trim(), '10.96.0.12');
    });
  });

  it('kill() stops a process group and reports the signal', async () => {
    const p = rt1.startProcess(a, { command: ['sleep', '30'], env: {}, logPath: join(logs, 'sleep.log') });
    procs.push(p);
    await waitFor('sleep to enter the pod', () => pidsInNetns(a.netns).includes(p.pid));
    p.kill();
    assert.equal(await p.exited, 128 + 15);
  });

  it('destroying a sandbox kills its processes and frees the IP for immediate reuse', async () => {
    const sb = await rt2.createSandbox({ namespace: 'demo', name: 'd', uid: 'ud' }, ipam2.allocate('demo/d'));
    const p = start(rt2, sb, 'd', HTTP_SERVER, 7070);
    await waitFor('d to listen', () => curl(a.netns, `http://${sb.podIP}:7070/`).status === 0);
    await rt2.destroySandbox(sb);
    assert.equal(await p.exited, 128 + 15, 'the server should have ended by SIGTERM');
    assert.ok(!existsSync(`/run/netns/${sb.netns}`) && !existsSync(`/etc/netns/${sb.netns}`));
    const again = await rt2.createSandbox({ namespace: 'demo', name: 'd2', uid: 'ud2' }, sb.podIP);
    assert.deepEqual(rt2.listSandboxes().map((s) => s.podIP), [c.podIP, again.podIP]);
    await rt2.destroySandbox(again);
    await rt2.destroySandbox(again); // already gone: no error
  });

  it('destroy removes every namespace, /etc/netns dir and process of the cluster', async () => {
    const pids = procs.map((p) => p.pid);
    await destroyClusterNetwork(cluster);
    await Promise.all(procs.map((p) => p.exited)); // our children: reaped once they end
    const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.ok(!listed.includes(clusterPrefix(cluster)), listed);
    assert.ok(isEmpty(findLeftovers(cluster)));
    for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} survived destroy`);
  });
});
