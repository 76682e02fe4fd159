// `ambit tunnel restart`: hand a node's pods from its running node tunnel to a new one without
// refusing a connection (spec §9). The new process connects to the node agent, gets every pod
// and opens its own SO_REUSEPORT listeners next to the old ones; only once it serves (its pid
// in tunnel.ready) does the old one get SIGTERM, stop accepting and drain.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRoot, NotRootError } from '../../platform/exec.js';
import { ClusterError, pidAlive, readClusterInfo, startDaemon, stopPid, waitFor } from './lifecycle.js';
import { clusterPaths, nodeTunnelReadyPath } from './paths.js';

export interface TunnelRestartResult {
  node: string;
  oldPid: number;
  newPid: number;
  handoffMs: number;
}

/** How long to give the old tunnel to drain before SIGKILL (its own deadline is 5 s by default). */
const DRAIN_GRACE_MS = 15_000;

export async function restartTunnel(cluster: string, node: string, progress: (m: string) => void): Promise<TunnelRestartResult> {
  if (!isRoot()) throw new NotRootError('ambit tunnel restart');
  const info = readClusterInfo(cluster);
  if (!info) throw new ClusterError(`cluster '${cluster}' is not running; start it with: ambit cluster up`, 'AMBIT_E_CLUSTER_NOT_RUNNING');
  if (!(node in info.pids.nodes)) throw new ClusterError(`no node '${node}' in cluster '${cluster}' (nodes: ${Object.keys(info.pids.nodes).join(', ')})`, 'AMBIT_E_NODE_NOT_FOUND');
  const paths = clusterPaths(cluster);
  const oldPid = info.pids.tunnels?.[node] ?? 0;
  const logFile = path.join(paths.logs, `${node}-tunnel.log`);
  const ready = nodeTunnelReadyPath(paths, node);
  const t0 = Date.now();
  progress(`${node}: starting a new node tunnel next to pid ${oldPid || 'none'}`);
  const newPid = startDaemon(['node-tunnel', '--cluster', cluster, '--node', node], logFile);
  try {
    await waitFor(`the new node tunnel (pid ${newPid}) on ${node}`, async () => {
      if (!pidAlive(newPid)) throw new ClusterError(`the new node tunnel exited; see ${logFile}`);
      return fs.existsSync(ready) && Number(fs.readFileSync(ready, 'utf8').trim()) === newPid;
    }, 30_000, logFile);
  } catch (e) {
    await stopPid(newPid, 3000);
    throw new ClusterError(`${(e as Error).message}\nThe old tunnel (pid ${oldPid}) keeps serving.`);
  }
  progress(`${node}: new tunnel pid ${newPid} serves every pod; draining the old one`);
  // Record the new pid before stopping the old one, so the supervisor sees a handoff, not a crash.
  // Re-read: other commands may have written cluster.json meanwhile.
  const latest = readClusterInfo(cluster) ?? info;
  latest.pids.tunnels = { ...(latest.pids.tunnels ?? {}), [node]: newPid };
  fs.writeFileSync(paths.clusterFile, JSON.stringify(latest, null, 2));
  if (oldPid) await stopPid(oldPid, DRAIN_GRACE_MS);
  const handoffMs = Date.now() - t0;
  progress(`${node}: handoff done in ${handoffMs} ms`);
  return { node, oldPid, newPid, handoffMs };
}
