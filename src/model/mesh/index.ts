// Public surface of the mesh config model: types other packages import, schemas, warnings. Pure.
export type { AuthorizationPolicy, AuthorizationPolicySpec, AuthorizationPolicyRule, AuthorizationPolicyAction } from './authorization-policy.js';
export { AUTHZ_ACTIONS, L4_WHEN_KEYS, l7Attributes, authorizationPolicyWarnings } from './authorization-policy.js';
export type { PeerAuthentication, MtlsMode } from './peer-authentication.js';
export { MTLS_MODES, peerAuthenticationWarnings } from './peer-authentication.js';
export type { RequestAuthentication } from './request-authentication.js';
export type { ServiceEntry } from './service-entry.js';
export type { WorkloadEntry, WorkloadEntrySpec } from './workload-entry.js';
export type { DestinationRule } from './destination-rule.js';
export type { VirtualService } from './virtual-service.js';
export type { Gateway } from './gateway.js';
export { WAYPOINT_GATEWAY_CLASS } from './gateway.js';
export type { HTTPRoute } from './http-route.js';
export type { GRPCRoute } from './grpc-route.js';
export type { ParentReference } from './gateway-api-common.js';
export { meshWarnings, warningText, type MeshWarning } from './warnings.js';
export { acceptedCondition, withAccepted, type MeshCondition } from './status.js';
export { MESH_GROUPS, MESH_SCHEMAS, isMeshGroup } from './schemas.js';
export { DATAPLANE_MODE_LABEL, DATAPLANE_MODES, USE_WAYPOINT_LABEL, USE_WAYPOINT_NAMESPACE_LABEL, dataplaneModeError, type DataplaneMode } from '../enrollment.js';
