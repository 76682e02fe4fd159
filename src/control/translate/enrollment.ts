// Ambient enrollment (spec §6.1): the rule lives in model/mesh so the node agent applies the
// same one. Non-enrolled pods are still sent, with tunnelProtocol NONE, so clients know to
// reach them with plain TCP (spec §4.4 field 5).
import type { TunnelProtocol } from '../../api/types.js';

export { DATAPLANE_MODE_LABEL, isEnrolled } from '../../model/mesh/enrollment.js';

export const tunnelProtocolFor = (enrolled: boolean): TunnelProtocol => (enrolled ? 'HBONE' : 'NONE');
