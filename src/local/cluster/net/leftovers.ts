// Finding and removing what a cluster (or every Ambit cluster) left behind: network
// namespaces, their /etc/netns files, and the processes still running inside them.
import { rmSync } from 'node:fs';
import { run } from '../../../platform/exec.js';
import { NETNS_PREFIX, clusterPrefix } from '../addressing.js';
import { NETNS_ETC_DIR, assertNetnsName, listNetns, listWithPrefix, netnsExists } from './netns.js';
import { isAlive, pidsInAnyNetns } from './processes.js';

export interface Leftovers {
  /** Namespace names under /run/netns. */
  netns: string[];
  /** Directory names under /etc/netns. */
  etcDirs: string[];
  /** Processes whose network namespace is one of `netns`. */
  pids: number[];
}

const KILL_GRACE_MS = 2000;

/** Everything named with clusterPrefix(cluster), or with the plain Ambit prefix when no cluster is given. */
export function findLeftovers(cluster?: string): Leftovers {
  const prefix = cluster === undefined ? NETNS_PREFIX : clusterPrefix(cluster);
  const netns = listNetns(prefix);
  return { netns, etcDirs: listWithPrefix(NETNS_ETC_DIR, prefix), pids: pidsInAnyNetns(netns) };
}

export const isEmpty = (l: Leftovers): boolean => l.netns.length === 0 && l.etcDirs.length === 0 && l.pids.length === 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM the given PIDs, wait up to 2 s, then SIGKILL whatever is still inside the
 * namespaces. Membership is re-checked by namespace inode before SIGKILL, so a PID that
 * exited and got reused by an unrelated process is left alone.
 */
export async function terminateInNetns(netns: string[], pids: number[] = pidsInAnyNetns(netns)): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const remaining = (): number[] => pidsInAnyNetns(netns).filter(isAlive);
  const deadline = Date.now() + KILL_GRACE_MS;
  let left = remaining();
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = remaining();
  }
  for (const pid of left) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 1000;
  while (left.length > 0 && Date.now() < killDeadline) {
    await sleep(20);
    left = remaining();
  }
  if (left.length > 0) throw new Error(`processes ${left.join(', ')} survived SIGKILL in ${netns.join(', ')}`);
}

/** Deletes one namespace and its /etc/netns directory; a missing namespace is not an error. */
export function deleteNetns(name: string): void {
  if (netnsExists(name)) run(['ip', 'netns', 'delete', name]);
  rmSync(`${NETNS_ETC_DIR}/${name}`, { recursive: true, force: true });
}

/** Kills the processes first: a namespace with live processes would outlive `ip netns delete`. */
export async function removeLeftovers(found: Leftovers): Promise<void> {
  await terminateInNetns(found.netns, found.pids);
  const errors: string[] = [];
  for (const name of found.netns) {
    try {
      deleteNetns(name);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  for (const dir of found.etcDirs) {
    assertNetnsName(dir);
    rmSync(`${NETNS_ETC_DIR}/${dir}`, { recursive: true, force: true });
  }
  if (errors.length > 0) throw new Error(`could not remove every namespace:\n${errors.join('\n')}`);
}
