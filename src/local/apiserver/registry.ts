// Per-kind write semantics: defaults, admission checks, immutable fields, status
// subresources and cascading deletes. Sits between the HTTP layer and the Store.
import type { KindInfo } from '../../model/core/kinds.js';
import { KINDS, KINDS_PREFERRED, kindKey, apiVersionOf, storageVersionOf } from '../../model/core/kinds.js';
import type { Deployment, KubeObject, Pod, Service } from '../../model/core/types.js';
import { validateObject } from '../../model/core/validate.js';
import { isMeshGroup } from '../../model/mesh/schemas.js';
import { acceptedCondition, withAccepted } from '../../model/mesh/status.js';
import { meshWarnings } from '../../model/mesh/warnings.js';
import { ApiError } from './errors.js';
import type { ServiceIPAllocator } from './service-ips.js';
import type { Store } from './store.js';

const NS_KEY = 'core/namespaces';
const SA_KEY = 'core/serviceaccounts';
const POD_KEY = 'core/pods';

export interface DeleteOptions {
  /** gracePeriodSeconds=0: remove now instead of asking the node agent to stop the pod first. */
  gracePeriodSeconds?: number;
}

export class Registry {
  constructor(readonly store: Store, readonly serviceIPs: ServiceIPAllocator) {
    for (const svc of store.list('core/services')) {
      const ip = (svc as Service).spec.clusterIP;
      if (ip && ip !== 'None') serviceIPs.restore(ip);
    }
  }

  /** Creates the namespaces every cluster starts with. */
  bootstrap(): void {
    for (const name of ['default', 'kube-system', 'istio-system']) {
      if (!this.store.get(NS_KEY, '', name)) this.create(KINDS[0]!, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
  }

  create(info: KindInfo, ns: string, input: KubeObject): KubeObject {
    const obj = this.#validate(info, ns, input);
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + randomSuffix();
    delete obj.metadata.resourceVersion;
    if (info.namespaced) this.#requireNamespace(obj.metadata.namespace!);
    switch (info.kind) {
      case 'Namespace':
        obj.status = { phase: 'Active' };
        break;
      case 'Pod':
        this.#preparePod(obj as Pod);
        break;
      case 'Service':
        this.#prepareService(obj as Service, undefined);
        break;
      case 'Deployment':
        (obj as Deployment).spec.replicas ??= 1;
        obj.status = {};
        break;
    }
    if (isMeshGroup(info.group)) this.#prepareMesh(info, obj, undefined);
    let created: KubeObject;
    try {
      created = this.store.create(kindKey(info), obj);
    } catch (e) {
      if (info.kind === 'Service') this.#releaseIP(obj as Service);
      throw e;
    }
    if (info.kind === 'Namespace') {
      // ServiceAccount admission: every namespace gets its `default` account at once, so
      // a pod created right after its namespace never races a controller.
      this.store.create(SA_KEY, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: obj.metadata.name! } });
    }
    return servedAs(info, created);
  }

  /** Full replace of the main resource (status is kept as stored). */
  update(info: KindInfo, ns: string, name: string, input: KubeObject): KubeObject {
    const cur = this.get(info, ns, name);
    if (input.metadata?.name !== undefined && input.metadata.name !== name) {
      throw new ApiError('BadRequest', `the name of the object (${input.metadata.name}) does not match the name on the URL (${name})`);
    }
    const obj = this.#validate(info, ns, { ...input, metadata: { ...input.metadata, name } });
    if (cur.metadata.deletionTimestamp) obj.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
    switch (info.kind) {
      case 'Pod':
        this.#checkPodUpdate(cur as Pod, obj as Pod);
        break;
      case 'Service':
        this.#prepareService(obj as Service, cur as Service);
        break;
      case 'Deployment':
        (obj as Deployment).spec.replicas ??= 1;
        break;
    }
    if (info.kind !== 'Endpoints' && info.kind !== 'ServiceAccount' && info.kind !== 'ConfigMap') obj.status = cur.status;
    if (isMeshGroup(info.group)) this.#prepareMesh(info, obj, cur);
    return servedAs(info, this.store.update(kindKey(info), obj, input.metadata.resourceVersion));
  }

