// Scheduler: binds each unscheduled pod to the Ready node running the fewest pods, so
// replicas spread over nodes.
import type { KubeClient } from '../../kube/kube-client.js';
import { Informer } from '../../kube/informer.js';
import { nodeIsReady, type NodeObject, type Pod } from '../../model/core/types.js';
import { K } from './kinds.js';
import { WorkQueue } from './work-queue.js';

export class Scheduler {
  readonly pods: Informer;
  readonly nodes: Informer;
  readonly #queue: WorkQueue;
  /** Bindings made but not yet seen through the watch (kube-scheduler's "assumed" pods). */
  readonly #assumed = new Map<string, string>();

  constructor(readonly client: KubeClient, readonly log: (m: string) => void) {
    this.pods = new Informer(client, K.Pod, undefined, {}, log);
    this.nodes = new Informer(client, K.Node, undefined, {}, log);
    this.#queue = new WorkQueue((k) => this.#schedule(k), log);
    this.pods.on((type, o) => {
      const p = o as Pod;
      if (type === 'DELETED' || p.spec.nodeName) this.#assumed.delete(`${p.metadata.namespace}/${p.metadata.name}`);
      if (type !== 'DELETED' && !p.spec.nodeName) this.#queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
    });
    // A node becoming ready may unblock pending pods.
    this.nodes.on(() => {
      for (const p of this.pods.list() as Pod[]) if (!p.spec.nodeName) this.#queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.nodes.start(), this.pods.start()]);
  }

  stop(): void {
    this.#queue.stop();
    this.pods.stop();
    this.nodes.stop();
  }

  async #schedule(key: string): Promise<void> {
    const [ns = '', name = ''] = key.split('/');
    const pod = this.pods.get(ns, name) as Pod | undefined;
    if (!pod || pod.spec.nodeName || pod.metadata.deletionTimestamp) return;
    const ready = (this.nodes.list() as NodeObject[]).filter((n) => nodeIsReady(n) && !n.spec?.unschedulable);
    if (ready.length === 0) {
      this.log(`pod ${key}: no Ready node yet; it stays Pending`);
      return;
    }
    const load = new Map<string, number>(ready.map((n) => [n.metadata.name!, 0]));
    for (const p of this.pods.list() as Pod[]) {
      const n = p.spec.nodeName ?? this.#assumed.get(`${p.metadata.namespace}/${p.metadata.name}`);
      if (n && load.has(n) && !p.metadata.deletionTimestamp) load.set(n, load.get(n)! + 1);
    }
    const [best] = [...load].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    const bound: Pod = { ...pod, spec: { ...pod.spec, nodeName: best![0] } };
    await this.client.update(K.Pod, bound);
    this.#assumed.set(key, best![0]);
  }
}
