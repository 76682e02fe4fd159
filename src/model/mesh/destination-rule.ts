// networking.istio.io DestinationRule (v1, v1beta1, v1alpha3): schema and type. Traffic policy
// keys are checked; their deep L7 settings are stored and checked by the waypoint issue. Pure.
import { z } from 'zod';
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
    s.subsets?.forEach((x, i) => {
      if (s.subsets!.findIndex((y) => y.name === x.name) !== i) ctx.addIssue({ code: 'custom', path: ['subsets', i, 'name'], message: `duplicate subset name '${x.name}'` });
    });
  });

export const destinationRuleSchema = z.strictObject({
  apiVersion: z.enum(['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']),
  kind: z.literal('DestinationRule'),
  metadata: meshMeta,
  spec: destinationRuleSpec,
  status: meshStatus,
});

export type DestinationRule = MeshObject<z.infer<typeof destinationRuleSchema>>;
