// networking.istio.io WorkloadEntry (v1, v1beta1, v1alpha3): schema and type. The spec is
// also a ServiceEntry endpoint. Pure.
import { z } from 'zod';
import { checkEndpoint } from './checks.js';
import { labels, meshMeta, meshStatus, portNumber, type MeshObject } from './common.js';

export const workloadEntrySpec = z.strictObject({
  address: z.string().optional(),
  ports: z.record(z.string(), portNumber).optional(),
  labels: labels.optional(),
  network: z.string().optional(),
  locality: z.string().optional(),
  weight: z.number().int().min(0).optional(),
  serviceAccount: z.string().optional(),
});

export const workloadEntrySchema = z.strictObject({
  apiVersion: z.enum(['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']),
  kind: z.literal('WorkloadEntry'),
  metadata: meshMeta,
  spec: workloadEntrySpec
    .refine((s) => s.address || s.network, { error: 'address is required (unless network is set)', path: ['address'] })
    .superRefine((s, ctx) => checkEndpoint(ctx, s, [], true)),
  status: meshStatus,
});

export type WorkloadEntry = MeshObject<z.infer<typeof workloadEntrySchema>>;
export type WorkloadEntrySpec = z.infer<typeof workloadEntrySpec>;
