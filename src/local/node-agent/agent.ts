// The node agent (kubelet + kube-proxy + DNS roles for one node). It learns everything
// through list/watch on the API server: the pods bound to its node, and all Services
// and Endpoints for service rules and name resolution.
import * as fs from 'node:fs';
import type { KubeClient } from '../../kube/kube-client.js';
import { KubeApiError } from '../../kube/kube-client.js';
import { Informer } from '../../kube/informer.js';
import { nodeFabricIP, nodeName as nodeNameOf, podCIDR } from '../cluster/addressing.js';
import { Ipam } from '../cluster/ipam.js';
import { applyServiceRules, renderServiceRules } from '../cluster/net/service-proxy.js';
import type { PodRuntime } from '../cluster/runtime.js';
import { podLogPath, type ClusterPaths } from '../cluster/paths.js';
import { K } from '../controllers/kinds.js';
import type { Logger } from '../../lib/log.js';
import type { Endpoints, Namespace, NodeObject, Pod, Service } from '../../model/core/types.js';
import { isEnrolled } from '../../model/enrollment.js';
import { syncRedirection } from './redirection.js';
import { applyCaptureRules, applyProbeSnatRules, removeCaptureRules } from '../../platform/capture-rules.js';
import { PodWorker } from './pod-worker.js';
import type { TunnelLink } from './tunnel-link.js';
import { hostEntries, searchDomains, serviceRules } from './service-view.js';
import { isWaypointPod, removePodFiles, waypointEnv, writePodToken, type WaypointPodConfig } from './waypoint-pods.js';

export interface NodeAgentConfig {
  client: KubeClient;
  runtime: PodRuntime;
  nodeIndex: number;
  nodeNetns: string;
  paths: ClusterPaths;
  log: Logger;
  /** The node tunnel's enrollment socket; without it pods are never captured (tests of the runtime alone). */
  tunnel?: TunnelLink;
  /** What waypoint pods get (their token, the control plane's address); without it they start without credentials. */
  waypoint?: Omit<WaypointPodConfig, 'client' | 'podsDir'>;
}

const HEARTBEAT_MS = 20_000;

export class NodeAgent {
  readonly nodeName: string;
  readonly pods: Informer;
  readonly services: Informer;
  readonly endpoints: Informer;
  readonly namespaces: Informer;
  readonly #ipam: Ipam;
  /** Pods whose capture rules are installed (and that the tunnel was told about), by key. */
  readonly #captured = new Set<string>();
  /** Captured pods the node tunnel has acked (annotated `enabled`; the others `pending`). */
  readonly #served = new Set<string>();
  readonly #workers = new Map<string, PodWorker>();
  /** Pods being set up or torn down, so events for them wait their turn. */
  readonly #busy = new Map<string, Promise<void>>();
  /** Token refresh timers of waypoint pods, by key. */
  readonly #tokenTimers = new Map<string, NodeJS.Timeout>();
  #rulesTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #lastRules = '';

