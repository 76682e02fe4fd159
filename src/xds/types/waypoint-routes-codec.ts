// WaypointRoutes (src/mesh-api/waypoint.ts) on the wire: UTF-8 JSON inside google.protobuf.Any
// with type URL type.googleapis.com/ambit.waypoint.WaypointRoutes. JSON rather than a .proto
// because the only reader is Ambit's own waypoint and the contract is a set of TypeScript
// unions (filters, path matches) that a proto would restate as oneofs in a second definition
// to keep in step; the Any's type URL still names the message, so a protobuf encoding can come
// later under a new URL. Encoding is deterministic (keys in a fixed order), so the content-hash
// versions of table.ts stay stable. Decoding is strict: every value the waypoint would act on
// is checked (regexes compile and stay within RE2's syntax, ports 1-65535, weights
// 0-1000000, status codes), and a failure names the field, which the client turns into a NACK
// of that resource. Unknown keys are dropped (a newer control plane may add fields).
import { z } from 'zod';
import type { BackendRef, PathModifier, RouteFilter, RouteMatch, RouteRule, WaypointRoutes } from '../../mesh-api/waypoint.js';
import { CodecError } from '../codec.js';

export const WAYPOINT_ROUTES_TYPE_URL = 'type.googleapis.com/ambit.waypoint.WaypointRoutes';

// JS RegExp features RE2 lacks: lookaround and backreferences. Refused so that a pattern means
// the same thing here as in Istio's Envoy.
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]|\\k</;

