// Workload credentials as istiod checks istio-agent's: the caller's Kubernetes service-account
// JWT goes to the API server in a TokenReview (audience istio-ca), and the reviewed user
// `system:serviceaccount:<ns>:<sa>` is the only identity the caller may obtain. Node tokens
// (node-auth.ts) are told apart by their issuer before anything is sent.
import type { KubeClient } from '../kube/kube-client.js';
import { NODE_TOKEN_ISSUER } from './node-auth.js';

export const ISTIO_CA_AUDIENCE = 'istio-ca';

export interface WorkloadCaller {
  namespace: string;
  serviceAccount: string;
  /** The pod the token is bound to, when it is (authentication.kubernetes.io/pod-name). */
  pod?: string;
}

export class TokenReviewError extends Error {}

/** Reviews tokens against an API server (POST /apis/authentication.k8s.io/v1/tokenreviews). */
export type TokenReviewer = (token: string) => Promise<WorkloadCaller>;

function reviewOnce(client: KubeClient, audiences: string[]): TokenReviewer {
  return async (token) => {
    const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } };
    let res: { status?: { authenticated?: boolean; error?: string; audiences?: string[]; user?: { username?: string; extra?: Record<string, string[]> } } };
    try {
      res = (await client.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', body)) as typeof res;
    } catch (e) {
      throw new TokenReviewError(`the TokenReview call to the API server failed: ${(e as Error).message}`);
    }
    const st = res?.status;
    if (!st?.authenticated) throw new TokenReviewError(`the API server did not authenticate the token: ${st?.error ?? 'no reason given'}`);
    // istiod requires the reviewed audiences to include one it asked for.
    if (!st.audiences?.some((a) => audiences.includes(a))) throw new TokenReviewError(`the token's audiences ${JSON.stringify(st.audiences ?? [])} do not include ${audiences.join(', ')}`);
    const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(st.user?.username ?? '');
    if (!m) throw new TokenReviewError(`the token is for '${st.user?.username ?? '?'}', not a service account`);
    const pod = st.user?.extra?.['authentication.kubernetes.io/pod-name']?.[0];
    return { namespace: m[1]!, serviceAccount: m[2]!, ...(pod ? { pod } : {}) };
  };
}

/** Reviews are kept this long, so the auth guard and the handler of one call (and a burst of calls) ask the API server once. */
const REVIEW_CACHE_MS = 5_000;
const REVIEW_CACHE_MAX = 1024;

export function kubeTokenReviewer(client: KubeClient, audiences: string[] = [ISTIO_CA_AUDIENCE]): TokenReviewer {
  const review = reviewOnce(client, audiences);
  const cache = new Map<string, { at: number; result: Promise<WorkloadCaller> }>();
  return (token) => {
    const now = Date.now();
    const hit = cache.get(token);
    if (hit && now - hit.at < REVIEW_CACHE_MS) return hit.result;
    if (cache.size >= REVIEW_CACHE_MAX) cache.delete(cache.keys().next().value!);
    const result = review(token);
    cache.set(token, { at: now, result });
    result.catch(() => cache.delete(token)); // refusals are not remembered: a fixed token works at once
    return result;
  };
}

/** Whether a bearer token is a node token (issued by the CA itself) rather than a Kubernetes one. */
export function isNodeToken(token: string): boolean {
  const claims = token.split('.')[1];
  if (!claims) return false;
  try {
    return (JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as { iss?: unknown }).iss === NODE_TOKEN_ISSUER;
  } catch {
    return false;
  }
}
