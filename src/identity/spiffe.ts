// SPIFFE workload identities: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.
// Strict, as ztunnel parses them: exactly these five path parts. Pure.

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

export class SpiffeError extends Error {
  readonly code = 'BAD_SPIFFE_ID';
}

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SEGMENT = /^[A-Za-z0-9._-]{1,253}$/;

export function parseSpiffeId(uri: string): SpiffeId {
  if (!uri.startsWith('spiffe://')) throw new SpiffeError(`'${uri}' is not a SPIFFE ID: it must start with spiffe://`);
  const rest = uri.slice('spiffe://'.length);
  const parts = rest.split('/');
  const [td = '', ns, nsValue, sa, saValue] = parts;
  if (!TRUST_DOMAIN.test(td)) throw new SpiffeError(`'${uri}': trust domain '${td}' must be lowercase letters, digits, '.', '-' or '_'`);
  if (parts.length !== 5 || ns !== 'ns' || sa !== 'sa') {
    throw new SpiffeError(`'${uri}' must have the form spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`);
  }
  if (!SEGMENT.test(nsValue!)) throw new SpiffeError(`'${uri}': namespace '${nsValue}' is not valid`);
  if (!SEGMENT.test(saValue!)) throw new SpiffeError(`'${uri}': service account '${saValue}' is not valid`);
  return { trustDomain: td, namespace: nsValue!, serviceAccount: saValue! };
}

export function formatSpiffeId(id: SpiffeId): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

export function validateTrustDomain(td: string): string | undefined {
  return TRUST_DOMAIN.test(td) ? undefined : `trust domain '${td}' must be 1-255 lowercase letters, digits, '.', '-' or '_'`;
}
