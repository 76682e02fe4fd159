// Translation hooks: how the control plane produces the resources of each pushed type that is
// not part of the node tunnels' core snapshot. One entry per type in src/xds/registry.ts that
// has one; translate() runs them after workloads, services and authorizations. Pure.
import type { MeshSnapshot } from '../../mesh-api/types.js';
import { WAYPOINT_ROUTES_TYPE_URL } from '../../xds/registry.js';
import type { TranslateContext } from './context.js';
import { translateRoutes, type RouteStatus, type RoutesInput } from './routes.js';

/** The inputs hooks read (TranslateInput extends this). */
export type HookInput = RoutesInput;

/** What hooks report besides resources. */
export interface HookOutput {
  routeStatuses: RouteStatus[];
}

export interface TranslationHook {
  typeUrl: string;
  run(ctx: TranslateContext, input: HookInput, snapshot: MeshSnapshot, out: HookOutput): void;
}

export const TRANSLATION_HOOKS: readonly TranslationHook[] = [
  {
    typeUrl: WAYPOINT_ROUTES_TYPE_URL,
    run(ctx, input, snapshot, out) {
      const r = translateRoutes(ctx, input);
      if (r.routes.length) snapshot.waypointRoutes = r.routes;
      out.routeStatuses = r.statuses;
    },
  },
];
