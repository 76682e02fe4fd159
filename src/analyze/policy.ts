// Walking AuthorizationPolicy rules with field paths, shared by the policy checks.
import type { KubeObject } from '../model/core/types.js';
import { arr, is, rec, SECURITY_ISTIO, str, strs } from './model.js';

export interface FieldValues {
  /** e.g. `spec.rules[0].from[1].source.principals` */
  path: string;
  field: string;
  values: string[];
}

export const authorizationPolicies = (objects: KubeObject[]): KubeObject[] => objects.filter((o) => is(o, SECURITY_ISTIO, 'AuthorizationPolicy'));

export const hasTargetRefs = (o: KubeObject): boolean => {
  const spec = rec(o.spec);
  return spec['targetRef'] !== undefined || arr(spec['targetRefs']).length > 0;
};

export const actionOf = (o: KubeObject): string => str(rec(o.spec)['action']) ?? 'ALLOW';

export const rulesOf = (o: KubeObject): unknown[] => arr(rec(o.spec)['rules']);

/** Every list field of rule `i`'s sources and operations, and its `when` values as field `when:<key>`. */
export function ruleFields(rule: unknown, i: number): FieldValues[] {
  const out: FieldValues[] = [];
  const r = rec(rule);
  arr(r['from']).forEach((f, j) => {
    for (const [field, v] of Object.entries(rec(rec(f)['source']))) out.push({ path: `spec.rules[${i}].from[${j}].source.${field}`, field, values: strs(v) });
  });
  arr(r['to']).forEach((t, j) => {
    for (const [field, v] of Object.entries(rec(rec(t)['operation']))) out.push({ path: `spec.rules[${i}].to[${j}].operation.${field}`, field, values: strs(v) });
  });
  arr(r['when']).forEach((w, j) => {
    const cond = rec(w);
    const key = str(cond['key']) ?? '';
    for (const list of ['values', 'notValues']) out.push({ path: `spec.rules[${i}].when[${j}].${list}`, field: `when:${key}`, values: strs(cond[list]) });
  });
  return out;
}

export const allFields = (o: KubeObject): FieldValues[] => rulesOf(o).flatMap((r, i) => ruleFields(r, i));
