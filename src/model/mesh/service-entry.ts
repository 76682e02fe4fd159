// networking.istio.io ServiceEntry (v1, v1beta1, v1alpha3): schema and type. Pure.
import { z } from 'zod';
import { checkEndpoint, checkIps, fqdnProblem, isDns1123Label, issue, wildcardDomainProblem } from './checks.js';
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
    // The checks of Istio's validation webhook (ValidateServiceEntry).
    if (s.endpoints?.length && s.workloadSelector) issue(ctx, ['workloadSelector'], 'only one of endpoints or workloadSelector may be set');
    s.hosts.forEach((h, i) => {
      const p = h === '*' ? 'the full wildcard * is not allowed' : wildcardDomainProblem(h);
      if (p) issue(ctx, ['hosts', i], p);
    });
    const resolution = s.resolution ?? 'NONE';
    checkIps(ctx, s.addresses, ['addresses']);
    const cidrAt = s.addresses?.findIndex((a) => a.includes('/')) ?? -1;
    if (cidrAt >= 0 && resolution !== 'NONE' && resolution !== 'STATIC') issue(ctx, ['addresses', cidrAt], `CIDR ranges are allowed only with resolution NONE or STATIC (resolution is ${resolution})`);
    const numbers = new Map<number, number>();
    const names = new Map<string, number>();
    s.ports?.forEach((p, i) => {
      const prev = numbers.get(p.number);
      if (prev !== undefined) issue(ctx, ['ports', i, 'number'], `duplicate of ports[${prev}]`);
      numbers.set(p.number, i);
      if (!isDns1123Label(p.name ?? '')) issue(ctx, ['ports', i, 'name'], p.name ? `'${p.name}' is not a DNS-1123 label` : 'required');
      const prevName = names.get(p.name ?? '');
      if (p.name && prevName !== undefined) issue(ctx, ['ports', i, 'name'], `duplicate of ports[${prevName}]`);
      names.set(p.name ?? '', i);
    });
    if (resolution === 'NONE' && s.endpoints?.length) issue(ctx, ['endpoints'], 'must not be set with resolution NONE');
    if (resolution === 'DNS_ROUND_ROBIN' && (s.endpoints?.length ?? 0) > 1) issue(ctx, ['endpoints'], 'at most one endpoint with resolution DNS_ROUND_ROBIN');
    if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && !s.endpoints?.length) {
      const at = s.hosts.findIndex((h) => fqdnProblem(h) !== undefined);
      if (at >= 0) issue(ctx, ['hosts', at], `must be a DNS name without wildcards when resolution is ${resolution} and there are no endpoints`);
    }
    s.endpoints?.forEach((e, i) => {
      if (resolution === 'NONE') return;
      checkEndpoint(ctx, e, ['endpoints', i], resolution !== 'STATIC');
      for (const name of Object.keys(e.ports ?? {})) if (!names.has(name)) issue(ctx, ['endpoints', i, 'ports', name], 'is not a port name of this ServiceEntry');
    });
    // Plain TCP cannot tell hosts apart, so several hosts need HTTP or TLS ports (unless NONE).
    if (resolution !== 'NONE' && s.hosts.length > 1) {
      const at = s.ports?.findIndex((p) => !HOST_AWARE.includes((p.protocol ?? '').toUpperCase())) ?? -1;
      if (at >= 0) issue(ctx, ['ports', at, 'protocol'], `several hosts need HTTP or TLS ports (resolution is ${resolution})`);
    }
  });

/** Protocols whose requests name their host (Host/authority header or SNI). */
const HOST_AWARE = ['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-WEB', 'HTTPS', 'TLS'];

export const serviceEntrySchema = z.strictObject({
  apiVersion: z.enum(['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']),
  kind: z.literal('ServiceEntry'),
  metadata: meshMeta,
  spec: serviceEntrySpec,
  status: meshStatus,
});

export type ServiceEntry = MeshObject<z.infer<typeof serviceEntrySchema>>;