  constructor(readonly cfg: NodeAgentConfig) {
    this.nodeName = nodeNameOf(cfg.nodeIndex);
    this.#ipam = new Ipam(cfg.nodeIndex);
    this.pods = new Informer(cfg.client, K.Pod, undefined, { fieldSelector: `spec.nodeName=${this.nodeName}` }, cfg.log);
    this.services = new Informer(cfg.client, K.Service, undefined, {}, cfg.log);
    this.endpoints = new Informer(cfg.client, K.Endpoints, undefined, {}, cfg.log);
    this.namespaces = new Informer(cfg.client, K.Namespace, undefined, {}, cfg.log);
    this.namespaces.on((_type, o) => {
      for (const w of this.#workers.values()) if (w.key.startsWith(`${o.metadata.name}/`)) this.#serialize(w.key, () => this.#reconcileCapture(w));
    });
    this.pods.on((type, o) => this.#serialize(`${o.metadata.namespace}/${o.metadata.name}`, () => this.#onPod(type, o as Pod)));
    this.services.on(() => this.#scheduleNetworkSync());
    // A tunnel that (re)connects takes the pods it could not take before: mark them enabled.
    cfg.tunnel?.onResent((uid, err) => {
      const w = [...this.#workers.values()].find((x) => x.pod.metadata.uid === uid);
      if (w) this.#serialize(w.key, () => this.#markServed(w, err === ''));
    });
    this.endpoints.on(() => this.#scheduleNetworkSync());
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.cfg.paths.pods, { recursive: true });
    await this.#registerNode();
    this.#heartbeat = setInterval(() => void this.#registerNode().catch((e: Error) => this.cfg.log(`heartbeat: ${e.message}`)), HEARTBEAT_MS);
    await Promise.all([this.services.start(), this.endpoints.start(), this.namespaces.start()]);
    if (this.cfg.tunnel) await applyProbeSnatRules(this.cfg.nodeNetns, podCIDR(this.cfg.nodeIndex));
    this.#syncNetwork();
    await this.pods.start();
  }

  /** Stops every pod on this node (cluster down). */
  async stop(): Promise<void> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    for (const t of this.#tokenTimers.values()) clearTimeout(t);
    this.#tokenTimers.clear();
    this.pods.stop();
    this.services.stop();
    this.endpoints.stop();
    this.namespaces.stop();
    await Promise.all([...this.#workers.values()].map((w) => w.stop(2).catch(() => undefined)));
    this.#workers.clear();
  }

  #serialize(key: string, fn: () => Promise<void>): void {
    const prev = this.#busy.get(key) ?? Promise.resolve();
    const next = prev.then(fn).catch((e: Error) => this.cfg.log(`pod ${key}: ${e.message}`));
    this.#busy.set(key, next);
    void next.then(() => {
      if (this.#busy.get(key) === next) this.#busy.delete(key);
    });
  }

  async #onPod(type: string, pod: Pod): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const worker = this.#workers.get(key);
    if (type === 'DELETED' || pod.metadata.deletionTimestamp) {
      if (worker && worker.sandbox) {
        this.#workers.delete(key);
        // Tell the tunnel first; the rules go away with the netns.
        // The annotation goes with the pod object.
        this.#served.delete(key);
        if (this.#captured.delete(key)) await this.cfg.tunnel?.del(pod.metadata.uid!);
        await worker.stop(pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30);
        this.#ipam.release(worker.sandbox.podIP);
        clearTimeout(this.#tokenTimers.get(key));
        this.#tokenTimers.delete(key);
        removePodFiles(this.cfg.paths.pods, pod);
        this.cfg.log(`pod ${key}: stopped and removed`);
      }
      if (type !== 'DELETED') {
        await this.cfg.client.delete(K.Pod, pod.metadata.namespace, pod.metadata.name!, 0).catch((e: unknown) => {
          if (!(e instanceof KubeApiError && e.status === 404)) throw e;
        });
      }
      return;
    }
    if (worker) {
      worker.update(pod);
      await this.#reconcileCapture(worker);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    // A pod we ran before an agent restart keeps its IP; its old processes are gone.
    const previousIP = pod.status?.podIP;
    let ip: string;
    if (previousIP && previousIP.startsWith(`10.0.${this.cfg.nodeIndex}.`)) {
      this.#ipam.restore(previousIP, key);
      ip = previousIP;
      await this.cfg.runtime.destroySandbox({ podIP: ip, netns: '' }).catch(() => undefined);
    } else {
      ip = this.#ipam.allocate(key);
    }
    let sandbox;
    try {
      sandbox = await this.cfg.runtime.createSandbox({ namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! }, ip);
    } catch (e) {
      this.#ipam.release(ip);
      const message = `creating the pod sandbox failed: ${(e as Error).message}`;
      await this.cfg.client
        .patch(K.Pod, pod.metadata.namespace, pod.metadata.name!, { status: { phase: 'Pending', reason: 'SandboxFailed', message } }, 'status')
        .catch(() => undefined);
      throw new Error(message);
    }
    this.cfg.runtime.writeDns(sandbox, hostEntries(this.services.list() as Service[], pod.metadata.namespace!), searchDomains(pod.metadata.namespace!));
    let env: Record<string, string> | undefined;
    if (this.cfg.waypoint && isWaypointPod(pod)) {
      const wcfg = { ...this.cfg.waypoint, client: this.cfg.client, podsDir: this.cfg.paths.pods };
      // The pod's own credential, before it starts (a projected token is mounted before the container runs).
      await this.#refreshToken(key, wcfg, pod);
      env = waypointEnv(wcfg, pod);
    }
    const w = new PodWorker(pod, sandbox, {
      ...(env ? { env } : {}),
      client: this.cfg.client,
      runtime: this.cfg.runtime,
      nodeName: this.nodeName,
      nodeNetns: this.cfg.nodeNetns,
      hostIP: nodeFabricIP(this.cfg.nodeIndex),
      logPath: podLogPath(this.cfg.paths, pod.metadata.namespace!, pod.metadata.name!),
      binDir: this.cfg.paths.bin,
      log: this.cfg.log,
    });
    this.#workers.set(key, w);
    // Capture before the app starts, so its first connection is already in the mesh (istio-cni's CmdAdd).
    await this.#reconcileCapture(w);
    await w.start();
  }

  async #refreshToken(key: string, wcfg: WaypointPodConfig, pod: Pod): Promise<void> {
    let ttl: number;
    try {
      ttl = await writePodToken(wcfg, pod);
    } catch (e) {
      this.cfg.log(`pod ${key}: requesting its service-account token failed: ${(e as Error).message}; retrying in 5s`);
      ttl = 10;
    }
    const t = setTimeout(() => {
      const w = this.#workers.get(key);
      if (w) void this.#refreshToken(key, wcfg, w.pod);
    }, (ttl / 2) * 1000);
    t.unref();
    this.#tokenTimers.set(key, t);
  }

  /** Whether the pod should be captured now (spec §6.1): its labels or its namespace's. */
  #wantsCapture(w: PodWorker): boolean {
    if (!this.cfg.tunnel) return false;
    const pod = w.pod;
    if (pod.metadata.deletionTimestamp) return false;
    const ns = this.namespaces.get('', pod.metadata.namespace!) as Namespace | undefined;
    return isEnrolled(pod.metadata.labels, ns?.metadata.labels);
  }

  /**
   * Enroll: rules first, then the tunnel (until it listens, captured traffic is refused, never
   * plaintext). Unenroll: rules off first (traffic is plain again), then the tunnel lets go.
   * Neither restarts the pod.
   */
  async #reconcileCapture(w: PodWorker): Promise<void> {
    const tunnel = this.cfg.tunnel;
    if (!tunnel) return;
    const want = this.#wantsCapture(w);
    const have = this.#captured.has(w.key);
    const pod = w.pod;
    if (want && !have) {
      await applyCaptureRules(w.sandbox.netns);
      this.#captured.add(w.key);
      const err = await tunnel.add({
        type: 'add',
        uid: pod.metadata.uid!,
        workload: { name: pod.metadata.name!, namespace: pod.metadata.namespace!, serviceAccount: pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? 'default' },
        netns: w.sandbox.netns,
        ip: w.sandbox.podIP,
      });
      this.cfg.log(`pod ${w.key}: captured into the mesh${err ? ` (node tunnel: ${err}; its traffic is refused until the tunnel serves it)` : ''}`);
      if (err) this.#served.delete(w.key);
      else this.#served.add(w.key);
    } else if (!want && have) {
      await removeCaptureRules(w.sandbox.netns);
      this.#captured.delete(w.key);
      this.#served.delete(w.key);
      await tunnel.del(pod.metadata.uid!);
      this.cfg.log(`pod ${w.key}: removed from the mesh (plain traffic)`);
    }
    await this.#syncRedirection(w);
  }

  async #markServed(w: PodWorker, ok: boolean): Promise<void> {
    if (this.#workers.get(w.key) !== w || !this.#captured.has(w.key)) return;
    if (ok) this.#served.add(w.key);
    else this.#served.delete(w.key);
    await this.#syncRedirection(w);
  }

  /**
   * Last step, as istio-cni: the annotation tells the control plane the pod is captured and
   * served (`enabled`: peers send it HBONE), captured only (`pending`), or neither (removed).
   * A failed write is retried while the pod is ours.
   */
  async #syncRedirection(w: PodWorker): Promise<void> {
    const want = !this.#captured.has(w.key) ? undefined : this.#served.has(w.key) ? 'enabled' : 'pending';
    try {
      const pod = await syncRedirection(this.cfg.client, w.pod, want);
      if (pod) w.update(pod);
    } catch (e) {
      this.cfg.log(`pod ${w.key}: writing its redirection annotation failed: ${(e as Error).message}; retrying`);
      setTimeout(() => {
        if (this.#workers.get(w.key) === w) this.#serialize(w.key, () => this.#syncRedirection(w));
      }, 1000).unref();
    }
  }

  #scheduleNetworkSync(): void {
    if (this.#rulesTimer) return;
    this.#rulesTimer = setTimeout(() => {
      this.#rulesTimer = undefined;
      this.#syncNetwork();
    }, 50);
  }

  #syncNetwork(): void {
    const services = this.services.list() as Service[];
    const script = renderServiceRules(serviceRules(services, this.endpoints.list() as Endpoints[], this.nodeName));
    if (script !== this.#lastRules) {
      this.#lastRules = script;
      applyServiceRules(this.cfg.nodeNetns, script).catch((e: Error) => {
        this.#lastRules = '';
        this.cfg.log(`service rules: ${e.message}`);
      });
    }
    for (const w of this.#workers.values()) {
      const ns = w.key.split('/')[0]!;
      try {
        this.cfg.runtime.writeDns(w.sandbox, hostEntries(services, ns), searchDomains(ns));
      } catch (e) {
        this.cfg.log(`dns for ${w.key}: ${(e as Error).message}`);
      }
    }
  }

  async #registerNode(): Promise<void> {
    const node: NodeObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: this.nodeName, labels: { 'kubernetes.io/hostname': this.nodeName, 'kubernetes.io/os': 'linux' } },
      spec: { podCIDR: podCIDR(this.cfg.nodeIndex), podCIDRs: [podCIDR(this.cfg.nodeIndex)] },
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: 'ambit node agent is running', lastHeartbeatTime: new Date().toISOString() }],
        addresses: [{ type: 'InternalIP', address: nodeFabricIP(this.cfg.nodeIndex) }, { type: 'Hostname', address: this.nodeName }],
      },
    };
    const cur = await this.cfg.client.getOrUndefined(K.Node, undefined, this.nodeName);
    if (!cur) {
      await this.cfg.client.create(K.Node, node);
    }
    await this.cfg.client.patch(K.Node, undefined, this.nodeName, { status: node.status }, 'status');
  }
}
