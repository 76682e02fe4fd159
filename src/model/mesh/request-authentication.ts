// security.istio.io RequestAuthentication (v1, v1beta1): schema and type. L7 (JWT), stored now,
// enforced by waypoints later. Pure.
import { z } from 'zod';
import { checkNoEmpty, checkOneAttachment, checkTargetRef, issue, type Path } from './checks.js';
import { duration, meshMeta, meshStatus, policyTargetRef, strings, workloadSelector, type MeshObject } from './common.js';

const jwtRule = z.strictObject({
  issuer: z.string().optional(),
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
    // The checks of Istio's validation webhook (ValidateRequestAuthentication, validateJwtRule).
    checkOneAttachment(ctx, s);
    checkTargetRef(ctx, s.targetRef, ['targetRef']);
    s.targetRefs?.forEach((r, i) => checkTargetRef(ctx, r, ['targetRefs', i]));
    s.jwtRules?.forEach((r, i) => {
      const at: Path = ['jwtRules', i];
      if (!r.issuer && !r.jwksUri) issue(ctx, [...at, 'issuer'], 'required unless jwksUri is set');
      if (r.jwks && r.jwksUri) issue(ctx, [...at, 'jwks'], 'only one of jwks or jwksUri may be set');
      if (r.jwksUri && !/^https?:\/\/[^/?#]/.test(r.jwksUri)) issue(ctx, [...at, 'jwksUri'], `must be an http:// or https:// URL (got '${r.jwksUri}')`);
      checkNoEmpty(ctx, r.audiences, [...at, 'audiences']);
      checkNoEmpty(ctx, r.fromParams, [...at, 'fromParams']);
      checkNoEmpty(ctx, r.fromCookies, [...at, 'fromCookies']);
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
