// Endpoints controller: for each Service with a selector, the IPs of matching pods
// (ready ones in `addresses`, others in `notReadyAddresses`; all of them, terminating ones too,
// in `addresses` with publishNotReadyAddresses) with target ports resolved, including named
// ports looked up per pod.
import type { KubeClient } from '../../kube/kube-client.js';
import { KubeApiError } from '../../kube/kube-client.js';
import { Informer } from '../../kube/informer.js';
import { matches, fromLabelSelector } from '../../model/core/labels.js';
import { podIsReady, type EndpointSubset, type Endpoints, type Pod, type Service } from '../../model/core/types.js';
import { K } from './kinds.js';
import { WorkQueue } from './work-queue.js';

/** Pure: the subsets a Service should have given the pods of its namespace. */
export function computeSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const sel = svc.spec.selector;
  if (!sel || Object.keys(sel).length === 0) return [];
  const reqs = fromLabelSelector({ matchLabels: sel });
  const groups = new Map<string, EndpointSubset>();
  const publishAll = svc.spec.publishNotReadyAddresses === true;
  for (const pod of pods) {
    const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (!pod.status?.podIP || terminal || (pod.metadata.deletionTimestamp && !publishAll) || !matches(reqs, pod.metadata.labels)) continue;
    const ports = (svc.spec.ports ?? []).map((sp) => {
      const tp = sp.targetPort ?? sp.port;
      const port = typeof tp === 'number' ? tp : pod.spec.containers.flatMap((c) => c.ports ?? []).find((cp) => cp.name === tp)?.containerPort;
      return port === undefined ? undefined : { ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) };
    });
    const resolved = ports.filter((p): p is NonNullable<typeof p> => p !== undefined);
    if (resolved.length === 0) continue;
    const gk = JSON.stringify(resolved);
    const subset = groups.get(gk) ?? { ports: resolved };
    const addr = { ip: pod.status.podIP, ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}), targetRef: { kind: 'Pod', name: pod.metadata.name!, namespace: pod.metadata.namespace!, uid: pod.metadata.uid! } };
    if (publishAll || podIsReady(pod)) (subset.addresses ??= []).push(addr);
    else (subset.notReadyAddresses ??= []).push(addr);
    groups.set(gk, subset);
  }
  const byIp = (a: { ip: string }, b: { ip: string }): number => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);
  return [...groups.values()].map((s) => ({ ...(s.addresses ? { addresses: s.addresses.sort(byIp) } : {}), ...(s.notReadyAddresses ? { notReadyAddresses: s.notReadyAddresses.sort(byIp) } : {}), ports: s.ports ?? [] }));
}

export class EndpointsController {
  readonly services: Informer;
  readonly pods: Informer;
  readonly endpoints: Informer;
  readonly #queue: WorkQueue;

  constructor(readonly client: KubeClient, readonly log: (m: string) => void) {
    this.services = new Informer(client, K.Service, undefined, {}, log);
    this.pods = new Informer(client, K.Pod, undefined, {}, log);
    this.endpoints = new Informer(client, K.Endpoints, undefined, {}, log);
    this.#queue = new WorkQueue((k) => this.#reconcile(k), log);
    this.services.on((_t, o) => this.#queue.add(`${o.metadata.namespace}/${o.metadata.name}`));
    this.pods.on((_t, o, prev) => {
      for (const s of this.services.list() as Service[]) {
        if (s.metadata.namespace !== o.metadata.namespace || !s.spec.selector) continue;
        const reqs = fromLabelSelector({ matchLabels: s.spec.selector });
        if (matches(reqs, o.metadata.labels) || (prev && matches(reqs, prev.metadata.labels))) this.#queue.add(`${s.metadata.namespace}/${s.metadata.name}`);
      }
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.pods.start(), this.endpoints.start(), this.services.start()]);
  }

  stop(): void {
    this.#queue.stop();
    this.services.stop();
    this.pods.stop();
    this.endpoints.stop();
  }

  async #reconcile(key: string): Promise<void> {
    const [ns = '', name = ''] = key.split('/');
    const svc = this.services.get(ns, name) as Service | undefined;
    if (!svc || !svc.spec.selector) return;
    const pods = (this.pods.list() as Pod[]).filter((p) => p.metadata.namespace === ns);
    const subsets = computeSubsets(svc, pods);
    const cur = this.endpoints.get(ns, name) as Endpoints | undefined;
    if (cur && JSON.stringify(cur.subsets ?? []) === JSON.stringify(subsets)) return;
    const ep: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: ns, ...(svc.metadata.labels ? { labels: svc.metadata.labels } : {}), ...(cur ? { resourceVersion: cur.metadata.resourceVersion! } : {}) },
      ...(subsets.length ? { subsets } : {}),
    };
    try {
      if (cur) await this.client.update(K.Endpoints, ep);
      else await this.client.create(K.Endpoints, ep);
    } catch (e) {
      if (e instanceof KubeApiError && (e.status === 409 || e.status === 404)) {
        // Stale cache; the informer will deliver the newer state and requeue.
        setTimeout(() => this.#queue.add(key), 200);
        return;
      }
      throw e;
    }
  }
}
