// Compact ES256 JWTs (P-256, signature as raw r||s, JOSE's 'ieee-p1363') and their signing keys,
// shared by the CA's node tokens and the local API server's service-account tokens. Signing and
// checking the signature live here; each issuer checks its own claims.
import { createPrivateKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** Loads a PKCS#8 P-256 key from `file`, creating it (0600, its folder 0700) when it does not exist. */
export function loadOrCreateEcKey(file: string): KeyObject {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    try {
      // 'wx': if two processes race, the first file wins and both use it.
      fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return createPrivateKey(fs.readFileSync(file, 'utf8'));
}

export function signJwt(key: KeyObject, claims: object): string {
  const input = `${b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }))}`;
}

export type JwtCheck = { claims: unknown } | { error: 'malformed' | 'not-json' | 'not-es256' | 'bad-signature'; detail: string };

/** The claims of a token whose ES256 signature verifies with `pub`; otherwise which check failed. */
export function verifyJwt(pub: KeyObject, token: string): JwtCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return { error: 'malformed', detail: 'the token is not a JWT (expected three base64url parts)' };
  const [h, c, s] = parts as [string, string, string];
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
  } catch {
    return { error: 'not-json', detail: 'the token header or claims are not JSON' };
  }
  const alg = typeof header === 'object' && header !== null ? (header as { alg?: unknown }).alg : undefined;
  if (alg !== 'ES256') return { error: 'not-es256', detail: `the token must be signed with ES256 (got alg ${String(alg)})` };
  const sig = Buffer.from(s, 'base64url');
  if (sig.length !== 64 || !verify('sha256', Buffer.from(`${h}.${c}`), { key: pub, dsaEncoding: 'ieee-p1363' }, sig)) return { error: 'bad-signature', detail: 'the token signature does not verify' };
  return { claims };
}
