// networking.istio.io VirtualService (v1, v1beta1, v1alpha3): schema and type. Routes,
// destinations, retries and faults are checked field by field; match conditions, CORS and
// header manipulation are stored as mappings (checked by the waypoint issue). Pure.
import { z } from 'zod';
import { ipProblem } from '../../lib/ip.js';
import { checkIps, isDns1123Label, issue, wildcardDomainProblem, type Path } from './checks.js';
import { duration, exportTo, labels, looseObject, meshMeta, meshStatus, portNumber, strings, type MeshObject } from './common.js';

const destination = z.strictObject({
  host: z.string().min(1, { error: 'required' }),
  subset: z.string().optional(),
  port: z.strictObject({ number: portNumber }).optional(),
});
// Weights are relative (istiod only refuses negatives and an all-zero split); int32 on the wire.
const weight = z.number().int().min(0, { error: 'must not be negative' }).max(2147483647);
const percentage = z.strictObject({ value: z.number().min(0).max(100, { error: 'must be 0-100' }) });

const httpRouteDestination = z.strictObject({ destination, weight: weight.optional(), headers: looseObject.optional() });
const routeDestination = z.strictObject({ destination, weight: weight.optional() });

const l4Match = {
  destinationSubnets: strings.optional(),
  port: portNumber.optional(),
  sourceLabels: labels.optional(),
  gateways: strings.optional(),
  sourceNamespace: z.string().optional(),
};
const tcpMatch = z.strictObject(l4Match);
const tlsMatch = z.strictObject({
  sniHosts: z.array(z.string(), { error: (i) => (i.input === undefined ? 'required' : 'must be a list of host names') }).min(1, { error: 'at least one SNI host is required' }),
  ...l4Match,
});
/** HTTP match conditions are the waypoint's; only the port is checked here. */
const httpMatch = looseObject.superRefine((m, ctx) => {
  if (m['port'] !== undefined && !portNumber.safeParse(m['port']).success) issue(ctx, ['port'], 'must be a port number 1-65535');
});

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
  match: z.array(httpMatch).optional(),
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

const tlsRoute = z.strictObject({ match: z.array(tlsMatch).min(1, { error: 'at least one match is required' }), route: z.array(routeDestination).optional() });
const tcpRoute = z.strictObject({ match: z.array(tcpMatch).optional(), route: z.array(routeDestination).optional() });

export const virtualServiceSpec = z.strictObject({
  hosts: strings.optional(),
  gateways: strings.optional(),
  http: z.array(httpRoute).optional(),
  tls: z.array(tlsRoute).optional(),
  tcp: z.array(tcpRoute).optional(),
  exportTo,
}).superRefine((s, ctx) => {
  // The checks of Istio's validation webhook (ValidateVirtualService).
  const hosts = s.hosts ?? [];
  if (hosts.length === 0) {
    // Without hosts this is a delegate, which carries HTTP routes only.
    for (const k of ['gateways', 'tls', 'tcp'] as const) if (s[k]?.length) issue(ctx, [k], 'must not be set in a delegate VirtualService (one without hosts)');
  }
  const toMesh = !s.gateways?.length || s.gateways.includes('mesh');
  // Hosts of a VirtualService bound only to ingress gateways follow other rules (SNI forms); Ambit checks the mesh's.
  if (toMesh) {
    hosts.forEach((h, i) => {
      if (h === '*') issue(ctx, ['hosts', i], 'the wildcard host * is not allowed for a VirtualService bound to the mesh');
      else if (ipProblem(h, false) && wildcardDomainProblem(h)) issue(ctx, ['hosts', i], wildcardDomainProblem(h)!);
    });
  }
  if (!s.http?.length && !s.tcp?.length && !s.tls?.length) issue(ctx, [], 'must set http, tcp or tls routes');
  s.http?.forEach((r, i) => {
    checkDestinations(ctx, r.route, ['http', i, 'route']);
    if (r.mirror) checkDestination(ctx, r.mirror, ['http', i, 'mirror']);
    r.mirrors?.forEach((m, j) => checkDestination(ctx, m.destination, ['http', i, 'mirrors', j, 'destination']));
  });
  for (const kind of ['tcp', 'tls'] as const) {
    s[kind]?.forEach((r, i) => {
      if (!r.route?.length) issue(ctx, [kind, i, 'route'], 'at least one destination is required');
      checkDestinations(ctx, r.route, [kind, i, 'route']);
      r.match?.forEach((m, j) => checkIps(ctx, m.destinationSubnets, [kind, i, 'match', j, 'destinationSubnets']));
    });
  }
});

function checkDestination(ctx: z.RefinementCtx, d: z.infer<typeof destination>, path: Path): void {
  const hostProblem = d.host === '*' ? 'the wildcard host * is not a destination' : wildcardDomainProblem(d.host);
  if (hostProblem) issue(ctx, [...path, 'host'], hostProblem);
  if (d.subset !== undefined && !isDns1123Label(d.subset)) issue(ctx, [...path, 'subset'], d.subset ? `'${d.subset}' is not a DNS-1123 label` : 'must not be empty');
}

function checkDestinations(ctx: z.RefinementCtx, route: { destination: z.infer<typeof destination>; weight?: number | undefined }[] | undefined, path: Path): void {
  route?.forEach((r, i) => checkDestination(ctx, r.destination, [...path, i, 'destination']));
  if (route && route.length > 1 && route.every((r) => !r.weight)) issue(ctx, path, 'the weights of several destinations must not all be 0');
}

export const virtualServiceSchema = z.strictObject({
  apiVersion: z.enum(['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']),
  kind: z.literal('VirtualService'),
  metadata: meshMeta,
  spec: virtualServiceSpec,
  status: meshStatus,
});

export type VirtualService = MeshObject<z.infer<typeof virtualServiceSchema>>;
