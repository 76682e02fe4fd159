// The registry of pushed resource types: adding a type is one module in types/ plus one line
// here (and, on the control plane, one translation hook in translate/hooks.ts). The server,
// its resource tables and the client all read this list.
import type { ResourceType } from './resource-type.js';
import { addressType } from './types/address.js';
import { authorizationType } from './types/authorization.js';
import { waypointRoutesType } from './types/waypoint-routes.js';

export const RESOURCE_TYPES: readonly ResourceType[] = [addressType, authorizationType, waypointRoutesType];

const BY_URL = new Map(RESOURCE_TYPES.map((t) => [t.typeUrl, t]));

export const resourceType = (typeUrl: string): ResourceType | undefined => BY_URL.get(typeUrl);

/** What a node tunnel subscribes to (ztunnel's two types). */
export const NODE_TUNNEL_TYPES: readonly string[] = [addressType.typeUrl, authorizationType.typeUrl];
/** What a waypoint subscribes to. */
export const WAYPOINT_TYPES: readonly string[] = [addressType.typeUrl, authorizationType.typeUrl, waypointRoutesType.typeUrl];

export { WAYPOINT_ROUTES_TYPE_URL } from './types/waypoint-routes-codec.js';
