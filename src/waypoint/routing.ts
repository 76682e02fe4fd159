// Route selection inside the waypoint (waypoint-spec §2.6, §3.1): the first rule of a service's
// WaypointRoutes whose match fits the request, the backend by weight, filters applied to the
// headers and path, redirects as answers. Pure: no I/O.
import type { BackendRef, HeaderModifier, PathModifier, RouteFilter, RouteMatch, RouteRule, ValueMatch, WaypointRoutes } from '../mesh-api/waypoint.js';

/** What routing needs of a request. Header names lower-case. */
export interface RouteRequest {
  method: string;
  /** Path with query, as on the request line / :path. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

/** `(path, query)` split; the query without `?`. */
export function splitPath(p: string): { path: string; query: string } {
  const i = p.indexOf('?');
  return i < 0 ? { path: p, query: '' } : { path: p.slice(0, i), query: p.slice(i + 1) };
}

const regexCache = new Map<string, RegExp | null>();
/** Gateway API regexes match the whole value; a bad one never matches (fail closed). */
function fullMatch(pattern: string, value: string): boolean {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${pattern})$`);
    } catch {
      re = null;
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re !== null && re.test(value);
}

/** PathPrefix matches whole segments: `/foo` matches `/foo` and `/foo/bar`, not `/foobar`. */
export function prefixMatches(prefix: string, path: string): boolean {
  const p = prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (p === '/' || p === '') return true;
  return path === p || path.startsWith(`${p}/`);
}

function valueMatches(m: ValueMatch, v: string | undefined): boolean {
  if (v === undefined) return false;
  return m.type === 'Exact' ? v === m.value : fullMatch(m.value, v);
}

function headerValue(h: RouteRequest['headers'], name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

function queryValue(query: string, name: string): string | undefined {
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    if (k !== name) continue;
    const raw = eq < 0 ? '' : part.slice(eq + 1);
    try {
      return decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      return raw;
    }
  }
  return undefined;
}

export function matchFits(m: RouteMatch, req: RouteRequest): boolean {
  const { path, query } = splitPath(req.path);
  if (m.path) {
    const ok = m.path.type === 'Exact' ? path === m.path.value : m.path.type === 'PathPrefix' ? prefixMatches(m.path.value, path) : fullMatch(m.path.value, path);
    if (!ok) return false;
  }
  if (m.grpc) {
    // GRPCRoute: /<service>/<method>; an omitted part matches any.
    const g = /^\/([^/]+)\/([^/]+)$/.exec(path);
    if (!g) return false;
    if (m.grpc.service && g[1] !== m.grpc.service) return false;
    if (m.grpc.method && g[2] !== m.grpc.method) return false;
  }
  if (m.method && req.method.toUpperCase() !== m.method) return false;
  for (const h of m.headers ?? []) if (!valueMatches(h, headerValue(req.headers, h.name))) return false;
  for (const q of m.queryParams ?? []) if (!valueMatches(q, queryValue(query, q.name))) return false;
  return true;
}

export type RouteDecision =
  | { kind: 'rule'; rule: RouteRule; index: number; match?: RouteMatch }
  /** No WaypointRoutes for the service: send to the service itself (§2.6 default route). */
  | { kind: 'default' }
  /** A WaypointRoutes exists but no rule matches: 404 NR. */
  | { kind: 'none' };

/** The first rule (already in precedence order) with a fitting match; an empty match list fits all. */
export function selectRoute(routes: WaypointRoutes | undefined, servicePort: number, req: RouteRequest): RouteDecision {
  if (!routes || (routes.ports.length > 0 && !routes.ports.includes(servicePort))) return { kind: 'default' };
  for (let i = 0; i < routes.rules.length; i++) {
    const rule = routes.rules[i]!;
    if (rule.matches.length === 0) return { kind: 'rule', rule, index: i };
    const match = rule.matches.find((m) => matchFits(m, req));
    if (match) return { kind: 'rule', rule, index: i, match };
  }
  return { kind: 'none' };
}

/** Weighted random choice among backends with weight > 0; undefined if none has weight. */
export function pickBackend(backends: readonly BackendRef[], rand: () => number = Math.random): BackendRef | undefined {
  const live = backends.filter((b) => b.weight > 0);
  const total = live.reduce((n, b) => n + b.weight, 0);
  if (total <= 0) return undefined;
  let r = rand() * total;
  for (const b of live) {
    r -= b.weight;
    if (r < 0) return b;
  }
  return live.at(-1);
}

/** Applies set / add / remove to a header map (names lower-cased; add appends). */
export function modifyHeaders(h: Record<string, string | string[] | undefined>, m: HeaderModifier): void {
  for (const { name, value } of m.set ?? []) h[name.toLowerCase()] = value;
  for (const { name, value } of m.add ?? []) {
    const k = name.toLowerCase();
    const cur = h[k];
    h[k] = cur === undefined ? value : Array.isArray(cur) ? [...cur, value] : [cur, value];
  }
  for (const name of m.remove ?? []) delete h[name.toLowerCase()];
}

/** The new path of a ReplaceFullPath / ReplacePrefixMatch (the matched prefix is the rule's path prefix). */
export function rewritePath(path: string, mod: PathModifier, match: RouteMatch | undefined): string {
  const { path: p, query } = splitPath(path);
  let out: string;
  if (mod.type === 'ReplaceFullPath') out = mod.replaceFullPath;
  else {
    const prefix = match?.path?.type === 'PathPrefix' ? match.path.value.replace(/\/$/, '') : '';
    const rest = p.slice(prefix.length);
    const repl = mod.replacePrefixMatch;
    // Gateway API: `/foo` → `/` on `/foo/bar` gives `/bar`, not `//bar`.
    out = repl.endsWith('/') && rest.startsWith('/') ? repl + rest.slice(1) : repl + rest;
    if (out === '') out = '/';
  }
  return query ? `${out}?${query}` : out;
}

