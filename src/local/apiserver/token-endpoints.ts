// Kubernetes' TokenRequest (POST .../serviceaccounts/<sa>/token) and TokenReview
// (POST /apis/authentication.k8s.io/v1/tokenreviews) over the store. A node may request tokens
// only for pods bound to it, for the pod's own service account (NodeRestriction's rule); a
// review is the control plane's call (admins). A token bound to a pod stops authenticating once
// that pod is gone or replaced (same name, new uid), as Kubernetes checks bound objects.
import { kindKey, KINDS } from '../../model/core/kinds.js';
import type { Pod } from '../../model/core/types.js';
import type { User } from './auth.js';
import { ApiError } from './errors.js';
import type { Registry } from './registry.js';
import { DEFAULT_TOKEN_TTL_S, MAX_TOKEN_TTL_S, MIN_TOKEN_TTL_S, type ServiceAccountTokens } from './service-account-tokens.js';

const POD = kindKey(KINDS.find((k) => k.kind === 'Pod')!);
const SA = kindKey(KINDS.find((k) => k.kind === 'ServiceAccount')!);

interface TokenRequestBody {
  spec?: { audiences?: unknown; expirationSeconds?: unknown; boundObjectRef?: { kind?: unknown; apiVersion?: unknown; name?: unknown; uid?: unknown } };
}

export function tokenRequest(reg: Registry, tokens: ServiceAccountTokens, user: User, ns: string, saName: string, body: unknown): object {
  const spec = (body as TokenRequestBody | undefined)?.spec ?? {};
  const sa = reg.store.get(SA, ns, saName);
  if (!sa) throw new ApiError('NotFound', `serviceaccounts "${saName}" not found`);
  const audiences = spec.audiences === undefined ? ['https://kubernetes.default.svc.cluster.local'] : spec.audiences;
  if (!Array.isArray(audiences) || audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    throw new ApiError('Invalid', 'TokenRequest spec.audiences must be a non-empty list of strings');
  }
  const ttl = spec.expirationSeconds === undefined ? DEFAULT_TOKEN_TTL_S : Number(spec.expirationSeconds);
  if (!Number.isInteger(ttl) || ttl < MIN_TOKEN_TTL_S) throw new ApiError('Invalid', `TokenRequest spec.expirationSeconds must be at least ${MIN_TOKEN_TTL_S}`);
  const ref = spec.boundObjectRef;
  let pod: Pod | undefined;
  if (ref) {
    if (ref.kind !== 'Pod' || typeof ref.name !== 'string') throw new ApiError('Invalid', 'TokenRequest spec.boundObjectRef: only kind Pod (with a name) is supported');
    pod = reg.store.get(POD, ns, ref.name) as Pod | undefined;
    if (!pod) throw new ApiError('NotFound', `pods "${ref.name}" not found`);
    if (ref.uid !== undefined && ref.uid !== pod.metadata.uid) throw new ApiError('Conflict', `the UID in the bound object reference (${String(ref.uid)}) does not match pod ${ref.name} (${pod.metadata.uid})`);
    const podSa = pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? 'default';
    if (podSa !== saName) throw new ApiError('BadRequest', `pod ${ns}/${ref.name} runs as service account ${podSa}, not ${saName}`);
  }
  if (user.role !== 'admin') {
    if (!pod || pod.spec.nodeName !== user.node) {
      throw new ApiError('Forbidden', `serviceaccounts/token is forbidden: User "${user.name}" may only request tokens bound to pods on its node (set spec.boundObjectRef to such a pod)`);
    }
  }
  const { token, claims } = tokens.issue({ namespace: ns, name: saName, uid: sa.metadata.uid! }, audiences as string[], Math.min(ttl, MAX_TOKEN_TTL_S), pod ? { name: pod.metadata.name!, uid: pod.metadata.uid! } : undefined);
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: { name: saName, namespace: ns, creationTimestamp: new Date(claims.iat * 1000).toISOString() },
    spec: { audiences, expirationSeconds: claims.exp - claims.iat, ...(pod ? { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata.name, uid: pod.metadata.uid } } : {}) },
    status: { token, expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d+Z$/, 'Z') },
  };
}

interface TokenReviewBody {
  spec?: { token?: unknown; audiences?: unknown };
}

export function tokenReview(reg: Registry, tokens: ServiceAccountTokens, user: User, body: unknown): object {
  if (user.role !== 'admin') throw new ApiError('Forbidden', `tokenreviews is forbidden: User "${user.name}" cannot create it (only the control plane reviews tokens)`);
  const spec = (body as TokenReviewBody | undefined)?.spec ?? {};
  if (typeof spec.token !== 'string' || spec.token === '') throw new ApiError('Invalid', 'TokenReview spec.token is required');
  const wanted = Array.isArray(spec.audiences) ? spec.audiences.filter((a): a is string => typeof a === 'string') : [];
  const out = (status: object): object => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { creationTimestamp: null }, spec: { audiences: wanted }, status });
  const claims = tokens.verify(spec.token);
  if ('error' in claims) return out({ authenticated: false, error: claims.error });
  const audiences = wanted.length ? claims.aud.filter((a) => wanted.includes(a)) : claims.aud;
  if (audiences.length === 0) return out({ authenticated: false, error: `token audiences ${JSON.stringify(claims.aud)} are not among the requested ${JSON.stringify(wanted)}` });
  const k = claims['kubernetes.io'];
  const sa = reg.store.get(SA, k.namespace, k.serviceaccount.name);
  if (!sa || sa.metadata.uid !== k.serviceaccount.uid) return out({ authenticated: false, error: `service account ${k.namespace}/${k.serviceaccount.name} has been deleted` });
  if (k.pod) {
    const pod = reg.store.get(POD, k.namespace, k.pod.name);
    if (!pod || pod.metadata.uid !== k.pod.uid) return out({ authenticated: false, error: `pod ${k.namespace}/${k.pod.name} (uid ${k.pod.uid}) the token is bound to no longer exists` });
  }
  return out({
    authenticated: true,
    user: {
      username: claims.sub,
      uid: k.serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
      ...(k.pod ? { extra: { 'authentication.kubernetes.io/pod-name': [k.pod.name], 'authentication.kubernetes.io/pod-uid': [k.pod.uid] } } : {}),
    },
    audiences,
  });
}
