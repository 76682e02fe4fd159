// zod pieces shared by the Istio and Gateway API schemas. Strict objects everywhere the
// shape is known, so an unknown field is rejected and named. Pure.
import { z } from 'zod';
import { labels, subdomainMeta } from '../core/meta-schema.js';
import type { ObjectMeta } from '../core/types.js';

export const meshMeta = subdomainMeta;
export const strings = z.array(z.string());
/** Status is written by the API server (conditions) and by controllers; any shape is kept. */
export const meshStatus = z.record(z.string(), z.unknown()).optional();

/** Deep sub-objects Ambit stores but does not interpret yet: must be a mapping, content unchecked. */
export const looseObject = z.record(z.string(), z.unknown());

const PORT_MSG = 'must be a port number 1-65535';
export const portNumber = z.number({ error: PORT_MSG }).int({ error: PORT_MSG }).min(1, { error: PORT_MSG }).max(65535, { error: PORT_MSG });

/** Istio AuthorizationPolicy ports are strings ("8080"), as in its CRD. */
export const portString = z.string({ error: 'must be a port number 1-65535 written as a string (e.g. "8080")' }).refine(
  (s) => /^[0-9]{1,5}$/.test(s) && Number(s) >= 1 && Number(s) <= 65535,
  { error: 'must be a port number 1-65535 written as a string (e.g. "8080")' },
);

/** istio.type.v1beta1.WorkloadSelector */
export const workloadSelector = z.strictObject({ matchLabels: labels.optional() });

/** istio.type.v1beta1.PolicyTargetReference */
export const policyTargetRef = z.strictObject({
  group: z.string().optional(),
  kind: z.string().min(1, { error: 'required' }),
  name: z.string().min(1, { error: 'required' }),
  namespace: z.string().optional(),
});

/** Istio durations: "1s", "250ms", "1h", "1.5s". */
export const duration = z.string().regex(/^([0-9]+(\.[0-9]+)?(h|m|s|ms|us|µs|ns))+$/, { error: 'must be a duration such as 1s or 250ms' });

/** Gateway API durations (GEP-2257): "1h", "10s", "500ms". */
export const gwDuration = z.string().regex(/^([0-9]{1,5}(h|m|s|ms)){1,4}$/, { error: 'must be a Gateway API duration such as 10s or 500ms' });

export const exportTo = strings.optional();

export { labels };

/** A mesh object type as other packages use it: zod's inferred shape with KubeObject-compatible metadata. */
export type MeshObject<T> = Omit<T, 'metadata'> & { metadata: ObjectMeta };
