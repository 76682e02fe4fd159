// AMB002 (principal/service account that does not exist) and AMB003 (namespace that does
// not exist) in AuthorizationPolicy sources. A typo here silently never matches: an ALLOW
// then lets nobody in, a DENY protects nothing.
import { type Check, finding, nsOf } from '../model.js';
import { allFields, authorizationPolicies } from '../policy.js';
import type { Finding } from '../types.js';

const PRINCIPAL = /^[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/;

export const unknownServiceAccount: Check = (c) => {
  const out: Finding[] = [];
  for (const o of authorizationPolicies(c.objects)) {
    for (const f of allFields(o)) {
      f.values.forEach((v, k) => {
        if (v.includes('*')) return; // wildcards match by prefix/suffix: nothing to resolve
        let ns: string | undefined;
        let sa: string | undefined;
        if (f.field === 'principals' || f.field === 'notPrincipals' || f.field === 'when:source.principal') {
          const m = PRINCIPAL.exec(v.replace(/^spiffe:\/\//, ''));
          if (!m) return;
          [ns, sa] = [m[1]!, m[2]!];
        } else if (f.field === 'serviceAccounts' || f.field === 'notServiceAccounts') {
          // "ns/sa", or a bare "sa" meaning the policy's namespace (spec §5.2).
          const parts = v.split('/');
          [ns, sa] = parts.length === 2 ? [parts[0]!, parts[1]!] : [nsOf(o), v];
        } else return;
        if (c.hasServiceAccount(ns, sa)) return;
        const why = c.namespaces.has(ns) ? `there is no ServiceAccount ${ns}/${sa}` : `namespace ${ns} does not exist`;
        out.push(finding('AMB002', 'Warning', o, `"${v}" names service account ${ns}/${sa}, but ${why}, so this entry never matches. Fix the name (cluster.local/ns/<namespace>/sa/<serviceaccount>) or create the ServiceAccount and run the workload with it.`, `${f.path}[${k}]`));
      });
    }
  }
  return out;
};

export const unknownNamespace: Check = (c) => {
  const out: Finding[] = [];
  for (const o of authorizationPolicies(c.objects)) {
    for (const f of allFields(o)) {
      if (f.field !== 'namespaces' && f.field !== 'notNamespaces' && f.field !== 'when:source.namespace') continue;
      f.values.forEach((v, k) => {
        if (v.includes('*') || c.namespaces.has(v)) return;
        out.push(finding('AMB003', 'Warning', o, `namespace "${v}" does not exist, so this entry never matches. Fix the name, or create the namespace (ambit apply -f) before relying on the policy.`, `${f.path}[${k}]`));
      });
    }
  }
  return out;
};
