// Deployment controller: keeps `replicas` pods of the current template alive. Pods are
// owned by the Deployment directly (no ReplicaSet layer); the template hash label tells
// old pods from new ones, and old ones go only as new ones become ready.
import { createHash, randomBytes } from 'node:crypto';
import type { KubeClient } from '../../kube/kube-client.js';
import { KubeApiError } from '../../kube/kube-client.js';
import { Informer } from '../../kube/informer.js';
import { podIsReady, type Deployment, type Pod } from '../../model/core/types.js';
import { K } from './kinds.js';
import { WorkQueue } from './work-queue.js';

export const TEMPLATE_HASH_LABEL = 'pod-template-hash';

export function templateHash(d: Deployment): string {
  return createHash('sha256').update(JSON.stringify(d.spec.template)).digest('hex').slice(0, 10);
}

export class DeploymentController {
  readonly deployments: Informer;
  readonly pods: Informer;
  readonly #queue: WorkQueue;

  constructor(readonly client: KubeClient, readonly log: (m: string) => void) {
    this.deployments = new Informer(client, K.Deployment, undefined, {}, log);
    this.pods = new Informer(client, K.Pod, undefined, {}, log);
    this.#queue = new WorkQueue((k) => this.#reconcile(k), log);
    this.deployments.on((_t, o) => this.#queue.add(`${o.metadata.namespace}/${o.metadata.name}`));
    this.pods.on((_t, o) => {
      const owner = o.metadata.ownerReferences?.find((r) => r.kind === 'Deployment' && r.controller);
      if (owner) this.#queue.add(`${o.metadata.namespace}/${owner.name}`);
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.pods.start(), this.deployments.start()]);
  }

  stop(): void {
    this.#queue.stop();
    this.pods.stop();
    this.deployments.stop();
  }

  async #reconcile(key: string): Promise<void> {
    const [ns = '', name = ''] = key.split('/');
    const d = this.deployments.get(ns, name) as Deployment | undefined;
    if (!d) return;
    const hash = templateHash(d);
    const owned = (this.pods.list() as Pod[]).filter((p) => p.metadata.namespace === ns && p.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid));
    const alive = owned.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded');
    const current = alive.filter((p) => p.metadata.labels?.[TEMPLATE_HASH_LABEL] === hash);
    const old = alive.filter((p) => p.metadata.labels?.[TEMPLATE_HASH_LABEL] !== hash);
    const want = d.spec.replicas ?? 1;

    for (let i = current.length; i < want; i++) await this.#createPod(d, hash);
    // Scale down: drop unready and unscheduled pods first, then the newest.
    const surplus = current.length - want;
    if (surplus > 0) {
      const order = [...current].sort((a, b) => rank(a) - rank(b) || ((b.metadata.creationTimestamp ?? '') < (a.metadata.creationTimestamp ?? '') ? -1 : 1));
      for (const p of order.slice(0, surplus)) await this.#deletePod(p);
    }
    // Rolling update: keep old pods only while new ones are not ready yet.
    const readyNew = current.filter(podIsReady).length;
    const keepOld = Math.max(0, want - readyNew);
    const oldOrder = [...old].sort((a, b) => rank(a) - rank(b));
    for (const p of oldOrder.slice(0, Math.max(0, old.length - keepOld))) await this.#deletePod(p);

    const readyAll = alive.filter(podIsReady).length;
    const status = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: alive.length,
      updatedReplicas: current.length,
      readyReplicas: readyAll,
      availableReplicas: readyAll,
      conditions: [
        {
          type: 'Available',
          status: readyAll >= want ? 'True' : 'False',
          reason: readyAll >= want ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          message: `${readyAll}/${want} replicas ready`,
        },
      ],
    };
    if (JSON.stringify(status) !== JSON.stringify(d.status)) {
      await this.client.update(K.Deployment, { ...d, status }, 'status').catch((e: unknown) => {
        if (!(e instanceof KubeApiError && (e.status === 409 || e.status === 404))) throw e;
      });
    }
  }

  async #createPod(d: Deployment, hash: string): Promise<void> {
    const name = `${d.metadata.name}-${hash.slice(0, 8)}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: d.metadata.namespace!,
        labels: { ...(d.spec.template.metadata?.labels ?? {}), [TEMPLATE_HASH_LABEL]: hash },
        ...(d.spec.template.metadata?.annotations ? { annotations: d.spec.template.metadata.annotations } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(d.spec.template.spec),
    };
    try {
      await this.client.create(K.Pod, pod);
    } catch (e) {
      // Surface admission failures (e.g. a missing service account) on the Deployment.
      const msg = (e as Error).message;
      this.log(`deployment ${d.metadata.namespace}/${d.metadata.name}: cannot create pod: ${msg}`);
      await this.client
        .update(K.Deployment, { ...d, status: { ...(d.status ?? {}), conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: msg }] } }, 'status')
        .catch(() => undefined);
      throw e;
    }
  }

  async #deletePod(p: Pod): Promise<void> {
    await this.client.delete(K.Pod, p.metadata.namespace, p.metadata.name!).catch((e: unknown) => {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e;
    });
  }
}

function rank(p: Pod): number {
  if (!p.spec.nodeName) return 0;
  if (!podIsReady(p)) return 1;
  return 2;
}
