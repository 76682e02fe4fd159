// The tunnel protocol a workload is sent with (spec §4.4 field 5), as istiod's setTunnelProtocol:
// HBONE once the node agent has confirmed capture (`ambient.istio.io/redirection: enabled`,
// written by it, never by the enrollment label alone), or when the workload speaks HBONE itself
// (`networking.istio.io/tunnel: http`, then also native_tunnel). Otherwise NONE: the workload is
// still sent so clients reach it with plain TCP.
import type { TunnelProtocol } from '../../mesh-api/types.js';
import { REDIRECTION_ANNOTATION } from '../../model/enrollment.js';

export { DATAPLANE_MODE_LABEL, REDIRECTION_ANNOTATION, isEnrolled } from '../../model/enrollment.js';

export const TUNNEL_LABEL = 'networking.istio.io/tunnel';

export function tunnelOf(labels: Record<string, string> | undefined, annotations: Record<string, string> | undefined): { tunnelProtocol: TunnelProtocol; nativeTunnel: boolean } {
  if ((labels?.[TUNNEL_LABEL] ?? '').split(',').includes('http')) return { tunnelProtocol: 'HBONE', nativeTunnel: true };
  return { tunnelProtocol: annotations?.[REDIRECTION_ANNOTATION] === 'enabled' ? 'HBONE' : 'NONE', nativeTunnel: false };
}
