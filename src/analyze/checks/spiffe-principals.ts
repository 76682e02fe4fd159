// AMB017: a principal written with the `spiffe://` scheme. istiod sends principals as written
// and the node tunnel compares them with the peer identity stripped of `spiffe://` (ztunnel
// rbac.rs `matches_principal`), so such an entry never hits: in principals it matches nobody
// (an ALLOW lets nobody in through it, a DENY blocks nobody), in notPrincipals it excludes nobody.
// Waypoints behave the same: istiod prefixes spiffe:// to each principal for Envoy, doubling it.
import { spiffePrincipalWarnings } from '../../model/mesh/authorization-l4.js';
import { arr, type Check, finding, rec, str, strs } from '../model.js';
import { authorizationPolicies, rulesOf } from '../policy.js';
import type { Finding } from '../types.js';

export const spiffePrincipal: Check = (c) => {
  const out: Finding[] = [];
  for (const o of authorizationPolicies(c.objects)) {
    const rules = rulesOf(o).map((rule) => {
      const r = rec(rule);
      return {
        from: arr(r['from']).map((f) => {
          const s = rec(rec(f)['source']);
          return { source: { principals: strs(s['principals']), notPrincipals: strs(s['notPrincipals']) } };
        }),
        when: arr(r['when']).map((w) => ({ key: str(rec(w)['key']) ?? '', values: strs(rec(w)['values']), notValues: strs(rec(w)['notValues']) })),
      };
    });
    for (const w of spiffePrincipalWarnings(rules)) out.push(finding('AMB017', 'Warning', o, `${w.message}.`, w.path));
  }
  return out;
};
