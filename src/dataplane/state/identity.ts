// Workload identities as SPIFFE IDs and as the authz view of a peer. Pure.
import type { Workload } from '../../mesh-api/types.js';
import type { PeerIdentity } from '../../authz/evaluate.js';
import { DEFAULT_TRUST_DOMAIN, parseSpiffeId } from '../../identity/spiffe.js';

/** `spiffe://<td>/ns/<ns>/sa/<sa>` of a workload ('' trust domain / service account → defaults). */
export function spiffeIdOf(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `spiffe://${w.trustDomain || DEFAULT_TRUST_DOMAIN}/ns/${w.namespace}/sa/${w.serviceAccount || 'default'}`;
}

/** The authz view of a peer's SPIFFE ID; undefined if it is not a workload identity. */
export function peerIdentityOf(spiffeId: string): PeerIdentity | undefined {
  try {
    const id = parseSpiffeId(spiffeId);
    return { trustDomain: id.trustDomain, namespace: id.namespace, serviceAccount: id.serviceAccount };
  } catch {
    return undefined;
  }
}
