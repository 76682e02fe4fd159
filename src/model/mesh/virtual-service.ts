// networking.istio.io VirtualService (v1, v1beta1, v1alpha3): schema and type. Routes,
// destinations, retries and faults are checked field by field; match conditions, CORS and
// header manipulation are stored as mappings (checked by the waypoint issue). Pure.
import { z } from 'zod';
import { duration, exportTo, looseObject, meshMeta, meshStatus, portNumber, strings, type MeshObject } from './common.js';

const destination = z.strictObject({
  host: z.string().min(1, { error: 'required' }),
  subset: z.string().optional(),
  port: z.strictObject({ number: portNumber }).optional(),
});
const weight = z.number().int().min(0).max(100, { error: 'must be 0-100' });
const percentage = z.strictObject({ value: z.number().min(0).max(100, { error: 'must be 0-100' }) });

const httpRouteDestination = z.strictObject({ destination, weight: weight.optional(), headers: looseObject.optional() });
const routeDestination = z.strictObject({ destination, weight: weight.optional() });

const retries = z.strictObject({
  attempts: z.number().int().min(0).optional(),
  perTryTimeout: duration.optional(),
  retryOn: z.string().optional(),
  retryRemoteLocalities: z.boolean().optional(),
  retryIgnorePreviousHosts: z.boolean().optional(),
  backoff: duration.optional(),
});

const fault = z.strictObject({
  delay: z
    .strictObject({ fixedDelay: duration.optional(), exponentialDelay: duration.optional(), percentage: percentage.optional(), percent: z.number().int().optional() })
    .optional(),
  abort: z
    .strictObject({ httpStatus: z.number().int().min(200).max(599).optional(), grpcStatus: z.string().optional(), http2Error: z.string().optional(), percentage: percentage.optional() })
    .optional(),
});

const httpRoute = z.strictObject({
  name: z.string().optional(),
  match: z.array(looseObject).optional(),
  route: z.array(httpRouteDestination).optional(),
  redirect: looseObject.optional(),
  directResponse: looseObject.optional(),
  delegate: z.strictObject({ name: z.string(), namespace: z.string().optional() }).optional(),
  rewrite: looseObject.optional(),
  timeout: duration.optional(),
  retries: retries.optional(),
  fault: fault.optional(),
  mirror: destination.optional(),
  mirrors: z.array(z.strictObject({ destination, percentage: percentage.optional() })).optional(),
  mirrorPercentage: percentage.optional(),
  mirrorPercent: z.number().int().optional(),
  corsPolicy: looseObject.optional(),
  headers: looseObject.optional(),
});

const tlsRoute = z.strictObject({ match: z.array(looseObject).min(1, { error: 'at least one match is required' }), route: z.array(routeDestination).optional() });
const tcpRoute = z.strictObject({ match: z.array(looseObject).optional(), route: z.array(routeDestination).optional() });

export const virtualServiceSpec = z.strictObject({
  hosts: strings.optional(),
  gateways: strings.optional(),
  http: z.array(httpRoute).optional(),
  tls: z.array(tlsRoute).optional(),
  tcp: z.array(tcpRoute).optional(),
  exportTo,
});

export const virtualServiceSchema = z.strictObject({
  apiVersion: z.enum(['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']),
  kind: z.literal('VirtualService'),
  metadata: meshMeta,
  spec: virtualServiceSpec,
  status: meshStatus,
});

export type VirtualService = MeshObject<z.infer<typeof virtualServiceSchema>>;
