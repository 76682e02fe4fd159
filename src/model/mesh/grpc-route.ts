// gateway.networking.k8s.io GRPCRoute (v1): schema and type. Pure.
import { z } from 'zod';
import { looseObject, meshMeta, meshStatus, type MeshObject } from './common.js';
import { backendRef, hostnames, parentRef } from './gateway-api-common.js';

const match = z.strictObject({
  // The CRD's CEL rule: a method match names a service, a method or both.
  method: z
    .strictObject({ type: z.enum(['Exact', 'RegularExpression']).optional(), service: z.string().optional(), method: z.string().optional() })
    .refine((m) => m.service || m.method, { error: 'must set service, method or both' })
    .optional(),
  headers: z.array(looseObject).optional(),
});

const rule = z.strictObject({
  name: z.string().optional(),
  matches: z.array(match).optional(),
  filters: z.array(looseObject).optional(),
  backendRefs: z.array(backendRef(looseObject)).optional(),
  sessionPersistence: looseObject.optional(),
});

export const grpcRouteSpec = z.strictObject({
  parentRefs: z.array(parentRef).optional(),
  hostnames: hostnames.optional(),
  rules: z.array(rule).optional(),
});

export const grpcRouteSchema = z.strictObject({
  apiVersion: z.literal('gateway.networking.k8s.io/v1'),
  kind: z.literal('GRPCRoute'),
  metadata: meshMeta,
  spec: grpcRouteSpec,
  status: meshStatus,
});

export type GRPCRoute = MeshObject<z.infer<typeof grpcRouteSchema>>;
