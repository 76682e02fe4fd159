// networking.istio.io DestinationRule (v1, v1beta1, v1alpha3): schema and type. Traffic policy
// keys are checked; their deep L7 settings are stored and checked by the waypoint issue. Pure.
import { z } from 'zod';
import { isDns1123Label, issue, wildcardDomainProblem, type Path } from './checks.js';
import { exportTo, labels, looseObject, meshMeta, meshStatus, portNumber, type MeshObject } from './common.js';

const policyParts = {
  loadBalancer: looseObject.optional(),
  connectionPool: looseObject.optional(),
  outlierDetection: looseObject.optional(),
  tls: looseObject.optional(),
  tunnel: looseObject.optional(),
  proxyProtocol: looseObject.optional(),
};
const portTrafficPolicy = z.strictObject({ port: z.strictObject({ number: portNumber }).optional(), ...policyParts });
export const trafficPolicy = z.strictObject({ ...policyParts, portLevelSettings: z.array(portTrafficPolicy).optional() });

const subset = z.strictObject({
  name: z.string().min(1, { error: 'required' }),
  labels: labels.optional(),
  trafficPolicy: trafficPolicy.optional(),
});

export const destinationRuleSpec = z
  .strictObject({
    host: z.string().min(1, { error: 'required' }),
    trafficPolicy: trafficPolicy.optional(),
    subsets: z.array(subset).optional(),
    exportTo,
    workloadSelector: z.strictObject({ matchLabels: labels.optional() }).optional(),
  })
  .superRefine((s, ctx) => {
    // The checks of Istio's validation webhook (ValidateDestinationRule).
    const hostProblem = wildcardDomainProblem(s.host);
    if (hostProblem) issue(ctx, ['host'], hostProblem);
    checkPortLevel(ctx, s.trafficPolicy, ['trafficPolicy']);
    s.subsets?.forEach((x, i) => {
      if (s.subsets!.findIndex((y) => y.name === x.name) !== i) issue(ctx, ['subsets', i, 'name'], `duplicate subset name '${x.name}'`);
      else if (!isDns1123Label(x.name)) issue(ctx, ['subsets', i, 'name'], `'${x.name}' is not a DNS-1123 label`);
      checkPortLevel(ctx, x.trafficPolicy, ['subsets', i, 'trafficPolicy']);
    });
  });

function checkPortLevel(ctx: z.RefinementCtx, tp: z.infer<typeof trafficPolicy> | undefined, path: Path): void {
  tp?.portLevelSettings?.forEach((p, i) => {
    if (!p.port) issue(ctx, [...path, 'portLevelSettings', i, 'port'], 'required');
    if (!p.loadBalancer && !p.connectionPool && !p.outlierDetection && !p.tls) {
      issue(ctx, [...path, 'portLevelSettings', i], 'must set at least one of loadBalancer, connectionPool, outlierDetection or tls');
    }
  });
}

export const destinationRuleSchema = z.strictObject({
  apiVersion: z.enum(['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']),
  kind: z.literal('DestinationRule'),
  metadata: meshMeta,
  spec: destinationRuleSpec,
  status: meshStatus,
});

export type DestinationRule = MeshObject<z.infer<typeof destinationRuleSchema>>;
