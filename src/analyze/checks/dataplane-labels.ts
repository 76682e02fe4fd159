// AMB009: `istio.io/dataplane-mode` with a value other than ambient|none (the workloads are
// silently not enrolled), and AMB010: a label key that is almost an ambient label key
// (`istio.io/dataplane_mode`, `istio-io/dataplane-mode`, `dataplane-mode`...), which Istio
// ignores just as silently.
import { type Check, DATAPLANE_MODE, finding, USE_WAYPOINT, USE_WAYPOINT_NAMESPACE, WAYPOINT_FOR } from '../model.js';
import { labeled, labelPath } from '../labels.js';
import type { Finding } from '../types.js';

const KNOWN = [DATAPLANE_MODE, USE_WAYPOINT, USE_WAYPOINT_NAMESPACE, WAYPOINT_FOR];

/** Levenshtein distance, capped: we only care whether it is ≤ 2. */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

const squash = (k: string): string => k.toLowerCase().replace(/[-_./]/g, '');
const nameOf = (k: string): string => k.slice(k.lastIndexOf('/') + 1);

/** The ambient key `key` was probably meant to be, if any. */
export function nearMiss(key: string): string | undefined {
  if (KNOWN.includes(key)) return undefined;
  return KNOWN.find((k) => editDistance(key, k) <= 2 || squash(key) === squash(k) || nameOf(key).toLowerCase() === nameOf(k));
}

export const dataplaneLabels: Check = (c) => {
  const out: Finding[] = [];
  for (const l of labeled(c.objects)) {
    const mode = l.labels[DATAPLANE_MODE];
    if (mode !== undefined && (l.as === 'Namespace' || l.as === 'Pod') && mode !== 'ambient' && mode !== 'none') {
      out.push(finding('AMB009', 'Error', l.obj, `${DATAPLANE_MODE}=${mode} is not a valid mode (ambient or none), so ${l.as === 'Namespace' ? 'the pods in this namespace are' : 'this workload is'} not enrolled in the mesh. Set ${DATAPLANE_MODE}=ambient to enroll, or none to opt out.`, labelPath(l, DATAPLANE_MODE)));
    }
    for (const key of Object.keys(l.labels)) {
      const meant = nearMiss(key);
      if (!meant) continue;
      out.push(finding('AMB010', 'Warning', l.obj, `label "${key}" looks like a misspelling of "${meant}", which Istio ignores. Rename it to ${meant}=${l.labels[key] ?? ''}.`, labelPath(l, key)));
    }
  }
  return out;
};