  /**
   * Status subresource: only .status changes, and for Pods metadata.annotations too (Kubernetes
   * lets pods/status write metadata; istio-cni annotates captured pods through it).
   */
  updateStatus(info: KindInfo, ns: string, name: string, input: KubeObject): KubeObject {
    const cur = this.get(info, ns, name);
    const next: KubeObject = { ...cur, apiVersion: apiVersionOf(storageVersionOf(info)), status: input.status };
    if (info.kind === 'Pod') {
      const annotations = input.metadata?.annotations ?? {};
      for (const [k, v] of Object.entries(annotations)) if (typeof v !== 'string') throw new ApiError('BadRequest', `metadata.annotations[${k}] must be a string`);
      const { annotations: _old, ...meta } = cur.metadata;
      next.metadata = Object.keys(annotations).length > 0 ? { ...meta, annotations } : meta;
    }
    // Status is checked like spec: what the control plane translates must be well-formed here.
    this.#check(info, { ...next, apiVersion: apiVersionOf(info) });
    return servedAs(info, this.store.update(kindKey(info), next, input.metadata?.resourceVersion));
  }

  get(info: KindInfo, ns: string, name: string): KubeObject {
    const obj = this.store.get(kindKey(info), ns, name);
    if (!obj) {
      throw new ApiError('NotFound', `${info.resource}${info.group ? `.${info.group}` : ''} "${name}" not found`, {
        name,
        group: info.group,
        kind: info.resource,
      });
    }
    return servedAs(info, obj);
  }

  delete(info: KindInfo, ns: string, name: string, opts: DeleteOptions = {}): KubeObject {
    const cur = this.get(info, ns, name);
    switch (info.kind) {
      case 'Namespace':
        for (const k of KINDS_PREFERRED) if (k.namespaced) for (const o of this.store.list(kindKey(k), name)) this.delete(k, name, o.metadata.name!, { gracePeriodSeconds: 0 });
        break;
      case 'Pod': {
        const pod = cur as Pod;
        // Graceful: a scheduled pod is marked, its node agent stops it and then deletes it.
        if (pod.spec.nodeName && opts.gracePeriodSeconds !== 0) {
          if (cur.metadata.deletionTimestamp) return cur;
          const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
          return this.store.update(POD_KEY, {
            ...cur,
            metadata: { ...cur.metadata, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: grace },
          });
        }
        break;
      }
      case 'Deployment':
        for (const p of this.store.list(POD_KEY, ns)) {
          if (p.metadata.ownerReferences?.some((r) => r.uid === cur.metadata.uid)) this.delete(KINDS.find((k) => k.kind === 'Pod')!, ns, p.metadata.name!, opts);
        }
        break;
      case 'Service':
        this.#releaseIP(cur as Service);
        if (this.store.get('core/endpoints', ns, name)) this.store.delete('core/endpoints', ns, name);
        break;
    }
    return servedAs(info, this.store.delete(kindKey(info), ns, name));
  }