const regex = z.string().superRefine((v, ctx) => {
  if (NOT_RE2.test(v)) ctx.addIssue({ code: 'custom', message: `regular expression ${JSON.stringify(v)} uses lookaround or backreferences, which RE2 does not support` });
  else
    try {
      new RegExp(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(e as Error).message}` });
    }
});
const absPath = z.string().startsWith('/', { error: "must start with '/'" });
const port = z.number().int().min(1, { error: 'must be a port 1-65535' }).max(65535, { error: 'must be a port 1-65535' });
const serviceKey = z.string().regex(/^[^/]+\/[^/]+$/, { error: 'must be <namespace>/<hostname>' });
const ms = z.number().int().min(0, { error: 'must be whole milliseconds >= 0' });

const pathMatch = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Exact'), value: absPath }),
  z.object({ type: z.literal('PathPrefix'), value: absPath }),
  z.object({ type: z.literal('RegularExpression'), value: regex }),
]);
const valueMatch = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Exact'), name: z.string().min(1), value: z.string() }),
  z.object({ type: z.literal('RegularExpression'), name: z.string().min(1), value: regex }),
]);
const routeMatch = z.object({
  path: pathMatch.optional(),
  headers: z.array(valueMatch).optional(),
  queryParams: z.array(valueMatch).optional(),
  method: z.string().regex(/^[A-Z]+$/, { error: 'must be an upper-case HTTP method' }).optional(),
  grpc: z.object({ service: z.string().optional(), method: z.string().optional() }).optional(),
});
const header = z.object({ name: z.string().min(1), value: z.string().regex(/^[^\0\r\n]*$/, { error: 'must not contain NUL, CR or LF' }) });
const headerModifier = z.object({ set: z.array(header).optional(), add: z.array(header).optional(), remove: z.array(z.string().min(1)).optional() });
const pathModifier = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ReplaceFullPath'), replaceFullPath: absPath }),
  z.object({ type: z.literal('ReplacePrefixMatch'), replacePrefixMatch: absPath }),
]);
const backendBase = z.object({ service: serviceKey, port, weight: z.number().int().min(0, { error: 'must be 0-1000000' }).max(1_000_000, { error: 'must be 0-1000000' }) });
const baseFilter = z.discriminatedUnion('type', [
  z.object({ type: z.literal('RequestHeaderModifier'), modifier: headerModifier }),
  z.object({ type: z.literal('ResponseHeaderModifier'), modifier: headerModifier }),
  z.object({
    type: z.literal('RequestRedirect'),
    scheme: z.enum(['http', 'https']).optional(),
    hostname: z.string().min(1).optional(),
    path: pathModifier.optional(),
    port: port.optional(),
    statusCode: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]),
  }),
  z.object({ type: z.literal('URLRewrite'), hostname: z.string().min(1).optional(), path: pathModifier.optional() }),
  z.object({ type: z.literal('RequestMirror'), backend: backendBase, percent: z.number().min(0).max(100) }),
]);
const backend = backendBase.extend({ filters: z.array(baseFilter).optional() });
const rule = z.object({
  source: z.object({ kind: z.enum(['HTTPRoute', 'GRPCRoute']), namespace: z.string().min(1), name: z.string().min(1), rule: z.number().int().min(0) }),
  ports: z.array(port).optional(),
  matches: z.array(routeMatch),
  filters: z.array(baseFilter),
  backends: z.array(backend),
  timeouts: z.object({ requestMs: ms.optional(), backendRequestMs: ms.optional() }).optional(),
  retry: z
    .object({
      attempts: z.number().int().min(0),
      codes: z.array(z.number().int().min(400, { error: 'must be a 4xx or 5xx status' }).max(599, { error: 'must be a 4xx or 5xx status' })),
      backoffMs: ms,
      perTryTimeoutMs: ms.optional(),
    })
    .optional(),
});
const waypointRoutes = z.object({ service: serviceKey, ports: z.array(port), rules: z.array(rule) });

const where = (path: readonly PropertyKey[]): string => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');

/** Decodes and checks a WaypointRoutes; throws CodecError naming the first bad field. */
export function decodeWaypointRoutes(bytes: Uint8Array): WaypointRoutes {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new CodecError(`not an ambit.waypoint.WaypointRoutes (JSON): ${(e as Error).message}`);
  }
  const r = waypointRoutes.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CodecError(`${i ? where(i.path) || 'resource' : 'resource'}: ${i?.message ?? 'invalid'}`);
  }
  return r.data as WaypointRoutes;
}

// ---- encode: fixed key order, undefined left out ----

const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
const pathMod = (p: PathModifier): PathModifier => (p.type === 'ReplaceFullPath' ? { type: p.type, replaceFullPath: p.replaceFullPath } : { type: p.type, replacePrefixMatch: p.replacePrefixMatch });
const backendOut = (b: BackendRef): BackendRef => defined({ service: b.service, port: b.port, weight: b.weight, filters: b.filters?.map(filterOut) });

function filterOut(f: RouteFilter): RouteFilter {
  switch (f.type) {
    case 'RequestHeaderModifier':
    case 'ResponseHeaderModifier':
      return { type: f.type, modifier: defined({ set: f.modifier.set, add: f.modifier.add, remove: f.modifier.remove }) };
    case 'RequestRedirect':
      return defined({ type: f.type, scheme: f.scheme, hostname: f.hostname, path: f.path && pathMod(f.path), port: f.port, statusCode: f.statusCode });
    case 'URLRewrite':
      return defined({ type: f.type, hostname: f.hostname, path: f.path && pathMod(f.path) });
    case 'RequestMirror':
      return { type: f.type, backend: backendOut(f.backend), percent: f.percent };
  }
}

const matchOut = (m: RouteMatch): RouteMatch => defined({ path: m.path, headers: m.headers, queryParams: m.queryParams, method: m.method, grpc: m.grpc });

function ruleOut(r: RouteRule): RouteRule {
  return defined({
    source: { kind: r.source.kind, namespace: r.source.namespace, name: r.source.name, rule: r.source.rule },
    ports: r.ports,
    matches: r.matches.map(matchOut),
    filters: r.filters.map(filterOut),
    backends: r.backends.map(backendOut),
    timeouts: r.timeouts && defined({ requestMs: r.timeouts.requestMs, backendRequestMs: r.timeouts.backendRequestMs }),
    retry: r.retry && defined({ attempts: r.retry.attempts, codes: r.retry.codes, backoffMs: r.retry.backoffMs, perTryTimeoutMs: r.retry.perTryTimeoutMs }),
  });
}

/** The Any value bytes. */
export function encodeWaypointRoutes(w: WaypointRoutes): Buffer {
  return Buffer.from(JSON.stringify({ service: w.service, ports: w.ports, rules: w.rules.map(ruleOut) }), 'utf8');
}
