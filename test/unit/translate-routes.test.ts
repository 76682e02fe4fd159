// HTTPRoute / GRPCRoute → WaypointRoutes, with cases shaped after Gateway API's conformance tests
// (HTTPRouteMatchingAcrossRoutes, ExactPathMatching, HeaderMatching, QueryParamMatching,
// MethodMatching, PathMatchOrder, Weight, InvalidNonExistentBackendRef, GRPCExactMethodMatching)
// but written for mesh parents: a Service in a namespace bound to waypoint `wp`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouteRule, WaypointRoutes } from '../../src/mesh-api/waypoint.js';
import { decodeWaypointRoutes, encodeWaypointRoutes } from '../../src/xds/types/waypoint-routes-codec.js';
import { namespace, run, service } from './support/translate-fixtures.js';

const NS = 'mesh';
const ECHO = `${NS}/echo.${NS}.svc.cluster.local`;
const v = (n: number): string => `${NS}/echo-v${n}.${NS}.svc.cluster.local`;
const ports = [{ port: 80, targetPort: 8080 }];
const WAYPOINT = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: wp, namespace: ${NS} }
spec: { gatewayClassName: istio-waypoint, listeners: [{ name: mesh, port: 15008, protocol: HBONE }] }
`;

function world(yaml: string, extra = ''): ReturnType<typeof run> {
  return run({
    namespaces: [namespace(NS, { 'istio.io/use-waypoint': 'wp' }), namespace('plain')],
    services: [service(NS, 'echo', {}, ports), service(NS, 'echo-v1', {}, ports), service(NS, 'echo-v2', {}, ports), service(NS, 'echo-v3', {}, ports), service('plain', 'lone', {}, ports)],
    yaml: [WAYPOINT, yaml, extra].filter(Boolean).join('\n---\n'),
  });
}

function routesOf(r: ReturnType<typeof run>, svc = ECHO): WaypointRoutes {
  const w = r.snapshot.waypointRoutes?.find((x) => x.service === svc);
  if (!w) throw new Error(`no routes for ${svc}`);
  // Every translated resource survives the strict codec unchanged.
  assert.deepEqual(decodeWaypointRoutes(encodeWaypointRoutes(w)), w);
  return w;
}

/** Minimal model of the waypoint's first-match: which rule answers a request. */
function pick(rules: RouteRule[], req: { path: string; method?: string; headers?: Record<string, string>; query?: Record<string, string> }): RouteRule | undefined {
  const pathOk = (m: RouteRule['matches'][number]): boolean => {
    const p = m.path;
    if (!p) return true;
    if (p.type === 'Exact') return req.path === p.value;
    if (p.type === 'PathPrefix') return p.value === '/' || req.path === p.value || req.path.startsWith(`${p.value}/`);
    return new RegExp(`^${p.value}$`).test(req.path);
  };
  const vm = (ms: { type: string; name: string; value: string }[] | undefined, got: Record<string, string> | undefined, ci: boolean): boolean =>
    (ms ?? []).every((m) => {
      const key = Object.keys(got ?? {}).find((k) => (ci ? k.toLowerCase() === m.name.toLowerCase() : k === m.name));
      const val = key === undefined ? undefined : got?.[key];
      return val !== undefined && (m.type === 'Exact' ? val === m.value : new RegExp(`^${m.value}$`).test(val));
    });
  return rules.find((r) => r.matches.length === 0 || r.matches.some((m) => pathOk(m) && (!m.method || m.method === (req.method ?? 'GET')) && vm(m.headers, req.headers, true) && vm(m.queryParams, req.query, false)));
}

const backendOf = (r: RouteRule | undefined): string | undefined => r?.backends[0]?.service;

const route = (name: string, rules: string, extra = ''): string => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: ${NS}${extra} }
spec:
  parentRefs: [{ group: "", kind: Service, name: echo }]
  rules:
${rules}`;

