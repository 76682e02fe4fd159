// Which service accounts run on which node right now (istiod's `saNode` index), fed by a
// pod informer (list/watch on the API server), so the CA decides from cluster state as any
// other client sees it. A pod counts while it is bound to the node, not terminating
// (no deletionTimestamp) and not finished (Succeeded/Failed).
import { Informer } from '../kube/informer.js';
import type { KubeClient } from '../kube/kube-client.js';
import { K } from '../model/core/kind-handles.js';
import type { KubeObject, Pod } from '../model/core/types.js';

const saKey = (ns: string, sa: string): string => `${ns}/${sa}`;
const podKey = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export class NodePods {
  readonly #informer: Informer;
  /** "ns/sa" → pod "ns/name" → node. */
  readonly #bySa = new Map<string, Map<string, string>>();

  constructor(client: KubeClient, log: (m: string) => void) {
    this.#informer = new Informer(client, K.Pod, undefined, {}, log).on((type, obj, prev) => {
      this.#remove(prev ?? obj);
      if (type !== 'DELETED') this.#add(obj as Pod);
    });
  }

  /** Resolves once the first pod list is in. */
  start(): Promise<void> {
    return this.#informer.start();
  }

  stop(): void {
    this.#informer.stop();
  }

  /** Nodes where a live pod with this namespace and service account is scheduled. */
  nodesFor(namespace: string, serviceAccount: string): string[] {
    return [...new Set(this.#bySa.get(saKey(namespace, serviceAccount))?.values() ?? [])].sort();
  }

  #add(pod: Pod): void {
    const node = pod.spec.nodeName;
    const phase = pod.status?.phase;
    if (!node || pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed') return;
    const k = saKey(pod.metadata.namespace ?? '', pod.spec.serviceAccountName ?? 'default');
    let pods = this.#bySa.get(k);
    if (!pods) this.#bySa.set(k, (pods = new Map()));
    pods.set(podKey(pod), node);
  }

  #remove(obj: KubeObject): void {
    const pod = obj as Pod;
    const k = saKey(pod.metadata.namespace ?? '', pod.spec?.serviceAccountName ?? 'default');
    const pods = this.#bySa.get(k);
    pods?.delete(podKey(pod));
    if (pods?.size === 0) this.#bySa.delete(k);
  }
}
