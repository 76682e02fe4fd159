// gateway.networking.k8s.io Gateway (v1, v1beta1): schema and type. A waypoint is a Gateway
// with gatewayClassName istio-waypoint and an HBONE listener on 15008 (spec §7.1). Pure.
import { z } from 'zod';
import { ipProblem } from '../../lib/ip.js';
import { hostname } from './gateway-api-common.js';
import { labels, looseObject, meshMeta, meshStatus, portNumber, type MeshObject } from './common.js';

/** Gateway API's protocol rule: a token (HTTP, TCP, HBONE) or a domain-prefixed name. */
const PROTOCOL = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$/;

const listener = z.strictObject({
  name: z.string().min(1, { error: 'required' }),
  hostname: hostname.optional(),
  port: portNumber,
  protocol: z.string().regex(PROTOCOL, { error: 'must be a protocol name such as HTTP, TCP or HBONE' }),
  tls: looseObject.optional(),
  allowedRoutes: looseObject.optional(),
});

export const gatewaySpec = z
  .strictObject({
    gatewayClassName: z.string().min(1, { error: 'required' }),
    listeners: z.array(listener).min(1, { error: 'at least one listener is required' }).max(64, { error: 'at most 64 listeners' }),
    addresses: z.array(z.strictObject({ type: z.string().optional(), value: z.string() })).optional(),
    infrastructure: z
      .strictObject({ labels: labels.optional(), annotations: z.record(z.string(), z.string()).optional(), parametersRef: looseObject.optional() })
      .optional(),
    backendTLS: looseObject.optional(),
    allowedListeners: looseObject.optional(),
  })
  .superRefine((s, ctx) => {
    // The CRD's CEL rule: IPAddress (the default type) values are IPs.
    s.addresses?.forEach((a, i) => {
      const p = (a.type ?? 'IPAddress') === 'IPAddress' && a.value !== '' ? ipProblem(a.value, false) : undefined;
      if (p) ctx.addIssue({ code: 'custom', path: ['addresses', i, 'value'], message: p });
    });
    s.listeners.forEach((l, i) => {
      if (s.listeners.findIndex((m) => m.name === l.name) !== i) ctx.addIssue({ code: 'custom', path: ['listeners', i, 'name'], message: `duplicate listener name '${l.name}'` });
    });
  });

export const gatewaySchema = z.strictObject({
  apiVersion: z.enum(['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1']),
  kind: z.literal('Gateway'),
  metadata: meshMeta,
  spec: gatewaySpec,
  status: meshStatus,
});

export type Gateway = MeshObject<z.infer<typeof gatewaySchema>>;
export { WAYPOINT_GATEWAY_CLASS } from '../../mesh-api/labels.js';
