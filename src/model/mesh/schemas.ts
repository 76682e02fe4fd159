// The mesh kinds' schemas, keyed `<group>/<Kind>` (one schema serves every version of a kind). Pure.
import type { z } from 'zod';
import { authorizationPolicySchema } from './authorization-policy.js';
import { destinationRuleSchema } from './destination-rule.js';
import { gatewaySchema } from './gateway.js';
import { grpcRouteSchema } from './grpc-route.js';
import { httpRouteSchema } from './http-route.js';
import { peerAuthenticationSchema } from './peer-authentication.js';
import { requestAuthenticationSchema } from './request-authentication.js';
import { serviceEntrySchema } from './service-entry.js';
import { virtualServiceSchema } from './virtual-service.js';
import { workloadEntrySchema } from './workload-entry.js';

export const MESH_GROUPS: readonly string[] = ['security.istio.io', 'networking.istio.io', 'gateway.networking.k8s.io'];
export const isMeshGroup = (group: string): boolean => MESH_GROUPS.includes(group);

export const MESH_SCHEMAS: Record<string, z.ZodType> = {
  'security.istio.io/AuthorizationPolicy': authorizationPolicySchema,
  'security.istio.io/PeerAuthentication': peerAuthenticationSchema,
  'security.istio.io/RequestAuthentication': requestAuthenticationSchema,
  'networking.istio.io/ServiceEntry': serviceEntrySchema,
  'networking.istio.io/WorkloadEntry': workloadEntrySchema,
  'networking.istio.io/DestinationRule': destinationRuleSchema,
  'networking.istio.io/VirtualService': virtualServiceSchema,
  'gateway.networking.k8s.io/Gateway': gatewaySchema,
  'gateway.networking.k8s.io/HTTPRoute': httpRouteSchema,
  'gateway.networking.k8s.io/GRPCRoute': grpcRouteSchema,
};
