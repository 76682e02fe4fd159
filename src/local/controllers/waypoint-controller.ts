// Waypoint controller: the local stand-in for istiod's gateway deployment controller. For each
// Gateway of class istio-waypoint it keeps the ServiceAccount, Deployment and Service that
// control-plane/translate/waypoint-deployment.ts builds (owned by the Gateway), removes them
// when the Gateway goes (the local API server has no garbage collector), and writes the
// Gateway's status: addresses once a waypoint pod is ready, Accepted and Programmed.
// Objects of the same name not owned by the Gateway are left alone and reported.
import { createHash } from 'node:crypto';
import type { KubeClient } from '../../kube/kube-client.js';
import { KubeApiError } from '../../kube/kube-client.js';
import { Informer } from '../../kube/informer.js';
import { KINDS, type KindInfo } from '../../model/core/kinds.js';
import { podIsReady, type KubeObject, type Pod, type Service } from '../../model/core/types.js';
import {
  GATEWAY_NAME_LABEL,
  isWaypointGateway,
  waypointGatewayStatus,
  waypointObjects,
  type WaypointGateway,
} from '../../control-plane/translate/waypoint-deployment.js';
import { K } from './kinds.js';
import { WorkQueue } from './work-queue.js';

/** Hash of what the controller last wrote into an object (the API server adds defaults to what it stores). */
export const APPLIED_ANNOTATION = 'ambit.io/waypoint-applied';
const GATEWAY: KindInfo = KINDS.find((k) => k.kind === 'Gateway' && k.version === 'v1')!;

const ownedBy = (o: KubeObject, uid: string | undefined): boolean => !!uid && !!o.metadata.ownerReferences?.some((r) => r.kind === 'Gateway' && r.uid === uid);
const gatewayOwner = (o: KubeObject): string | undefined => o.metadata.ownerReferences?.find((r) => r.kind === 'Gateway')?.name;

export class WaypointController {
  readonly gateways: Informer;
  readonly deployments: Informer;
  readonly services: Informer;
  readonly serviceAccounts: Informer;
  readonly pods: Informer;
  readonly #queue: WorkQueue;

