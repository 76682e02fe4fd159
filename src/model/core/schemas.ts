// One schema per kind, strict: unknown fields are rejected and named. Pure.
import { z } from 'zod';

import { dataplaneModeError, DATAPLANE_MODE_LABEL } from '../enrollment.js';
import { DNS1123_LABEL, DNS1123_SUBDOMAIN, IANA_SVC_NAME, labelKey, labelMeta, labels, serviceMeta, subdomainMeta } from './meta-schema.js';

const port = z.number({ error: 'must be 1-65535' }).int({ error: 'must be 1-65535' }).min(1, { error: 'must be 1-65535' }).max(65535, { error: 'must be 1-65535' });
const intOrPortName = z.union([port, z.string().regex(IANA_SVC_NAME, { error: 'must be 1-65535 or a port name' })], {
  error: 'must be 1-65535 or a port name',
});
const protocol = z.enum(['TCP', 'UDP', 'SCTP']);
const nonNegInt = z.number().int().min(0);

const probe = z
  .strictObject({
    tcpSocket: z.strictObject({ port: intOrPortName, host: z.string().optional() }).optional(),
    httpGet: z
      .strictObject({ path: z.string().optional(), port: intOrPortName, scheme: z.literal('HTTP').optional(), host: z.string().optional() })
      .optional(),
    initialDelaySeconds: nonNegInt.optional(),
    periodSeconds: z.number().int().min(1).optional(),
    timeoutSeconds: z.number().int().min(1).optional(),
    failureThreshold: z.number().int().min(1).optional(),
    successThreshold: z.number().int().min(1).optional(),
  })
  .refine((p) => (p.tcpSocket ? 1 : 0) + (p.httpGet ? 1 : 0) === 1, { error: 'must set exactly one of tcpSocket or httpGet' });

const container = z.strictObject({
  name: z.string().regex(DNS1123_LABEL, { error: 'must be a DNS-1123 label' }),
  image: z.string().optional(),
  imagePullPolicy: z.string().optional(),
  command: z.array(z.string(), { error: 'required: the local runtime runs host commands, not images (set command: [...])' }).min(1, {
    error: 'must name a program to run',
  }),
  args: z.array(z.string()).optional(),
  env: z.array(z.strictObject({ name: z.string().min(1), value: z.string().optional() })).optional(),
  ports: z
    .array(z.strictObject({ name: z.string().regex(IANA_SVC_NAME, { error: 'must be a port name (<= 15 chars, a-z0-9-)' }).optional(), containerPort: port, protocol: protocol.optional() }))
    .optional(),
  readinessProbe: probe.optional(),
  workingDir: z.string().optional(),
});

const podSpec = z.strictObject({
  containers: z.array(container).min(1, { error: 'at least one container is required' }).max(1, {
    error: 'the local runtime runs one container per pod',
  }),
  serviceAccountName: z.string().regex(DNS1123_SUBDOMAIN, { error: 'must be a DNS-1123 subdomain' }).optional(),
  serviceAccount: z.string().optional(),
  nodeName: z.string().optional(),
  restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).optional(),
  terminationGracePeriodSeconds: nonNegInt.optional(),
});

const labelSelector = z.strictObject({
  matchLabels: labels.optional(),
  matchExpressions: z
    .array(z.strictObject({ key: labelKey, operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(z.string()).optional() }))
    .optional(),
});

const anyStatus = z.record(z.string(), z.unknown()).optional();

/** Enrollment (spec §6.1): a typo in istio.io/dataplane-mode would silently leave workloads out of the mesh. */
function checkDataplaneMode(lbls: Record<string, string> | undefined, path: PropertyKey[], ctx: z.RefinementCtx): void {
  const msg = dataplaneModeError(lbls);
  if (msg) ctx.addIssue({ code: 'custom', path: [...path, DATAPLANE_MODE_LABEL], message: msg });
}

export const namespaceSchema = z
  .strictObject({
    apiVersion: z.literal('v1'),
    kind: z.literal('Namespace'),
    metadata: labelMeta,
    spec: z.strictObject({ finalizers: z.array(z.string()).optional() }).optional(),
    status: anyStatus,
  })
  .superRefine((n, ctx) => checkDataplaneMode(n.metadata.labels, ['metadata', 'labels'], ctx));

export const nodeSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Node'),
  metadata: subdomainMeta,
  spec: z.strictObject({ podCIDR: z.string().optional(), podCIDRs: z.array(z.string()).optional(), unschedulable: z.boolean().optional() }).optional(),
  status: anyStatus,
});

export const configMapSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('ConfigMap'),
  metadata: subdomainMeta,
  data: z.record(z.string(), z.string()).optional(),
  immutable: z.boolean().optional(),
});

export const serviceAccountSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('ServiceAccount'),
  metadata: subdomainMeta,
  automountServiceAccountToken: z.boolean().optional(),
});

// Pod status is written by node agents through pods/status; the control plane translates its
// addresses, so they are checked like spec fields (a bad one must be refused, not stored).
// Fields not listed stay open (status grows with the node agent); the listed ones are typed.
const ip = z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' });
const podStatus = z
  .looseObject({
    phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']).optional(),
    podIP: ip.optional(),
    podIPs: z.array(z.strictObject({ ip }), { error: 'must be a list of {ip: <address>}' }).max(2, { error: 'at most 2 (one per IP family)' }).optional(),
    hostIP: ip.optional(),
    hostIPs: z.array(z.strictObject({ ip })).max(2, { error: 'at most 2 (one per IP family)' }).optional(),
    conditions: z
      .array(
        z.looseObject({
          type: z.string().min(1, { error: 'required' }).max(316),
          status: z.enum(['True', 'False', 'Unknown']),
          reason: z.string().max(1024).optional(),
          message: z.string().max(32768).optional(),
          lastTransitionTime: z.string().optional(),
        }),
      )
      .max(64)
      .optional(),
  })
  .optional();

