// The benchmark lab: two throwaway "pod" network namespaces joined by one veth pair, processes
// started inside them (tracked by PID so teardown kills exactly those), CPU accounting from
// /proc/<pid>/stat, and listening checks that never open a connection (a probe connection
// would be taken as a test by a one-shot iperf3 server).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

export interface PodNs {
  netns: string;
  ip: string;
}

const sh = (argv: string[], allowFail = false): string => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(' ')} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
};

/** Creates both namespaces and the veth pair (eth0 in each, /24, lo up). */
export function createLab(a: PodNs, b: PodNs): void {
  sh(['ip', 'netns', 'add', a.netns]);
  sh(['ip', 'netns', 'add', b.netns]);
  sh(['ip', '-n', a.netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b.netns]);
  for (const { netns, ip } of [a, b]) {
    sh(['ip', '-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    sh(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
    sh(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
  }
}

export function deleteNetns(netns: string): void {
  sh(['ip', 'netns', 'del', netns], true);
}

export function netnsExists(netns: string): boolean {
  return fs.existsSync(`/run/netns/${netns}`);
}

/** PIDs of processes whose network namespace is the named one (for a last-resort sweep of our own leftovers). */
export function pidsInNetns(netns: string): number[] {
  let ino: number;
  try {
    ino = fs.statSync(`/run/netns/${netns}`).ino;
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.statSync(`/proc/${d}/ns/net`).ino === ino) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Whether something listens on TCP port in the netns (ss, no connection made). */
export function isListening(netns: string, port: number): boolean {
  return sh(['ip', 'netns', 'exec', netns, 'ss', '-Hltn', `sport = :${port}`], true).trim() !== '';
}

export async function waitListening(netns: string, port: number, timeoutMs = 10_000, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (isListening(netns, port)) return;
    if (alive && !alive()) throw new Error(`the process that should listen on ${netns} :${port} exited`);
    if (Date.now() > deadline) throw new Error(`nothing listening on ${netns} :${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

const CLK_TCK = Number(sh(['getconf', 'CLK_TCK']).trim()) || 100;

/** utime+stime of a process (all its threads), in seconds; 0 if it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  return pid ? processCpu(pid) : 0;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Long-running processes we started (servers, proxies, tunnels): killed by PID on teardown. */
export class ProcessSet {
  readonly #procs = new Map<number, { name: string; child: ChildProcess }>();

  /** `ip netns exec <netns> argv...` (ip execs the command, so the PID is the command's). */
  startIn(name: string, netns: string, argv: string[], logFile: string): ChildProcess {
    const log = fs.openSync(logFile, 'a', 0o600);
    const child = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.add(name, child);
    return child;
  }

  add(name: string, child: ChildProcess): void {
    if (child.pid === undefined) throw new Error(`${name}: failed to start`);
    const pid = child.pid;
    this.#procs.set(pid, { name, child });
    child.once('exit', () => this.#procs.delete(pid));
    child.on('error', () => undefined);
  }

  alive(child: ChildProcess): boolean {
    return child.exitCode === null && child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after graceMs. */
  async stop(child: ChildProcess, graceMs = 2000): Promise<void> {
    if (!this.alive(child) || child.pid === undefined) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => this.alive(child) && child.kill('SIGKILL'), graceMs);
    await Promise.race([exited, sleep(graceMs + 1000)]);
    clearTimeout(t);
  }

  async stopAll(graceMs = 2000): Promise<void> {
    await Promise.all([...this.#procs.values()].map((p) => this.stop(p.child, graceMs)));
  }

  /** Runs a bounded command (the caller wraps it in `timeout`; a JS deadline backs that up), collecting its output. */
  runBounded(name: string, argv: string[], deadlineMs: number, onLine?: (line: string) => void): Promise<Finished> {
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      let seen = 0;
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (!onLine) return;
        for (let nl = stdout.indexOf('\n', seen); nl >= 0; nl = stdout.indexOf('\n', seen)) {
          onLine(stdout.slice(seen, nl));
          seen = nl + 1;
        }
      });
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      if (child.pid !== undefined) this.add(name, child);
      const t = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, deadlineMs);
      child.on('error', (e) => {
        clearTimeout(t);
        resolve({ code: null, signal: null, stdout, stderr: stderr + String(e), timedOut });
      });
      child.on('close', (code, signal) => {
        clearTimeout(t);
        // coreutils timeout exits 124 when it had to stop the command (137 after its -k KILL).
        resolve({ code, signal, stdout, stderr, timedOut: timedOut || code === 124 || code === 137 });
      });
    });
  }

  names(): string[] {
    return [...this.#procs.values()].map((p) => `${p.name} (${p.child.pid})`);
  }
}


/** Machine-wide CPU time in seconds from /proc/stat: busy = user+nice+system (irq/softirq/steal apart). */
export function machineCpu(): { busy: number; softirq: number; steal: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line;
  return { busy: (user + nice + system) / CLK_TCK, softirq: (irq + softirq) / CLK_TCK, steal: steal / CLK_TCK };
}

/** utime+stime (+ the reaped children's cutime+cstime with `withChildren`) of a process, in seconds. */
export function processCpu(pid: number | 'self', withChildren = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // f[11..14] = utime, stime, cutime, cstime (fields 14-17)
    return (f[11]! + f[12]! + (withChildren ? f[13]! + f[14]! : 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}

/**
 * CPU used by everything this benchmark runs: this process and its reaped descendants, plus every
 * live process in our namespaces and the extra PIDs (the tunnel processes live in the host netns).
 */
export function ownCpu(netns: string[], extraPids: (number | undefined)[]): number {
  const pids = new Set<number>();
  for (const ns of netns) for (const p of pidsInNetns(ns)) pids.add(p);
  for (const p of extraPids) if (p) pids.add(p);
  pids.delete(process.pid);
  let sum = processCpu('self', true);
  for (const p of pids) sum += processCpu(p);
  return sum;
}

/** Samples machine CPU for sampleMs; returns the busy share (100 = one core) not used by `own`. */
export async function foreignCpuPct(own: () => number, sampleMs = 500): Promise<number> {
  const m0 = machineCpu().busy;
  const o0 = own();
  const t0 = performance.now();
  await sleep(sampleMs);
  const dt = (performance.now() - t0) / 1000;
  return Math.max(0, ((machineCpu().busy - m0 - (own() - o0)) / dt) * 100);
}

/** utime+stime (seconds) and name of every process, for finding who else used the CPU. */
export function allProcesses(): Map<number, { comm: string; cpu: number }> {
  const out = new Map<number, { comm: string; cpu: number }>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), { comm, cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK });
    } catch {
      // gone
    }
  }
  return out;
}

/** Resident set size of a process in MB (VmRSS), 0 if it is gone. */
export function rssMB(pid: number | undefined): number {
  return statusKbField(pid, 'VmRSS') / 1024;
}

/** Peak resident set size in MB (VmHWM) since the process started or since resetPeakRss. */
export function peakRssMB(pid: number | undefined): number {
  return statusKbField(pid, 'VmHWM') / 1024;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0: `5` to /proc/<pid>/clear_refs), so a peak covers one measurement. */
export function resetPeakRss(pid: number | undefined): void {
  if (!pid) return;
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // gone, or not ours to reset: the peak then covers the whole lifetime (still an upper bound)
  }
}

function statusKbField(pid: number | undefined, field: string): number {
  if (!pid) return 0;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