describe('HTTPRoute → WaypointRoutes', () => {
  it('matching across routes: precedence is per match, merged over every route of the service (HTTPRouteMatchingAcrossRoutes)', () => {
    const r = world(
      route('r1', `    - matches: [{ path: { type: PathPrefix, value: / } }, { headers: [{ name: version, value: one }] }]
      backendRefs: [{ name: echo-v1, port: 80 }]`),
      route('r2', `    - matches: [{ path: { type: PathPrefix, value: /v2 } }, { headers: [{ name: version, value: two }] }]
      backendRefs: [{ name: echo-v2, port: 80 }]`),
    );
    const rules = routesOf(r).rules;
    assert.equal(backendOf(pick(rules, { path: '/' })), v(1));
    assert.equal(backendOf(pick(rules, { path: '/example' })), v(1));
    assert.equal(backendOf(pick(rules, { path: '/v2' })), v(2));
    assert.equal(backendOf(pick(rules, { path: '/v2/example' })), v(2));
    assert.equal(backendOf(pick(rules, { path: '/v2example' })), v(1), 'prefixes match whole segments');
    assert.equal(backendOf(pick(rules, { path: '/', headers: { Version: 'two' } })), v(2), 'a header match outranks a bare / prefix');
  });

  it('exact paths: anything else is no match (HTTPRouteExactPathMatching)', () => {
    const rules = routesOf(
      world(
        route('exact', `    - matches: [{ path: { type: Exact, value: /one } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ path: { type: Exact, value: /two } }]
      backendRefs: [{ name: echo-v2, port: 80 }]`),
      ),
    ).rules;
    assert.equal(backendOf(pick(rules, { path: '/one' })), v(1));
    assert.equal(backendOf(pick(rules, { path: '/two' })), v(2));
    for (const p of ['/', '/one/example', '/two/', '/Two']) assert.equal(pick(rules, { path: p }), undefined, p);
  });

  it('path order: exact > longest prefix (HTTPRoutePathMatchOrder)', () => {
    const rules = routesOf(
      world(
        route('order', `    - matches: [{ path: { type: Exact, value: /match } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ path: { type: Exact, value: /match/exact } }]
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /match/ } }]
      backendRefs: [{ name: echo-v3, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /match/prefix/ } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /match/prefix/one } }]
      backendRefs: [{ name: echo-v2, port: 80 }]`),
      ),
    ).rules;
    assert.equal(backendOf(pick(rules, { path: '/match' })), v(1), 'exact /match beats prefix /match');
    assert.equal(backendOf(pick(rules, { path: '/match/exact' })), v(2));
    assert.equal(backendOf(pick(rules, { path: '/match/prefix/one/any' })), v(2));
    assert.equal(backendOf(pick(rules, { path: '/match/prefix/any' })), v(1));
    assert.equal(backendOf(pick(rules, { path: '/match/any' })), v(3));
  });

  it('headers: more header matches win; equal ones keep rule order (HTTPRouteHeaderMatching)', () => {
    const rules = routesOf(
      world(
        route('headers', `    - matches: [{ headers: [{ name: version, value: one }] }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ headers: [{ name: version, value: two }] }]
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches: [{ headers: [{ name: version, value: two }, { name: color, value: orange }] }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ headers: [{ name: color, value: blue }] }, { headers: [{ name: color, value: green }] }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ headers: [{ name: color, type: RegularExpression, value: "red|yellow" }] }]
      backendRefs: [{ name: echo-v2, port: 80 }]`),
      ),
    ).rules;
    assert.equal(backendOf(pick(rules, { path: '/', headers: { version: 'two', color: 'orange' } })), v(1));
    assert.equal(backendOf(pick(rules, { path: '/', headers: { version: 'two', color: 'blue' } })), v(2), 'the earlier rule wins among equal specificity');
    assert.equal(backendOf(pick(rules, { path: '/', headers: { COLOR: 'yellow' } })), v(2), 'header names are case-insensitive');
    assert.equal(pick(rules, { path: '/', headers: { color: 'purple' } }), undefined);
  });

  it('query params are case-sensitive by name; method matches rank above header counts (QueryParamMatching, MethodMatching)', () => {
    const rules = routesOf(
      world(
        route('q', `    - matches: [{ queryParams: [{ name: animal, value: whale }] }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ queryParams: [{ name: animal, value: dolphin }, { name: color, value: blue }] }, { queryParams: [{ name: ANIMAL, value: Whale }] }]
      backendRefs: [{ name: echo-v3, port: 80 }]
    - matches: [{ method: POST }]
      backendRefs: [{ name: echo-v2, port: 80 }]`),
      ),
    ).rules;
    assert.equal(backendOf(pick(rules, { path: '/', query: { animal: 'whale' } })), v(1));
    assert.equal(backendOf(pick(rules, { path: '/', query: { ANIMAL: 'Whale' } })), v(3));
    assert.equal(backendOf(pick(rules, { path: '/', query: { animal: 'dolphin', color: 'blue' } })), v(3));
    assert.equal(pick(rules, { path: '/', query: { animal: 'whaledolphin' } }), undefined);
    assert.equal(backendOf(pick(rules, { path: '/', method: 'POST', query: { animal: 'whale' } })), v(2), 'method outranks query params');
  });

  it('older routes win ties, then namespace/name', () => {
    const r = world(route('zzz', `    - backendRefs: [{ name: echo-v1, port: 80 }]`, ', creationTimestamp: "2024-01-01T00:00:00Z"'), route('aaa', `    - backendRefs: [{ name: echo-v2, port: 80 }]`, ', creationTimestamp: "2025-01-01T00:00:00Z"'));
    assert.equal(backendOf(routesOf(r).rules[0]), v(1));
  });

  it('weights, a missing backend (ResolvedRefs False, weight share dropped), filters, timeouts and retry (HTTPRouteWeight, InvalidNonExistentBackendRef)', () => {
    const r = world(
      route('w', `    - backendRefs: [{ name: echo-v1, port: 80, weight: 70 }, { name: echo-v2, port: 80, weight: 30 }, { name: echo-v3, port: 80, weight: 0 }, { name: nonexistent, port: 80 }]
      filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: X-Header-Set, value: v }], remove: [X-Drop] } }]
      timeouts: { request: 2s, backendRequest: 500ms }
      retry: { attempts: 3, codes: [500, 503], backoff: 100ms }`),
    );
    const rule = routesOf(r).rules[0];
    assert.deepEqual(rule?.backends, [
      { service: v(1), port: 80, weight: 70 },
      { service: v(2), port: 80, weight: 30 },
      { service: v(3), port: 80, weight: 0 },
    ]);
    assert.deepEqual(rule?.filters, [{ type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-header-set', value: 'v' }], remove: ['x-drop'] } }]);
    assert.deepEqual(rule?.timeouts, { requestMs: 2000, backendRequestMs: 500 });
    assert.deepEqual(rule?.retry, { attempts: 3, codes: [500, 503], backoffMs: 100, perTryTimeoutMs: 500 });
    const st = r.routeStatuses.find((s) => s.name === 'w');
    const resolved = st?.parents[0]?.conditions.find((c) => c.type === 'ResolvedRefs');
    assert.equal(resolved?.status, 'False');
    assert.equal(resolved?.reason, 'BackendNotFound');
    assert.equal(st?.parents[0]?.conditions.find((c) => c.type === 'Accepted')?.status, 'True');
  });

  it('no backends, or only missing ones: the rule has none (the waypoint answers 500)', () => {
    const rules = routesOf(world(route('none', `    - matches: [{ path: { value: /empty } }]
    - matches: [{ path: { value: /missing } }]
      backendRefs: [{ name: nope, port: 80 }]`))).rules;
    assert.deepEqual(rules.map((x) => x.backends), [[], []]);
  });

  it('a parentRef port scopes the rules to that port; a redirect gets status 302 by default', () => {
    const r = world(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: p, namespace: ${NS} }
spec:
  parentRefs: [{ kind: Service, name: echo, port: 80 }]
  rules: [{ filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org } }] }]`);
    const w = routesOf(r);
    assert.deepEqual(w.ports, [80]);
    assert.deepEqual(w.rules[0]?.ports, [80]);
    assert.deepEqual(w.rules[0]?.filters, [{ type: 'RequestRedirect', hostname: 'example.org', statusCode: 302 }]);
  });

  it('a Service with no waypoint still gets its routes but the route is reported (MissingUseWaypointLabel); a missing parent is not Accepted', () => {
    const r = world(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: lone, namespace: plain }
spec:
  parentRefs: [{ kind: Service, name: lone }, { kind: Service, name: ghost }]
  rules: [{ backendRefs: [{ name: lone, port: 80 }] }]`);
    assert.ok(r.diagnostics.some((d) => d.object === 'HTTPRoute/plain/lone' && /MissingUseWaypointLabel/.test(d.message)));
    const parents = r.routeStatuses.find((s) => s.name === 'lone')?.parents ?? [];
    assert.deepEqual(parents.map((p) => p.conditions.find((c) => c.type === 'Accepted')?.reason), ['Accepted', 'NoMatchingParent']);
    assert.ok(r.snapshot.waypointRoutes?.some((w) => w.service === 'plain/lone.plain.svc.cluster.local'));
  });

  it('a waypoint Gateway parent applies to the services bound to it, narrowed by hostnames', () => {
    const r = world(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: gw, namespace: ${NS} }
spec:
  parentRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: wp }]
  hostnames: [echo-v1.${NS}.svc.cluster.local, echo-v2]
  rules: [{ backendRefs: [{ name: echo, port: 80 }] }]`);
    assert.deepEqual(r.snapshot.waypointRoutes?.map((w) => w.service), [v(1), v(2)]);
  });

  it('a route with no mesh parent produces nothing', () => {
    assert.equal(world('').snapshot.waypointRoutes, undefined);
  });
});

describe('GRPCRoute → WaypointRoutes', () => {
  it('method matches become paths on /<service>/<method> (GRPCExactMethodMatching, §3.2)', () => {
    const r = world(`
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: g, namespace: ${NS} }
spec:
  parentRefs: [{ kind: Service, name: echo }]
  rules:
    - matches: [{ method: { service: grpc.Echo, method: Ping } }]
      backendRefs: [{ name: echo-v1, port: 80 }]
    - matches: [{ method: { service: grpc.Echo } }]
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches: [{ method: { method: Pong } }]
      backendRefs: [{ name: echo-v3, port: 80 }]
    - matches: [{ method: { type: RegularExpression, service: "grpc\\\\..*", method: "P.*" } }]
      backendRefs: [{ name: echo-v3, port: 80 }]`);
    const rules = routesOf(r).rules;
    assert.deepEqual(
      rules.map((x) => x.matches[0]?.path),
      [
        { type: 'Exact', value: '/grpc.Echo/Ping' },
        { type: 'PathPrefix', value: '/grpc.Echo' },
        { type: 'RegularExpression', value: '/[^/]+/Pong' },
        { type: 'RegularExpression', value: '/grpc\\..*/P.*' },
      ].sort((a, b) => ({ Exact: 0, PathPrefix: 1, RegularExpression: 2 })[a.type]! - ({ Exact: 0, PathPrefix: 1, RegularExpression: 2 })[b.type]! || b.value.length - a.value.length),
    );
    assert.equal(backendOf(pick(rules, { path: '/grpc.Echo/Ping' })), v(1));
    assert.equal(backendOf(pick(rules, { path: '/grpc.Echo/Other' })), v(2));
    assert.equal(backendOf(pick(rules, { path: '/other.Svc/Pong' })), v(3));
    assert.deepEqual(rules[0]?.matches[0]?.grpc, { service: 'grpc.Echo', method: 'Ping' });
  });
});