export const podSchema = z
  .strictObject({
    apiVersion: z.literal('v1'),
    kind: z.literal('Pod'),
    metadata: subdomainMeta,
    spec: podSpec,
    status: podStatus,
  })
  .superRefine((p, ctx) => checkDataplaneMode(p.metadata.labels, ['metadata', 'labels'], ctx));

export const deploymentSchema = z
  .strictObject({
    apiVersion: z.literal('apps/v1'),
    kind: z.literal('Deployment'),
    metadata: subdomainMeta,
    spec: z.strictObject({
      replicas: nonNegInt.max(250, { error: 'must be at most 250 (one node holds 253 pods)' }).optional(),
      selector: labelSelector,
      template: z.strictObject({
        metadata: z.strictObject({ labels: labels.optional(), annotations: z.record(z.string(), z.string()).optional(), name: z.string().optional() }).optional(),
        spec: podSpec,
      }),
      strategy: z.record(z.string(), z.unknown()).optional(),
      revisionHistoryLimit: nonNegInt.optional(),
      minReadySeconds: nonNegInt.optional(),
      progressDeadlineSeconds: nonNegInt.optional(),
    }),
    status: anyStatus,
  })
  .superRefine((d, ctx) => {
    const tl = d.spec.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels ?? {})) {
      if (tl[k] !== v) ctx.addIssue({ code: 'custom', path: ['spec', 'template', 'metadata', 'labels'], message: `must include the selector's ${k}=${v}` });
    }
    if (!d.spec.selector.matchLabels && !d.spec.selector.matchExpressions) {
      ctx.addIssue({ code: 'custom', path: ['spec', 'selector'], message: 'must not be empty' });
    }
    checkDataplaneMode(tl, ['spec', 'template', 'metadata', 'labels'], ctx);
    const rp = d.spec.template.spec.restartPolicy;
    if (rp !== undefined && rp !== 'Always') {
      ctx.addIssue({ code: 'custom', path: ['spec', 'template', 'spec', 'restartPolicy'], message: "must be 'Always' for a Deployment" });
    }
  });

const servicePort = z.strictObject({
  name: z.string().regex(DNS1123_LABEL, { error: 'must be a DNS-1123 label' }).optional(),
  port,
  targetPort: intOrPortName.optional(),
  protocol: protocol.optional(),
  appProtocol: z.string().optional(),
  nodePort: z.never({ error: 'nodePort is not supported: services are ClusterIP only' }).optional(),
});

export const serviceSchema = z
  .strictObject({
    apiVersion: z.literal('v1'),
    kind: z.literal('Service'),
    metadata: serviceMeta,
    spec: z.strictObject({
      type: z.literal('ClusterIP', { error: "only type ClusterIP is supported by the local cluster" }).optional(),
      clusterIP: z.string().optional(),
      clusterIPs: z.array(z.string()).optional(),
      selector: z.record(z.string(), z.string()).optional(),
      ports: z.array(servicePort).min(1, { error: 'at least one port is required' }),
      sessionAffinity: z.literal('None').optional(),
      ipFamilies: z.array(z.literal('IPv4')).optional(),
      ipFamilyPolicy: z.literal('SingleStack').optional(),
      internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
      publishNotReadyAddresses: z.boolean().optional(),
      // Topology preference (Kubernetes 1.31+; PreferClose is the older name of PreferSameZone).
      trafficDistribution: z.enum(['PreferClose', 'PreferSameZone', 'PreferSameNode']).optional(),
    }),
    status: anyStatus,
  })
  .superRefine((s, ctx) => {
    const ports = s.spec.ports;
    if (ports.length > 1) {
      ports.forEach((p, i) => {
        if (!p.name) ctx.addIssue({ code: 'custom', path: ['spec', 'ports', i, 'name'], message: 'required when a Service has more than one port' });
      });
    }
    const seen = new Map<string, number>();
    ports.forEach((p, i) => {
      const key = `${p.port}/${p.protocol ?? 'TCP'}`;
      const prev = seen.get(key);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['spec', 'ports', i, 'port'], message: `duplicate of spec.ports[${prev}] (${key})` });
      seen.set(key, i);
      if (p.name) {
        const dup = ports.findIndex((q) => q.name === p.name);
        if (dup !== i) ctx.addIssue({ code: 'custom', path: ['spec', 'ports', i, 'name'], message: `duplicate name '${p.name}'` });
      }
    });
  });

const endpointAddress = z.strictObject({
  ip: z.string(),
  nodeName: z.string().optional(),
  hostname: z.string().optional(),
  targetRef: z.record(z.string(), z.unknown()).optional(),
});
export const endpointsSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Endpoints'),
  metadata: serviceMeta,
  subsets: z
    .array(
      z.strictObject({
        addresses: z.array(endpointAddress).optional(),
        notReadyAddresses: z.array(endpointAddress).optional(),
        ports: z.array(z.strictObject({ name: z.string().optional(), port, protocol: protocol.optional(), appProtocol: z.string().optional() })).optional(),
      }),
    )
    .optional(),
});

export const SCHEMAS: Record<string, z.ZodType> = {
  Namespace: namespaceSchema,
  Node: nodeSchema,
  ConfigMap: configMapSchema,
  ServiceAccount: serviceAccountSchema,
  Pod: podSchema,
  Deployment: deploymentSchema,
  Service: serviceSchema,
  Endpoints: endpointsSchema,
};
