// The cluster as the checks see it: objects indexed by kind, namespaces, service accounts
// and workloads. Deployment pod templates count as workloads too, so analyzing files before
// anything runs (`ambit analyze -f app/`) sees the pods the Deployment will make.
import type { Container, KubeObject } from '../model/core/types.js';
import type { Finding, Level } from './types.js';
import { DATAPLANE_MODE_LABEL } from '../mesh-api/labels.js';

export const ROOT_NAMESPACE = 'istio-system';
export {
  DATAPLANE_MODE_LABEL as DATAPLANE_MODE,
  USE_WAYPOINT_LABEL as USE_WAYPOINT,
  USE_WAYPOINT_NAMESPACE_LABEL as USE_WAYPOINT_NAMESPACE,
  WAYPOINT_FOR_LABEL as WAYPOINT_FOR,
  WAYPOINT_GATEWAY_CLASS as WAYPOINT_CLASS,
} from '../mesh-api/labels.js';
export const GATEWAY_API = 'gateway.networking.k8s.io';
export const SECURITY_ISTIO = 'security.istio.io';
export const NETWORKING_ISTIO = 'networking.istio.io';

/** Namespaces every cluster has even when no file declares them. */
const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease', ROOT_NAMESPACE];

export interface Workload {
  /** The Pod, or the Deployment whose template this is. */
  obj: KubeObject;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  containers: Container[];
}

export const groupOf = (o: KubeObject): string => (o.apiVersion.includes('/') ? o.apiVersion.slice(0, o.apiVersion.indexOf('/')) : '');
export const is = (o: KubeObject, group: string, kind: string): boolean => o.kind === kind && groupOf(o) === group;
export const nsOf = (o: KubeObject): string => o.metadata.namespace ?? 'default';
export const labelsOf = (o: KubeObject): Record<string, string> => rec(o.metadata.labels) as Record<string, string>;

export function describe(o: KubeObject): string {
  return o.metadata.namespace ? `${o.kind} ${o.metadata.namespace}/${o.metadata.name ?? ''}` : `${o.kind} ${o.metadata.name ?? ''}`;
}

export function finding(code: string, level: Level, o: KubeObject, message: string, path?: string): Finding {
  return path ? { code, level, object: describe(o), path, message } : { code, level, object: describe(o), message };
}

// Guards for unvalidated input: wrong shapes read as empty instead of throwing.
export const arr = <T>(v: T[] | undefined | unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
export const strs = (v: unknown): string[] => arr<unknown>(v).filter((s): s is string => typeof s === 'string');
export const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export function specOf<T>(o: KubeObject): T {
  return rec(o.spec) as T;
}

/** matchLabels semantics (Istio selectors have no expressions). Empty matches everything. */
export function selects(matchLabels: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

export const showLabels = (m: Record<string, string>): string => Object.entries(m).map(([k, v]) => `${k}=${v}`).join(',');

export class Cluster {
  readonly namespaces = new Set<string>();
  readonly workloads: Workload[] = [];
  readonly #sas = new Set<string>();
  readonly #nsLabels = new Map<string, Record<string, string>>();

  constructor(readonly objects: KubeObject[]) {
    for (const ns of BUILTIN_NAMESPACES) this.namespaces.add(ns);
    for (const o of objects) {
      // An object in a namespace implies the namespace (files often omit the Namespace).
      if (o.metadata.namespace) this.namespaces.add(o.metadata.namespace);
      if (is(o, '', 'Namespace') && o.metadata.name) {
        this.namespaces.add(o.metadata.name);
        this.#nsLabels.set(o.metadata.name, labelsOf(o));
      } else if (is(o, '', 'ServiceAccount')) this.#sas.add(`${nsOf(o)}/${o.metadata.name ?? ''}`);
      else if (is(o, '', 'Pod') && !o.metadata.deletionTimestamp) {
        const spec = rec(o.spec);
        this.workloads.push({ obj: o, namespace: nsOf(o), labels: labelsOf(o), serviceAccount: saOf(spec), containers: arr(spec['containers']) });
      } else if (is(o, 'apps', 'Deployment')) {
        const tpl = rec(rec(o.spec)['template']);
        const spec = rec(tpl['spec']);
        this.workloads.push({ obj: o, namespace: nsOf(o), labels: rec(rec(tpl['metadata'])['labels']) as Record<string, string>, serviceAccount: saOf(spec), containers: arr(spec['containers']) });
      }
    }
  }

  of(group: string, kind: string): KubeObject[] {
    return this.objects.filter((o) => is(o, group, kind));
  }

  /** Every namespace gets a `default` account on creation. */
  hasServiceAccount(ns: string, name: string): boolean {
    return this.#sas.has(`${ns}/${name}`) || (name === 'default' && this.namespaces.has(ns));
  }

  namespaceLabels(ns: string): Record<string, string> {
    return this.#nsLabels.get(ns) ?? {};
  }

  /** In ambient: the pod's own label wins, else its namespace's (spec §6.1). */
  enrolled(w: Workload): boolean {
    const own = w.labels[DATAPLANE_MODE_LABEL];
    if (own !== undefined) return own === 'ambient';
    return this.namespaceLabels(w.namespace)[DATAPLANE_MODE_LABEL] === 'ambient';
  }

}

/** Workloads a policy selector picks: its namespace, or all of them from the root namespace. */
export function selected(c: Cluster, policyNs: string, matchLabels: Record<string, string>): Workload[] {
  return c.workloads.filter((w) => (policyNs === ROOT_NAMESPACE || w.namespace === policyNs) && selects(matchLabels, w.labels));
}

function saOf(spec: Record<string, unknown>): string {
  return str(spec['serviceAccountName']) ?? str(spec['serviceAccount']) ?? 'default';
}

export type Check = (c: Cluster) => Finding[];
