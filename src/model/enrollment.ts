// Ambient enrollment labels (spec §6.1, §7.2). Pure: constants and one check the
// Namespace, Pod and Deployment-template schemas run on their labels.
import { DATAPLANE_MODE_LABEL } from '../mesh-api/labels.js';

export { DATAPLANE_MODE_LABEL, REDIRECTION_ANNOTATION, USE_WAYPOINT_LABEL, USE_WAYPOINT_NAMESPACE_LABEL } from '../mesh-api/labels.js';

/** `ambient` enrolls a namespace or pod in the mesh; `none` opts a pod (or namespace) out. */
export const DATAPLANE_MODES = ['ambient', 'none'] as const;
export type DataplaneMode = (typeof DATAPLANE_MODES)[number];

/**
 * Written by the node agent on a pod (as istio-cni does) once its capture rules are in and the
 * node tunnel accepted it: `enabled`; `pending` when the rules are in but no tunnel took it yet.
 * Removed when the pod leaves the mesh. The control plane sends HBONE only for `enabled`.
 */
export type RedirectionState = 'enabled' | 'pending';

/** The error for a bad dataplane-mode value, or undefined when the labels are fine. */
export function dataplaneModeError(labels: Record<string, string> | undefined): string | undefined {
  const v = labels?.[DATAPLANE_MODE_LABEL];
  if (v === undefined || (DATAPLANE_MODES as readonly string[]).includes(v)) return undefined;
  return `label ${DATAPLANE_MODE_LABEL} must be one of ${DATAPLANE_MODES.map((m) => `'${m}'`).join(', ')} (got '${v}')`;
}

/**
 * Spec §6.1: `ambient` on the pod, or on its namespace unless the pod opts out with `none`.
 * The one rule both the node agent (capture) and the control plane (tunnel protocol) apply.
 */
export function isEnrolled(objectLabels: Record<string, string> | undefined, namespaceLabels: Record<string, string> | undefined): boolean {
  const own = objectLabels?.[DATAPLANE_MODE_LABEL];
  if (own === 'ambient') return true;
  if (own === 'none') return false;
  return namespaceLabels?.[DATAPLANE_MODE_LABEL] === 'ambient';
}
