// Starting container processes inside a pod's network namespace, and finding every
// process that lives in a namespace (for cleanup). Processes are tracked by PID and
// namespace identity only; nothing is ever matched or killed by name.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { requireTools } from '../../../platform/exec.js';
import type { ProcessSpec, RunningProcess } from '../runtime.js';
import { NETNS_RUN_DIR, netnsExists } from './netns.js';

/** The environment a container starts with: a sane PATH (including this node binary) plus spec.env. */
export function containerEnv(extra: Record<string, string>): Record<string, string> {
  const path = [dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  return { PATH: [...new Set(path)].join(':'), HOME: '/root', LANG: 'C.UTF-8', ...extra };
}

/**
 * Starts spec.command in netns. `ip netns exec` execs the command after entering the
 * namespace, so the PID is the app's own. The child leads its own process group, so
 * kill() reaches anything it forks.
 */
export function spawnInNetns(netns: string, spec: ProcessSpec): RunningProcess {
  if (spec.command.length === 0) throw new Error('spawnInNetns: empty command');
  requireTools(['ip']);
  if (!netnsExists(netns)) throw new Error(`network namespace '${netns}' does not exist`);
  mkdirSync(dirname(spec.logPath), { recursive: true });
  const log = openSync(spec.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn('ip', ['netns', 'exec', netns, ...spec.command], {
      detached: true,
      stdio: ['ignore', log, log],
      env: containerEnv(spec.env),
    });
  } finally {
    closeSync(log); // the child holds its own copy
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${spec.command.join(' ')} in ${netns}`);
  // Deliberately not unref()'d: callers await `exited`, which needs the loop to stay alive.
  // Detached, the process survives its caller being killed (an agent restart keeps pods).

  let done = false;
  const exited = new Promise<number>((resolve) => {
    child.on('error', () => {
      done = true;
      resolve(127);
    });
    child.on('exit', (code, signal) => {
      done = true;
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
  return {
    pid,
    exited,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      // After exit the group id may be reused by someone else: never signal it then.
      if (done) return;
      try {
        process.kill(-pid, signal);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    },
  };
}

interface NsId {
  dev: number;
  ino: number;
}

function nsIdOf(path: string): NsId | undefined {
  try {
    const s = statSync(path);
    return { dev: s.dev, ino: s.ino };
  } catch {
    return undefined;
  }
}

/** PIDs (other than ours) whose network namespace is one of netnsNames, by namespace inode. */
export function pidsInAnyNetns(netnsNames: string[]): number[] {
  const targets = netnsNames.map((n) => nsIdOf(`${NETNS_RUN_DIR}/${n}`)).filter((id): id is NsId => id !== undefined);
  if (targets.length === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const id = nsIdOf(`/proc/${entry}/ns/net`); // zombies and vanished processes have none
    if (id && targets.some((t) => t.dev === id.dev && t.ino === id.ino)) pids.push(pid);
  }
  return pids.sort((a, b) => a - b);
}

export const pidsInNetns = (netns: string): number[] => pidsInAnyNetns([netns]);

/** True while pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
