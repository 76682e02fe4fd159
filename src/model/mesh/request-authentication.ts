// security.istio.io RequestAuthentication (v1, v1beta1): schema and type. L7 (JWT), stored now,
// enforced by waypoints later. Pure.
import { z } from 'zod';
import { duration, meshMeta, meshStatus, policyTargetRef, strings, workloadSelector, type MeshObject } from './common.js';

const jwtRule = z.strictObject({
  issuer: z.string().min(1, { error: 'required' }),
  audiences: strings.optional(),
  jwksUri: z.string().optional(),
  jwks: z.string().optional(),
  fromHeaders: z.array(z.strictObject({ name: z.string().min(1, { error: 'required' }), prefix: z.string().optional() })).optional(),
  fromParams: strings.optional(),
  fromCookies: strings.optional(),
  outputPayloadToHeader: z.string().optional(),
  forwardOriginalToken: z.boolean().optional(),
  outputClaimToHeaders: z.array(z.strictObject({ header: z.string().min(1, { error: 'required' }), claim: z.string().min(1, { error: 'required' }) })).optional(),
  timeout: duration.optional(),
});

export const requestAuthenticationSpec = z
  .strictObject({
    selector: workloadSelector.optional(),
    targetRef: policyTargetRef.optional(),
    targetRefs: z.array(policyTargetRef).optional(),
    jwtRules: z.array(jwtRule).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.targetRef && s.targetRefs?.length) ctx.addIssue({ code: 'custom', path: ['targetRefs'], message: 'only one of targetRef or targetRefs may be set' });
    if (s.selector && (s.targetRef || s.targetRefs?.length)) ctx.addIssue({ code: 'custom', path: ['selector'], message: 'only one of selector or targetRef(s) may be set' });
    s.jwtRules?.forEach((r, i) => {
      if (r.jwks && r.jwksUri) ctx.addIssue({ code: 'custom', path: ['jwtRules', i, 'jwks'], message: 'only one of jwks or jwksUri may be set' });
    });
  });

export const requestAuthenticationSchema = z.strictObject({
  apiVersion: z.enum(['security.istio.io/v1', 'security.istio.io/v1beta1']),
  kind: z.literal('RequestAuthentication'),
  metadata: meshMeta,
  spec: requestAuthenticationSpec.optional(),
  status: meshStatus,
});

export type RequestAuthentication = MeshObject<z.infer<typeof requestAuthenticationSchema>>;
