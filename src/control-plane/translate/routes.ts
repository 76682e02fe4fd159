// HTTPRoute and GRPCRoute with mesh parents → one WaypointRoutes per service (the contract in
// src/mesh-api/waypoint.ts), plus each route's parent status. Pure.
// Facts: ../shared/reference/waypoint-spec.md §3.1-§3.2, §6; Gateway API's HTTPRoute spec.
//
// - Parents: a Service (group "" or core, kind Service; optional port → the rule applies to that
//   port only) in the route's namespace (producer route; consumer routes are not supported, as
//   in Istio's ambient conformance run), or a waypoint Gateway (class istio-waypoint): the route
//   then applies to every service bound to that waypoint whose FQDN or short name is among the
//   route's hostnames (all of them when it lists none).
// - Each match of each rule becomes its own RouteRule, so precedence is per match across every
//   route of the service: Exact path > longest PathPrefix > RegularExpression (longest) >
//   has method > most header matches > most query matches > oldest route > namespace/name >
//   rule and match order.
// - backendRefs: a Service that does not exist (or another kind) makes ResolvedRefs False; its
//   share gets weight 0, so with no valid backend left the rule has none and answers 500.
//   (Gateway API asks for 500 on that share; the contract has no invalid-backend marker yet.)
import type { Service as KubeService } from '../../model/core/types.js';
import { parseDuration } from '../../lib/duration.js';
import type { BackendRef, HeaderModifier, PathMatch, PathModifier, RetryPolicy, RouteFilter, RouteMatch, RouteRule, ValueMatch, WaypointRoutes } from '../../mesh-api/waypoint.js';
import { namespaceLabels, serviceHostname, type TranslateContext } from './context.js';
import { byString, objectRef, type BackendRefInput, type Diagnostic, type GRPCMatchInput, type GRPCRouteInput, type HTTPMatchInput, type HTTPRouteInput, type HTTPRouteRuleInput, type ParentRefInput, type RouteRuleInput } from './inputs.js';
import { resolveWaypoint } from './waypoints.js';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export interface Condition {
  type: 'Accepted' | 'ResolvedRefs';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface RouteParentStatus {
  parentRef: ParentRefInput;
  conditions: Condition[];
}

export interface RouteStatus {
  kind: 'HTTPRoute' | 'GRPCRoute';
  namespace: string;
  name: string;
  parents: RouteParentStatus[];
}

export interface RoutesResult {
  routes: WaypointRoutes[];
  statuses: RouteStatus[];
}

type Kind = RouteStatus['kind'];
type AnyRoute = { kind: Kind; route: HTTPRouteInput | GRPCRouteInput };

interface Target {
  service: string;
  port?: number;
}

interface Ranked {
  rule: RouteRule;
  created: string;
  key: string;
  order: number;
}

const isServiceRef = (p: { group?: string; kind?: string }): boolean => (p.group ?? '') in { '': 1, core: 1 } && (p.kind ?? 'Service') === 'Service';
const isGatewayRef = (p: ParentRefInput): boolean => (p.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && (p.kind ?? 'Gateway') === 'Gateway';
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const cond = (type: Condition['type'], ok: boolean, reason: string, message: string): Condition => ({ type, status: ok ? 'True' : 'False', reason, message });

/** Gateway API durations; 0s means no timeout. */
function durationMs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  return ms > 0 ? ms : undefined;
}

// ---- matches ----

function pathOf(p: HTTPMatchInput['path']): PathMatch {
  const type = p?.type ?? 'PathPrefix';
  const value = p?.value ?? '/';
  if (type === 'Exact') return { type, value };
  if (type === 'RegularExpression') return { type, value };
  // A trailing '/' does not change a segment-aware prefix (Istio trims it).
  return { type: 'PathPrefix', value: value.length > 1 && value.endsWith('/') ? value.slice(0, -1) : value };
}

function valueMatches(xs: Record<string, unknown>[] | undefined): ValueMatch[] | undefined {
  if (!xs?.length) return undefined;
  return xs.map((x) => ({ type: str(x.type) === 'RegularExpression' ? 'RegularExpression' : 'Exact', name: str(x.name) ?? '', value: str(x.value) ?? '' }));
}

function httpMatch(m: HTTPMatchInput): RouteMatch {
  const out: RouteMatch = { path: pathOf(m.path) };
  const headers = valueMatches(m.headers);
  const queryParams = valueMatches(m.queryParams);
  if (headers) out.headers = headers;
  if (queryParams) out.queryParams = queryParams;
  if (m.method) out.method = m.method.toUpperCase();
  return out;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** §3.2: a gRPC method match is a path match on /<service>/<method>. */
function grpcMatch(m: GRPCMatchInput): RouteMatch {
  const out: RouteMatch = {};
  const gm = m.method;
  if (gm && (gm.service || gm.method)) {
    const exact = (gm.type ?? 'Exact') === 'Exact';
    const svc = gm.service;
    const meth = gm.method;
    if (svc && meth) out.path = exact ? { type: 'Exact', value: `/${svc}/${meth}` } : { type: 'RegularExpression', value: `/${svc}/${meth}` };
    else if (svc) out.path = exact ? { type: 'PathPrefix', value: `/${svc}` } : { type: 'RegularExpression', value: `/${svc}/.+` };
    else out.path = { type: 'RegularExpression', value: `/[^/]+/${exact ? escapeRe(meth ?? '') : (meth ?? '')}` };
    out.grpc = { ...(svc ? { service: svc } : {}), ...(meth ? { method: meth } : {}) };
  }
  const headers = valueMatches(m.headers);
  if (headers) out.headers = headers;
  return out;
}

// ---- filters and backends ----

function headerModifier(x: unknown): HeaderModifier {
  const o = (x ?? {}) as Record<string, unknown>;
  const pairs = (v: unknown): { name: string; value: string }[] | undefined =>
    Array.isArray(v) ? v.map((h: Record<string, unknown>) => ({ name: (str(h.name) ?? '').toLowerCase(), value: str(h.value) ?? '' })) : undefined;
  const out: HeaderModifier = {};
  const set = pairs(o.set);
  const add = pairs(o.add);
  if (set) out.set = set;
  if (add) out.add = add;
  if (Array.isArray(o.remove)) out.remove = o.remove.map((r) => String(r).toLowerCase());
  return out;
}

function pathModifier(x: unknown): PathModifier | undefined {
  const o = x as Record<string, unknown> | undefined;
  if (!o) return undefined;
  if (o.type === 'ReplaceFullPath') return { type: 'ReplaceFullPath', replaceFullPath: str(o.replaceFullPath) ?? '/' };
  if (o.type === 'ReplacePrefixMatch') return { type: 'ReplacePrefixMatch', replacePrefixMatch: str(o.replacePrefixMatch) ?? '/' };
  return undefined;
}

interface Resolver {
  ctx: TranslateContext;
  kubeServices: ReadonlyMap<string, KubeService>;
  /** Unresolved references of the route being converted. */
  problems: { reason: string; message: string }[];
}

/** A backendRef → `<ns>/<fqdn>`, or undefined (and a problem) when it does not resolve. */
function resolveBackend(r: Resolver, routeNs: string, b: BackendRefInput): Omit<BackendRef, 'weight' | 'filters'> | undefined {
  if (!isServiceRef(b)) {
    r.problems.push({ reason: 'InvalidKind', message: `backendRef ${b.group ?? ''}/${b.kind ?? ''} ${b.name}: only core Services are supported` });
    return undefined;
  }
  const ns = b.namespace ?? routeNs;
  if (!r.kubeServices.has(`${ns}/${b.name}`)) {
    r.problems.push({ reason: 'BackendNotFound', message: `backendRef Service ${ns}/${b.name} does not exist` });
    return undefined;
  }
  if (b.port === undefined) {
    r.problems.push({ reason: 'UnsupportedValue', message: `backendRef Service ${ns}/${b.name} needs a port` });
    return undefined;
  }
  return { service: `${ns}/${serviceHostname(b.name, ns)}`, port: b.port };
}

/** Converts one filter; undefined (and a problem) for a type the mesh does not support. */
function filterOf(r: Resolver, routeNs: string, f: Record<string, unknown>): RouteFilter | undefined {
  switch (f.type) {
    case 'RequestHeaderModifier':
      return { type: 'RequestHeaderModifier', modifier: headerModifier(f.requestHeaderModifier) };
    case 'ResponseHeaderModifier':
      return { type: 'ResponseHeaderModifier', modifier: headerModifier(f.responseHeaderModifier) };
    case 'RequestRedirect': {
      const o = (f.requestRedirect ?? {}) as Record<string, unknown>;
      const scheme = str(o.scheme);
      const hostname = str(o.hostname);
      const path = pathModifier(o.path);
      const port = num(o.port);
      const code = (num(o.statusCode) ?? 302) as 301 | 302 | 303 | 307 | 308;
      return { type: 'RequestRedirect', ...(scheme === 'http' || scheme === 'https' ? { scheme } : {}), ...(hostname ? { hostname } : {}), ...(path ? { path } : {}), ...(port ? { port } : {}), statusCode: code };
    }
    case 'URLRewrite': {
      const o = (f.urlRewrite ?? {}) as Record<string, unknown>;
      const hostname = str(o.hostname);
      const path = pathModifier(o.path);
      return { type: 'URLRewrite', ...(hostname ? { hostname } : {}), ...(path ? { path } : {}) };
    }
    case 'RequestMirror': {
      const o = (f.requestMirror ?? {}) as Record<string, unknown>;
      const ref = o.backendRef as BackendRefInput | undefined;
      const b = ref ? resolveBackend(r, routeNs, ref) : undefined;
      if (!b) return undefined;
      const fr = o.fraction as { numerator?: number; denominator?: number } | undefined;
      const percent = num(o.percent) ?? (fr?.numerator !== undefined ? (100 * fr.numerator) / (fr.denominator ?? 100) : 100);
      return { type: 'RequestMirror', backend: { ...b, weight: 1 }, percent };
    }
    default:
      r.problems.push({ reason: 'UnsupportedValue', message: `filter type ${String(f.type)} is not supported in the mesh` });
      return undefined;
  }
}

function retryOf(x: Record<string, unknown> | undefined, perTryTimeoutMs: number | undefined): RetryPolicy | undefined {
  if (!x) return undefined;
  const codes = Array.isArray(x.codes) ? x.codes.filter((c): c is number => typeof c === 'number') : [];
  const backoff = str(x.backoff);
  return { attempts: num(x.attempts) ?? 2, codes, backoffMs: backoff ? parseDuration(backoff) : 25, ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}) };
}

