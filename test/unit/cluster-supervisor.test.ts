// The node agents' supervision (issue 17 item 7) with real processes: a SIGKILLed node tunnel
// is restarted after the back-off and the restart is recorded in cluster.json; a stopping
// cluster and a handoff (the pid already replaced) restart nothing.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { pidAlive, readClusterInfo, type ClusterInfo } from '../../src/local/cluster/lifecycle.js';
import { clusterPaths } from '../../src/local/cluster/paths.js';
import { backoffMs, startSupervisor } from '../../src/local/cluster/supervisor.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-supervisor-'));
const children: ChildProcess[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function child(): number {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

after(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

function writeInfo(name: string, tunnelPid: number, extra: Partial<ClusterInfo> = {}): ClusterInfo {
  const p = clusterPaths(name, root);
  fs.mkdirSync(p.logs, { recursive: true });
  const info: ClusterInfo = { name, nodes: 1, apiPort: 1, createdAt: new Date().toISOString(), pids: { controlPlane: 0, nodes: { node2: process.pid }, tunnels: { node2: tunnelPid } }, ...extra };
  fs.writeFileSync(p.clusterFile, JSON.stringify(info));
  return info;
}

async function until<T>(what: string, f: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('back-off: 1 s, 2 s, 4 s … capped at 30 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 10].map(backoffMs), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test('a killed node tunnel comes back after about 1 s, recorded in cluster.json', async () => {
  const first = child();
  writeInfo('sup', first);
  fs.writeFileSync(path.join(clusterPaths('sup', root).logs, 'node2-tunnel.log'), 'started\nsomething went wrong\n');
  const starts: string[][] = [];
  const sup = startSupervisor({ cluster: 'sup', node: 'node2', root, log: () => {}, pollMs: 50, start: (args) => (starts.push(args), child()) });
  try {
    const killedAt = Date.now();
    process.kill(first, 'SIGKILL');
    const info = await until('a restart', () => {
      const i = readClusterInfo('sup', root);
      return i?.pids.tunnels?.['node2'] !== first ? i : undefined;
    }, 5000);
    const took = Date.now() - killedAt;
    assert.ok(took >= 900 && took < 3000, `restarted ${took} ms after the kill (back-off 1 s)`);
    assert.deepEqual(starts, [['node-tunnel', '--cluster', 'sup', '--node', 'node2']]);
    assert.ok(pidAlive(info.pids.tunnels!['node2']!));
    const r = info.restarts!['tunnel/node2']!;
    assert.equal(r.count, 1);
    assert.match(r.lastReason, new RegExp(`pid ${first} exited unexpectedly; last log line: something went wrong`));
  } finally {
    sup.stop();
  }
});

test('nothing is restarted while the cluster is stopping, nor after a handoff replaced the pid', async () => {
  const a = child();
  writeInfo('calm', a, { stopping: true });
  let started = 0;
  const sup = startSupervisor({ cluster: 'calm', node: 'node2', root, log: () => {}, pollMs: 50, start: () => (started++, child()) });
  try {
    process.kill(a, 'SIGKILL');
    await sleep(1800);
    assert.equal(started, 0, 'stopping: no restart');
    // A handoff: the new pid is recorded, then the old one stops.
    const b = child();
    const c = child();
    writeInfo('calm', b);
    await sleep(200);
    writeInfo('calm', c);
    process.kill(b, 'SIGKILL');
    await sleep(1800);
    assert.equal(started, 0, 'handoff: no restart');
    assert.equal(readClusterInfo('calm', root)!.pids.tunnels!['node2'], c);
  } finally {
    sup.stop();
  }
});
