// networking.istio.io ServiceEntry (v1, v1beta1, v1alpha3): schema and type. Pure.
import { z } from 'zod';
import { exportTo, labels, meshMeta, meshStatus, portNumber, strings, type MeshObject } from './common.js';
import { workloadEntrySpec } from './workload-entry.js';

const servicePort = z.strictObject({
  number: portNumber,
  protocol: z.string().optional(),
  name: z.string().optional(),
  targetPort: portNumber.optional(),
});

export const serviceEntrySpec = z
  .strictObject({
    hosts: z.array(z.string().min(1, { error: 'must not be empty' })).min(1, { error: 'at least one host is required' }),
    addresses: strings.optional(),
    ports: z.array(servicePort).optional(),
    location: z.enum(['MESH_EXTERNAL', 'MESH_INTERNAL'], { error: 'must be MESH_EXTERNAL or MESH_INTERNAL' }).optional(),
    resolution: z.enum(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'], { error: 'must be one of NONE, STATIC, DNS, DNS_ROUND_ROBIN' }).optional(),
    endpoints: z.array(workloadEntrySpec).optional(),
    workloadSelector: z.strictObject({ labels: labels.optional() }).optional(),
    exportTo,
    subjectAltNames: strings.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.endpoints?.length && s.workloadSelector) ctx.addIssue({ code: 'custom', path: ['workloadSelector'], message: 'only one of endpoints or workloadSelector may be set' });
    const seen = new Map<number, number>();
    s.ports?.forEach((p, i) => {
      const prev = seen.get(p.number);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['ports', i, 'number'], message: `duplicate of ports[${prev}]` });
      seen.set(p.number, i);
    });
  });

export const serviceEntrySchema = z.strictObject({
  apiVersion: z.enum(['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']),
  kind: z.literal('ServiceEntry'),
  metadata: meshMeta,
  spec: serviceEntrySpec,
  status: meshStatus,
});

export type ServiceEntry = MeshObject<z.infer<typeof serviceEntrySchema>>;
