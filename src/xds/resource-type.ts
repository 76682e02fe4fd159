// What one xDS resource type is, in one place: its type URL, which clients receive it, how its
// resources are read out of a snapshot and encoded (server side), and how a received resource
// is decoded, checked and stored (client side). Modules implementing it live in types/ and are
// listed in registry.ts; the control plane's translation hooks register separately
// (src/control-plane/translate/hooks.ts) so this layer never imports the control plane.
import type { Authorization, MeshSnapshot, Service, Workload } from '../mesh-api/types.js';
import type { WaypointRoutes } from '../mesh-api/waypoint.js';

/** A client's typed state, one map per kind of value. */
export interface XdsStore {
  /** By uid. */
  workloads: Map<string, Workload>;
  /** By "namespace/hostname". */
  services: Map<string, Service>;
  /** By "namespace/name". */
  authorizations: Map<string, Authorization>;
  /** By "namespace/hostname" of the service (waypoints only). */
  waypointRoutes: Map<string, WaypointRoutes>;
}

export const emptyStore = (): XdsStore => ({ workloads: new Map(), services: new Map(), authorizations: new Map(), waypointRoutes: new Map() });

export interface SnapshotItem {
  name: string;
  /** The source value (compared by identity and JSON to skip re-encoding). */
  src: unknown;
  encode(): Buffer;
  /** For audience 'waypoint': the `<ns>/<name>` of the one waypoint that gets it (none: nobody). */
  audience?: string;
}

export interface ResourceType {
  typeUrl: string;
  /** 'all': every client that subscribes; 'waypoint': only waypoint clients, each its own items. */
  audience: 'all' | 'waypoint';
  items(s: MeshSnapshot): SnapshotItem[];
  /** Decodes, checks the name against the value and stores it; throws with the reason (→ NACK). */
  apply(store: XdsStore, name: string, value: Uint8Array): void;
  remove(store: XdsStore, name: string): void;
}
