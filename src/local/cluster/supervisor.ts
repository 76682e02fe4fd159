// Supervision of the local cluster's processes, like a kubelet runs its DaemonSet pods: each
// node agent restarts its own node's tunnel when that process dies, and the node agent of the
// lowest-numbered node restarts the control plane and dead peer node agents. No extra process
// (which would itself need a supervisor): the node agents are already long-lived per node, and
// any one of them surviving brings the others back. Restarts back off 1 s → 30 s and are
// recorded in cluster.json (`restarts`), so `cluster status` tells the truth.
// A death is acted on only while cluster.json still names that pid after the back-off: `cluster
// down` marks the cluster stopping first, `tunnel restart` records the new pid before it stops
// the old one, and `cluster restart` replaces the pid within one poll.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../../lib/log.js';
import { nodeName } from './addressing.js';
import { pidAlive, readClusterInfo, startDaemon, type ClusterInfo, type RestartRecord } from './lifecycle.js';
import { clusterPaths } from './paths.js';

export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;
/** A process that stayed up this long starts its back-off from the minimum again. */
export const BACKOFF_RESET_MS = 60_000;

/** The delay before restart number n (0-based) of a crash loop: 1 s, 2 s, 4 s … 30 s. */
export function backoffMs(consecutive: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, consecutive));
}

/** A supervised process: its key in cluster.json `restarts`, how to read its pid, how to start it. */
export interface Supervised {
  key: string;
  pid(info: ClusterInfo): number | undefined;
  setPid(info: ClusterInfo, pid: number): void;
  args: string[];
  logFile: string;
}

export function supervisedBy(info: ClusterInfo, node: string, root?: string): Supervised[] {
  const paths = root === undefined ? clusterPaths(info.name) : clusterPaths(info.name, root);
  const out: Supervised[] = [
    {
      key: `tunnel/${node}`,
      pid: (i) => i.pids.tunnels?.[node],
      setPid: (i, p) => void (i.pids.tunnels = { ...(i.pids.tunnels ?? {}), [node]: p }),
      args: ['node-tunnel', '--cluster', info.name, '--node', node],
      logFile: path.join(paths.logs, `${node}-tunnel.log`),
    },
  ];
  if (node !== nodeName(1)) return out;
  out.push({
    key: 'control-plane',
    pid: (i) => i.pids.controlPlane,
    setPid: (i, p) => void (i.pids.controlPlane = p),
    args: ['control-plane', '--cluster', info.name, '--port', String(info.apiPort)],
    logFile: path.join(paths.logs, 'control-plane.log'),
  });
  for (const peer of Object.keys(info.pids.nodes).filter((n) => n !== node)) {
    out.push({
      key: `agent/${peer}`,
      pid: (i) => i.pids.nodes[peer],
      setPid: (i, p) => void (i.pids.nodes[peer] = p),
      args: ['node-agent', '--cluster', info.name, '--node', peer],
      logFile: path.join(paths.logs, `${peer}.log`),
    });
  }
  return out;
}

function lastLine(file: string): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, 2048));
      fs.readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString('utf8').trimEnd().split('\n').at(-1)?.slice(0, 300) ?? '';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

export interface SupervisorOptions {
  cluster: string;
  /** The node whose agent runs this supervisor. */
  node: string;
  root?: string;
  log: Logger;
  pollMs?: number;
  /** Starts a daemon (default: lifecycle's startDaemon); returns its pid. */
  start?: (args: string[], logFile: string) => number;
  isAlive?: (pid: number) => boolean;
}

export interface SupervisorHandle {
  stop(): void;
}

export function startSupervisor(o: SupervisorOptions): SupervisorHandle {
  const start = o.start ?? startDaemon;
  const alive = o.isAlive ?? pidAlive;
  const file = (o.root === undefined ? clusterPaths(o.cluster) : clusterPaths(o.cluster, o.root)).clusterFile;
  const read = (): ClusterInfo | undefined => (o.root === undefined ? readClusterInfo(o.cluster) : readClusterInfo(o.cluster, o.root));
  /** key → when we first saw its recorded pid dead, and which pid. */
  const dead = new Map<string, { pid: number; at: number }>();
  const startedAt = new Map<string, number>();
  const tick = (): void => {
    const info = read();
    if (!info || info.stopping) return;
    for (const s of supervisedBy(info, o.node, o.root)) {
      const pid = s.pid(info);
      if (pid === undefined || pid === 0 || alive(pid)) {
        dead.delete(s.key);
        continue;
      }
      const seen = dead.get(s.key);
      if (!seen || seen.pid !== pid) {
        dead.set(s.key, { pid, at: Date.now() });
        continue;
      }
      const prev = info.restarts?.[s.key];
      const upFor = Date.now() - (startedAt.get(s.key) ?? 0);
      const consecutive = prev && upFor < BACKOFF_RESET_MS ? prev.consecutive : 0;
      if (Date.now() - seen.at < backoffMs(consecutive)) continue;
      // Re-read right before acting: a deliberate stop or handoff may have changed it meanwhile.
      const latest = read();
      if (!latest || latest.stopping || s.pid(latest) !== pid) continue;
      const reason = `pid ${pid} exited unexpectedly${lastLine(s.logFile) ? `; last log line: ${lastLine(s.logFile)}` : ''}`;
      let newPid: number;
      try {
        newPid = start(s.args, s.logFile);
      } catch (e) {
        o.log(`supervisor: restarting ${s.key} failed: ${(e as Error).message}`);
        continue;
      }
      const record: RestartRecord = { count: (prev?.count ?? 0) + 1, consecutive: consecutive + 1, lastAt: new Date().toISOString(), lastReason: reason };
      s.setPid(latest, newPid);
      latest.restarts = { ...(latest.restarts ?? {}), [s.key]: record };
      fs.writeFileSync(file, JSON.stringify(latest, null, 2));
      dead.delete(s.key);
      startedAt.set(s.key, Date.now());
      o.log(`supervisor: ${s.key} ${reason}; restarted as pid ${newPid} (restart ${record.count}, back-off was ${backoffMs(consecutive)} ms)`);
    }
  };
  const timer = setInterval(() => {
    try {
      tick();
    } catch (e) {
      o.log(`supervisor: ${(e as Error).message}`);
    }
  }, o.pollMs ?? 250);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
