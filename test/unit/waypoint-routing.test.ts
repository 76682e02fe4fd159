// Pure route matching of the waypoint (waypoint-spec §2.6, §3.1) as table tests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteRule, WaypointRoutes } from '../../src/mesh-api/waypoint.js';
import { applyFilters, matchFits, pickBackend, prefixMatches, rewritePath, selectRoute } from '../../src/waypoint/routing.js';
import { sniffProtocol } from '../../src/waypoint/protocol.js';
import { endToEnd } from '../../src/waypoint/http-headers.js';

const rule = (name: string, matches: RouteRule['matches'], extra: Partial<RouteRule> = {}): RouteRule => ({
  source: { kind: 'HTTPRoute', namespace: 'default', name, rule: 0 },
  matches,
  filters: [],
  backends: [{ service: 'default/a.default.svc.cluster.local', port: 80, weight: 1 }],
  ...extra,
});

test('PathPrefix matches whole segments', () => {
  const cases: [string, string, boolean][] = [
    ['/foo', '/foo', true],
    ['/foo', '/foo/bar', true],
    ['/foo', '/foobar', false],
    ['/foo/', '/foo', true],
    ['/', '/anything', true],
  ];
  for (const [prefix, path, want] of cases) assert.equal(prefixMatches(prefix, path), want, `${prefix} vs ${path}`);
});

test('matches: path types, method, headers (case-insensitive names), query params', () => {
  const req = { method: 'GET', path: '/api/v1/items?color=red&x=1', headers: { 'x-version': 'v2', accept: 'a' } };
  const cases: [RouteRule['matches'][number], boolean][] = [
    [{ path: { type: 'Exact', value: '/api/v1/items' } }, true],
    [{ path: { type: 'Exact', value: '/api/v1' } }, false],
    [{ path: { type: 'PathPrefix', value: '/api' } }, true],
    [{ path: { type: 'RegularExpression', value: '/api/v[0-9]+/.*' } }, true],
    [{ path: { type: 'RegularExpression', value: '/v[0-9]' } }, false], // whole-path match
    [{ path: { type: 'RegularExpression', value: '([' } }, false], // bad regex fails closed
    [{ method: 'POST' }, false],
    [{ method: 'GET' }, true],
    [{ headers: [{ type: 'Exact', name: 'X-Version', value: 'v2' }] }, true],
    [{ headers: [{ type: 'Exact', name: 'x-version', value: 'v1' }] }, false],
    [{ headers: [{ type: 'RegularExpression', name: 'x-version', value: 'v[12]' }] }, true],
    [{ headers: [{ type: 'Exact', name: 'missing', value: '' }] }, false],
    [{ queryParams: [{ type: 'Exact', name: 'color', value: 'red' }] }, true],
    [{ queryParams: [{ type: 'Exact', name: 'color', value: 'blue' }] }, false],
    [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ type: 'Exact', name: 'x-version', value: 'v1' }] }, false], // AND
  ];
  for (const [m, want] of cases) assert.equal(matchFits(m, req), want, JSON.stringify(m));
});

test('gRPC matches on /service/method', () => {
  const req = (path: string) => ({ method: 'POST', path, headers: {} });
  assert.equal(matchFits({ grpc: { service: 'pkg.Echo' } }, req('/pkg.Echo/Say')), true);
  assert.equal(matchFits({ grpc: { service: 'pkg.Echo', method: 'Other' } }, req('/pkg.Echo/Say')), false);
  assert.equal(matchFits({ grpc: { method: 'Say' } }, req('/x.Y/Say')), true);
  assert.equal(matchFits({ grpc: {} }, req('/not-grpc')), false);
});