export interface RequestEdit {
  path: string;
  /** The :authority / Host to send upstream. */
  authority: string;
  headers: Record<string, string | string[] | undefined>;
  /** Response header modifiers to apply on the way back. */
  response: HeaderModifier[];
  /** Set when a RequestRedirect answers the request. */
  redirect?: { status: number; location: string };
}

/**
 * Applies a rule's filters, then the backend's, to a copy of the request (§3.1 filters):
 * header modifiers, URL rewrite, redirect. RequestMirror is not applied (not supported yet).
 */
export function applyFilters(filters: readonly RouteFilter[], req: { path: string; authority: string; headers: Record<string, string | string[] | undefined>; scheme: string }, match?: RouteMatch): RequestEdit {
  const out: RequestEdit = { path: req.path, authority: req.authority, headers: { ...req.headers }, response: [] };
  for (const f of filters) {
    switch (f.type) {
      case 'RequestHeaderModifier':
        modifyHeaders(out.headers, f.modifier);
        break;
      case 'ResponseHeaderModifier':
        out.response.push(f.modifier);
        break;
      case 'URLRewrite':
        if (f.hostname) out.authority = f.hostname;
        if (f.path) out.path = rewritePath(out.path, f.path, match);
        break;
      case 'RequestRedirect': {
        const scheme = f.scheme ?? req.scheme;
        const { host, port: origPort } = splitHostPort(out.authority);
        const hostname = f.hostname ?? host;
        // Gateway API: the port follows the scheme when the scheme changes and no port is given.
        const port = f.port ?? (f.scheme ? undefined : origPort);
        const defaultPort = scheme === 'https' ? 443 : 80;
        const hostPart = port !== undefined && port !== defaultPort ? `${hostname}:${port}` : hostname;
        const path = f.path ? rewritePath(out.path, f.path, match) : out.path;
        out.redirect = { status: f.statusCode, location: `${scheme}://${hostPart}${path}` };
        return out;
      }
      case 'RequestMirror':
        break;
    }
  }
  return out;
}

export function splitHostPort(authority: string): { host: string; port?: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(authority);
  if (!m) return { host: authority };
  return m[2] ? { host: m[1]!, port: Number(m[2]) } : { host: m[1]! };
}