function convertRule(r: Resolver, kind: Kind, ns: string, name: string, index: number, rule: RouteRuleInput): { matches: RouteMatch[]; rule: Omit<RouteRule, 'matches'> } {
  const before = r.problems.length;
  const filters: RouteFilter[] = [];
  for (const f of rule.filters ?? []) {
    const c = filterOf(r, ns, f);
    if (c) filters.push(c);
  }
  const badFilter = r.problems.length > before;
  const backends: BackendRef[] = [];
  for (const b of rule.backendRefs ?? []) {
    const weight = b.weight ?? 1;
    const res = resolveBackend(r, ns, b);
    if (!res) continue;
    const bf = (b.filters ?? []).map((f) => filterOf(r, ns, f)).filter((f): f is RouteFilter => f !== undefined);
    backends.push({ ...res, weight, ...(bf.length ? { filters: bf } : {}) });
  }
  // Only HTTPRoute rules have timeouts and retry; read them wherever present, as before.
  const http: Pick<HTTPRouteRuleInput, 'timeouts' | 'retry'> = 'timeouts' in rule || 'retry' in rule ? rule : {};
  const request = durationMs(http.timeouts?.request);
  const backendRequest = durationMs(http.timeouts?.backendRequest);
  const timeouts = request !== undefined || backendRequest !== undefined ? { ...(request !== undefined ? { requestMs: request } : {}), ...(backendRequest !== undefined ? { backendRequestMs: backendRequest } : {}) } : undefined;
  const retry = retryOf(http.retry, http.retry ? backendRequest : undefined);
  const matches =
    kind === 'HTTPRoute'
      ? rule.matches?.length
        ? (rule.matches as HTTPMatchInput[]).map(httpMatch)
        : [{ path: { type: 'PathPrefix', value: '/' } } as RouteMatch]
      : rule.matches?.length
        ? (rule.matches as GRPCMatchInput[]).map(grpcMatch)
        : [{}];
  return {
    matches,
    rule: {
      source: { kind, namespace: ns, name, rule: index },
      filters,
      // An unsupported filter: Gateway API asks for the rule to answer 500 rather than run without it.
      backends: badFilter ? [] : backends,
      ...(timeouts ? { timeouts } : {}),
      ...(retry ? { retry } : {}),
    },
  };
}

