// Service-account tokens, as Kubernetes' TokenRequest issues and TokenReview checks them: ES256
// JWTs bound to a pod, with claims {iss, sub: system:serviceaccount:<ns>:<sa>, aud: [...], iat,
// nbf, exp, kubernetes.io: {namespace, serviceaccount{name,uid}, pod{name,uid}}}. The signing
// key (<data dir>/sa-signing-key.pem, PKCS#8, 0600) is the API server's own: the CA and xDS never
// see it, they ask the API server (TokenReview) as istiod does. Verification is pure given the
// key; whether the bound pod still exists is the caller's check (it needs the store).
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

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

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export class ServiceAccountTokens {
  readonly #key: KeyObject;
  readonly #pub: KeyObject;

  constructor(key: KeyObject) {
    this.#key = key;
    this.#pub = createPublicKey(key);
  }

  /** The signer of the API server whose data lives in dataDir (key made 0600 on first use). */
  static open(dataDir: string): ServiceAccountTokens {
    const file = path.join(dataDir, 'sa-signing-key.pem');
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(file)) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      try {
        fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    return new ServiceAccountTokens(createPrivateKey(fs.readFileSync(file, 'utf8')));
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
    const input = `${b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key: this.#key, dsaEncoding: 'ieee-p1363' });
    return { token: `${input}.${b64url(sig)}`, claims };
  }

  /** The claims of a token this API server signed and that is valid now; otherwise why not. */
  verify(token: string, now = Date.now()): SaTokenClaims | { error: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { error: 'the token is not a JWT' };
    const [h, c, s] = parts as [string, string, string];
    let header: { alg?: unknown };
    let claims: SaTokenClaims;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: unknown };
      claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as SaTokenClaims;
    } catch {
      return { error: 'the token header or claims are not JSON' };
    }
    const sig = Buffer.from(s, 'base64url');
    if (header.alg !== 'ES256' || sig.length !== 64 || !verify('sha256', Buffer.from(`${h}.${c}`), { key: this.#pub, dsaEncoding: 'ieee-p1363' }, sig)) {
      return { error: 'invalid bearer token: the signature does not verify against this API server\'s service-account key' };
    }
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
