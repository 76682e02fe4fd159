// ambit.waypoint.WaypointRoutes (src/mesh-api/waypoint.ts): the L7 routes of one service, named
// `<namespace>/<hostname>` like its Service. Only waypoints receive them, and each only those of
// the services whose Service.waypoint is that waypoint (the audience), as istiod builds a
// waypoint's routes only for the services bound to it.
import { serviceResourceName, type GatewayAddress } from '../../mesh-api/types.js';
import { waypointRoutesResourceName } from '../../mesh-api/waypoint.js';
import type { ResourceType } from '../resource-type.js';
import { decodeWaypointRoutes, encodeWaypointRoutes, WAYPOINT_ROUTES_TYPE_URL } from './waypoint-routes-codec.js';

/** `<namespace>/<gateway name>` of a waypoint addressed by hostname (`<name>.<ns>.svc...`). */
export function waypointKey(g: GatewayAddress | undefined): string | undefined {
  if (!g?.hostname) return undefined;
  return `${g.hostname.namespace}/${g.hostname.hostname.split('.')[0] ?? ''}`;
}

export const waypointRoutesType: ResourceType = {
  typeUrl: WAYPOINT_ROUTES_TYPE_URL,
  audience: 'waypoint',
  items(s) {
    const bound = new Map(s.services.map((v) => [serviceResourceName(v), waypointKey(v.waypoint)]));
    return (s.waypointRoutes ?? []).map((r) => {
      const audience = bound.get(r.service);
      return { name: waypointRoutesResourceName(r), src: r, encode: () => encodeWaypointRoutes(r), ...(audience ? { audience } : {}) };
    });
  },
  apply(store, name, value) {
    const r = decodeWaypointRoutes(value);
    if (waypointRoutesResourceName(r) !== name) throw new Error(`name should be ${waypointRoutesResourceName(r)}`);
    store.waypointRoutes.set(name, r);
  },
  remove(store, name) {
    store.waypointRoutes.delete(name);
  },
};