// ---- precedence ----

function pathRank(m: RouteMatch): [number, number] {
  const p = m.path ?? { type: 'PathPrefix', value: '/' };
  if (p.type === 'Exact') return [0, -p.value.length];
  if (p.type === 'PathPrefix') return [1, -p.value.length];
  return [2, -p.value.length];
}

/** Gateway API precedence between two single-match rules; stable tie-breaks after it. */
export function comparePrecedence(a: Ranked, b: Ranked): number {
  const ma = a.rule.matches[0] ?? {};
  const mb = b.rule.matches[0] ?? {};
  const [ta, la] = pathRank(ma);
  const [tb, lb] = pathRank(mb);
  return (
    ta - tb ||
    la - lb ||
    Number(mb.method !== undefined) - Number(ma.method !== undefined) ||
    (mb.headers?.length ?? 0) - (ma.headers?.length ?? 0) ||
    (mb.queryParams?.length ?? 0) - (ma.queryParams?.length ?? 0) ||
    byString(a.created, b.created) ||
    byString(a.key, b.key) ||
    a.order - b.order
  );
}

// ---- parents ----

/** Every kube Service bound to each waypoint (`<ns>/<gateway>`). */
function servicesByWaypoint(ctx: TranslateContext): Map<string, KubeService[]> {
  const out = new Map<string, KubeService[]>();
  for (const s of ctx.services) {
    const ns = s.metadata.namespace ?? '';
    const wp = resolveWaypoint(ctx.waypoints, { objectRef: '', objectNamespace: ns, objectLabels: s.metadata.labels, namespaceLabels: namespaceLabels(ctx, ns), kind: 'service' }, []);
    if (!wp?.hostname) continue;
    const key = `${wp.hostname.namespace}/${wp.hostname.hostname.split('.')[0] ?? ''}`;
    out.set(key, [...(out.get(key) ?? []), s]);
  }
  return out;
}

