// The status the API server writes on every write of a mesh kind: one `Accepted` condition,
// reason UnsupportedValue when the object has warnings (as istiod reports them). Pure.
import { warningText, type MeshWarning } from './warnings.js';

export interface MeshCondition {
  type: 'Accepted';
  status: 'True' | 'False';
  reason: 'Accepted' | 'UnsupportedValue';
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

export function acceptedCondition(warnings: MeshWarning[], generation: number, prevStatus: unknown, now: Date): MeshCondition {
  const reason = warnings.length ? 'UnsupportedValue' : 'Accepted';
  const message = warnings.length ? warnings.map(warningText).join('; ') : 'Configuration is valid';
  const prev = conditionsOf(prevStatus).find((c) => c['type'] === 'Accepted');
  // lastTransitionTime moves only when status or reason changes, as Kubernetes conditions do.
  const same = prev && prev['status'] === 'True' && prev['reason'] === reason && typeof prev['lastTransitionTime'] === 'string';
  const lastTransitionTime = same ? (prev['lastTransitionTime'] as string) : now.toISOString().replace(/\.\d+Z$/, 'Z');
  return { type: 'Accepted', status: 'True', reason, message, lastTransitionTime, observedGeneration: generation };
}

/** The previous status with its Accepted condition replaced (other conditions and fields kept). */
export function withAccepted(prevStatus: unknown, cond: MeshCondition): Record<string, unknown> {
  const base = prevStatus && typeof prevStatus === 'object' && !Array.isArray(prevStatus) ? (prevStatus as Record<string, unknown>) : {};
  return { ...base, conditions: [cond, ...conditionsOf(prevStatus).filter((c) => c['type'] !== 'Accepted')] };
}

function conditionsOf(status: unknown): Record<string, unknown>[] {
  const c = (status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(c) ? c.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
}
