// Waypoint binding (spec §7.1, §7.2, §5.5): `istio.io/use-waypoint` on the object wins over the
// namespace's; `none` opts out. The named Gateway must exist with class istio-waypoint and its
// `istio.io/waypoint-for` must admit the binding kind; otherwise no waypoint is set (traffic
// goes direct) and the reason is reported.
import type { GatewayAddress } from '../../mesh-api/types.js';
import type { Diagnostic, GatewayInput } from './inputs.js';
import { USE_WAYPOINT_LABEL, USE_WAYPOINT_NAMESPACE_LABEL, WAYPOINT_FOR_LABEL, WAYPOINT_GATEWAY_CLASS } from '../../mesh-api/labels.js';
import { HBONE_PORT } from '../../mesh-api/ports.js';

export { GATEWAY_NAME_LABEL, USE_WAYPOINT_LABEL, USE_WAYPOINT_NAMESPACE_LABEL, WAYPOINT_FOR_LABEL, WAYPOINT_GATEWAY_CLASS as WAYPOINT_CLASS } from '../../mesh-api/labels.js';
export { HBONE_PORT } from '../../mesh-api/ports.js';

export type BindingKind = 'service' | 'workload';

export interface WaypointIndex {
  /** "ns/name" → Gateway with class istio-waypoint. */
  readonly byKey: ReadonlyMap<string, GatewayInput>;
}

export function indexWaypoints(gateways: readonly GatewayInput[]): WaypointIndex {
  const byKey = new Map<string, GatewayInput>();
  for (const g of gateways) {
    if (g.spec?.gatewayClassName !== WAYPOINT_GATEWAY_CLASS) continue;
    byKey.set(`${g.metadata.namespace ?? ''}/${g.metadata.name ?? ''}`, g);
  }
  return { byKey };
}

export interface WaypointRef {
  objectRef: string;
  objectNamespace: string;
  objectLabels: Record<string, string> | undefined;
  namespaceLabels: Record<string, string> | undefined;
  kind: BindingKind;
}

/** Resolves the waypoint for one object, pushing a diagnostic when a binding cannot be honoured. */
export function resolveWaypoint(index: WaypointIndex, ref: WaypointRef, diagnostics: Diagnostic[]): GatewayAddress | undefined {
  const own = ref.objectLabels?.[USE_WAYPOINT_LABEL];
  const fromObject = own !== undefined;
  const labels = fromObject ? ref.objectLabels : ref.namespaceLabels;
  const name = labels?.[USE_WAYPOINT_LABEL];
  if (name === undefined || name === '' || name === 'none') return undefined;
  const ns = labels?.[USE_WAYPOINT_NAMESPACE_LABEL] ?? ref.objectNamespace;
  const gw = index.byKey.get(`${ns}/${name}`);
  if (!gw) {
    // §5.5: a missing waypoint is not set, so traffic bypasses its L7 policy — say so.
    diagnostics.push({ object: ref.objectRef, message: `${USE_WAYPOINT_LABEL} names ${ns}/${name}, which is not a Gateway of class ${WAYPOINT_GATEWAY_CLASS}; no waypoint is used` });
    return undefined;
  }
  const waypointFor = gw.metadata.labels?.[WAYPOINT_FOR_LABEL] ?? 'service';
  if (waypointFor !== 'all' && waypointFor !== ref.kind) {
    // A namespace-wide label commonly targets services only; only report explicit object bindings.
    if (fromObject) diagnostics.push({ object: ref.objectRef, message: `waypoint ${ns}/${name} is for '${waypointFor}' traffic, not ${ref.kind}s; no waypoint is used` });
    return undefined;
  }
  return { hostname: { namespace: ns, hostname: `${name}.${ns}.svc.cluster.local` }, hboneMtlsPort: HBONE_PORT };
}
