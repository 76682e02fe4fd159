// AMB008: two routes for the same parent and host with an identical match. Only one of them
// ever receives the traffic (Gateway API: the oldest route, then by namespace/name), so the
// other rule is dead config, usually a copy-paste or a forgotten old route.
import type { KubeObject } from '../../model/core/types.js';
import { arr, type Check, describe, finding, GATEWAY_API, is, NETWORKING_ISTIO, nsOf, rec, str, strs } from '../model.js';
import type { Finding } from '../types.js';

interface Entry {
  route: KubeObject;
  rule: number;
  /** Field path of the match (or of the rule, when it has no matches: a catch-all). */
  path: string;
}

/** JSON with sorted keys, so equal matches written in different orders compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Gateway API defaults: path PathPrefix "/", header/query match type Exact, order-free lists. */
function httpRouteMatch(m: Record<string, unknown>): string {
  const path = rec(m['path']);
  const byName = (list: unknown): Record<string, unknown>[] =>
    arr(list).map((h) => ({ type: 'Exact', ...rec(h), name: (str(rec(h)['name']) ?? '').toLowerCase() })).sort((a, b) => canonical(a).localeCompare(canonical(b)));
  return canonical({ path: { type: str(path['type']) ?? 'PathPrefix', value: str(path['value']) ?? '/' }, headers: byName(m['headers']), queryParams: byName(m['queryParams']), method: m['method'] });
}

// Gateway API precedence among conflicting routes: oldest first, then namespace/name.
const byPrecedence = (a: KubeObject, b: KubeObject): number =>
  (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || describe(a).localeCompare(describe(b));

/** Keys of every (parent, host, match) a route claims, with where each came from. */
function httpRouteKeys(o: KubeObject): [string, Entry][] {
  const spec = rec(o.spec);
  const parents = arr(spec['parentRefs']).map((p) => {
    const r = rec(p);
    const kind = str(r['kind']) ?? 'Gateway';
    const group = str(r['group']) ?? GATEWAY_API;
    // Readable and unique: "Gateway demo/web", "Service demo/echo:8080", "Gateway demo/web#http".
    const qualified = (kind === 'Service' && group === '') || (kind !== 'Service' && group === GATEWAY_API) ? kind : `${kind}.${group}`;
    const section = str(r['sectionName']);
    return `${qualified} ${str(r['namespace']) ?? nsOf(o)}/${str(r['name']) ?? ''}${section ? `#${section}` : ''}${r['port'] !== undefined ? `:${String(r['port'])}` : ''}`;
  });
  const hosts = strs(spec['hostnames']);
  const keys: [string, Entry][] = [];
  arr(spec['rules']).forEach((rule, i) => {
    const matches = arr(rec(rule)['matches']);
    (matches.length ? matches : [{}]).forEach((m, j) => {
      const match = httpRouteMatch(rec(m));
      for (const p of parents) for (const h of hosts.length ? hosts : ['*']) keys.push([`HTTPRoute|${p}|${h}|${match}`, { route: o, rule: i, path: matches.length ? `spec.rules[${i}].matches[${j}]` : `spec.rules[${i}]` }]);
    });
  });
  return keys;
}

function virtualServiceKeys(o: KubeObject): [string, Entry][] {
  const spec = rec(o.spec);
  const ns = nsOf(o);
  const gateways = strs(spec['gateways']);
  const parents = (gateways.length ? gateways : ['mesh']).map((g) => (g === 'mesh' || g.includes('/') ? g : `${ns}/${g}`));
  // Short names resolve in the VirtualService's namespace.
  const hosts = strs(spec['hosts']).map((h) => (h.includes('.') || h.includes('*') ? h : `${h}.${ns}.svc.cluster.local`));
  const keys: [string, Entry][] = [];
  arr(spec['http']).forEach((route, i) => {
    const matches = arr(rec(route)['match']);
    (matches.length ? matches : [{}]).forEach((m, j) => {
      const { name: _n, statPrefix: _s, ...rest } = rec(m);
      for (const p of parents) for (const h of hosts) keys.push([`VirtualService|${p}|${h}|${canonical(rest)}`, { route: o, rule: i, path: matches.length ? `spec.http[${i}].match[${j}]` : `spec.http[${i}]` }]);
    });
  });
  return keys;
}

export const duplicateRoutes: Check = (c) => {
  const out: Finding[] = [];
  const routes = c.objects.filter((o) => is(o, GATEWAY_API, 'HTTPRoute') || is(o, NETWORKING_ISTIO, 'VirtualService')).sort(byPrecedence);
  const seen = new Map<string, Entry>();
  const reported = new Set<string>();
  for (const o of routes) {
    const vs = o.kind === 'VirtualService';
    for (const [key, e] of vs ? virtualServiceKeys(o) : httpRouteKeys(o)) {
      const first = seen.get(key);
      if (!first) {
        seen.set(key, e);
        continue;
      }
      if (first.route === o && first.rule === e.rule) continue; // same rule listing a host twice
      const id = `${describe(o)}|${e.path}`;
      if (reported.has(id)) continue;
      reported.add(id);
      const other = first.route === o ? `rule ${first.rule} of this route` : `${describe(first.route)} (rule ${first.rule})`;
      const [, parent = '', host = ''] = key.split('|');
      out.push(finding('AMB008', 'Warning', o, `rule ${e.rule} has the same match as ${other} for parent ${parent} and host ${host}; that one takes precedence, so this rule never receives traffic. Remove one of them or make the matches differ.`, e.path));
    }
  }
  return out;
};
