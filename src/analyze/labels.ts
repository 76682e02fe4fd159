// Where ambient labels live: Namespaces, Pods, Deployment pod templates, Services,
// ServiceEntries and WorkloadEntries, each with the field path of its labels.
import type { KubeObject } from '../model/core/types.js';
import { is, NETWORKING_ISTIO, rec } from './model.js';

export interface Labeled {
  obj: KubeObject;
  /** The kind whose labels these are (a Deployment's template labels are Pod labels). */
  as: 'Namespace' | 'Pod' | 'Service' | 'ServiceEntry' | 'WorkloadEntry';
  labels: Record<string, string>;
  path: string;
}

export function labeled(objects: KubeObject[]): Labeled[] {
  const out: Labeled[] = [];
  for (const o of objects) {
    const own = rec(o.metadata.labels) as Record<string, string>;
    if (is(o, '', 'Namespace') || is(o, '', 'Pod') || is(o, '', 'Service')) out.push({ obj: o, as: o.kind as Labeled['as'], labels: own, path: 'metadata.labels' });
    else if (is(o, NETWORKING_ISTIO, 'ServiceEntry') || is(o, NETWORKING_ISTIO, 'WorkloadEntry')) out.push({ obj: o, as: o.kind as Labeled['as'], labels: own, path: 'metadata.labels' });
    else if (is(o, 'apps', 'Deployment')) {
      const labels = rec(rec(rec(rec(o.spec)['template'])['metadata'])['labels']) as Record<string, string>;
      out.push({ obj: o, as: 'Pod', labels, path: 'spec.template.metadata.labels' });
    }
  }
  return out;
}

/** Label path for one key, in the bracket form kubectl and field errors use for dotted keys. */
export const labelPath = (l: Labeled, key: string): string => `${l.path}['${key}']`;