  constructor(readonly client: KubeClient, readonly log: (m: string) => void) {
    this.gateways = new Informer(client, GATEWAY, undefined, {}, log);
    this.deployments = new Informer(client, K.Deployment, undefined, {}, log);
    this.services = new Informer(client, K.Service, undefined, {}, log);
    this.serviceAccounts = new Informer(client, K.ServiceAccount, undefined, {}, log);
    this.pods = new Informer(client, K.Pod, undefined, { labelSelector: GATEWAY_NAME_LABEL }, log);
    this.#queue = new WorkQueue((k) => this.#reconcile(k), log);
    this.gateways.on((_t, o) => this.#queue.add(`${o.metadata.namespace}/${o.metadata.name}`));
    const byOwner = (_t: string, o: KubeObject): void => {
      const gw = gatewayOwner(o);
      if (gw) this.#queue.add(`${o.metadata.namespace}/${gw}`);
    };
    this.deployments.on(byOwner);
    this.services.on(byOwner);
    this.serviceAccounts.on(byOwner);
    this.pods.on((_t, o) => {
      const gw = o.metadata.labels?.[GATEWAY_NAME_LABEL];
      if (gw) this.#queue.add(`${o.metadata.namespace}/${gw}`);
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.deployments.start(), this.services.start(), this.serviceAccounts.start(), this.pods.start()]);
    await this.gateways.start();
    // Objects whose Gateway was deleted while no controller ran.
    for (const inf of [this.deployments, this.services, this.serviceAccounts]) {
      for (const o of inf.list()) {
        const gw = gatewayOwner(o);
        if (gw) this.#queue.add(`${o.metadata.namespace}/${gw}`);
      }
    }
  }

  stop(): void {
    this.#queue.stop();
    for (const i of [this.gateways, this.deployments, this.services, this.serviceAccounts, this.pods]) i.stop();
  }

  async #reconcile(key: string): Promise<void> {
    const [ns = '', name = ''] = key.split('/');
    const gw = this.gateways.get(ns, name);
    const live = gw && !gw.metadata.deletionTimestamp && isWaypointGateway(gw) ? gw : undefined;
    // Garbage: objects owned by a Gateway of this name that is gone (or no longer a waypoint, or recreated).
    for (const [info, inf] of [[K.Deployment, this.deployments], [K.Service, this.services], [K.ServiceAccount, this.serviceAccounts]] as const) {
      for (const o of inf.list()) {
        if (o.metadata.namespace !== ns || gatewayOwner(o) !== name || ownedBy(o, live?.metadata.uid)) continue;
        this.log(`waypoint ${key}: deleting ${info.kind} ${o.metadata.name} (its Gateway is gone)`);
        await this.client.delete(info, ns, o.metadata.name!).catch(ignore404);
      }
    }
    if (!live) return;
    const want = waypointObjects(live);
    if (want.listenerProblem) this.log(`waypoint ${key}: ${want.listenerProblem}`);
    await this.#ensure(K.ServiceAccount, this.serviceAccounts, live, want.serviceAccount);
    await this.#ensure(K.Deployment, this.deployments, live, want.deployment);
    await this.#ensure(K.Service, this.services, live, want.service);
    const svc = this.services.get(ns, want.service.metadata.name!) as Service | undefined;
    const ready = (this.pods.list() as Pod[]).filter((p) => p.metadata.namespace === ns && p.metadata.labels?.[GATEWAY_NAME_LABEL] === name && !p.metadata.deletionTimestamp && podIsReady(p)).length;
    const status = waypointGatewayStatus(live, svc && ownedBy(svc, live.metadata.uid) ? svc : undefined, ready, new Date());
    if (sameStatus(status, live.status)) return;
    await this.client.update(GATEWAY, { ...live, status }, 'status').catch((e: unknown) => {
      if (!(e instanceof KubeApiError && (e.status === 409 || e.status === 404))) throw e;
      this.#queue.add(key); // a newer Gateway is on its way; its event re-queues too
    });
  }

  /** Creates the object, or brings the fields we own (labels, annotations, spec) back to what the Gateway says. */
  async #ensure(info: KindInfo, inf: Informer, gw: WaypointGateway, wanted: KubeObject): Promise<void> {
    const ns = wanted.metadata.namespace!;
    // The API server fills defaults into what it stores, so compare what we asked for, by hash.
    const hash = createHash('sha256').update(JSON.stringify([wanted.metadata.labels, wanted.metadata.annotations, wanted.spec])).digest('hex').slice(0, 16);
    const want = { ...wanted, metadata: { ...wanted.metadata, annotations: { ...wanted.metadata.annotations, [APPLIED_ANNOTATION]: hash } } };
    const cur = inf.get(ns, want.metadata.name!);
    if (!cur) {
      await this.client.create(info, want).catch((e: unknown) => {
        if (!(e instanceof KubeApiError && e.status === 409)) throw e;
      });
      this.log(`waypoint ${ns}/${gw.metadata.name}: created ${info.kind} ${want.metadata.name}`);
      return;
    }
    if (!ownedBy(cur, gw.metadata.uid)) {
      this.log(`waypoint ${ns}/${gw.metadata.name}: ${info.kind} ${want.metadata.name} exists and is not owned by the Gateway; left alone (delete it, or name the waypoint differently)`);
      return;
    }
    if (cur.metadata.annotations?.[APPLIED_ANNOTATION] === hash) return;
    const next: KubeObject = { ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, ...want.metadata.labels }, annotations: { ...cur.metadata.annotations, ...want.metadata.annotations } } };
    if (want.spec !== undefined) next.spec = info.kind === 'Service' ? { ...(cur.spec as object), ...(want.spec as object) } : want.spec;
    await this.client.update(info, next).catch((e: unknown) => {
      if (!(e instanceof KubeApiError && (e.status === 409 || e.status === 404))) throw e;
    });
  }
}

function ignore404(e: unknown): void {
  if (!(e instanceof KubeApiError && e.status === 404)) throw e;
}

/** Equal apart from condition timestamps (which only move on a change anyway). */
function sameStatus(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