function targetsOf(ctx: TranslateContext, kubeServices: ReadonlyMap<string, KubeService>, bound: Map<string, KubeService[]>, routeNs: string, hostnames: string[] | undefined, p: ParentRefInput): { targets: Target[]; accepted: Condition; note?: string } {
  const ns = p.namespace ?? routeNs;
  if (isServiceRef(p)) {
    if (ns !== routeNs) return { targets: [], accepted: cond('Accepted', false, 'NotAllowedByListeners', `parent Service ${ns}/${p.name} is in another namespace; only producer routes (in the Service's namespace) are supported`) };
    const svc = kubeServices.get(`${ns}/${p.name}`);
    if (!svc) return { targets: [], accepted: cond('Accepted', false, 'NoMatchingParent', `parent Service ${ns}/${p.name} does not exist`) };
    const target = { service: `${ns}/${serviceHostname(p.name, ns)}`, ...(p.port !== undefined ? { port: p.port } : {}) };
    const wp = resolveWaypoint(ctx.waypoints, { objectRef: '', objectNamespace: ns, objectLabels: svc.metadata.labels, namespaceLabels: namespaceLabels(ctx, ns), kind: 'service' }, []);
    if (!wp) return { targets: [target], accepted: cond('Accepted', true, 'Accepted', 'Route was valid'), note: `parent Service ${ns}/${p.name} has no waypoint (istio.io/use-waypoint on the Service or its namespace): MissingUseWaypointLabel, in ambient mode the route is not respected` };
    return { targets: [target], accepted: cond('Accepted', true, 'Accepted', 'Route was valid') };
  }
  if (isGatewayRef(p)) {
    const key = `${ns}/${p.name}`;
    if (!ctx.waypoints.byKey.has(key)) return { targets: [], accepted: cond('Accepted', false, 'NoMatchingParent', `parent Gateway ${key} is not a waypoint (class istio-waypoint)`) };
    const wanted = new Set(hostnames ?? []);
    const targets = (bound.get(key) ?? [])
      .filter((s) => {
        const sn = s.metadata.namespace ?? '';
        const name = s.metadata.name ?? '';
        return wanted.size === 0 || wanted.has(serviceHostname(name, sn)) || wanted.has(name);
      })
      .map((s) => ({ service: `${s.metadata.namespace ?? ''}/${serviceHostname(s.metadata.name ?? '', s.metadata.namespace ?? '')}`, ...(p.port !== undefined ? { port: p.port } : {}) }));
    return { targets, accepted: cond('Accepted', true, 'Accepted', 'Route was valid') };
  }
  return { targets: [], accepted: cond('Accepted', false, 'NotAllowedByListeners', `parentRef kind ${p.group ?? ''}/${p.kind ?? ''} is not a Service or a waypoint Gateway`) };
}

