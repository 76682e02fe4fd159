// gateway.networking.k8s.io HTTPRoute (v1, v1beta1): schema and type. Matches and filters
// are checked at their top-level keys; the waypoint issue interprets them. Pure.
import { z } from 'zod';
import { gwDuration, looseObject, meshMeta, meshStatus, type MeshObject } from './common.js';
import { backendRef, hostnames, parentRef } from './gateway-api-common.js';

// The CRD's CEL rule: Exact and PathPrefix (the default) values are absolute paths.
const pathMatch = z
  .strictObject({ type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).optional(), value: z.string().max(1024).optional() })
  .refine((p) => p.type === 'RegularExpression' || p.value === undefined || p.value.startsWith('/'), { error: "must start with '/' when type is Exact or PathPrefix", path: ['value'] });

const match = z.strictObject({
  path: pathMatch.optional(),
  headers: z.array(looseObject).optional(),
  queryParams: z.array(looseObject).optional(),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']).optional(),
});

const rule = z.strictObject({
  name: z.string().optional(),
  matches: z.array(match).optional(),
  filters: z.array(looseObject).optional(),
  backendRefs: z.array(backendRef(looseObject)).optional(),
  timeouts: z.strictObject({ request: gwDuration.optional(), backendRequest: gwDuration.optional() }).optional(),
  retry: looseObject.optional(),
  sessionPersistence: looseObject.optional(),
});

export const httpRouteSpec = z.strictObject({
  parentRefs: z.array(parentRef).optional(),
  hostnames: hostnames.optional(),
  rules: z.array(rule).optional(),
});

export const httpRouteSchema = z.strictObject({
  apiVersion: z.enum(['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1']),
  kind: z.literal('HTTPRoute'),
  metadata: meshMeta,
  spec: httpRouteSpec,
  status: meshStatus,
});

export type HTTPRoute = MeshObject<z.infer<typeof httpRouteSchema>>;
