// security.istio.io PeerAuthentication (v1, v1beta1): schema, type, warnings (spec §5.4). Pure.
import { z } from 'zod';
import { meshMeta, meshStatus, workloadSelector, type MeshObject } from './common.js';
import type { MeshWarning } from './warning.js';

export const MTLS_MODES = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'] as const;
const mtls = z.strictObject({ mode: z.enum(MTLS_MODES, { error: `must be one of ${MTLS_MODES.join(', ')}` }).optional() });

const portKey = z.string().refine((k) => /^[0-9]{1,5}$/.test(k) && Number(k) >= 1 && Number(k) <= 65535, { error: 'port must be 1-65535' });

export const peerAuthenticationSpec = z
  .strictObject({
    selector: workloadSelector.optional(),
    mtls: mtls.optional(),
    portLevelMtls: z.record(portKey, mtls).optional(),
  })
  .superRefine((s, ctx) => {
    // As Istio: port-level settings need a workload selector to know which ports they mean.
    // A selector without labels selects every workload, so it counts as none (istiod's emptySelector).
    const ports = s.portLevelMtls && Object.keys(s.portLevelMtls).length;
    if (ports && !Object.keys(s.selector?.matchLabels ?? {}).length) {
      ctx.addIssue({ code: 'custom', path: ['portLevelMtls'], message: 'requires a selector with matchLabels' });
    }
    if (s.portLevelMtls && !ports) ctx.addIssue({ code: 'custom', path: ['portLevelMtls'], message: 'must name at least one port when set' });
  });

export const peerAuthenticationSchema = z.strictObject({
  apiVersion: z.enum(['security.istio.io/v1', 'security.istio.io/v1beta1']),
  kind: z.literal('PeerAuthentication'),
  metadata: meshMeta,
  spec: peerAuthenticationSpec.optional(),
  status: meshStatus,
});

export type PeerAuthentication = MeshObject<z.infer<typeof peerAuthenticationSchema>>;
export type MtlsMode = (typeof MTLS_MODES)[number];

export function peerAuthenticationWarnings(pa: Pick<PeerAuthentication, 'spec'>): MeshWarning[] {
  // istiod reads a DISABLE mode as PERMISSIVE, and a port-level DISABLE as an exemption only
  // where it also honours PERMISSIVE (see control/translate/peer-authentication.ts).
  const out: MeshWarning[] = [];
  if (pa.spec?.mtls?.mode === 'DISABLE') out.push({ path: 'spec.mtls.mode', message: 'ambient always uses mTLS between node tunnels; DISABLE acts as PERMISSIVE' });
  for (const [port, m] of Object.entries(pa.spec?.portLevelMtls ?? {})) {
    if (m.mode === 'DISABLE') out.push({ path: `spec.portLevelMtls.${port}.mode`, message: 'ambient always uses mTLS between node tunnels; a port-level DISABLE at most exempts the port as PERMISSIVE does, and under an inherited STRICT mode it only does so beside a PERMISSIVE port' });
  }
  return out;
}
