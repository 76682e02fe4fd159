// Ambient enrollment (spec §6.1): `istio.io/dataplane-mode=ambient` on the pod, or on its
// namespace unless the pod opts out with `none`. Non-enrolled pods are still sent, with
// tunnelProtocol NONE, so clients know to reach them with plain TCP (spec §4.4 field 5).
import type { TunnelProtocol } from '../../api/types.js';

export const DATAPLANE_MODE_LABEL = 'istio.io/dataplane-mode';

export function isEnrolled(objectLabels: Record<string, string> | undefined, namespaceLabels: Record<string, string> | undefined): boolean {
  const own = objectLabels?.[DATAPLANE_MODE_LABEL];
  if (own === 'ambient') return true;
  if (own === 'none') return false;
  return namespaceLabels?.[DATAPLANE_MODE_LABEL] === 'ambient';
}

export const tunnelProtocolFor = (enrolled: boolean): TunnelProtocol => (enrolled ? 'HBONE' : 'NONE');
