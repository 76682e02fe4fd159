// The push contract between the control plane and waypoints: the L7 configuration of the services
// a waypoint serves, already resolved from HTTPRoute / GRPCRoute (and later VirtualService and
// DestinationRule) by the control plane. A waypoint never sees user YAML; it evaluates these
// values. One resource per service a waypoint serves, named `<namespace>/<hostname>` like the
// Service resource it belongs to. Pure types and helpers: no I/O.
// Facts: ../shared/reference/waypoint-spec.md §2.3–§2.9, §3.1–§3.2.

/** Gateway API path match (HTTPPathMatch); RegularExpression uses RE2-compatible JS syntax. */
export type PathMatch = { type: 'Exact'; value: string } | { type: 'PathPrefix'; value: string } | { type: 'RegularExpression'; value: string };

/** Gateway API header / query-parameter match; names of headers compare case-insensitively. */
export interface ValueMatch {
  type: 'Exact' | 'RegularExpression';
  name: string;
  value: string;
}

export interface RouteMatch {
  path?: PathMatch;
  headers?: ValueMatch[];
  queryParams?: ValueMatch[];
  /** Upper-case HTTP method. */
  method?: string;
  /** GRPCRoute: both become a path match on `/<service>/<method>`; kept for status and telemetry. */
  grpc?: { service?: string; method?: string };
}

export interface HeaderModifier {
  set?: { name: string; value: string }[];
  add?: { name: string; value: string }[];
  remove?: string[];
}

/** HTTPURLRewrite / HTTPRequestRedirect path modifier. */
export type PathModifier = { type: 'ReplaceFullPath'; replaceFullPath: string } | { type: 'ReplacePrefixMatch'; replacePrefixMatch: string };

export type RouteFilter =
  | { type: 'RequestHeaderModifier'; modifier: HeaderModifier }
  | { type: 'ResponseHeaderModifier'; modifier: HeaderModifier }
  | { type: 'RequestRedirect'; scheme?: 'http' | 'https'; hostname?: string; path?: PathModifier; port?: number; statusCode: 301 | 302 | 303 | 307 | 308 }
  | { type: 'URLRewrite'; hostname?: string; path?: PathModifier }
  | { type: 'RequestMirror'; backend: BackendRef; percent: number };

/** A destination: a mesh service by hostname (`<svc>.<ns>.svc.cluster.local`) and port. */
export interface BackendRef {
  /** `<namespace>/<hostname>`, the key of the Service resource. */
  service: string;
  port: number;
  /** Relative weight; 0 gets no traffic. */
  weight: number;
  /** Filters applied only when this backend is picked. */
  filters?: RouteFilter[];
}

export interface RetryPolicy {
  /** Total attempts after the first. */
  attempts: number;
  /** Retry on these response codes (5xx, 429...); connect failures and resets always retry. */
  codes: number[];
  backoffMs: number;
  perTryTimeoutMs?: number;
}

export interface RouteRule {
  /** `<kind>/<namespace>/<name>` of the route object and the rule index, for status, logs and metrics. */
  source: { kind: 'HTTPRoute' | 'GRPCRoute'; namespace: string; name: string; rule: number };
  /** Service ports the rule applies to (the route's parentRef port); absent = every port. */
  ports?: number[];
  /** Any match selects the rule (OR); an empty list matches every request (path prefix `/`). */
  matches: RouteMatch[];
  filters: RouteFilter[];
  /** Empty: the rule answers 500 (Gateway API: no backends) unless a redirect filter answers first. */
  backends: BackendRef[];
  /** HTTPRouteTimeouts: whole request and per backend attempt; undefined = no timeout. */
  timeouts?: { requestMs?: number; backendRequestMs?: number };
  retry?: RetryPolicy;
}

/** What a waypoint does with requests to one service. */
export interface WaypointRoutes {
  /** `<namespace>/<hostname>`, the Service it configures. */
  service: string;
  /** Service ports these rules apply to; empty = every port (parentRef without port). */
  ports: number[];
  /**
   * Rules already in Gateway API precedence order (§3.1: exact path > longest prefix > method >
   * most headers > most query params > oldest route > name); the first rule whose match fits wins.
   * With no rule matching, the waypoint answers 404 (NR). A service with no route object at all has
   * no WaypointRoutes resource and the waypoint sends requests to the service itself.
   */
  rules: RouteRule[];
}

export const waypointRoutesResourceName = (r: WaypointRoutes): string => r.service;
