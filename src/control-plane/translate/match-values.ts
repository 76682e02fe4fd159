// Conversions of AuthorizationPolicy value strings into Authorization match values (spec §4.6, §5.2).
import type { AddressMatch, ServiceAccountMatch, StringMatch } from '../../mesh-api/types.js';
import { parseCidr } from '../../lib/ip.js';

/** istiod `stringToMatch`: "*" → presence, "*x" → suffix x, "x*" → prefix x, else exact. */
export function stringToMatch(value: string): StringMatch {
  if (value === '*') return { presence: true };
  if (value.startsWith('*')) return { suffix: value.slice(1) };
  if (value.endsWith('*')) return { prefix: value.slice(0, -1) };
  return { exact: value };
}

// Principals go through stringToMatch as written, `spiffe://` included: istiod does not strip
// it, and node tunnels compare against the identity without the scheme, so such an entry never
// matches (warned about at apply time and by `ambit analyze`, AMB017).

/** `"ns/sa"`, or a bare `"sa"` meaning the policy's namespace (spec §5.2). */
export function serviceAccountMatch(value: string, policyNamespace: string): ServiceAccountMatch {
  const slash = value.indexOf('/');
  return slash < 0 ? { namespace: policyNamespace, serviceAccount: value } : { namespace: value.slice(0, slash), serviceAccount: value.slice(slash + 1) };
}

/** An IP or CIDR (`ipBlocks`, `source.ip`, `destination.ip`); undefined when malformed. */
export function addressMatch(value: string): AddressMatch | undefined {
  const c = parseCidr(value);
  return c && { address: c.address, length: c.length };
}

/** A port number in 1..65535 (ports arrive as strings in Istio YAML); undefined when malformed. */
export function portValue(value: string | number): number | undefined {
  const n = typeof value === 'number' ? value : /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}