export interface RoutesInput {
  httpRoutes?: readonly HTTPRouteInput[];
  grpcRoutes?: readonly GRPCRouteInput[];
}

export function translateRoutes(ctx: TranslateContext, input: RoutesInput, diagnostics: Diagnostic[] = ctx.diagnostics): RoutesResult {
  const kubeServices = new Map(ctx.services.map((s) => [`${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`, s]));
  const bound = servicesByWaypoint(ctx);
  const all: AnyRoute[] = [...(input.httpRoutes ?? []).map((route) => ({ kind: 'HTTPRoute' as const, route })), ...(input.grpcRoutes ?? []).map((route) => ({ kind: 'GRPCRoute' as const, route }))];
  const byService = new Map<string, { ports: Set<number>; allPorts: boolean; ranked: Ranked[] }>();
  const statuses: RouteStatus[] = [];
  let order = 0;
  for (const { kind, route } of all) {
    const ns = route.metadata.namespace ?? '';
    const name = route.metadata.name ?? '';
    const ref = objectRef(kind, route.metadata);
    const spec = route.spec ?? {};
    const resolver: Resolver = { ctx, kubeServices, problems: [] };
    const rules = (spec.rules ?? []).map((rule, i) => convertRule(resolver, kind, ns, name, i, rule));
    const resolved = resolver.problems.length === 0 ? cond('ResolvedRefs', true, 'ResolvedRefs', 'All references resolved') : cond('ResolvedRefs', false, resolver.problems[0]?.reason ?? 'BackendNotFound', resolver.problems.map((p) => p.message).join('; '));
    for (const p of resolver.problems) diagnostics.push({ object: ref, message: p.message });
    const parents: RouteParentStatus[] = [];
    for (const p of spec.parentRefs ?? []) {
      const { targets, accepted, note } = targetsOf(ctx, kubeServices, bound, ns, spec.hostnames, p);
      parents.push({ parentRef: p, conditions: [accepted, resolved] });
      if (accepted.status === 'False') diagnostics.push({ object: ref, message: accepted.message });
      if (note) diagnostics.push({ object: ref, message: note });
      for (const t of targets) {
        const entry = byService.get(t.service) ?? { ports: new Set<number>(), allPorts: false, ranked: [] };
        byService.set(t.service, entry);
        if (t.port === undefined) entry.allPorts = true;
        else entry.ports.add(t.port);
        for (const r of rules) {
          for (const m of r.matches) {
            entry.ranked.push({ rule: { ...r.rule, ...(t.port !== undefined ? { ports: [t.port] } : {}), matches: m.path || m.headers || m.method || m.queryParams || m.grpc ? [m] : [] }, created: route.metadata.creationTimestamp ?? '', key: `${ns}/${name}`, order: order++ });
          }
        }
      }
    }
    statuses.push({ kind, namespace: ns, name, parents });
  }
  const routes: WaypointRoutes[] = [...byService]
    .sort(([a], [b]) => byString(a, b))
    .map(([service, e]) => ({ service, ports: e.allPorts ? [] : [...e.ports].sort((a, b) => a - b), rules: e.ranked.sort(comparePrecedence).map((x) => x.rule) }));
  return { routes, statuses };
}