  /**
   * Mesh kinds: stored in their storage version, and every write sets the Accepted condition
   * (reason UnsupportedValue with the warnings' text when the config will not do what it seems).
   */
  #prepareMesh(info: KindInfo, obj: KubeObject, cur: KubeObject | undefined): void {
    obj.apiVersion = apiVersionOf(storageVersionOf(info));
    // The generation the store will give this write (it bumps it when spec changes).
    const generation = cur ? (cur.metadata.generation ?? 1) + (JSON.stringify(cur.spec) !== JSON.stringify(obj.spec) ? 1 : 0) : 1;
    obj.status = withAccepted(cur?.status, acceptedCondition(meshWarnings(obj), generation, cur?.status, new Date()));
  }

  #validate(info: KindInfo, ns: string, input: KubeObject): KubeObject {
    if (input === null || typeof input !== 'object') throw new ApiError('BadRequest', 'request body must be a JSON object');
    const withType = { ...input, apiVersion: input.apiVersion ?? apiVersionOf(info), kind: input.kind ?? info.kind };
    if (withType.kind !== info.kind || withType.apiVersion !== apiVersionOf(info)) {
      throw new ApiError('BadRequest', `the body is a ${withType.apiVersion}/${withType.kind} but the URL is for ${apiVersionOf(info)}/${info.kind}`);
    }
    const meta = { ...(withType.metadata ?? {}) };
    if (info.namespaced) {
      if (meta.namespace && meta.namespace !== ns) {
        throw new ApiError('BadRequest', `the namespace of the provided object (${meta.namespace}) does not match the namespace sent on the request (${ns})`);
      }
      meta.namespace = ns;
    } else {
      delete meta.namespace;
    }
    return structuredClone(this.#check(info, { ...withType, metadata: meta }));
  }

  /** Schema check; 422 Invalid with every field path otherwise. */
  #check(info: KindInfo, obj: KubeObject): KubeObject {
    const r = validateObject(obj);
    if (!r.ok) {
      const name = obj.metadata?.name ?? '';
      const text = r.errors.map((e) => `${e.path}: ${e.message}`).join(', ');
      throw new ApiError('Invalid', `${info.kind} "${name}" is invalid: ${text}`, {
        name,
        group: info.group,
        kind: info.kind,
        causes: r.errors.map((e) => ({ reason: 'FieldValueInvalid', message: e.message, field: e.path })),
      });
    }
    return r.value;
  }

  #requireNamespace(ns: string): void {
    const nsObj = this.store.get(NS_KEY, '', ns);
    if (!nsObj) throw new ApiError('NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
  }

  #preparePod(pod: Pod): void {
    pod.spec.restartPolicy ??= 'Always';
    const sa = pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? 'default';
    pod.spec.serviceAccountName = sa;
    delete pod.spec.serviceAccount;
    const ns = pod.metadata.namespace!;
    if (!this.store.get(SA_KEY, ns, sa)) {
      throw new ApiError('Forbidden', `pods "${pod.metadata.name}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`);
    }
    pod.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] };
  }

  #checkPodUpdate(cur: Pod, next: Pod): void {
    next.spec.restartPolicy ??= cur.spec.restartPolicy;
    next.spec.serviceAccountName ??= cur.spec.serviceAccountName;
    delete next.spec.serviceAccount;
    // Binding: nodeName may go from unset to set exactly once.
    if (!cur.spec.nodeName && next.spec.nodeName) {
      const bound = { ...next.spec, nodeName: undefined };
      if (JSON.stringify(stripUndefined(bound)) === JSON.stringify(stripUndefined({ ...cur.spec, nodeName: undefined }))) return;
    }
    if (JSON.stringify(stripUndefined(cur.spec)) !== JSON.stringify(stripUndefined({ ...next.spec, nodeName: next.spec.nodeName ?? cur.spec.nodeName }))) {
      throw new ApiError('Invalid', `Pod "${cur.metadata.name}" is invalid: spec: Forbidden: pod updates may not change fields other than labels and annotations; delete and recreate the pod (or let its Deployment do it)`);
    }
    next.spec.nodeName = cur.spec.nodeName;
  }

  #prepareService(svc: Service, cur: Service | undefined): void {
    for (const p of svc.spec.ports ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
    svc.spec.type ??= 'ClusterIP';
    if (cur) {
      const had = cur.spec.clusterIP;
      if (svc.spec.clusterIP && svc.spec.clusterIP !== had) {
        throw new ApiError('Invalid', `Service "${svc.metadata.name}" is invalid: spec.clusterIP: Invalid value: "${svc.spec.clusterIP}": field is immutable`);
      }
      svc.spec.clusterIP = had;
    } else if (svc.spec.clusterIP !== 'None') {
      svc.spec.clusterIP = this.serviceIPs.allocate(svc.spec.clusterIP);
    }
    svc.spec.clusterIPs = svc.spec.clusterIP ? [svc.spec.clusterIP] : [];
  }

  #releaseIP(svc: Service): void {
    if (svc.spec.clusterIP && svc.spec.clusterIP !== 'None') this.serviceIPs.release(svc.spec.clusterIP);
  }
}

function stripUndefined(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

function randomSuffix(): string {
  const chars = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

/** The object as the requested version serves it: versions of a kind share one schema, so only apiVersion differs. */
export function servedAs(info: KindInfo, obj: KubeObject): KubeObject {
  const v = apiVersionOf(info);
  return obj.apiVersion === v || obj.kind !== info.kind ? obj : { ...obj, apiVersion: v };
}
