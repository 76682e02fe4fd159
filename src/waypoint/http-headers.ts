// Header handling of a forwarding proxy (RFC 9110 §7.6.1) with Envoy's defaults for a waypoint
// (waypoint-spec §2.8): hop-by-hop headers removed, `x-request-id` generated when absent,
// `x-forwarded-proto` set when absent, `te: trailers` kept for gRPC. Pure.
import { randomUUID } from 'node:crypto';

export type HeaderMap = Record<string, string | string[] | undefined>;

/** RFC 9110 §7.6.1 hop-by-hop fields, plus Proxy-Connection, which HTTP/2 forbids too. */
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade']);

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Copies `h` without pseudo-headers, hop-by-hop fields and the fields `Connection` names. */
export function endToEnd(h: HeaderMap, opts: { keepUpgrade?: boolean } = {}): HeaderMap {
  const named = new Set<string>();
  const conn = h['connection'];
  for (const v of Array.isArray(conn) ? conn : conn ? [conn] : []) for (const n of v.split(',')) if (n.trim()) named.add(n.trim().toLowerCase());
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || k.startsWith(':')) continue;
    if (k === 'te') {
      // The one TE value HTTP/2 allows, and what gRPC servers require.
      if (String(v).toLowerCase().split(',').some((x) => x.trim() === 'trailers')) out[k] = 'trailers';
      continue;
    }
    if (opts.keepUpgrade && (k === 'upgrade' || k === 'connection')) {
      out[k] = v;
      continue;
    }
    if (HOP_BY_HOP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Envoy's request decoration on a non-edge hop (use_remote_address=false): keep what came, fill what is missing. */
export function decorateRequest(h: HeaderMap, scheme = 'http'): { requestId: string } {
  let id = first(h['x-request-id']);
  if (!id) h['x-request-id'] = id = randomUUID();
  if (!first(h['x-forwarded-proto'])) h['x-forwarded-proto'] = scheme;
  delete h['expect']; // the waypoint answered 100-continue itself (Envoy's default)
  return { requestId: id };
}

/** The response headers the waypoint sends back (Envoy: `server` overwritten, upstream service time). */
export function decorateResponse(h: HeaderMap, upstreamMs: number | undefined): HeaderMap {
  const out = endToEnd(h);
  out['server'] = 'istio-envoy';
  if (upstreamMs !== undefined) out['x-envoy-upstream-service-time'] = String(Math.round(upstreamMs));
  return out;
}
