// One pod on this node, from sandbox to teardown: start the container, restart it per
// restartPolicy with backoff, probe readiness, report status, stop it gracefully.
import type { KubeClient } from '../../kube/kube-client.js';
import { KubeApiError } from '../../kube/kube-client.js';
import { K } from '../controllers/kinds.js';
import type { Logger } from '../../lib/log.js';
import type { ContainerStatus, Pod, PodStatus } from '../../model/core/types.js';
import type { PodRuntime, RunningProcess, Sandbox } from '../cluster/runtime.js';
import { containerEnv } from '../cluster/net/processes.js';
import { runProbe } from './probes.js';

const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

export interface PodWorkerDeps {
  client: KubeClient;
  runtime: PodRuntime;
  nodeName: string;
  nodeNetns: string;
  hostIP: string;
  logPath: string;
  /** Holds the `ambit` shim so pods can run `ambit app ...`. */
  binDir: string;
  /** More environment the node agent gives this pod (a waypoint's contract, mesh-api/waypoint-env.ts). */
  env?: Record<string, string>;
  log: Logger;
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class PodWorker {
  #pod: Pod;
  #proc: RunningProcess | undefined;
  #restarts = 0;
  #ready = false;
  #stopping = false;
  #state: ContainerStatus['state'] = { waiting: { reason: 'ContainerCreating' } };
  #phase: PodStatus['phase'] = 'Pending';
  #probeTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #startedAt = now();
  #lastStatus = '';

  constructor(pod: Pod, readonly sandbox: Sandbox, readonly deps: PodWorkerDeps) {
    this.#pod = pod;
  }

  get pod(): Pod {
    return this.#pod;
  }

  get key(): string {
    return `${this.#pod.metadata.namespace}/${this.#pod.metadata.name}`;
  }

  update(pod: Pod): void {
    this.#pod = pod;
  }

  async start(): Promise<void> {
    this.#launch();
    await this.#report();
  }

  #launch(): void {
    const c = this.#pod.spec.containers[0]!;
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) env[e.name] = e.value ?? '';
    Object.assign(env, {
      PATH: `${this.deps.binDir}:${containerEnv({})['PATH']}`,
      POD_NAME: this.#pod.metadata.name!,
      POD_NAMESPACE: this.#pod.metadata.namespace!,
      POD_IP: this.sandbox.podIP,
      NODE_NAME: this.deps.nodeName,
      SERVICE_ACCOUNT: this.#pod.spec.serviceAccountName ?? 'default',
      ...(this.deps.env ?? {}),
    });
    const command = [...(c.command ?? []), ...(c.args ?? [])];
    try {
      this.#proc = this.deps.runtime.startProcess(this.sandbox, { command, env, logPath: this.deps.logPath });
    } catch (e) {
      this.#state = { waiting: { reason: 'RunContainerError', message: (e as Error).message } };
      this.#scheduleRestart(1);
      return;
    }
    this.#startedAt = now();
    this.#state = { running: { startedAt: this.#startedAt } };
    this.#phase = 'Running';
    this.#ready = !c.readinessProbe;
    this.deps.log(`pod ${this.key}: started pid ${this.#proc.pid}: ${command.join(' ')}`);
    const proc = this.#proc;
    void proc.exited.then((code) => this.#onExit(proc, code));
    this.#startProbes();
  }

  #onExit(proc: RunningProcess, code: number): void {
    if (proc !== this.#proc || this.#stopping) return;
    this.#proc = undefined;
    this.#ready = false;
    this.#stopProbes();
    this.deps.log(`pod ${this.key}: container exited with code ${code}`);
    const policy = this.#pod.spec.restartPolicy ?? 'Always';
    const terminated = { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', finishedAt: now() };
    if (policy === 'Always' || (policy === 'OnFailure' && code !== 0)) {
      this.#state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container (last exit code ${code})` } };
      this.#scheduleRestart(code);
    } else {
      this.#state = { terminated };
      this.#phase = code === 0 ? 'Succeeded' : 'Failed';
    }
    void this.#report();
  }

  #scheduleRestart(_code: number): void {
    const delay = Math.min(BACKOFF_START_MS * 2 ** Math.min(this.#restarts, 10), BACKOFF_MAX_MS);
    this.#restartTimer = setTimeout(() => {
      if (this.#stopping) return;
      this.#restarts++;
      this.#launch();
      void this.#report();
    }, delay);
  }

  #startProbes(): void {
    const c = this.#pod.spec.containers[0]!;
    const probe = c.readinessProbe;
    if (!probe) return;
    let successes = 0;
    let failures = 0;
    const period = (probe.periodSeconds ?? 10) * 1000;
    // Probe quickly until first ready, then at the configured period.
    const tick = async (): Promise<void> => {
      if (!this.#proc || this.#stopping) return;
      const err = await runProbe(this.deps.nodeNetns, this.sandbox.podIP, probe, c);
      if (err === undefined) {
        successes++;
        failures = 0;
        if (!this.#ready && successes >= (probe.successThreshold ?? 1)) {
          this.#ready = true;
          await this.#report();
        }
      } else {
        failures++;
        successes = 0;
        if (this.#ready && failures >= (probe.failureThreshold ?? 3)) {
          this.deps.log(`pod ${this.key}: readiness failed: ${err}`);
          this.#ready = false;
          await this.#report();
        }
      }
      if (!this.#proc || this.#stopping) return;
      this.#probeTimer = setTimeout(() => void tick(), this.#ready ? period : Math.min(period, 500));
    };
    this.#probeTimer = setTimeout(() => void tick(), (probe.initialDelaySeconds ?? 0) * 1000);
  }

  #stopProbes(): void {
    if (this.#probeTimer) clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
  }

  /** Stops the container (TERM, then KILL after the grace period) and removes the sandbox. */
  async stop(graceSeconds: number): Promise<void> {
    this.#stopping = true;
    this.#stopProbes();
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const proc = this.#proc;
    if (proc) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), graceSeconds * 1000);
      await proc.exited;
      clearTimeout(killer);
    }
    this.#proc = undefined;
    await this.deps.runtime.destroySandbox(this.sandbox);
  }

  status(): PodStatus {
    const ready = this.#ready && !!this.#proc;
    const cond = (type: string, ok: boolean): { type: string; status: 'True' | 'False' } => ({ type, status: ok ? 'True' : 'False' });
    return {
      phase: this.#phase,
      podIP: this.sandbox.podIP,
      podIPs: [{ ip: this.sandbox.podIP }],
      hostIP: this.deps.hostIP,
      startTime: this.#pod.status?.startTime ?? this.#startedAt,
      conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', ready), cond('Ready', ready)],
      containerStatuses: [
        { name: this.#pod.spec.containers[0]!.name, ready, started: !!this.#proc, restartCount: this.#restarts, state: this.#state! },
      ],
    };
  }

  async #report(): Promise<void> {
    if (this.#stopping) return;
    const status = this.status();
    const text = JSON.stringify(status);
    if (text === this.#lastStatus) return;
    this.#lastStatus = text;
    try {
      await this.deps.client.patch(K.Pod, this.#pod.metadata.namespace, this.#pod.metadata.name!, { status }, 'status');
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return;
      this.#lastStatus = '';
      this.deps.log(`pod ${this.key}: status update failed: ${(e as Error).message}; retrying`);
      setTimeout(() => void this.#report(), 1000);
    }
  }
}
