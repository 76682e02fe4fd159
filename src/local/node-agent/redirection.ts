// The ambient redirection annotation on a pod (spec §6.1 step 3), written as istio-cni writes
// it: a JSON merge patch through pods/status (the one metadata write a node is allowed), the
// value `enabled` / `pending`, or null to remove it.
import type { KubeClient } from '../../kube/kube-client.js';
import { KubeApiError } from '../../kube/kube-client.js';
import { K } from '../controllers/kinds.js';
import type { Pod } from '../../model/core/types.js';
import { REDIRECTION_ANNOTATION, type RedirectionState } from '../../model/enrollment.js';

/**
 * Brings the pod's annotation to `want` (undefined: absent). Returns the pod as written, or
 * undefined when nothing needed writing or the pod is already gone.
 */
export async function syncRedirection(client: KubeClient, pod: Pod, want: RedirectionState | undefined): Promise<Pod | undefined> {
  if (pod.metadata.annotations?.[REDIRECTION_ANNOTATION] === want) return undefined;
  try {
    return (await client.patch(K.Pod, pod.metadata.namespace, pod.metadata.name!, { metadata: { annotations: { [REDIRECTION_ANNOTATION]: want ?? null } } }, 'status')) as Pod;
  } catch (e) {
    if (e instanceof KubeApiError && e.status === 404) return undefined;
    throw e;
  }
}
