// Service-account tokens, as Kubernetes' TokenRequest issues and TokenReview checks them: ES256
// JWTs bound to a pod, with claims {iss, sub: system:serviceaccount:<ns>:<sa>, aud: [...], iat,
// nbf, exp, kubernetes.io: {namespace, serviceaccount{name,uid}, pod{name,uid}}}. The signing
// key (<data dir>/sa-signing-key.pem, PKCS#8, 0600) is the API server's own: the CA and xDS never
// see it, they ask the API server (TokenReview) as istiod does. Verification is pure given the
// key; whether the bound pod still exists is the caller's check (it needs the store).
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOrCreateEcKey, signJwt, verifyJwt } from '../../lib/es256-jwt.js';

export const SA_TOKEN_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** Kubernetes' bounds on TokenRequest.spec.expirationSeconds (default 1h, at least 10 min). */
export const DEFAULT_TOKEN_TTL_S = 3600;
export const MIN_TOKEN_TTL_S = 600;
export const MAX_TOKEN_TTL_S = 48 * 3600;

export interface BoundPod {
  name: string;
  uid: string;
}

export interface SaTokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  iat: number;
  nbf: number;
  exp: number;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string }; pod?: BoundPod };
}


export class ServiceAccountTokens {
  readonly #key: KeyObject;
  readonly #pub: KeyObject;

  constructor(key: KeyObject) {
    this.#key = key;
    this.#pub = createPublicKey(key);
  }

  /** The signer of the API server whose data lives in dataDir (key made 0600 on first use). */
  static open(dataDir: string): ServiceAccountTokens {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return new ServiceAccountTokens(loadOrCreateEcKey(path.join(dataDir, 'sa-signing-key.pem')));
  }

  issue(sa: { namespace: string; name: string; uid: string }, audiences: string[], ttlSeconds: number, pod: BoundPod | undefined, now = Date.now()): { token: string; claims: SaTokenClaims } {
    const iat = Math.floor(now / 1000);
    const claims: SaTokenClaims = {
      iss: SA_TOKEN_ISSUER,
      sub: `system:serviceaccount:${sa.namespace}:${sa.name}`,
      aud: audiences,
      iat,
      nbf: iat,
      exp: iat + ttlSeconds,
      'kubernetes.io': { namespace: sa.namespace, serviceaccount: { name: sa.name, uid: sa.uid }, ...(pod ? { pod } : {}) },
    };
    return { token: signJwt(this.#key, claims), claims };
  }

  /** The claims of a token this API server signed and that is valid now; otherwise why not. */
  verify(token: string, now = Date.now()): SaTokenClaims | { error: string } {
    const checked = verifyJwt(this.#pub, token);
    if ('error' in checked) {
      return { error: checked.error === 'bad-signature' || checked.error === 'not-es256' ? 'invalid bearer token: the signature does not verify against this API server\'s service-account key' : checked.detail };
    }
    const claims = checked.claims as SaTokenClaims;
    const k = claims['kubernetes.io'];
    if (claims.iss !== SA_TOKEN_ISSUER || !Array.isArray(claims.aud) || typeof k?.namespace !== 'string' || typeof k.serviceaccount?.name !== 'string') {
      return { error: 'the token is not a service-account token of this cluster' };
    }
    const nowS = Math.floor(now / 1000);
    if (!Number.isInteger(claims.exp) || claims.exp <= nowS) return { error: `the token has expired (exp ${new Date(claims.exp * 1000).toISOString()})` };
    if (Number.isInteger(claims.nbf) && claims.nbf > nowS + 60) return { error: 'the token is not valid yet' };
    return claims;
  }
}