test('selectRoute: first matching rule wins, no rule 404, no routes default, other ports default', () => {
  const routes: WaypointRoutes = {
    service: 'default/a.default.svc.cluster.local',
    ports: [80],
    rules: [rule('hdr', [{ headers: [{ type: 'Exact', name: 'x-v', value: '2' }] }]), rule('api', [{ path: { type: 'PathPrefix', value: '/api' } }, { method: 'DELETE' }])],
  };
  const req = (path: string, headers: Record<string, string> = {}, method = 'GET') => ({ method, path, headers });
  const name = (d: ReturnType<typeof selectRoute>): string => (d.kind === 'rule' ? d.rule.source.name : d.kind);
  assert.equal(name(selectRoute(routes, 80, req('/api', { 'x-v': '2' }))), 'hdr');
  assert.equal(name(selectRoute(routes, 80, req('/api/x'))), 'api');
  assert.equal(name(selectRoute(routes, 80, req('/other', {}, 'DELETE'))), 'api'); // matches are OR-ed
  assert.equal(name(selectRoute(routes, 80, req('/other'))), 'none');
  assert.equal(name(selectRoute(undefined, 80, req('/other'))), 'default');
  assert.equal(name(selectRoute(routes, 8080, req('/other'))), 'default');
  assert.equal(name(selectRoute({ ...routes, rules: [rule('all', [])] }, 80, req('/x'))), 'all');
});

test('pickBackend: by weight, zero weight never, none with weight → undefined', () => {
  const b = (service: string, weight: number) => ({ service, port: 80, weight });
  const backends = [b('a', 90), b('b', 10), b('z', 0)];
  assert.equal(pickBackend(backends, () => 0)?.service, 'a');
  assert.equal(pickBackend(backends, () => 0.899)?.service, 'a');
  assert.equal(pickBackend(backends, () => 0.9)?.service, 'b');
  assert.equal(pickBackend(backends, () => 0.9999)?.service, 'b');
  assert.equal(pickBackend([b('z', 0)]), undefined);
});

test('filters: header modifiers, URL rewrite, redirect', () => {
  const m = { path: { type: 'PathPrefix' as const, value: '/api' } };
  assert.equal(rewritePath('/api/x?q=1', { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' }, m), '/x?q=1');
  assert.equal(rewritePath('/api', { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' }, m), '/v2');
  assert.equal(rewritePath('/api/x', { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' }, m), '/v2/x');
  assert.equal(rewritePath('/api/x', { type: 'ReplaceFullPath', replaceFullPath: '/full' }, m), '/full');
  const e = applyFilters(
    [
      { type: 'RequestHeaderModifier', modifier: { set: [{ name: 'X-Set', value: '1' }], add: [{ name: 'x-add', value: 'b' }], remove: ['x-gone'] } },
      { type: 'ResponseHeaderModifier', modifier: { set: [{ name: 'x-resp', value: 'r' }] } },
      { type: 'URLRewrite', hostname: 'new.host', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } },
    ],
    { path: '/api/x', authority: 'a:80', headers: { 'x-add': 'a', 'x-gone': 'y' }, scheme: 'http' },
    m,
  );
  assert.deepEqual(e.headers, { 'x-set': '1', 'x-add': ['a', 'b'] });
  assert.equal(e.authority, 'new.host');
  assert.equal(e.path, '/x');
  assert.equal(e.response.length, 1);
  const r = applyFilters([{ type: 'RequestRedirect', scheme: 'https', hostname: 'example.com', statusCode: 301 }], { path: '/p?q', authority: 'a.default:80', headers: {}, scheme: 'http' });
  assert.deepEqual(r.redirect, { status: 301, location: 'https://example.com/p?q' });
  const r2 = applyFilters([{ type: 'RequestRedirect', port: 8080, statusCode: 302 }], { path: '/p', authority: 'a.default:80', headers: {}, scheme: 'http' });
  assert.deepEqual(r2.redirect, { status: 302, location: 'http://a.default:8080/p' });
});

test('sniffing: h2 preface, HTTP/1 request line, else TCP', () => {
  assert.equal(sniffProtocol(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'http2');
  assert.equal(sniffProtocol(Buffer.from('GET / HTTP/1.1\r\n')), 'http1');
  assert.equal(sniffProtocol(Buffer.from('\x16\x03\x01')), 'tcp');
  assert.equal(sniffProtocol(Buffer.from('SSH-2.0-x')), 'tcp');
});

test('hop-by-hop headers are removed, also those Connection names; te: trailers stays', () => {
  const h = endToEnd({ connection: 'close, x-private', 'x-private': '1', 'keep-alive': 'timeout=5', te: 'trailers, deflate', 'transfer-encoding': 'chunked', upgrade: 'h2c', 'proxy-connection': 'x', 'x-keep': 'k', ':path': '/' });
  assert.deepEqual(h, { te: 'trailers', 'x-keep': 'k' });
});
